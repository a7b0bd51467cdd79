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

std::vector<std::string> ArchColumns::split(const std::string& arch) const {
  std::vector<std::string> cells(columns_.size());
  std::vector<bool> set(columns_.size(), false);
  size_t pos = 0;
  for (size_t k = 0; k < pieces_.size(); ++k) {
    const Piece& p = pieces_[k];
    if (!p.is_column) {
      if (arch.compare(pos, p.text.size(), p.text) != 0)
        throw SpaceError(fmt::format("architecture '{}' does not fit {}: expected '{}' at character {}", arch,
                                     describe(), p.text, pos));
      pos += p.text.size();
      continue;
    }
    size_t end = arch.size();
    if (k + 1 < pieces_.size()) {
      if (pieces_[k + 1].is_column)
        throw SpaceError(fmt::format("{}: columns '{}' and '{}' are adjacent, cannot split", describe(), p.text,
                                     pieces_[k + 1].text));
      end = arch.find(pieces_[k + 1].text, pos);
      if (end == std::string::npos)
        throw SpaceError(fmt::format("architecture '{}' does not fit {}: no '{}' after character {}", arch,
                                     describe(), pieces_[k + 1].text, pos));
    }
    size_t c = static_cast<size_t>(std::find(columns_.begin(), columns_.end(), p.text) - columns_.begin());
    std::string cell = arch.substr(pos, end - pos);
    if (set[c] && cells[c] != cell)
      throw SpaceError(fmt::format("architecture '{}' does not fit {}: column '{}' would be both '{}' and '{}'", arch,
                                   describe(), p.text, cells[c], cell));
    cells[c] = std::move(cell);
    set[c] = true;
    pos = end;
  }
  if (pos != arch.size())
    throw SpaceError(fmt::format("architecture '{}' does not fit {}: trailing characters at {}", arch, describe(), pos));
  return cells;
}

std::string benchmark_arch_columns(const std::string& space) {
  static const std::pair<const char*, const char*> kSpecs[] = {
      {"nb201", "arch_str"},
      {"nb101", "{adjacency_7x7}|{ops}"},
      {"fbnet", "blocks"},
      {"ofa_mbv3", "ks={kernel_sizes}|e={expand_ratios}|d={depths}|r={resolution}"},
      {"darts", "compact_genotype"},
  };
  for (const auto& [name, spec] : kSpecs)
    if (space == name) return spec;
  throw ConfigError(fmt::format("space '{}' has no benchmark table architecture columns (nb201, nb101, fbnet, "
                                "ofa_mbv3, darts)", space));
}

}  // namespace nas::spaces
