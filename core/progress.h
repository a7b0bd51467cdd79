#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace nas {

// A one-line progress report for long jobs (training, search, measurement), redrawn in place on a
// terminal and printed as plain lines (at most every `min_interval_s`) when stderr is not a
// terminal. Example: "train  1200/3000 (40.0%)  8.3 step/s  ETA 3m36s  loss=0.812"
// Thread-safety: not thread-safe; update from one thread.
class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it", double min_interval_s = 5.0);
  ~Progress();

  // Sets the number of completed units and an optional status text shown after the ETA.
  void update(int64_t done, const std::string& status = "");
  // Prints the final line (with total elapsed time) once.
  void finish(const std::string& status = "");
  double elapsed_s() const;

 private:
  void print(bool final_line);

  std::string label_, unit_, status_;
  int64_t total_, done_ = 0;
  double min_interval_s_;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "1h02m", "3m36s", "12.3s".
std::string format_duration(double seconds);

}  // namespace nas
