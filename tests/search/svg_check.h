#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace nas::search::testing {

// A minimal XML well-formedness check for the SVG files we write: every element is closed in order,
// attribute values are quoted, no stray '<' or '&' outside entities, exactly one root <svg> element.
// Returns "" if the text is well formed, else what is wrong.
inline std::string xml_problem(const std::string& text) {
  std::vector<std::string> stack;
  size_t i = 0;
  int roots = 0;
  auto entity_ok = [&](size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (text.compare(at, std::string(e).size(), e) == 0) return true;
    return false;
  };
  while (i < text.size()) {
    if (text[i] == '&') {
      if (!entity_ok(i)) return "bad entity at " + std::to_string(i);
      ++i;
      continue;
    }
    if (text[i] != '<') {
      if (stack.empty() && !isspace(static_cast<unsigned char>(text[i]))) return "text outside the root";
      ++i;
      continue;
    }
    size_t end = i + 1;
    char quote = 0;
    for (; end < text.size(); ++end) {
      char c = text[end];
      if (quote) {
        if (c == quote)
          quote = 0;
        else if (c == '<')
          return "'<' inside an attribute at " + std::to_string(end);
        else if (c == '&' && !entity_ok(end))
          return "bad entity in an attribute at " + std::to_string(end);
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      } else if (c == '<') {
        return "'<' inside a tag at " + std::to_string(end);
      }
    }
    if (end >= text.size()) return "unterminated tag";
    std::string tag = text.substr(i + 1, end - i - 1);
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "unexpected </" + name + ">";
      stack.pop_back();
    } else if (tag[0] != '?' && tag[0] != '!') {  // skip declarations and comments
      bool self_closing = tag.back() == '/';
      std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
      if (stack.empty()) ++roots;
      if (!self_closing)
        stack.push_back(name);
      else if (stack.empty() && name != "svg")
        return "root is not svg";
      if (stack.size() == 1 && stack[0] != "svg") return "root is not svg";
    }
    i = end + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element, got " + std::to_string(roots);
  return "";
}

}  // namespace nas::search::testing
