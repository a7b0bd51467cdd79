#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nas {

// The type of one table column, fixed when the file is loaded.
enum class ColumnType { kNumber, kText };

// A benchmark table loaded from CSV (RFC 4180 quoting; first line = header). Each column is typed:
// kNumber when every non-empty cell parses as a finite or NaN double, kText otherwise, unless the
// caller declares the type. Empty numeric cells are missing values (NaN).
//
// Example:
//   Table t = Table::load("data/nb201.csv", {{"arch_str", ColumnType::kText}});
//   t.index_by("arch_str");
//   double acc = t.number(*t.find("|nor_conv_3x3~0|+|...|"), "acc_cifar10");   // %
//
// Errors: load() throws nas::DataError naming file, line and column ("nb201.csv:12:5 (column
// 'acc_cifar10'): 'x' is not a number") for unreadable files, ragged rows, unterminated quotes,
// duplicate or empty header names, and non-numeric cells in a column declared kNumber.
// Thread-safety: const methods may be called concurrently.
class Table {
 public:
  using TypeHints = std::vector<std::pair<std::string, ColumnType>>;

  static Table load(const std::string& path, const TypeHints& hints = {});
  // Parses CSV text; `source` names it in error messages.
  static Table parse(const std::string& text, const std::string& source, const TypeHints& hints = {});

  const std::string& source() const { return source_; }
  size_t rows() const { return num_rows_; }
  const std::vector<std::string>& columns() const { return names_; }
  bool has_column(const std::string& name) const { return column_index_.count(name) > 0; }
  ColumnType type(const std::string& column) const;

  // Cell access. Throw nas::DataError if the column is unknown or of the other type, or the row is
  // out of range. number() returns NaN for a missing value.
  double number(size_t row, const std::string& column) const;
  const std::string& text(size_t row, const std::string& column) const;
  // A whole numeric column (NaN = missing).
  const std::vector<double>& numbers(const std::string& column) const;
  const std::vector<std::string>& texts(const std::string& column) const;

  // Builds a key -> row index over a text column for find(). Throws nas::DataError on a duplicate
  // key, naming both lines.
  void index_by(const std::string& key_column);
  // Row whose key column equals `key`, or nullopt. Requires index_by() first.
  std::optional<size_t> find(const std::string& key) const;
  const std::string& key_column() const { return key_column_; }

 private:
  size_t column(const std::string& name) const;

  std::string source_;
  size_t num_rows_ = 0;
  std::vector<std::string> names_;
  std::vector<ColumnType> types_;
  std::unordered_map<std::string, size_t> column_index_;
  // One of these per column, by type; the other stays empty.
  std::vector<std::vector<double>> number_cols_;
  std::vector<std::vector<std::string>> text_cols_;
  std::string key_column_;
  std::unordered_map<std::string, size_t> key_index_;
};

// `cell` as one CSV field (RFC 4180, as Table::parse() reads it): unchanged unless it holds a comma, a
// double quote or a line break, else enclosed in double quotes with inner quotes doubled.
// Example: csv_quote("[[(0, 1)]]") == "\"[[(0, 1)]]\"".
std::string csv_quote(const std::string& cell);

// Directory holding the benchmark tables: $NAS_DATA_DIR if set, else the repo's data/ as configured
// at build time.
std::string data_dir();
// data_dir() + "/" + file; an absolute `file` is returned unchanged (e.g. a table `nas measure` wrote).
std::string data_path(const std::string& file);

}  // namespace nas
