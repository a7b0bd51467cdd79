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
// The architecture column (or template) of the space's benchmark table in data/ (listed above), e.g.
// "arch_str" for "nb201". Throws nas::ConfigError for an unknown space name.
std::string default_arch_column(const std::string& space);

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

}  // namespace nas::spaces
