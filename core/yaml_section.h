#pragma once

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace nas {

// " (line N)" for a YAML node that has a position in its file, else "".
inline std::string yaml_line_of(const YAML::Node& node) {
  if (!node || node.Mark().line < 0) return "";
  return fmt::format(" (line {})", node.Mark().line + 1);
}

// Reads typed values from one YAML mapping of a config file, naming the file, the key path and the
// line in every error (nas::ConfigError "configs/x.yaml: model.heads: wrong type 'x' (line 7)"), and
// rejecting keys nobody asked for (finish()). The single place where config parsers touch yaml-cpp.
// Example:
//   YamlSection top(root, "", path);
//   YamlSection model(top.child("model"), top.full("model"), path);
//   model.get("d_model", &options.d_model);
//   model.finish();
class YamlSection {
 public:
  YamlSection(const YAML::Node& node, std::string path, const std::string& source)
      : node_(node), path_(std::move(path)), source_(source) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      fail(path_.empty() ? "(top level)" : path_, "expected a mapping" + yaml_line_of(node_));
  }
  // Throws for keys that no get()/child() asked for; call once all keys are read.
  void finish() const {
    if (!node_ || node_.IsNull()) return;
    for (const auto& kv : node_) {
      auto key = kv.first.as<std::string>();
      if (!used_.count(key)) fail(full(key), "unknown key" + yaml_line_of(kv.first));
    }
  }
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw ConfigError(fmt::format("{}: {}: {}", source_, key, why));
  }
  // The value at `key` (an undefined node if absent); marks the key as known.
  YAML::Node child(const std::string& key) {
    used_.insert(key);
    return node_ && !node_.IsNull() && node_[key] ? node_[key] : YAML::Node();
  }
  // Reads a scalar into *out if the key is present; returns whether it was.
  template <typename T>
  bool get(const std::string& key, T* out) {
    YAML::Node n = child(key);
    if (!n || n.IsNull()) return false;
    if (!n.IsScalar()) fail(full(key), "expected a single value" + yaml_line_of(n));
    try {
      *out = n.as<T>();
    } catch (const YAML::Exception&) {
      fail(full(key), fmt::format("wrong type '{}'{}", n.Scalar(), yaml_line_of(n)));
    }
    return true;
  }
  // Reads a sequence of scalars into *out if the key is present; returns whether it was.
  template <typename T>
  bool get_list(const std::string& key, std::vector<T>* out) {
    YAML::Node n = child(key);
    if (!n || n.IsNull()) return false;
    if (!n.IsSequence()) fail(full(key), "expected a list" + yaml_line_of(n));
    std::vector<T> values;
    for (const auto& item : n) {
      try {
        values.push_back(item.as<T>());
      } catch (const YAML::Exception&) {
        fail(full(key), fmt::format("wrong type in list{}", yaml_line_of(item)));
      }
    }
    *out = std::move(values);
    return true;
  }
  // Throws "FILE: key: WHY (line N)" unless `ok`.
  void require(bool ok, const std::string& key, const std::string& why) {
    if (!ok) fail(full(key), why + yaml_line_of(child(key)));
  }
  std::string full(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& source() const { return source_; }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> used_;
};

}  // namespace nas
