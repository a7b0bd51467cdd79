#include "core/table.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace nas {
namespace {

struct RawCell {
  std::string value;
  size_t line;
  size_t column;  // 1-based character column where the cell starts
};

// Splits CSV text into rows of cells, tracking line/column for error messages.
std::vector<std::vector<RawCell>> split_csv(const std::string& text, const std::string& source) {
  std::vector<std::vector<RawCell>> rows;
  std::vector<RawCell> row;
  std::string cell;
  size_t line = 1, col = 1, cell_line = 1, cell_col = 1;
  bool in_quotes = false, cell_quoted = false, row_has_content = false;
  size_t i = 0;
  auto end_cell = [&]() {
    row.push_back({cell, cell_line, cell_col});
    cell.clear();
    cell_quoted = false;
  };
  while (i < text.size()) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          i += 2;
          col += 2;
          continue;
        }
        in_quotes = false;
      } else {
        cell += c;
        if (c == '\n') {
          ++line;
          col = 0;
        }
      }
      ++i;
      ++col;
      continue;
    }
    if (c == '"') {
      if (!cell.empty() || cell_quoted)
        throw DataError(fmt::format("{}:{}:{}: unexpected '\"' inside an unquoted cell", source, line, col));
      in_quotes = cell_quoted = row_has_content = true;
    } else if (c == ',') {
      end_cell();
      row_has_content = true;
      cell_line = line;
      cell_col = col + 1;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (row_has_content || !cell.empty()) {
        end_cell();
        rows.push_back(std::move(row));
        row.clear();
      }
      row_has_content = false;
      ++line;
      col = 0;
      cell_line = line;
      cell_col = 1;
    } else {
      if (cell_quoted)
        throw DataError(fmt::format("{}:{}:{}: text after a closing quote", source, line, col));
      cell += c;
      row_has_content = true;
    }
    ++i;
    ++col;
  }
  if (in_quotes) throw DataError(fmt::format("{}:{}:{}: unterminated quoted cell", source, cell_line, cell_col));
  if (row_has_content || !cell.empty()) {
    end_cell();
    rows.push_back(std::move(row));
  }
  return rows;
}

bool parse_double(const std::string& s, double* out) {
  if (s.empty()) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0' || errno == ERANGE || std::isinf(v)) return false;
  *out = v;
  return true;
}

}  // namespace

Table Table::load(const std::string& path, const TypeHints& hints) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open file for reading", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path, hints);
}

Table Table::parse(const std::string& text, const std::string& source, const TypeHints& hints) {
  auto raw = split_csv(text, source);
  if (raw.empty()) throw DataError(fmt::format("{}: empty file (expected a CSV header line)", source));
  Table t;
  t.source_ = source;
  const auto& header = raw[0];
  for (size_t c = 0; c < header.size(); ++c) {
    const std::string& name = header[c].value;
    if (name.empty())
      throw DataError(fmt::format("{}:{}:{}: empty column name in header", source, header[c].line, header[c].column));
    if (!t.column_index_.emplace(name, c).second)
      throw DataError(fmt::format("{}:{}:{}: duplicate column name '{}'", source, header[c].line, header[c].column, name));
    t.names_.push_back(name);
  }
  for (const auto& [name, type] : hints) {
    (void)type;
    if (!t.column_index_.count(name))
      throw DataError(fmt::format("{}: missing required column '{}'", source, name));
  }
  const size_t n_cols = header.size();
  t.num_rows_ = raw.size() - 1;
  for (size_t r = 1; r < raw.size(); ++r) {
    if (raw[r].size() != n_cols)
      throw DataError(fmt::format("{}:{}: row has {} cells, header has {}", source, raw[r][0].line, raw[r].size(), n_cols));
  }
  t.types_.resize(n_cols);
  t.number_cols_.resize(n_cols);
  t.text_cols_.resize(n_cols);
  for (size_t c = 0; c < n_cols; ++c) {
    std::optional<ColumnType> hinted;
    for (const auto& [name, type] : hints)
      if (name == t.names_[c]) hinted = type;
    std::vector<double> values(t.num_rows_);
    bool numeric = true;
    size_t bad_row = 0;
    for (size_t r = 0; r < t.num_rows_ && (numeric || hinted == ColumnType::kNumber); ++r) {
      if (!parse_double(raw[r + 1][c].value, &values[r])) {
        numeric = false;
        bad_row = r + 1;
        break;
      }
    }
    if (hinted == ColumnType::kNumber && !numeric) {
      const RawCell& cell = raw[bad_row][c];
      throw DataError(fmt::format("{}:{}:{} (column '{}'): '{}' is not a number", source, cell.line, cell.column,
                                  t.names_[c], cell.value));
    }
    ColumnType type = hinted.value_or(numeric ? ColumnType::kNumber : ColumnType::kText);
    t.types_[c] = type;
    if (type == ColumnType::kNumber) {
      t.number_cols_[c] = std::move(values);
    } else {
      auto& col = t.text_cols_[c];
      col.reserve(t.num_rows_);
      for (size_t r = 0; r < t.num_rows_; ++r) col.push_back(raw[r + 1][c].value);
    }
  }
  return t;
}

size_t Table::column(const std::string& name) const {
  auto it = column_index_.find(name);
  if (it == column_index_.end()) throw DataError(fmt::format("{}: no column '{}'", source_, name));
  return it->second;
}

ColumnType Table::type(const std::string& name) const { return types_[column(name)]; }

const std::vector<double>& Table::numbers(const std::string& name) const {
  size_t c = column(name);
  if (types_[c] != ColumnType::kNumber) throw DataError(fmt::format("{}: column '{}' is not numeric", source_, name));
  return number_cols_[c];
}

const std::vector<std::string>& Table::texts(const std::string& name) const {
  size_t c = column(name);
  if (types_[c] != ColumnType::kText) throw DataError(fmt::format("{}: column '{}' is not text", source_, name));
  return text_cols_[c];
}

double Table::number(size_t row, const std::string& name) const {
  const auto& col = numbers(name);
  if (row >= col.size()) throw DataError(fmt::format("{}: row {} out of range ({} rows)", source_, row, col.size()));
  return col[row];
}

const std::string& Table::text(size_t row, const std::string& name) const {
  const auto& col = texts(name);
  if (row >= col.size()) throw DataError(fmt::format("{}: row {} out of range ({} rows)", source_, row, col.size()));
  return col[row];
}

void Table::index_by(const std::string& key_column) {
  const auto& keys = texts(key_column);
  key_index_.clear();
  key_index_.reserve(keys.size());
  for (size_t r = 0; r < keys.size(); ++r) {
    auto [it, inserted] = key_index_.emplace(keys[r], r);
    if (!inserted)
      throw DataError(fmt::format("{}:{} and line {}: duplicate key '{}' in column '{}'", source_, it->second + 2, r + 2,
                                  keys[r], key_column));
  }
  key_column_ = key_column;
}

std::optional<size_t> Table::find(const std::string& key) const {
  NAS_CHECK(!key_column_.empty(), "Table::find() called before index_by() on {}", source_);
  auto it = key_index_.find(key);
  if (it == key_index_.end()) return std::nullopt;
  return it->second;
}

std::string csv_quote(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string data_dir() {
  if (const char* env = std::getenv("NAS_DATA_DIR"); env && *env) return env;
  return NAS_DEFAULT_DATA_DIR;
}

std::string data_path(const std::string& file) {
  return !file.empty() && file[0] == '/' ? file : data_dir() + "/" + file;
}

}  // namespace nas
