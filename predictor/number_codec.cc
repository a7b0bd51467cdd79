#include "predictor/number_codec.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace nas::predictor {
namespace {

std::string describe(const NumberCodec& codec, const std::vector<int>& indices) {
  std::string out;
  for (int i : indices) {
    if (i >= 0 && i < static_cast<int>(codec.tokens().size())) {
      out += codec.tokens()[static_cast<size_t>(i)];
    } else {
      out += fmt::format("<#{}>", i);
    }
  }
  return out.empty() ? "(empty)" : out;
}

// Correctly rounded value of the decimal `mantissa`e`exponent`.
double decimal_value(long long mantissa, int exponent) {
  const std::string text = fmt::format("{}e{}", mantissa, exponent);
  return std::strtod(text.c_str(), nullptr);
}

// m * 10^e, equal to decimal_value(m, e) for m < 2^53: for |e| <= 22 both m and 10^|e| are exact
// doubles, so one IEEE multiplication or division is correctly rounded, as strtod is.
double scaled(long long mantissa, int exponent) {
  static constexpr double kPow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const double m = static_cast<double>(mantissa);
  if (exponent >= 0 && exponent <= 22) return m * kPow10[exponent];
  if (exponent < 0 && exponent >= -22) return m / kPow10[-exponent];
  return decimal_value(mantissa, exponent);
}

}  // namespace

std::vector<int> NumberCodec::allowed_next_within(const std::vector<int>& prefix, const ValueBounds& bounds) const {
  if (!bounds.bounded()) return allowed_next_indices(prefix);
  if (std::isnan(bounds.lo) || std::isnan(bounds.hi) || bounds.lo > bounds.hi)
    throw DataError(fmt::format("number value bounds [{:g}, {:g}] are not an interval", bounds.lo, bounds.hi));
  if (!can_complete_within(prefix, bounds))
    throw DataError(fmt::format("number token prefix '{}' cannot be completed within [{:g}, {:g}]",
                                describe(*this, prefix), bounds.lo, bounds.hi));
  std::vector<int> out;
  std::vector<int> next = prefix;
  next.push_back(0);
  for (int t : allowed_next_indices(prefix)) {
    next.back() = t;
    if (can_complete_within(next, bounds)) out.push_back(t);
  }
  return out;
}

std::vector<std::string> NumberCodec::allowed_next(const std::vector<std::string>& prefix) const {
  std::vector<int> indices;
  indices.reserve(prefix.size());
  for (const std::string& t : prefix) {
    const int i = index_of(t);
    if (i < 0) throw DataError(fmt::format("number token prefix: unknown token '{}'", t));
    indices.push_back(i);
  }
  std::vector<std::string> out;
  for (int i : allowed_next_indices(indices)) out.push_back(tokens()[static_cast<size_t>(i)]);
  return out;
}

std::vector<std::string> NumberCodec::encode(double value) const {
  std::vector<std::string> out;
  for (int i : encode_indices(value)) out.push_back(tokens()[static_cast<size_t>(i)]);
  return out;
}

double NumberCodec::decode(const std::vector<std::string>& tokens_in) const {
  std::vector<int> indices;
  indices.reserve(tokens_in.size());
  for (size_t pos = 0; pos < tokens_in.size(); ++pos) {
    const int i = index_of(tokens_in[pos]);
    if (i < 0) {
      throw DataError(fmt::format("number tokens '{}': unknown token '{}' at position {}",
                                  join_tokens(tokens_in), tokens_in[pos], pos));
    }
    indices.push_back(i);
  }
  return decode_indices(indices);
}

int NumberCodec::index_of(const std::string& token) const {
  auto it = index_.find(token);
  return it == index_.end() ? -1 : it->second;
}

std::string NumberCodec::join_tokens(const std::vector<std::string>& tokens_in) {
  std::string out;
  for (const std::string& t : tokens_in) out += t;
  return out;
}

std::vector<std::string> NumberCodec::split_tokens(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t close = text.find('>', pos);
    if (text[pos] != '<' || close == std::string::npos || close == pos + 1) {
      throw DataError(fmt::format("number tokens '{}': expected '<token>' at character {}", text, pos));
    }
    out.push_back(text.substr(pos, close + 1 - pos));
    pos = close + 1;
  }
  return out;
}

void NumberCodec::build_index() {
  index_.clear();
  for (size_t i = 0; i < tokens().size(); ++i) index_.emplace(tokens()[i], static_cast<int>(i));
}

P10Codec::P10Codec(P10Options options) : options_(options) {
  if (options_.num_digits < 1 || options_.num_digits > 15) {
    throw ConfigError(
        fmt::format("P10 number codec: num_digits = {} must be in [1, 15]", options_.num_digits));
  }
  if (options_.exponent_range < 0 || options_.exponent_range > 290) {
    throw ConfigError(
        fmt::format("P10 number codec: exponent_range = {} must be in [0, 290]", options_.exponent_range));
  }
  tokens_ = {"<+>", "<->"};
  for (int d = 0; d <= 9; ++d) tokens_.push_back(fmt::format("<{}>", d));
  for (int e = -options_.exponent_range; e <= options_.exponent_range; ++e) {
    tokens_.push_back(fmt::format("<E{}>", e));
  }
  build_index();
  long long max_mantissa = 1;
  for (int i = 0; i < options_.num_digits; ++i) max_mantissa *= 10;
  max_magnitude_ = decimal_value(max_mantissa - 1, options_.exponent_range);
  min_magnitude_ = decimal_value(max_mantissa / 10, -options_.exponent_range);
}

int P10Codec::first_illegal_position(const std::vector<int>& indices) const {
  const int k = tokens_per_number();
  const int num_tokens = static_cast<int>(tokens_.size());
  const int first_exponent = exponent_index(-options_.exponent_range);
  bool zero = false;
  for (size_t p = 0; p < indices.size(); ++p) {
    const int pos = static_cast<int>(p);
    const int t = indices[p];
    if (pos >= k || t < 0 || t >= num_tokens) return pos;
    if (pos == 0) {
      if (t != kPlus && t != kMinus) return pos;
    } else if (pos < k - 1) {
      if (t < digit_index(0) || t > digit_index(9)) return pos;
      if (pos == 1) zero = t == digit_index(0);
      if (pos > 1 && zero && t != digit_index(0)) return pos;
    } else {
      if (t < first_exponent) return pos;
      if (zero && t != exponent_index(0)) return pos;
    }
  }
  return -1;
}

std::vector<int> P10Codec::allowed_next_indices(const std::vector<int>& prefix) const {
  const int k = tokens_per_number();
  const int pos = static_cast<int>(prefix.size());
  if (pos >= k) {
    throw DataError(fmt::format("number token prefix '{}' already holds a complete number ({} tokens)",
                                describe(*this, prefix), k));
  }
  const int bad = first_illegal_position(prefix);
  if (bad >= 0) {
    throw DataError(
        fmt::format("number token prefix '{}': illegal token at position {}", describe(*this, prefix), bad));
  }
  std::vector<int> out;
  if (pos == 0) {
    out = {kPlus, kMinus};
  } else if (pos < k - 1) {
    const bool zero = pos > 1 && prefix[1] == digit_index(0);
    if (zero) {
      out = {digit_index(0)};
    } else {
      for (int d = 0; d <= 9; ++d) out.push_back(digit_index(d));
    }
  } else if (prefix[1] == digit_index(0)) {
    out = {exponent_index(0)};
  } else {
    for (int e = -options_.exponent_range; e <= options_.exponent_range; ++e)
      out.push_back(exponent_index(e));
  }
  return out;
}

bool P10Codec::mantissa_range_within(long long lo, long long hi, int e, double min_mag, double max_mag) const {
  if (!(min_mag <= max_mag)) return false;
  if (scaled(hi, e) < min_mag || scaled(lo, e) > max_mag) return false;
  // Smallest m in [lo, hi] with m * 10^e >= min_mag (the decoded value is monotone in m): a guess from
  // one division, then exact steps (at most a few, as the guess is off by rounding only).
  long long g = lo;
  if (scaled(lo, e) < min_mag) {
    const double guess = min_mag / std::pow(10.0, e);
    g = guess >= static_cast<double>(hi) ? hi : std::max(lo, static_cast<long long>(std::ceil(guess)));
    while (g > lo && scaled(g - 1, e) >= min_mag) --g;
    while (g < hi && scaled(g, e) < min_mag) ++g;
  }
  const double v = scaled(g, e);
  return v >= min_mag && v <= max_mag;
}

bool P10Codec::can_complete_within(const std::vector<int>& prefix, const ValueBounds& bounds) const {
  const int bad = first_illegal_position(prefix);
  if (bad >= 0) {
    throw DataError(
        fmt::format("number token prefix '{}': illegal token at position {}", describe(*this, prefix), bad));
  }
  const int d = options_.num_digits;
  const int r = options_.exponent_range;
  const bool zero_within = bounds.lo <= 0.0 && 0.0 <= bounds.hi;
  // Completions with the given sign: zero, or magnitudes m * 10^e in [min_mag, max_mag].
  auto with_sign = [&](bool negative) {
    const double min_mag = negative ? -bounds.hi : bounds.lo;
    const double max_mag = negative ? -bounds.lo : bounds.hi;
    const int given = prefix.size() > 1 ? std::min(static_cast<int>(prefix.size()) - 1, d) : 0;
    if (given >= 1 && prefix[1] == digit_index(0)) return zero_within;
    long long lo = 0, span = 1;
    for (int i = 1; i <= given; ++i) lo = lo * 10 + (prefix[static_cast<size_t>(i)] - digit_index(0));
    for (int i = given; i < d; ++i) lo *= 10, span *= 10;
    long long hi = lo + span - 1;
    if (given == 0) lo = span / 10;  // d1 != 0 for a non-zero number
    if (static_cast<int>(prefix.size()) == d + 2)
      return mantissa_range_within(lo, hi, prefix.back() - exponent_index(0), min_mag, max_mag);
    for (int e = -r; e <= r; ++e)
      if (mantissa_range_within(lo, hi, e, min_mag, max_mag)) return true;
    return given == 0 && zero_within;
  };
  if (prefix.empty()) return with_sign(false) || with_sign(true);
  return with_sign(prefix[0] == kMinus);
}

std::vector<int> P10Codec::make_indices(bool negative, long long mantissa, int exponent) const {
  std::vector<int> out;
  out.reserve(static_cast<size_t>(tokens_per_number()));
  out.push_back(negative ? kMinus : kPlus);
  const std::string digits = fmt::format("{:0{}d}", mantissa, options_.num_digits);
  for (char c : digits) out.push_back(digit_index(c - '0'));
  out.push_back(exponent_index(exponent));
  return out;
}

std::vector<int> P10Codec::encode_indices(double value) const {
  if (!std::isfinite(value)) {
    throw DataError(fmt::format("P10 number codec: cannot encode {}: not a finite number", value));
  }
  const int d = options_.num_digits;
  const int r = options_.exponent_range;
  const bool negative = value < 0;
  const double magnitude = std::fabs(value);
  if (magnitude == 0.0) return make_indices(/*negative=*/false, 0, 0);
  // "%.*e" rounds the exact binary value to d significant digits: "1.234e+02" -> m = 1234, e = 2 - 3.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*e", d - 1, magnitude);
  long long mantissa = buf[0] - '0';
  const char* p = buf + 1;
  if (*p == '.') ++p;
  for (; *p >= '0' && *p <= '9'; ++p) mantissa = mantissa * 10 + (*p - '0');
  NAS_CHECK(*p == 'e', "unexpected printf output '{}'", buf);
  const int exponent = std::atoi(p + 1) - (d - 1);
  const std::string range =
      fmt::format("representable magnitudes are 0 and [{:g}, {:g}] ({} digits, exponents {}..{})",
                  min_magnitude_, max_magnitude_, d, -r, r);
  if (exponent > r) {
    if (options_.out_of_range == OutOfRange::kThrow) {
      throw DataError(fmt::format("P10 number codec: {:g} overflows; {}", value, range));
    }
    long long max_mantissa = 1;
    for (int i = 0; i < d; ++i) max_mantissa *= 10;
    return make_indices(negative, max_mantissa - 1, r);
  }
  if (exponent < -r) {
    if (options_.out_of_range == OutOfRange::kThrow) {
      throw DataError(fmt::format("P10 number codec: {:g} underflows; {}", value, range));
    }
    // Nearest of 0 and min_magnitude; the midpoint goes to zero (regress-lm's round-half-even).
    if (magnitude > 0.5 * min_magnitude_) {
      long long min_mantissa = 1;
      for (int i = 1; i < d; ++i) min_mantissa *= 10;
      return make_indices(negative, min_mantissa, -r);
    }
    return make_indices(negative, 0, 0);
  }
  return make_indices(negative, mantissa, exponent);
}

double P10Codec::decode_indices(const std::vector<int>& indices) const {
  const int k = tokens_per_number();
  if (static_cast<int>(indices.size()) != k) {
    throw DataError(fmt::format("number tokens '{}': expected {} tokens, got {}", describe(*this, indices), k,
                                indices.size()));
  }
  const int bad = first_illegal_position(indices);
  if (bad >= 0) {
    throw DataError(
        fmt::format("number tokens '{}': illegal token at position {}", describe(*this, indices), bad));
  }
  long long mantissa = 0;
  for (int pos = 1; pos < k - 1; ++pos)
    mantissa = mantissa * 10 + (indices[static_cast<size_t>(pos)] - digit_index(0));
  if (mantissa == 0) return 0.0;
  const int exponent = indices.back() - exponent_index(0);
  const double magnitude = decimal_value(mantissa, exponent);
  return indices[0] == kMinus ? -magnitude : magnitude;
}

NumberVocab::NumberVocab(std::shared_ptr<const NumberCodec> codec) : codec_(std::move(codec)) {
  NAS_CHECK(codec_ != nullptr, "NumberVocab needs a codec");
  id_to_token_ = {"<pad>", "<s>"};
  for (const std::string& t : codec_->tokens()) id_to_token_.push_back(t);
}

const std::string& NumberVocab::token(int id) const {
  NAS_CHECK(id >= 0 && id < size(), "decoder token id {} outside [0, {})", id, size());
  return id_to_token_[static_cast<size_t>(id)];
}

int NumberVocab::id(const std::string& token_text) const {
  if (token_text == id_to_token_[kPadId]) return kPadId;
  if (token_text == id_to_token_[kStartId]) return kStartId;
  const int i = codec_->index_of(token_text);
  return i < 0 ? -1 : i + kFirstNumberId;
}

std::vector<int> NumberVocab::to_codec(const std::vector<int>& ids, size_t begin, size_t end) const {
  std::vector<int> out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    if (ids[i] < kFirstNumberId || ids[i] >= size()) {
      throw DataError(fmt::format("decoder ids: id {} at position {} is not a number token", ids[i], i));
    }
    out.push_back(ids[i] - kFirstNumberId);
  }
  return out;
}

std::vector<int> NumberVocab::allowed_next_ids(const std::vector<int>& prefix_ids, const ValueBounds& bounds) const {
  const size_t start = !prefix_ids.empty() && prefix_ids[0] == kStartId ? 1 : 0;
  const size_t k = static_cast<size_t>(tokens_per_number());
  const size_t n = prefix_ids.size() - start;
  const size_t current = start + (n / k) * k;
  for (size_t begin = start; begin < current; begin += k) {
    const int bad = codec_->first_illegal_position(to_codec(prefix_ids, begin, begin + k));
    if (bad >= 0) {
      throw DataError(
          fmt::format("decoder ids: illegal number token at position {}", begin + static_cast<size_t>(bad)));
    }
  }
  std::vector<int> out = codec_->allowed_next_within(to_codec(prefix_ids, current, prefix_ids.size()), bounds);
  for (int& i : out) i += kFirstNumberId;
  return out;
}

std::vector<unsigned char> NumberVocab::allowed_next_mask(const std::vector<int>& prefix_ids,
                                                          const ValueBounds& bounds) const {
  std::vector<unsigned char> mask(static_cast<size_t>(size()), 0);
  for (int i : allowed_next_ids(prefix_ids, bounds)) mask[static_cast<size_t>(i)] = 1;
  return mask;
}

std::vector<int> NumberVocab::encode_numbers(const std::vector<double>& values) const {
  std::vector<int> out;
  out.reserve(values.size() * static_cast<size_t>(tokens_per_number()));
  for (double v : values) {
    for (int i : codec_->encode_indices(v)) out.push_back(i + kFirstNumberId);
  }
  return out;
}

std::vector<double> NumberVocab::decode_numbers(const std::vector<int>& ids) const {
  size_t begin = !ids.empty() && ids[0] == kStartId ? 1 : 0;
  size_t end = ids.size();
  while (end > begin && ids[end - 1] == kPadId) --end;
  const size_t k = static_cast<size_t>(tokens_per_number());
  if ((end - begin) % k != 0) {
    throw DataError(fmt::format("decoder ids: {} number tokens is not a multiple of {} tokens per number",
                                end - begin, k));
  }
  std::vector<double> out;
  for (size_t b = begin; b < end; b += k) {
    const std::vector<int> indices = to_codec(ids, b, b + k);
    const int bad = codec_->first_illegal_position(indices);
    if (bad >= 0) {
      throw DataError(
          fmt::format("decoder ids: illegal number token at position {}", b + static_cast<size_t>(bad)));
    }
    out.push_back(codec_->decode_indices(indices));
  }
  return out;
}

std::vector<int> NumberVocab::decoder_sequence(const std::vector<double>& values) const {
  std::vector<int> out{kStartId};
  const std::vector<int> ids = encode_numbers(values);
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

}  // namespace nas::predictor
