#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/table.h"

namespace nas::spaces {

// How a row of a benchmark table names an architecture: either one column that holds the space's
// genotype string as SearchSpace::parse() reads it, or a template that assembles that string from
// several columns: each `{column}` is replaced by the row's cell, every other character is copied.
// A spec without '{' is a column name. Column names cannot contain '{' or '}'.
// Example (the data/ tables of the five spaces):
//   nb201.csv             "arch_str"
//   nb101_subset.csv      "{adjacency_7x7}|{ops}"             (Nb101Genotype::parse: "ADJ|ops")
//   ofa_mbv3.csv          "ks={kernel_sizes}|e={expand_ratios}|d={depths}|r={resolution}"
//   fbnet.csv             "blocks"
//   darts_nb301_subset.csv "compact_genotype"
class ArchColumns {
 public:
  // Throws nas::ConfigError naming the spec for an unclosed '{', a '}' without '{', an empty or
  // nested column name, or an empty spec.
  explicit ArchColumns(std::string spec);

  const std::string& spec() const { return spec_; }
  // The columns the spec reads, in order of first use, each once.
  const std::vector<std::string>& columns() const { return columns_; }
  bool is_template() const { return is_template_; }
  // "column 'arch_str'" or "columns 'adjacency_7x7', 'ops' as '{adjacency_7x7}|{ops}'", for messages.
  std::string describe() const;

  // Table::load() hints that read every referenced column as text (so that e.g. a numeric
  // `resolution` column keeps its exact spelling).
  Table::TypeHints text_hints() const;
  // The architecture string of `row`. Throws nas::DataError if a column is missing or not text.
  std::string arch(const Table& table, size_t row) const;
  // The inverse of arch(): the cells of columns(), in that order, that assemble `arch`; each column's
  // cell ends at the first occurrence of the literal text that follows it in the spec (the last one takes
  // the rest). Example: "{adjacency_7x7}|{ops}" splits "0110...|input conv3x3-bn-relu ... output" at
  // the '|'. Throws nas::SpaceError when `arch` does not have the spec's literal text, when a column used
  // twice would get two different cells, or when two columns are adjacent in the spec (ambiguous).
  std::vector<std::string> split(const std::string& arch) const;

 private:
  struct Piece {
    bool is_column;
    std::string text;  // literal text or column name
  };
  std::string spec_;
  bool is_template_ = false;
  std::vector<Piece> pieces_;
  std::vector<std::string> columns_;
};

// The architecture column spec of the benchmark table in data/ of a registered space (the examples
// above): "arch_str" for nb201, "{adjacency_7x7}|{ops}" for nb101, "blocks" for fbnet,
// "ks={kernel_sizes}|e={expand_ratios}|d={depths}|r={resolution}" for ofa_mbv3, "compact_genotype" for
// darts. Throws nas::ConfigError naming the space for any other name.
std::string benchmark_arch_columns(const std::string& space);

}  // namespace nas::spaces
