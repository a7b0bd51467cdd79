#include "spaces/arch_columns.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::spaces {

ArchColumns::ArchColumns(std::string spec) : spec_(std::move(spec)) {
  auto fail = [&](size_t pos, const std::string& why) {
    throw ConfigError(fmt::format("architecture column spec '{}': {} at character {}", spec_, why, pos));
  };
  if (spec_.empty()) throw ConfigError("architecture column spec is empty (a column name or a '{column}' template)");
  is_template_ = spec_.find('{') != std::string::npos || spec_.find('}') != std::string::npos;
  if (!is_template_) {
    pieces_.push_back({true, spec_});
    columns_.push_back(spec_);
    return;
  }
  std::string literal;
  for (size_t i = 0; i < spec_.size(); ++i) {
    char ch = spec_[i];
    if (ch == '}') fail(i, "'}' without '{'");
    if (ch != '{') {
      literal += ch;
      continue;
    }
    size_t close = spec_.find('}', i + 1);
    if (close == std::string::npos) fail(i, "'{' is not closed");
    std::string name = spec_.substr(i + 1, close - i - 1);
    if (name.empty()) fail(i, "empty column name");
    if (name.find('{') != std::string::npos) fail(i + 1 + name.find('{'), "nested '{'");
    if (!literal.empty()) pieces_.push_back({false, std::move(literal)});
    literal.clear();
    pieces_.push_back({true, name});
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) columns_.push_back(name);
    i = close;
  }
  if (!literal.empty()) pieces_.push_back({false, std::move(literal)});
}

std::string ArchColumns::describe() const {
  if (!is_template_) return fmt::format("column '{}'", spec_);
  std::string names;
  for (const auto& c : columns_) names += (names.empty() ? "'" : ", '") + c + "'";
  return fmt::format("columns {} as '{}'", names, spec_);
}

Table::TypeHints ArchColumns::text_hints() const {
  Table::TypeHints hints;
  for (const auto& c : columns_) hints.push_back({c, ColumnType::kText});
  return hints;
}

std::string ArchColumns::arch(const Table& table, size_t row) const {
  std::string out;
  for (const auto& p : pieces_) {
    if (!p.is_column) {
      out += p.text;
      continue;
    }
    if (!table.has_column(p.text))
      throw DataError(fmt::format("{}: no column '{}' (architecture {})", table.source(), p.text, describe()));
    out += table.text(row, p.text);
  }
  return out;
}

std::string default_arch_column(const std::string& space) {
  if (space == "nb201") return "arch_str";
  if (space == "nb101") return "{adjacency_7x7}|{ops}";
  if (space == "fbnet") return "blocks";
  if (space == "ofa_mbv3") return "ks={kernel_sizes}|e={expand_ratios}|d={depths}|r={resolution}";
  if (space == "darts") return "compact_genotype";
  throw ConfigError(fmt::format("no benchmark table column known for space '{}'", space));
}

}  // namespace nas::spaces
