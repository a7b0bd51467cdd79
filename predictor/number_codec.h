#pragma once

#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nas::predictor {

// What an encoder does with a finite value outside the representable range.
enum class OutOfRange {
  kClamp,  // to the nearest representable value: +-max for overflow, 0 or +-min_positive for underflow
  kThrow,  // throw nas::DataError naming the value and the range
};

// The closed interval [lo, hi] a decoded number must lie in: constrained decoding with value bounds,
// e.g. a target's training range widened by a margin (predictor/rlm.h, DecodeOptions::bound_margin), so
// that sampling cannot produce a value the model never had evidence for (an accuracy of 99.9 % on a
// benchmark whose best cell has 94.4 %). The default is unbounded.
struct ValueBounds {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool bounded() const {
    return lo > -std::numeric_limits<double>::infinity() || hi < std::numeric_limits<double>::infinity();
  }
};

// Turns one number into a fixed number of decoder tokens and back, with a grammar telling which tokens
// may come next, so that constrained decoding always yields a valid number (after regress-lm's
// DecoderTokenizer, tokenizers.py). Tokens are addressed by their index in tokens() (the "codec index");
// the string methods are conveniences over the index ones.
// Thread-safety: every method is const and may be called concurrently.
class NumberCodec {
 public:
  virtual ~NumberCodec() = default;

  // K: tokens per number.
  virtual int tokens_per_number() const = 0;
  // Every token, by codec index, e.g. {"<+>", "<->", "<0>", ..., "<E10>"}.
  virtual const std::vector<std::string>& tokens() const = 0;
  // Codec indices allowed after `prefix` (the indices of the current number so far, size < K),
  // ascending. Throws nas::DataError if prefix.size() >= K or the prefix is itself not a legal prefix.
  virtual std::vector<int> allowed_next_indices(const std::vector<int>& prefix) const = 0;
  // K codec indices for a finite value. NaN / inf always throw nas::DataError; out-of-range values
  // follow the codec's OutOfRange policy. Never silently returns a different number than the nearest
  // representable one.
  virtual std::vector<int> encode_indices(double value) const = 0;
  // The value of K codec indices. Throws nas::DataError naming the position at fault if the sequence
  // is not a complete legal number (wrong length, token out of place, non-canonical form).
  virtual double decode_indices(const std::vector<int>& indices) const = 0;
  // -1 if `indices` (at most K of them) is a legal prefix of a number (a complete number when size K),
  // else the position of the first token that breaks the grammar (or of the first index out of range).
  virtual int first_illegal_position(const std::vector<int>& indices) const = 0;
  // Whether some legal completion of the legal prefix `prefix` (size <= K; a complete number is its own
  // only completion) decodes to a value in [bounds.lo, bounds.hi]. Exact: it tests the values decode
  // would return, not an approximation of them. Throws nas::DataError if `prefix` is not legal.
  virtual bool can_complete_within(const std::vector<int>& prefix, const ValueBounds& bounds) const = 0;

  // allowed_next_indices(prefix) restricted to the tokens after which can_complete_within(bounds) still
  // holds: the "legal next tokens" of the grammar intersected with the interval. If the prefix itself can
  // be completed within the bounds, the result is never empty, so decoding that starts from a prefix
  // for which can_complete_within({}, bounds) holds always ends inside [lo, hi]. Throws nas::DataError if
  // the prefix is illegal or cannot be completed within the bounds.
  std::vector<int> allowed_next_within(const std::vector<int>& prefix, const ValueBounds& bounds) const;

  // String forms of the above ("<+>" etc.). Unknown token strings throw nas::DataError.
  std::vector<std::string> allowed_next(const std::vector<std::string>& prefix) const;
  std::vector<std::string> encode(double value) const;
  double decode(const std::vector<std::string>& tokens) const;

  // Codec index of a token string, or -1.
  int index_of(const std::string& token) const;
  // "<+><1><2><3><4><E-1>" <-> {"<+>", "<1>", ...}. split_tokens() throws nas::DataError on text that
  // is not a concatenation of "<...>" tokens.
  static std::string join_tokens(const std::vector<std::string>& tokens);
  static std::vector<std::string> split_tokens(const std::string& text);

 protected:
  // Call from the derived constructor once tokens() is final.
  void build_index();

 private:
  std::unordered_map<std::string, int> index_;
};

// Options of P10Codec. The defaults are regress-lm's (num_digits = 4, exponent_range = 10).
struct P10Options {
  int num_digits = 4;       // D mantissa digits, 1..15 (so the mantissa is an exact double)
  int exponent_range = 10;  // R: exponent tokens <E-R>..<ER>, 0..290
  OutOfRange out_of_range = OutOfRange::kClamp;
};

// The P10 number encoding of regress-lm (Song et al., "OmniPred", arXiv 2402.14547; scheme from
// Charton, arXiv 2112.01898): value = sign * m * 10^e with K = D + 2 tokens
//   <+>|<->   <d1> ... <dD>   <Ee>,   m = d1 d2 ... dD as an integer, e in [-R, R].
// Example (D = 4, R = 10): 123.4 -> <+><1><2><3><4><E-1>; 12345 -> <+><1><2><3><4><E1> (= 12340);
//                          0 -> <+><0><0><0><0><E0>.
// Canonical form (the grammar): a non-zero number has d1 != 0 (so 10^(D-1) <= m < 10^D); zero is
// written with all digits <0> and exponent <E0>, with either sign (<-> zero appears when a tiny
// negative value underflows, as in regress-lm). Every sequence the grammar allows decodes, and
// encode_indices(decode_indices(s)) == s for every legal s except <-> zero (which encodes back as <+>).
// Representable magnitudes: 0 and [10^(D-1) * 10^-R, (10^D - 1) * 10^R], e.g. [1e-7, 9.999e13].
// Rounding: encode() rounds the exact binary value to D significant decimal digits (round half to
// even via printf "%.*e"), so |decode(encode(v)) - v| <= 0.5 * 10^(1-D) * |v| for in-range v; decode()
// is correctly rounded (the decimal m·10^e is parsed by strtod), so 123.4 decodes to exactly 123.4.
// Underflow under kClamp: |v| > min_positive / 2 -> +-min_positive, else (signed) zero, as regress-lm.
// Token order of tokens(): <+>, <->, <0>..<9>, <E-R>..<ER> (regress-lm's all_tokens() order).
class P10Codec final : public NumberCodec {
 public:
  // Throws nas::ConfigError if an option is out of its range.
  explicit P10Codec(P10Options options = {});

  int tokens_per_number() const override { return options_.num_digits + 2; }
  const std::vector<std::string>& tokens() const override { return tokens_; }
  std::vector<int> allowed_next_indices(const std::vector<int>& prefix) const override;
  std::vector<int> encode_indices(double value) const override;
  double decode_indices(const std::vector<int>& indices) const override;
  int first_illegal_position(const std::vector<int>& indices) const override;
  bool can_complete_within(const std::vector<int>& prefix, const ValueBounds& bounds) const override;

  const P10Options& options() const { return options_; }
  // Largest and smallest non-zero representable magnitudes: 9.999e13 and 1e-7 by default.
  double max_magnitude() const { return max_magnitude_; }
  double min_magnitude() const { return min_magnitude_; }

  // Codec indices of the token classes.
  static constexpr int kPlus = 0;
  static constexpr int kMinus = 1;
  static int digit_index(int digit) { return 2 + digit; }
  int exponent_index(int exponent) const { return 12 + exponent + options_.exponent_range; }

 private:
  std::vector<int> make_indices(bool negative, long long mantissa, int exponent) const;
  // Whether some mantissa m in [lo, hi] (10^(D-1) <= lo <= hi < 10^D) with exponent e decodes to a
  // magnitude in [min_mag, max_mag].
  bool mantissa_range_within(long long lo, long long hi, int e, double min_mag, double max_mag) const;

  P10Options options_;
  std::vector<std::string> tokens_;
  double max_magnitude_ = 0.0;
  double min_magnitude_ = 0.0;
};

// The decoder vocabulary of the regression language model: ids 0 = <pad> (padding, masked out of the
// loss), 1 = <s> (decoder start), then the codec's tokens in codec order (id = codec index + 2).
// A target vector of T numbers is the id sequence <s>, then T*K number tokens, numbers one after another.
// Example (P10, D = 4, R = 10): {123.4} -> [1, 2, 5, 6, 7, 8, 23] (<s> <+> <1> <2> <3> <4> <E-1>;
// <E-1> is codec index 12 + (-1 + 10) = 21, id 23).
// Thread-safety: every method is const and may be called concurrently.
class NumberVocab {
 public:
  static constexpr int kPadId = 0;
  static constexpr int kStartId = 1;
  static constexpr int kFirstNumberId = 2;

  explicit NumberVocab(std::shared_ptr<const NumberCodec> codec);

  const NumberCodec& codec() const { return *codec_; }
  int size() const { return kFirstNumberId + static_cast<int>(codec_->tokens().size()); }
  int tokens_per_number() const { return codec_->tokens_per_number(); }
  // "<pad>", "<s>" or the codec token of `id`. Throws nas::Error for an id outside [0, size()).
  const std::string& token(int id) const;
  // Id of a token string, or -1.
  int id(const std::string& token) const;

  // Ids allowed after `prefix_ids`, ascending. prefix_ids holds the number tokens decoded so far after
  // <s> (a leading <s> is tolerated and ignored), possibly covering several complete numbers: the
  // grammar applies to the current (last, incomplete) number at position prefix.size() % K, and all
  // earlier numbers must be legal. `bounds` restricts the current number to [lo, hi]
  // (NumberCodec::allowed_next_within). Throws nas::DataError if the prefix is not legal or cannot be
  // completed within the bounds.
  std::vector<int> allowed_next_ids(const std::vector<int>& prefix_ids, const ValueBounds& bounds = {}) const;
  // Same as a mask of size() entries (1 = allowed), for building a logits mask.
  std::vector<unsigned char> allowed_next_mask(const std::vector<int>& prefix_ids,
                                               const ValueBounds& bounds = {}) const;

  // T values -> T*K ids (without <s>). Follows the codec's OutOfRange policy; NaN/inf throw.
  std::vector<int> encode_numbers(const std::vector<double>& values) const;
  // Inverse of encode_numbers(). Accepts an optional leading <s> and trailing <pad> ids; the rest must be
  // a multiple of K ids forming legal numbers, else nas::DataError naming the position.
  std::vector<double> decode_numbers(const std::vector<int>& ids) const;
  // Decoder input for teacher forcing: [<s>] + encode_numbers(values) (size 1 + T*K).
  std::vector<int> decoder_sequence(const std::vector<double>& values) const;

 private:
  // Codec indices of number ids[begin, end) (ids must be number tokens).
  std::vector<int> to_codec(const std::vector<int>& ids, size_t begin, size_t end) const;

  std::shared_ptr<const NumberCodec> codec_;
  std::vector<std::string> id_to_token_;
};

}  // namespace nas::predictor
