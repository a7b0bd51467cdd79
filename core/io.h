#pragma once

#include <string>

namespace nas {

// Reads a whole file. Throws nas::Error("PATH: cannot open file for reading") if it cannot.
std::string read_file(const std::string& path);

// Writes `content` to `path` atomically: it goes to a temporary file in the same directory, is
// flushed to disk, then renamed over `path`, so a reader (or a run killed midway) sees either the
// old file or the complete new one, never a truncated file. Creates parent directories.
// Throws nas::Error naming the path on any I/O failure.
void write_file_atomic(const std::string& path, const std::string& content);

// Creates `dir` and its parents if needed. Throws nas::Error on failure.
void make_dirs(const std::string& dir);

}  // namespace nas
