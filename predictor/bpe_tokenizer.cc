#include "predictor/bpe_tokenizer.h"

#include <algorithm>
#include <climits>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <shared_mutex>
#include <unordered_set>

#include "core/error.h"
#include "core/io.h"

namespace nas::predictor {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr size_t kMaxCachedChunks = 1 << 17;

uint64_t pair_key(int left, int right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_isolated(unsigned char c, bool isolate_newlines) {
  return is_digit(c) || (isolate_newlines && c == '\n');
}

// Length of the well-formed UTF-8 character starting at s[i] (RFC 3629, no overlong forms or
// surrogates), or 0 if the bytes there are not one.
size_t utf8_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

OrderedJson pre_tokenizer_json(bool isolate_newlines) {
  OrderedJson digits = {{"type", "Digits"}, {"individual_digits", true}};
  OrderedJson newline = {
      {"type", "Split"}, {"pattern", {{"String", "\n"}}}, {"behavior", "Isolated"}, {"invert", false}};
  if (!isolate_newlines) return {{"type", "Sequence"}, {"pretokenizers", OrderedJson::array({digits})}};
  return {{"type", "Sequence"}, {"pretokenizers", OrderedJson::array({digits, newline})}};
}

// Errors of from_json(): "SOURCE: field 'model.vocab': problem".
[[noreturn]] void fail(const std::string& source, const std::string& field, const std::string& problem) {
  throw DataError(fmt::format("{}: field '{}': {}", source, field, problem));
}

const Json& require(const Json& object, const char* key, const std::string& source,
                    const std::string& field) {
  if (!object.is_object()) fail(source, field, "expected a JSON object");
  auto it = object.find(key);
  if (it == object.end()) fail(source, field.empty() ? key : field + "." + key, "missing");
  return *it;
}

std::string require_string(const Json& value, const std::string& source, const std::string& field) {
  if (!value.is_string()) fail(source, field, fmt::format("expected a string, got {}", value.type_name()));
  return value.get<std::string>();
}

int require_id(const Json& value, const std::string& source, const std::string& field) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > INT_MAX) {
    fail(source, field, fmt::format("expected a non-negative integer id, got {}", value.dump()));
  }
  return value.get<int>();
}

}  // namespace

// Chunk -> token ids. Keys are views into `storage` (a deque never moves its elements).
struct BpeTokenizer::ChunkCache {
  std::shared_mutex mutex;
  std::deque<std::string> storage;
  std::unordered_map<std::string_view, std::vector<int>> map;
};

BpeTokenizer::BpeTokenizer() : cache_(std::make_shared<ChunkCache>()) {
  std::fill(std::begin(ascii_ids_), std::end(ascii_ids_), kUnkId);
}

std::vector<std::string_view> BpeTokenizer::pre_tokenize(std::string_view text, bool isolate_newlines) {
  std::vector<std::string_view> chunks;
  size_t i = 0;
  while (i < text.size()) {
    if (is_isolated(static_cast<unsigned char>(text[i]), isolate_newlines)) {
      chunks.push_back(text.substr(i, 1));
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < text.size() && !is_isolated(static_cast<unsigned char>(text[j]), isolate_newlines)) ++j;
    chunks.push_back(text.substr(i, j - i));
    i = j;
  }
  return chunks;
}

BpeTokenizer BpeTokenizer::train(const std::vector<std::string>& corpus, const BpeTrainOptions& options) {
  if (options.vocab_size < 1)
    throw ConfigError(fmt::format("tokenizer vocab_size = {} must be >= 1", options.vocab_size));
  if (options.min_frequency < 1) {
    throw ConfigError(fmt::format("tokenizer min_frequency = {} must be >= 1", options.min_frequency));
  }
  std::set<std::string> seen_names;
  for (const std::string& name : options.space_names) {
    if (name.empty() || name.find_first_of("<>") != std::string::npos || !seen_names.insert(name).second) {
      throw ConfigError(
          fmt::format("tokenizer space name '{}' is empty, duplicated or contains '<' / '>'", name));
    }
  }

  BpeTokenizer tok;
  tok.space_names_ = options.space_names;
  tok.isolate_newlines_ = options.isolate_newlines;
  tok.id_to_token_ = {kPad, kStart, kUnk};
  for (const std::string& name : options.space_names) tok.id_to_token_.push_back("<" + name + ">");
  const int first_regular = tok.first_regular_id();

  // Chunk frequencies and the alphabet.
  std::unordered_map<std::string_view, int64_t> chunk_counts;
  for (const std::string& text : corpus) {
    for (std::string_view chunk : pre_tokenize(text, options.isolate_newlines)) {
      if (chunk.size() == 1 && is_isolated(static_cast<unsigned char>(chunk[0]), options.isolate_newlines))
        continue;
      ++chunk_counts[chunk];
    }
  }
  std::vector<std::string_view> chunks;
  chunks.reserve(chunk_counts.size());
  for (const auto& [chunk, count] : chunk_counts) chunks.push_back(chunk);
  std::sort(chunks.begin(), chunks.end());
  std::set<std::string> alphabet = {"\n"};
  for (char d = '0'; d <= '9'; ++d) alphabet.insert(std::string(1, d));
  for (std::string_view chunk : chunks) {
    for (size_t i = 0; i < chunk.size();) {
      const size_t len = utf8_length(chunk, i);
      if (len == 0) {
        ++i;
        continue;
      }
      alphabet.insert(std::string(chunk.substr(i, len)));
      i += len;
    }
  }
  for (const std::string& c : alphabet) tok.id_to_token_.push_back(c);
  for (size_t id = 0; id < tok.id_to_token_.size(); ++id)
    tok.token_to_id_[tok.id_to_token_[id]] = static_cast<int>(id);
  const std::unordered_set<std::string> special(tok.id_to_token_.begin(),
                                                tok.id_to_token_.begin() + first_regular);

  // Words = distinct chunks as symbol ids (invalid UTF-8 bytes -> <unk>, which never pairs).
  std::vector<std::vector<int>> words(chunks.size());
  std::vector<int64_t> counts(chunks.size());
  for (size_t w = 0; w < chunks.size(); ++w) {
    counts[w] = chunk_counts[chunks[w]];
    std::string_view chunk = chunks[w];
    for (size_t i = 0; i < chunk.size();) {
      const size_t len = utf8_length(chunk, i);
      if (len == 0) {
        words[w].push_back(kUnkId);
        ++i;
      } else {
        words[w].push_back(tok.token_to_id_.at(std::string(chunk.substr(i, len))));
        i += len;
      }
    }
  }

  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<int>> where;  // pair -> words that may contain it
  for (size_t w = 0; w < words.size(); ++w) {
    const std::vector<int>& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] == kUnkId || s[i + 1] == kUnkId) continue;
      const uint64_t key = pair_key(s[i], s[i + 1]);
      pair_counts[key] += counts[w];
      where[key].push_back(static_cast<int>(w));
    }
  }

  // Max-heap on (count, then smallest (left, right) strings). Entries go stale when counts change;
  // every pair with count c > 0 always has an entry with a count >= c, so a popped entry whose count
  // matches the current one is the true best pair.
  struct Entry {
    int64_t count;
    int left, right;
  };
  const std::vector<std::string>& names = tok.id_to_token_;
  auto lower_priority = [&names](const Entry& x, const Entry& y) {
    if (x.count != y.count) return x.count < y.count;
    const int c = names[static_cast<size_t>(x.left)].compare(names[static_cast<size_t>(y.left)]);
    if (c != 0) return c > 0;
    return names[static_cast<size_t>(x.right)].compare(names[static_cast<size_t>(y.right)]) > 0;
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower_priority)> heap(lower_priority);
  for (const auto& [key, count] : pair_counts) {
    heap.push({count, static_cast<int>(key >> 32), static_cast<int>(key & 0xffffffffu)});
  }
  std::unordered_set<uint64_t> banned;  // pairs whose merge would spell a special token

  while (tok.vocab_size() < options.vocab_size && !heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    const uint64_t key = pair_key(top.left, top.right);
    auto count_it = pair_counts.find(key);
    const int64_t current = count_it == pair_counts.end() ? 0 : count_it->second;
    if (top.count != current) {
      if (current > 0 && top.count > current) heap.push({current, top.left, top.right});
      continue;
    }
    if (current < options.min_frequency) break;
    const std::string merged = names[static_cast<size_t>(top.left)] + names[static_cast<size_t>(top.right)];
    if (special.count(merged) > 0) {
      banned.insert(key);
      pair_counts.erase(key);
      continue;
    }
    int merged_id;
    auto existing = tok.token_to_id_.find(merged);
    if (existing != tok.token_to_id_.end()) {
      merged_id = existing->second;
    } else {
      merged_id = tok.vocab_size();
      tok.id_to_token_.push_back(merged);
      tok.token_to_id_.emplace(merged, merged_id);
    }
    tok.merges_.emplace_back(top.left, top.right);

    std::vector<int> affected = std::move(where[key]);
    where.erase(key);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    std::unordered_map<uint64_t, int64_t> delta;
    for (int w : affected) {
      std::vector<int>& s = words[static_cast<size_t>(w)];
      bool found = false;
      for (size_t i = 0; i + 1 < s.size() && !found; ++i) found = s[i] == top.left && s[i + 1] == top.right;
      if (!found) continue;
      const int64_t c = counts[static_cast<size_t>(w)];
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] != kUnkId && s[i + 1] != kUnkId) delta[pair_key(s[i], s[i + 1])] -= c;
      }
      size_t out = 0;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == top.left && s[i + 1] == top.right) {
          s[out++] = merged_id;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      s.resize(out);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] == kUnkId || s[i + 1] == kUnkId) continue;
        const uint64_t p = pair_key(s[i], s[i + 1]);
        delta[p] += c;
        if (s[i] == merged_id || s[i + 1] == merged_id) where[p].push_back(w);
      }
    }
    // Apply in key order so that heap insertion order (and thus nothing observable) is deterministic.
    std::vector<std::pair<uint64_t, int64_t>> changes(delta.begin(), delta.end());
    std::sort(changes.begin(), changes.end());
    for (const auto& [p, d] : changes) {
      if (d == 0 || banned.count(p) > 0) continue;
      int64_t& total = pair_counts[p];
      total += d;
      if (total <= 0) {
        pair_counts.erase(p);
      } else if (d > 0) {
        heap.push({total, static_cast<int>(p >> 32), static_cast<int>(p & 0xffffffffu)});
      }
    }
  }
  tok.finalize("trained tokenizer");
  return tok;
}

void BpeTokenizer::finalize(const std::string& source) {
  token_to_id_.clear();
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    if (!token_to_id_.emplace(id_to_token_[id], static_cast<int>(id)).second) {
      fail(source, "model.vocab", fmt::format("token '{}' appears twice", id_to_token_[id]));
    }
  }
  merge_rank_.clear();
  for (size_t rank = 0; rank < merges_.size(); ++rank) {
    const auto [left, right] = merges_[rank];
    const std::string field = fmt::format("model.merges[{}]", rank);
    if (left < first_regular_id() || right < first_regular_id()) {
      fail(source, field, "merges a special token");
    }
    auto it =
        token_to_id_.find(id_to_token_[static_cast<size_t>(left)] + id_to_token_[static_cast<size_t>(right)]);
    if (it == token_to_id_.end()) fail(source, field, "the merged token is not in model.vocab");
    if (it->second < first_regular_id()) fail(source, field, "the merged token spells a special token");
    if (!merge_rank_.emplace(pair_key(left, right), std::make_pair(static_cast<int>(rank), it->second))
             .second) {
      fail(source, field, "duplicate merge");
    }
  }
  std::fill(std::begin(ascii_ids_), std::end(ascii_ids_), kUnkId);
  for (int c = 0; c < 128; ++c) {
    auto it = token_to_id_.find(std::string(1, static_cast<char>(c)));
    if (it != token_to_id_.end() && it->second >= first_regular_id()) ascii_ids_[c] = it->second;
  }
  cache_ = std::make_shared<ChunkCache>();
}

void BpeTokenizer::encode_chunk_uncached(std::string_view chunk, std::vector<int>& out) const {
  std::vector<int> s;
  s.reserve(chunk.size());
  for (size_t i = 0; i < chunk.size();) {
    const auto c = static_cast<unsigned char>(chunk[i]);
    if (c < 0x80) {
      s.push_back(ascii_ids_[c]);
      ++i;
      continue;
    }
    const size_t len = utf8_length(chunk, i);
    if (len == 0) {
      s.push_back(kUnkId);
      ++i;
      continue;
    }
    auto it = token_to_id_.find(std::string(chunk.substr(i, len)));
    s.push_back(it == token_to_id_.end() || it->second < first_regular_id() ? kUnkId : it->second);
    i += len;
  }
  while (s.size() > 1) {
    int best_rank = INT_MAX, merged = -1;
    size_t best_pos = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = merge_rank_.find(pair_key(s[i], s[i + 1]));
      if (it != merge_rank_.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        merged = it->second.second;
        best_pos = i;
      }
    }
    if (merged < 0) break;
    const int left = s[best_pos], right = s[best_pos + 1];
    size_t w = best_pos;
    for (size_t i = best_pos; i < s.size();) {
      if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
        s[w++] = merged;
        i += 2;
      } else {
        s[w++] = s[i++];
      }
    }
    s.resize(w);
  }
  out.insert(out.end(), s.begin(), s.end());
}

void BpeTokenizer::encode_chunk(std::string_view chunk, std::vector<int>& out) const {
  if (chunk.size() == 1 && static_cast<unsigned char>(chunk[0]) < 0x80) {
    out.push_back(ascii_ids_[static_cast<unsigned char>(chunk[0])]);
    return;
  }
  {
    std::shared_lock<std::shared_mutex> lock(cache_->mutex);
    auto it = cache_->map.find(chunk);
    if (it != cache_->map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t begin = out.size();
  encode_chunk_uncached(chunk, out);
  std::unique_lock<std::shared_mutex> lock(cache_->mutex);
  if (cache_->map.size() < kMaxCachedChunks && cache_->map.find(chunk) == cache_->map.end()) {
    cache_->storage.emplace_back(chunk);
    cache_->map.emplace(std::string_view(cache_->storage.back()),
                        std::vector<int>(out.begin() + static_cast<std::ptrdiff_t>(begin), out.end()));
  }
}

std::vector<int> BpeTokenizer::encode_text(std::string_view text) const {
  std::vector<int> out;
  out.reserve(text.size() / 2 + 1);
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_isolated(c, isolate_newlines_)) {
      out.push_back(ascii_ids_[c]);
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < text.size() && !is_isolated(static_cast<unsigned char>(text[j]), isolate_newlines_)) ++j;
    encode_chunk(text.substr(i, j - i), out);
    i = j;
  }
  return out;
}

std::vector<int> BpeTokenizer::encode(std::string_view text, const std::string& space_name) const {
  const int prefix = space_token_id(space_name);
  std::vector<int> out = encode_text(text);
  out.insert(out.begin(), prefix);
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int>& ids, bool keep_special) const {
  std::string out;
  for (int id : ids) {
    const std::string& t = token(id);
    if (id >= first_regular_id() || keep_special) out += t;
  }
  return out;
}

const std::string& BpeTokenizer::token(int id) const {
  NAS_CHECK(id >= 0 && id < vocab_size(), "token id {} outside [0, {})", id, vocab_size());
  return id_to_token_[static_cast<size_t>(id)];
}

int BpeTokenizer::token_id(const std::string& token_text) const {
  auto it = token_to_id_.find(token_text);
  return it == token_to_id_.end() ? -1 : it->second;
}

int BpeTokenizer::space_token_id(const std::string& space_name) const {
  for (size_t i = 0; i < space_names_.size(); ++i) {
    if (space_names_[i] == space_name) return 3 + static_cast<int>(i);
  }
  std::string known;
  for (const std::string& n : space_names_) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(
      fmt::format("tokenizer has no prefix token for search space '{}'; known: {}", space_name, known));
}

std::vector<std::pair<std::string, std::string>> BpeTokenizer::merges() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges_.size());
  for (const auto& [l, r] : merges_)
    out.emplace_back(id_to_token_[static_cast<size_t>(l)], id_to_token_[static_cast<size_t>(r)]);
  return out;
}

std::string BpeTokenizer::to_json() const {
  OrderedJson added = OrderedJson::array();
  for (int id = 0; id < first_regular_id(); ++id) {
    added.push_back({{"id", id},
                     {"content", id_to_token_[static_cast<size_t>(id)]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  OrderedJson vocab = OrderedJson::object();
  for (size_t id = 0; id < id_to_token_.size(); ++id) vocab[id_to_token_[id]] = id;
  OrderedJson merges = OrderedJson::array();
  for (const auto& [l, r] : merges_) {
    merges.push_back(
        OrderedJson::array({id_to_token_[static_cast<size_t>(l)], id_to_token_[static_cast<size_t>(r)]}));
  }
  OrderedJson model = {{"type", "BPE"},
                       {"dropout", nullptr},
                       {"unk_token", kUnk},
                       {"continuing_subword_prefix", nullptr},
                       {"end_of_word_suffix", nullptr},
                       {"fuse_unk", false},
                       {"byte_fallback", false},
                       {"ignore_merges", false},
                       {"vocab", std::move(vocab)},
                       {"merges", std::move(merges)}};
  OrderedJson root = {{"version", "1.0"},          {"truncation", nullptr},
                      {"padding", nullptr},        {"added_tokens", std::move(added)},
                      {"normalizer", nullptr},     {"pre_tokenizer", pre_tokenizer_json(isolate_newlines_)},
                      {"post_processor", nullptr}, {"decoder", {{"type", "Fuse"}}},
                      {"model", std::move(model)}};
  return root.dump(2) + "\n";
}

BpeTokenizer BpeTokenizer::from_json(const std::string& json_text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    throw DataError(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
  if (!root.is_object()) fail(source, "(root)", "expected a JSON object");

  const Json& pre = require(root, "pre_tokenizer", source, "");
  const bool isolate_newlines = pre == Json::parse(pre_tokenizer_json(true).dump());
  if (!isolate_newlines && pre != Json::parse(pre_tokenizer_json(false).dump())) {
    fail(source, "pre_tokenizer",
         "unsupported; expected Sequence[Digits(individual_digits), Split(\"\\n\", Isolated)] or "
         "Sequence[Digits(individual_digits)]");
  }
  const Json& model = require(root, "model", source, "");
  const std::string type = require_string(require(model, "type", source, "model"), source, "model.type");
  if (type != "BPE") fail(source, "model.type", fmt::format("expected \"BPE\", got \"{}\"", type));
  const std::string unk =
      require_string(require(model, "unk_token", source, "model"), source, "model.unk_token");
  if (unk != kUnk) fail(source, "model.unk_token", fmt::format("expected \"{}\", got \"{}\"", kUnk, unk));

  const Json& vocab = require(model, "vocab", source, "model");
  if (!vocab.is_object()) fail(source, "model.vocab", "expected an object token -> id");
  BpeTokenizer tok;
  tok.isolate_newlines_ = isolate_newlines;
  tok.id_to_token_.assign(vocab.size(), std::string());
  std::vector<bool> used(vocab.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::string field = fmt::format("model.vocab[\"{}\"]", it.key());
    const int id = require_id(it.value(), source, field);
    if (static_cast<size_t>(id) >= vocab.size()) {
      fail(source, field, fmt::format("id {} outside [0, {}): ids must be 0..V-1", id, vocab.size()));
    }
    if (used[static_cast<size_t>(id)]) fail(source, field, fmt::format("id {} used twice", id));
    used[static_cast<size_t>(id)] = true;
    tok.id_to_token_[static_cast<size_t>(id)] = it.key();
  }

  const Json& added = require(root, "added_tokens", source, "");
  if (!added.is_array()) fail(source, "added_tokens", "expected an array");
  if (added.size() < 3) fail(source, "added_tokens", "expected at least <pad>, <s> and <unk>");
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string field = fmt::format("added_tokens[{}]", i);
    const int id = require_id(require(added[i], "id", source, field), source, field + ".id");
    const std::string content =
        require_string(require(added[i], "content", source, field), source, field + ".content");
    if (id != static_cast<int>(i)) fail(source, field + ".id", fmt::format("expected id {}, got {}", i, id));
    static const char* const kFixed[] = {kPad, kStart, kUnk};
    if (i < 3 && content != kFixed[i]) {
      fail(source, field + ".content",
           fmt::format("expected \"{}\" at id {}, got \"{}\"", kFixed[i], i, content));
    }
    if (i >= 3) {
      if (content.size() < 3 || content.front() != '<' || content.back() != '>') {
        fail(source, field + ".content",
             fmt::format("space token \"{}\" is not of the form <name>", content));
      }
      tok.space_names_.push_back(content.substr(1, content.size() - 2));
    }
    if (i >= tok.id_to_token_.size() || tok.id_to_token_[i] != content) {
      fail(source, "model.vocab", fmt::format("special token \"{}\" must have id {}", content, i));
    }
  }

  const Json& merges = require(model, "merges", source, "model");
  if (!merges.is_array()) fail(source, "model.merges", "expected an array");
  std::unordered_map<std::string, int> ids;
  for (size_t id = 0; id < tok.id_to_token_.size(); ++id)
    ids.emplace(tok.id_to_token_[id], static_cast<int>(id));
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string field = fmt::format("model.merges[{}]", rank);
    const Json& m = merges[rank];
    std::string left, right;
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else if (m.is_string() && std::count(m.get_ref<const std::string&>().begin(),
                                           m.get_ref<const std::string&>().end(), ' ') == 1) {
      // The older "left right" form (tokenizers < 0.20); only unambiguous with exactly one space.
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else {
      fail(source, field, fmt::format("expected [\"left\", \"right\"], got {}", m.dump()));
    }
    const auto find = [&](const std::string& t) {
      auto it = ids.find(t);
      if (it == ids.end()) fail(source, field, fmt::format("token \"{}\" is not in model.vocab", t));
      return it->second;
    };
    tok.merges_.emplace_back(find(left), find(right));
  }
  tok.finalize(source);
  return tok;
}

void BpeTokenizer::save(const std::string& path) const { write_file_atomic(path, to_json()); }

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw DataError(e.what());
  }
  return from_json(text, path);
}

}  // namespace nas::predictor
