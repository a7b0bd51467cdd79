#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nas::predictor {

// Options of BpeTokenizer::train().
struct BpeTrainOptions {
  // Target vocabulary size, specials and base alphabet included. Training stops earlier when no pair
  // occurs min_frequency times; a target below the base size gives no merges.
  int vocab_size = 1024;
  int64_t min_frequency = 2;
  // Whether '\n' is a chunk of its own (the default, see below). false makes it an ordinary character
  // that merges with the punctuation around it ("])\nConv(^,[A," can become one token): about a fifth
  // fewer tokens on predictor text, and merges enough for vocab sizes of 1,024-2,048 to pay off
  // (experiments/text_length_report --merge-newlines).
  bool isolate_newlines = true;
  // One prefix token "<name>" per search space, ids 3, 4, ... in this order (registry names).
  std::vector<std::string> space_names = {"nb101", "nb201", "fbnet", "ofa_mbv3", "darts"};
};

// Byte-pair-encoding tokenizer of the predictor's input: ONNX graph text, prefixed with the search
// space's name (the RLM reads "<space> text", Akhauri et al. arXiv 2509.26476). Trained by our own code
// (Sennrich et al. 2016 BPE on characters), saved in the Hugging Face `tokenizers` tokenizer.json layout.
//
// Ids: 0 = <pad> (padding, masked out), 1 = <s> (start), 2 = <unk>, 3.. = the space tokens (<nb101>,
// <nb201>, <fbnet>, <ofa_mbv3>, <darts> by default), then the base alphabet sorted by UTF-8 bytes,
// then one id per merge in merge order (a merge whose result string already exists reuses its id).
//
// Pre-tokenisation (BPE merges never cross a chunk boundary): every ASCII digit 0-9 is a chunk of its
// own and every '\n' is a chunk of its own (unless BpeTrainOptions::isolate_newlines is false); each
// maximal run of other characters is one chunk, merges run freely inside it (punctuation and spaces
// included: ONNX text is mostly punctuation glued between numbers, e.g. "],pads=[" becomes one token).
// So numbers are always spelled digit by digit. In tokenizer.json terms:
// Sequence[Digits(individual_digits), Split("\n", Isolated)], or Sequence[Digits(individual_digits)].
// Characters are UTF-8 code points. The base alphabet is the characters seen in the training corpus
// plus the ten digits and '\n' (always present). An unseen character, or a byte that is not valid
// UTF-8, encodes as <unk> and is never merged. Special-token text such as "<pad>" inside the input is
// ordinary text (unlike the Hugging Face library, which would match added tokens first).
//
// Training is deterministic: the pair with the highest count over the corpus is merged next; ties go
// to the pair whose (left token, right token) strings are lexicographically (bytewise) smallest.
// A merge whose result would spell a special token ("<pad>" etc.) is skipped. Training keeps pair counts
// incrementally (a lazy max-heap plus a pair -> words index): about 6 s for 20 MB of text on one core.
// Encoding applies the merges by rank (lowest first, leftmost occurrence first), which reproduces the
// training segmentation, and caches the result per chunk (~80,000 texts of 1.7 kB per second).
//
// File: "model.merges" is written as [left, right] pairs (the tokenizers >= 0.20 form, which allows
// tokens containing spaces); the older "left right" strings are also read when unambiguous.
//
// Example:
//   BpeTokenizer tok = BpeTokenizer::train(texts, {/*vocab_size=*/512});
//   std::vector<int> ids = tok.encode("v3=Relu(v2) [1,16,32,32]\n", "nb201");   // [<nb201>, ...]
//   tok.decode(ids) == "v3=Relu(v2) [1,16,32,32]\n";
//   tok.save("runs/x/tokenizer.json");
//
// Thread-safety: after construction every method is const; encode() may be called concurrently
// (the chunk cache is guarded by a shared mutex). Copies share the cache.
class BpeTokenizer {
 public:
  static constexpr int kPadId = 0;
  static constexpr int kStartId = 1;
  static constexpr int kUnkId = 2;
  static constexpr const char* kPad = "<pad>";
  static constexpr const char* kStart = "<s>";
  static constexpr const char* kUnk = "<unk>";

  // Trains on `corpus` (each string one document). Throws nas::ConfigError on bad options (empty or
  // duplicate space names, names containing '<' or '>', vocab_size < 1, min_frequency < 1).
  static BpeTokenizer train(const std::vector<std::string>& corpus, const BpeTrainOptions& options = {});

  // tokenizer.json text <-> tokenizer. from_json() throws nas::DataError "SOURCE: field 'model.vocab':
  // ..." naming `source` and the missing / malformed field (invalid JSON, wrong model type, vocab ids
  // not 0..V-1, merges whose parts are not in the vocab, special tokens missing or at other ids, ...).
  std::string to_json() const;
  static BpeTokenizer from_json(const std::string& json_text, const std::string& source);
  // File versions; save() writes atomically (core/io.h). load() throws nas::DataError naming the path.
  void save(const std::string& path) const;
  static BpeTokenizer load(const std::string& path);

  // [<space_name>] + encode_text(text). Throws nas::ConfigError for a space without a prefix token.
  std::vector<int> encode(std::string_view text, const std::string& space_name) const;
  // Token ids of `text` alone.
  std::vector<int> encode_text(std::string_view text) const;
  // Concatenated token strings; special tokens (<pad>, <s>, <unk>, space tokens) are skipped unless
  // keep_special. decode(encode_text(x)) == x when every character of x is in the alphabet. Throws
  // nas::Error for an id outside [0, vocab_size()).
  std::string decode(const std::vector<int>& ids, bool keep_special = false) const;

  // Splits `text` into the pre-tokenisation chunks described above (their concatenation is `text`).
  static std::vector<std::string_view> pre_tokenize(std::string_view text, bool isolate_newlines = true);
  // Whether '\n' is a chunk of its own (BpeTrainOptions::isolate_newlines; stored in tokenizer.json).
  bool isolate_newlines() const { return isolate_newlines_; }

  int vocab_size() const { return static_cast<int>(id_to_token_.size()); }
  // Token string of an id; throws nas::Error outside [0, vocab_size()).
  const std::string& token(int id) const;
  // Id of a token string, or -1.
  int token_id(const std::string& token) const;
  // Prefix-token id of a search space; throws nas::ConfigError naming the known spaces.
  int space_token_id(const std::string& space_name) const;
  const std::vector<std::string>& space_names() const { return space_names_; }
  // Ids >= first_regular_id() are text tokens (alphabet and merges); below are the specials.
  int first_regular_id() const { return 3 + static_cast<int>(space_names_.size()); }
  // The merges in rank order, as (left, right) token strings.
  std::vector<std::pair<std::string, std::string>> merges() const;

 private:
  struct ChunkCache;

  BpeTokenizer();
  // Builds the lookup tables from id_to_token_, space_names_ and merges_. `source` names errors.
  void finalize(const std::string& source);
  void encode_chunk(std::string_view chunk, std::vector<int>& out) const;
  void encode_chunk_uncached(std::string_view chunk, std::vector<int>& out) const;

  std::vector<std::string> space_names_;
  bool isolate_newlines_ = true;
  std::vector<std::string> id_to_token_;
  std::vector<std::pair<int, int>> merges_;  // (left id, right id), rank = index
  std::unordered_map<std::string, int> token_to_id_;
  // (left << 32 | right) -> (rank, merged id).
  std::unordered_map<uint64_t, std::pair<int, int>> merge_rank_;
  int ascii_ids_[128];  // id of each single ASCII character, kUnkId if not in the alphabet
  std::shared_ptr<ChunkCache> cache_;
};

}  // namespace nas::predictor
