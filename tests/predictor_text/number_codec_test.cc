#include "predictor/number_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace nas::predictor {
namespace {

struct CodecRow {
  double value;
  std::string tokens;
  double decoded;
};

// Rows of regress-lm's P10Tokenizer test table (tokenizers_test.py), default D = 4, R = 10.
class P10TableTest : public ::testing::TestWithParam<CodecRow> {};

TEST_P(P10TableTest, EncodesAndDecodes) {
  const CodecRow& row = GetParam();
  P10Codec codec;
  const std::vector<std::string> tokens = codec.encode(row.value);
  EXPECT_EQ(NumberCodec::join_tokens(tokens), row.tokens);
  EXPECT_EQ(codec.decode(tokens), row.decoded);
  EXPECT_EQ(codec.decode(NumberCodec::split_tokens(row.tokens)), row.decoded);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(RegressLmTable, P10TableTest, ::testing::Values(
    CodecRow{123.4, "<+><1><2><3><4><E-1>", 123.4},
    CodecRow{12345, "<+><1><2><3><4><E1>", 12340},
    CodecRow{0.1234, "<+><1><2><3><4><E-4>", 0.1234},
    CodecRow{-123.4, "<-><1><2><3><4><E-1>", -123.4},
    CodecRow{-12345, "<-><1><2><3><4><E1>", -12340},
    CodecRow{-0.1234, "<-><1><2><3><4><E-4>", -0.1234},
    CodecRow{0.0, "<+><0><0><0><0><E0>", 0.0},
    CodecRow{-0.0, "<+><0><0><0><0><E0>", 0.0},
    CodecRow{-0.4e-13, "<-><0><0><0><0><E0>", 0.0},
    CodecRow{12355, "<+><1><2><3><6><E1>", 12360},
    CodecRow{94.37, "<+><9><4><3><7><E-2>", 94.37},
    CodecRow{99995, "<+><1><0><0><0><E2>", 100000},
    CodecRow{1e-7, "<+><1><0><0><0><E-10>", 1e-7},
    CodecRow{9.999e13, "<+><9><9><9><9><E10>", 9.999e13}));
// clang-format on

struct LimitRow {
  double value;
  int num_digits;
  int exponent_range;
  std::string tokens;
  double decoded;
};

// Clamping at the ends of the range (regress-lm's test_tokenization_limit rows), kClamp.
class P10LimitTest : public ::testing::TestWithParam<LimitRow> {};

TEST_P(P10LimitTest, ClampsToNearestRepresentable) {
  const LimitRow& row = GetParam();
  P10Codec codec({row.num_digits, row.exponent_range, OutOfRange::kClamp});
  EXPECT_EQ(NumberCodec::join_tokens(codec.encode(row.value)), row.tokens);
  EXPECT_EQ(codec.decode(codec.encode(row.value)), row.decoded);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(RegressLmLimits, P10LimitTest, ::testing::Values(
    LimitRow{1.0e13, 3, 10, "<+><9><9><9><E10>", 9.99e12},
    LimitRow{2.0e13, 3, 10, "<+><9><9><9><E10>", 9.99e12},
    LimitRow{-1.0e13, 3, 10, "<-><9><9><9><E10>", -9.99e12},
    LimitRow{-2.0e13, 3, 10, "<-><9><9><9><E10>", -9.99e12},
    LimitRow{9.9e12, 3, 10, "<+><9><9><0><E10>", 9.9e12},
    LimitRow{-9.9e12, 3, 10, "<-><9><9><0><E10>", -9.9e12},
    LimitRow{5.0e5, 3, 10, "<+><5><0><0><E3>", 5.0e5},
    LimitRow{1.1e-8, 3, 10, "<+><1><1><0><E-10>", 1.1e-8},
    LimitRow{0.9e-8, 3, 10, "<+><1><0><0><E-10>", 1e-8},
    LimitRow{0.5e-8, 3, 10, "<+><0><0><0><E0>", 0.0},
    LimitRow{0.51e-8, 3, 10, "<+><1><0><0><E-10>", 1e-8},
    LimitRow{0.4e-8, 3, 10, "<+><0><0><0><E0>", 0.0},
    LimitRow{-0.4e-8, 3, 10, "<-><0><0><0><E0>", 0.0},
    LimitRow{-0.5e-8, 3, 10, "<-><0><0><0><E0>", 0.0},
    LimitRow{-0.51e-8, 3, 10, "<-><1><0><0><E-10>", -1e-8},
    LimitRow{-1.1e-8, 3, 10, "<-><1><1><0><E-10>", -1.1e-8},
    LimitRow{1e300, 1, 5, "<+><9><E5>", 9e5},
    LimitRow{7.0, 1, 0, "<+><7><E0>", 7.0},
    LimitRow{96.0, 1, 0, "<+><9><E0>", 9.0}));
// clang-format on

TEST(P10CodecTest, TokenOrderAndRange) {
  P10Codec codec({/*num_digits=*/3, /*exponent_range=*/2});
  const std::vector<std::string> expected = {"<+>",   "<->",   "<0>",  "<1>",  "<2>", "<3>",
                                             "<4>",   "<5>",   "<6>",  "<7>",  "<8>", "<9>",
                                             "<E-2>", "<E-1>", "<E0>", "<E1>", "<E2>"};
  EXPECT_EQ(codec.tokens(), expected);
  EXPECT_EQ(codec.tokens_per_number(), 5);
  EXPECT_EQ(codec.max_magnitude(), 99900.0);
  EXPECT_EQ(codec.min_magnitude(), 1.0);
  P10Codec wide({/*num_digits=*/1, /*exponent_range=*/5});
  EXPECT_EQ(wide.max_magnitude(), 9.0e5);
  EXPECT_EQ(wide.min_magnitude(), 1.0e-5);
}

TEST(P10CodecTest, RelativeErrorBoundAcrossMagnitudes) {
  Rng rng(17);
  for (int digits : {1, 2, 3, 4, 6}) {
    P10Codec codec({digits, /*exponent_range=*/20, OutOfRange::kThrow});
    const double bound = 0.5 * std::pow(10.0, 1 - digits) * (1 + 1e-12);
    double worst = 0;
    for (int decade = -6; decade <= 12; ++decade) {
      for (int i = 0; i < 200; ++i) {
        const double v = (rng.bernoulli(0.5) ? -1 : 1) * std::pow(10.0, decade + rng.uniform());
        const double decoded = codec.decode(codec.encode(v));
        const double rel = std::fabs(decoded - v) / std::fabs(v);
        worst = std::max(worst, rel);
        ASSERT_LE(rel, bound) << "digits=" << digits << " v=" << v << " decoded=" << decoded;
        ASSERT_EQ(std::signbit(decoded), std::signbit(v));
      }
    }
    // The bound is attained up to a factor ~2: rounding really uses the D-th digit.
    EXPECT_GT(worst, 0.2 * bound) << "digits=" << digits;
    EXPECT_LT(bound, std::pow(10.0, 1 - digits));
  }
}

TEST(P10CodecTest, DefaultCodecKeepsFourSignificantDigits) {
  P10Codec codec;
  for (double v : {1e-6, 3.14159e-6, 0.0271828, 1.0, 42.0, 6.02214e8, 1.23456e12}) {
    const double decoded = codec.decode(codec.encode(v));
    EXPECT_LE(std::fabs(decoded - v), 5e-4 * std::fabs(v)) << v;
  }
  EXPECT_EQ(codec.decode(codec.encode(3.14159e-6)), 3.142e-6);
}

TEST(P10CodecTest, OutOfRangePolicy) {
  P10Codec clamp({4, 10, OutOfRange::kClamp});
  P10Codec strict({4, 10, OutOfRange::kThrow});
  EXPECT_EQ(clamp.decode(clamp.encode(1e20)), 9.999e13);
  EXPECT_EQ(clamp.decode(clamp.encode(-1e20)), -9.999e13);
  EXPECT_EQ(clamp.decode(clamp.encode(1e-20)), 0.0);
  EXPECT_EQ(clamp.decode(clamp.encode(9.9996e13)), 9.999e13);  // rounds up past the range: clamped
  try {
    strict.encode(1e20);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("overflows"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1e+20"), std::string::npos) << e.what();
  }
  EXPECT_THROW(strict.encode(9.9996e13), DataError);
  EXPECT_THROW(strict.encode(-3e-9), DataError);
  EXPECT_EQ(strict.decode(strict.encode(9.9994e13)), 9.999e13);
  EXPECT_EQ(strict.decode(strict.encode(0.0)), 0.0);
  for (const P10Codec* codec : {&clamp, &strict}) {
    EXPECT_THROW(codec->encode(std::numeric_limits<double>::quiet_NaN()), DataError);
    EXPECT_THROW(codec->encode(std::numeric_limits<double>::infinity()), DataError);
    EXPECT_THROW(codec->encode(-std::numeric_limits<double>::infinity()), DataError);
  }
  EXPECT_THROW(P10Codec({0, 10}), ConfigError);
  EXPECT_THROW(P10Codec({16, 10}), ConfigError);
  EXPECT_THROW(P10Codec({4, -1}), ConfigError);
}

TEST(P10CodecTest, GrammarAtEachPosition) {
  P10Codec codec({/*num_digits=*/3, /*exponent_range=*/2});
  using V = std::vector<std::string>;
  const V digits = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>", "<8>", "<9>"};
  EXPECT_EQ(codec.allowed_next({}), (V{"<+>", "<->"}));
  EXPECT_EQ(codec.allowed_next({"<->"}), digits);
  EXPECT_EQ(codec.allowed_next({"<->", "<3>"}), digits);
  EXPECT_EQ(codec.allowed_next({"<->", "<3>", "<0>"}), digits);
  EXPECT_EQ(codec.allowed_next({"<->", "<3>", "<0>", "<9>"}), (V{"<E-2>", "<E-1>", "<E0>", "<E1>", "<E2>"}));
  // A leading <0> means the number is zero: the other digits are <0> and the exponent is <E0>.
  EXPECT_EQ(codec.allowed_next({"<+>", "<0>"}), V{"<0>"});
  EXPECT_EQ(codec.allowed_next({"<+>", "<0>", "<0>", "<0>"}), V{"<E0>"});
  EXPECT_THROW(codec.allowed_next({"<+>", "<1>", "<0>", "<0>", "<E0>"}), DataError);  // complete
  EXPECT_THROW(codec.allowed_next({"<1>"}), DataError);                               // illegal prefix
  EXPECT_THROW(codec.allowed_next({"<+>", "<0>", "<5>"}), DataError);
  EXPECT_THROW(codec.allowed_next({"<+>", "<x>"}), DataError);
}

TEST(P10CodecTest, InvalidSequencesDoNotDecode) {
  P10Codec codec;
  for (const char* bad : {"<+><1><2><3><E0>", "<+><1><2><3><4><5><E0>", "<1><1><2><3><4><E0>",
                          "<+><0><1><2><3><E0>", "<+><0><0><0><0><E3>", "<+><1><2><3><E1><E1>",
                          "<+><1><2><3><4><+>", "<+><1><2><3><4><E11>", "<+><1><2><3><4><E-11>", ""}) {
    EXPECT_THROW(codec.decode(NumberCodec::split_tokens(bad)), DataError) << bad;
  }
  EXPECT_THROW(codec.decode_indices({0, 3, 3, 3, 3, 99}), DataError);
  EXPECT_THROW(codec.decode_indices({0, 3, 3, 3, 3, -1}), DataError);
  EXPECT_THROW(NumberCodec::split_tokens("<+><1"), DataError);
  EXPECT_THROW(NumberCodec::split_tokens("+<1>"), DataError);
  EXPECT_THROW(NumberCodec::split_tokens("<>"), DataError);
}

// Draws tokens only from allowed_next_indices(); every such sequence must decode, and re-encoding the
// decoded value must give the same tokens back (except negative zero, which encodes as <+>).
TEST(P10CodecTest, RandomGrammarSequencesAlwaysDecode) {
  Rng rng(23);
  for (int digits = 1; digits <= 5; ++digits) {
    for (int range : {0, 1, 3, 10, 12}) {
      P10Codec codec({digits, range, OutOfRange::kThrow});
      for (int trial = 0; trial < 300; ++trial) {
        std::vector<int> seq;
        while (static_cast<int>(seq.size()) < codec.tokens_per_number()) {
          const std::vector<int> allowed = codec.allowed_next_indices(seq);
          ASSERT_FALSE(allowed.empty());
          // Bias towards a leading <0> now and then so zero is exercised.
          const bool force_zero = seq.size() == 1 && rng.bernoulli(0.1);
          seq.push_back(force_zero ? P10Codec::digit_index(0) : allowed[rng.index(allowed.size())]);
        }
        ASSERT_EQ(codec.first_illegal_position(seq), -1);
        double value = 0;
        ASSERT_NO_THROW(value = codec.decode_indices(seq));
        std::vector<int> expected = seq;
        if (value == 0.0) expected[0] = P10Codec::kPlus;
        EXPECT_EQ(codec.encode_indices(value), expected) << "digits=" << digits << " range=" << range;
      }
    }
  }
}

// Value bounds are exact: with a small codec (D = 2, R = 2) every complete legal sequence is enumerated,
// and the bounded grammar must accept it (each token among allowed_next_within of its prefix) exactly
// when it decodes into [lo, hi], for wide, tight, signed and one-sided bounds.
TEST(P10CodecTest, BoundedGrammarAcceptsExactlyTheValuesInsideTheBounds) {
  const double inf = std::numeric_limits<double>::infinity();
  P10Codec codec({2, 2, OutOfRange::kThrow});
  std::vector<std::vector<int>> all;
  for (int sign : {P10Codec::kPlus, P10Codec::kMinus})
    for (int d1 = 0; d1 <= 9; ++d1)
      for (int d2 = 0; d2 <= 9; ++d2)
        for (int e = -2; e <= 2; ++e) {
          std::vector<int> s = {sign, P10Codec::digit_index(d1), P10Codec::digit_index(d2), codec.exponent_index(e)};
          if (codec.first_illegal_position(s) == -1) all.push_back(s);
        }
  ASSERT_EQ(all.size(), 2u * (90 * 5 + 1));
  const std::vector<ValueBounds> cases = {{0.0, 94.6},  {1.2, 1.2},    {-0.5, 0.3}, {95.0, inf},
                                          {-inf, -0.011}, {0.115, 0.127}, {-900, -899}, {0.0, 0.0}};
  for (const ValueBounds& b : cases) {
    int accepted = 0;
    for (const auto& s : all) {
      bool legal = true;
      for (size_t pos = 0; pos < s.size() && legal; ++pos) {
        const std::vector<int> prefix(s.begin(), s.begin() + static_cast<long>(pos));
        if (!codec.can_complete_within(prefix, b)) {
          legal = false;
          break;
        }
        const std::vector<int> next = codec.allowed_next_within(prefix, b);
        legal = std::find(next.begin(), next.end(), s[pos]) != next.end();
      }
      const double v = codec.decode_indices(s);
      EXPECT_EQ(legal, v >= b.lo && v <= b.hi) << "value " << v << " bounds [" << b.lo << ", " << b.hi << "]";
      accepted += legal;
    }
    EXPECT_GT(accepted, 0) << "[" << b.lo << ", " << b.hi << "]";
  }
  // Bounds holding no representable number (spacing is 0.01 around 1.2), or not an interval, are errors.
  EXPECT_FALSE(codec.can_complete_within({}, {1.231, 1.239}));
  EXPECT_THROW(codec.allowed_next_within({}, {1.231, 1.239}), DataError);
  EXPECT_THROW(codec.allowed_next_within({}, {2.0, 1.0}), DataError);
  // Unbounded is the plain grammar.
  EXPECT_EQ(codec.allowed_next_within({P10Codec::kPlus}, {}), codec.allowed_next_indices({P10Codec::kPlus}));
}

// The default codec: random decoding under bounds such as an accuracy range never leaves them, and
// covers both ends (values near 0 and near the top are reachable).
TEST(P10CodecTest, RandomBoundedSequencesStayInsideTheBounds) {
  P10Codec codec;
  NumberVocab vocab(std::make_shared<P10Codec>());
  Rng rng(5);
  for (const ValueBounds& b : {ValueBounds{0.0, 95.9}, ValueBounds{0.71, 12.9}, ValueBounds{-3.5e-4, 2e6}}) {
    double lowest = b.hi, highest = b.lo;
    for (int trial = 0; trial < 2000; ++trial) {
      std::vector<int> seq = {NumberVocab::kStartId};
      while (static_cast<int>(seq.size()) < 1 + vocab.tokens_per_number()) {
        const std::vector<int> allowed = vocab.allowed_next_ids(seq, b);
        ASSERT_FALSE(allowed.empty());
        seq.push_back(allowed[rng.index(allowed.size())]);
      }
      const double v = vocab.decode_numbers(seq)[0];
      ASSERT_GE(v, b.lo);
      ASSERT_LE(v, b.hi);
      lowest = std::min(lowest, v);
      highest = std::max(highest, v);
    }
    EXPECT_LT(lowest, b.lo + 0.5 * (b.hi - b.lo));
    EXPECT_GT(highest, b.lo + 0.1 * (b.hi - b.lo));
  }
  // The top of [0, 95.9]: after 9591 the exponent -2 (95.91) is excluded, -3 (9.591) is the largest left,
  // while 9590 may still take -2 (95.9 itself).
  std::vector<int> p = {P10Codec::kPlus, P10Codec::digit_index(9), P10Codec::digit_index(5)};
  std::vector<int> next;
  p.push_back(P10Codec::digit_index(9));
  p.push_back(P10Codec::digit_index(0));
  next = codec.allowed_next_within(p, {0.0, 95.9});
  EXPECT_EQ(next.back(), codec.exponent_index(-2));
  p.pop_back();
  p.push_back(P10Codec::digit_index(1));  // 9591 * 10^e: 95.91 is too big, 9.591 fits
  next = codec.allowed_next_within(p, {0.0, 95.9});
  EXPECT_EQ(std::find(next.begin(), next.end(), codec.exponent_index(-2)), next.end());
  EXPECT_NE(std::find(next.begin(), next.end(), codec.exponent_index(-3)), next.end());
  EXPECT_EQ(next.back(), codec.exponent_index(-3));
}

TEST(NumberVocabTest, IdsAndExample) {
  NumberVocab vocab(std::make_shared<P10Codec>());
  EXPECT_EQ(vocab.size(), 2 + 2 + 10 + 21);
  EXPECT_EQ(vocab.token(0), "<pad>");
  EXPECT_EQ(vocab.token(1), "<s>");
  EXPECT_EQ(vocab.token(2), "<+>");
  EXPECT_EQ(vocab.id("<E-1>"), 23);
  EXPECT_EQ(vocab.id("<pad>"), 0);
  EXPECT_EQ(vocab.id("<nope>"), -1);
  EXPECT_THROW(vocab.token(35), Error);
  EXPECT_EQ(vocab.decoder_sequence({123.4}), (std::vector<int>{1, 2, 5, 6, 7, 8, 23}));
}

TEST(NumberVocabTest, EncodesAndDecodesSeveralTargets) {
  NumberVocab vocab(std::make_shared<P10Codec>());
  const std::vector<double> targets = {93.76, 0.0, -1.5e-3, 2.5e9};
  const std::vector<int> ids = vocab.encode_numbers(targets);
  ASSERT_EQ(ids.size(), targets.size() * 6);
  EXPECT_EQ(vocab.decode_numbers(ids), targets);
  std::vector<int> with_frame = vocab.decoder_sequence(targets);
  with_frame.push_back(NumberVocab::kPadId);
  with_frame.push_back(NumberVocab::kPadId);
  EXPECT_EQ(vocab.decode_numbers(with_frame), targets);
  std::vector<int> truncated(ids.begin(), ids.end() - 1);
  EXPECT_THROW(vocab.decode_numbers(truncated), DataError);
  std::vector<int> corrupted = ids;
  corrupted[13] = vocab.id("<0>");  // third number (-1.5e-3) gets a leading zero digit: illegal
  EXPECT_THROW(vocab.decode_numbers(corrupted), DataError);
  std::vector<int> with_start_inside = ids;
  with_start_inside[6] = NumberVocab::kStartId;
  EXPECT_THROW(vocab.decode_numbers(with_start_inside), DataError);
}

TEST(NumberVocabTest, AllowedIdsFollowTheGrammarAcrossNumbers) {
  NumberVocab vocab(std::make_shared<P10Codec>(P10Options{2, 1}));
  // K = 4; ids: <pad> 0, <s> 1, <+> 2, <-> 3, <0>..<9> 4..13, <E-1> 14, <E0> 15, <E1> 16.
  EXPECT_EQ(vocab.allowed_next_ids({NumberVocab::kStartId}), (std::vector<int>{2, 3}));
  EXPECT_EQ(vocab.allowed_next_ids({}), (std::vector<int>{2, 3}));
  EXPECT_EQ(vocab.allowed_next_ids({1, 2, 5, 4}), (std::vector<int>{14, 15, 16}));
  EXPECT_EQ(vocab.allowed_next_ids({1, 2, 5, 4, 16}), (std::vector<int>{2, 3}));  // second number
  EXPECT_EQ(vocab.allowed_next_ids({1, 2, 5, 4, 16, 3, 4}), (std::vector<int>{4}));
  EXPECT_EQ(vocab.allowed_next_ids({1, 2, 5, 4, 16, 3, 4, 4}), (std::vector<int>{15}));
  const std::vector<unsigned char> mask = vocab.allowed_next_mask({1, 2, 5, 4});
  ASSERT_EQ(mask.size(), 17u);
  for (int id = 0; id < 17; ++id) EXPECT_EQ(mask[static_cast<size_t>(id)], id >= 14 ? 1 : 0) << id;
  EXPECT_THROW(vocab.allowed_next_ids({1, 2, 4, 5, 16, 2}), DataError);  // first number illegal
  EXPECT_THROW(vocab.allowed_next_ids({1, 2, NumberVocab::kPadId}), DataError);
}

// Greedy "decoding" with random logits restricted to the mask, as the model's constrained decoder does.
TEST(NumberVocabTest, MaskedRandomDecodingYieldsValidTargets) {
  NumberVocab vocab(std::make_shared<P10Codec>());
  Rng rng(99);
  const int targets = 3;
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<int> seq = {NumberVocab::kStartId};
    while (static_cast<int>(seq.size()) < 1 + targets * vocab.tokens_per_number()) {
      const std::vector<unsigned char> mask = vocab.allowed_next_mask(seq);
      int best = -1;
      double best_logit = -1;
      for (int id = 0; id < vocab.size(); ++id) {
        const double logit = rng.uniform();
        if (mask[static_cast<size_t>(id)] && logit > best_logit) {
          best = id;
          best_logit = logit;
        }
      }
      ASSERT_GE(best, NumberVocab::kFirstNumberId);
      seq.push_back(best);
    }
    std::vector<double> values;
    ASSERT_NO_THROW(values = vocab.decode_numbers(seq)) << trial;
    EXPECT_EQ(values.size(), static_cast<size_t>(targets));
  }
}

}  // namespace
}  // namespace nas::predictor
