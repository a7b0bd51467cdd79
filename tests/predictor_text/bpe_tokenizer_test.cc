#include "predictor/bpe_tokenizer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"

namespace nas::predictor {
namespace {

// One synthetic network in the predictor's compact ONNX-text style, one node per line:
//   v12=Conv{kernel_shape=[3,3],pads=[1,1,1,1]}(v11,[16,16,3,3]) [1,16,32,32]
std::string onnx_like_model(Rng& rng) {
  int channels = 16 << rng.uniform_int(0, 2);
  int size = rng.bernoulli(0.5) ? 32 : 16;
  std::string out = fmt::format("graph{{input=[1,3,{},{}],opset=15}}\n", size, size);
  out +=
      fmt::format("v0=Conv{{kernel_shape=[3,3],pads=[1,1,1,1],strides=[1,1]}}(x,[{},3,3,3]) [1,{},{},{}]\n",
                  channels, channels, size, size);
  int v = 0;
  const int layers = static_cast<int>(rng.uniform_int(12, 40));
  for (int layer = 0; layer < layers; ++layer) {
    const int prev = v++;
    const std::string shape = fmt::format("[1,{},{},{}]", channels, size, size);
    switch (rng.uniform_int(0, 6)) {
      case 0: {
        const int k = rng.bernoulli(0.5) ? 3 : 1;
        out += fmt::format("v{}=Conv{{kernel_shape=[{},{}],pads=[{},{},{},{}]}}(v{},[{},{},{},{}]) {}\n", v,
                           k, k, k / 2, k / 2, k / 2, k / 2, prev, channels, channels, k, k, shape);
        break;
      }
      case 1:
        out += fmt::format("v{}=BatchNormalization{{epsilon=1e-05,momentum=0.9}}(v{},[{}],[{}]) {}\n", v,
                           prev, channels, channels, shape);
        break;
      case 2:
        out += fmt::format("v{}=Relu(v{}) {}\n", v, prev, shape);
        break;
      case 3:
        out += fmt::format("v{}=Add(v{},v{}) {}\n", v, prev, rng.uniform_int(0, prev), shape);
        break;
      case 4:
        out += fmt::format("v{}=AveragePool{{kernel_shape=[3,3],pads=[1,1,1,1],strides=[1,1]}}(v{}) {}\n", v,
                           prev, shape);
        break;
      case 5:
        if (size > 8) {
          size /= 2;
          channels *= 2;
          out += fmt::format(
              "v{}=Conv{{kernel_shape=[3,3],pads=[1,1,1,1],strides=[2,2]}}(v{},[{},{},3,3]) [1,{},{},{}]\n",
              v, prev, channels, channels / 2, channels, size, size);
        } else {
          out += fmt::format("v{}=Identity(v{}) {}\n", v, prev, shape);
        }
        break;
      default:
        out += fmt::format("v{}=MaxPool{{kernel_shape=[3,3],pads=[1,1,1,1],strides=[1,1]}}(v{}) {}\n", v,
                           prev, shape);
    }
  }
  out += fmt::format("v{}=GlobalAveragePool(v{}) [1,{},1,1]\n", v + 1, v, channels);
  out += fmt::format("v{}=Flatten{{axis=1}}(v{}) [1,{}]\n", v + 2, v + 1, channels);
  out += fmt::format("v{}=Gemm{{transB=1}}(v{},[10,{}],[10]) [1,10]\n", v + 3, v + 2, channels);
  if (rng.bernoulli(0.3)) out += "doc=\"latency in µs\"\n";  // a multi-byte UTF-8 character
  return out;
}

std::vector<std::string> make_corpus(uint64_t seed, int n) {
  Rng rng(seed);
  std::vector<std::string> corpus;
  for (int i = 0; i < n; ++i) corpus.push_back(onnx_like_model(rng));
  return corpus;
}

// Characters of an ASCII-or-UTF-8 string (continuation bytes join the previous character).
std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) == 0x80 && !out.empty()) {
      out.back() += c;
    } else {
      out.emplace_back(1, c);
    }
  }
  return out;
}

// Textbook BPE training (recount every pair after every merge), with the documented tie rule.
std::vector<std::pair<std::string, std::string>> brute_force_merges(const std::vector<std::string>& corpus,
                                                                    size_t max_merges,
                                                                    int64_t min_frequency) {
  std::map<std::string, int64_t> chunk_counts;
  for (const std::string& text : corpus) {
    for (std::string_view chunk : BpeTokenizer::pre_tokenize(text)) {
      if (chunk.size() == 1 && (chunk[0] == '\n' || (chunk[0] >= '0' && chunk[0] <= '9'))) continue;
      ++chunk_counts[std::string(chunk)];
    }
  }
  std::vector<std::vector<std::string>> words;
  std::vector<int64_t> counts;
  for (const auto& [chunk, count] : chunk_counts) {
    words.push_back(utf8_chars(chunk));
    counts.push_back(count);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  while (merges.size() < max_merges) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (size_t w = 0; w < words.size(); ++w) {
      for (size_t i = 0; i + 1 < words[w].size(); ++i) pairs[{words[w][i], words[w][i + 1]}] += counts[w];
    }
    std::pair<std::string, std::string> best;
    int64_t best_count = 0;
    for (const auto& [pair, count] : pairs) {
      if (count > best_count) {
        best = pair;
        best_count = count;
      }
    }
    if (best_count < min_frequency) break;
    for (auto& word : words) {
      std::vector<std::string> merged;
      for (size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == best.first && word[i + 1] == best.second) {
          merged.push_back(best.first + best.second);
          i += 2;
        } else {
          merged.push_back(word[i++]);
        }
      }
      word = std::move(merged);
    }
    merges.push_back(best);
  }
  return merges;
}

class BpeTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    train_corpus_ = new std::vector<std::string>(make_corpus(/*seed=*/1, /*n=*/300));
    held_out_ = new std::vector<std::string>(make_corpus(/*seed=*/2, /*n=*/100));
    BpeTrainOptions options;
    options.vocab_size = 600;
    tokenizer_ = new BpeTokenizer(BpeTokenizer::train(*train_corpus_, options));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete held_out_;
    delete train_corpus_;
  }
  static std::vector<std::string>* train_corpus_;
  static std::vector<std::string>* held_out_;
  static BpeTokenizer* tokenizer_;
};

std::vector<std::string>* BpeTokenizerTest::train_corpus_ = nullptr;
std::vector<std::string>* BpeTokenizerTest::held_out_ = nullptr;
BpeTokenizer* BpeTokenizerTest::tokenizer_ = nullptr;

TEST_F(BpeTokenizerTest, SpecialTokensHaveFixedIds) {
  const BpeTokenizer& tok = *tokenizer_;
  EXPECT_EQ(tok.token(0), "<pad>");
  EXPECT_EQ(tok.token(1), "<s>");
  EXPECT_EQ(tok.token(2), "<unk>");
  EXPECT_EQ(tok.token(3), "<nb101>");
  EXPECT_EQ(tok.token(4), "<nb201>");
  EXPECT_EQ(tok.token(5), "<fbnet>");
  EXPECT_EQ(tok.token(6), "<ofa_mbv3>");
  EXPECT_EQ(tok.token(7), "<darts>");
  EXPECT_EQ(tok.first_regular_id(), 8);
  EXPECT_EQ(tok.space_token_id("ofa_mbv3"), 6);
  EXPECT_THROW(tok.space_token_id("nb301"), ConfigError);
  EXPECT_THROW(tok.token(tok.vocab_size()), Error);
  // The synthetic corpus runs out of repeated pairs before the 600 target.
  EXPECT_LE(tok.vocab_size(), 600);
  // Base alphabet = the characters of the corpus plus the ten digits and '\n'; merges add the rest.
  std::set<std::string> seen = {"\n"};
  for (char d = '0'; d <= '9'; ++d) seen.insert(std::string(1, d));
  for (const std::string& text : *train_corpus_) {
    for (const std::string& c : utf8_chars(text)) seen.insert(c);
  }
  std::set<std::string> alphabet;
  for (int id = tok.first_regular_id(); id < tok.vocab_size(); ++id) {
    if (utf8_chars(tok.token(id)).size() == 1) alphabet.insert(tok.token(id));
  }
  EXPECT_EQ(alphabet, seen);
  EXPECT_EQ(tok.vocab_size(), tok.first_regular_id() + static_cast<int>(seen.size() + tok.merges().size()));
}

TEST_F(BpeTokenizerTest, EncodePrefixesTheSpaceToken) {
  const std::string text = (*held_out_)[0];
  const std::vector<int> ids = tokenizer_->encode(text, "nb201");
  ASSERT_GT(ids.size(), 1u);
  EXPECT_EQ(ids[0], 4);
  EXPECT_EQ(std::vector<int>(ids.begin() + 1, ids.end()), tokenizer_->encode_text(text));
  EXPECT_EQ(tokenizer_->decode(ids), text);
  EXPECT_EQ(tokenizer_->decode(ids, /*keep_special=*/true), "<nb201>" + text);
  EXPECT_THROW(tokenizer_->encode(text, "resnet"), ConfigError);
}

TEST_F(BpeTokenizerTest, TrainingIsDeterministic) {
  BpeTrainOptions options;
  options.vocab_size = 600;
  const BpeTokenizer again = BpeTokenizer::train(*train_corpus_, options);
  EXPECT_EQ(again.to_json(), tokenizer_->to_json());
  // Counts do not depend on document order.
  std::vector<std::string> shuffled = *train_corpus_;
  Rng rng(4);
  rng.shuffle(shuffled);
  EXPECT_EQ(BpeTokenizer::train(shuffled, options).to_json(), tokenizer_->to_json());
}

TEST_F(BpeTokenizerTest, MergesMatchTextbookTraining) {
  const std::vector<std::string> small(train_corpus_->begin(), train_corpus_->begin() + 20);
  BpeTrainOptions options;
  options.vocab_size = 250;
  const BpeTokenizer tok = BpeTokenizer::train(small, options);
  const auto merges = tok.merges();
  ASSERT_GT(merges.size(), 100u);
  const auto expected = brute_force_merges(small, merges.size() + 1, options.min_frequency);
  ASSERT_GE(expected.size(), merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    ASSERT_EQ(merges[i], expected[i]) << "merge " << i;
  }
  // Training stopped for the documented reason: the target size was reached or no pair was frequent.
  EXPECT_TRUE(tok.vocab_size() == options.vocab_size || expected.size() == merges.size());
}

TEST_F(BpeTokenizerTest, DecodeInvertsEncodeOnHeldOutText) {
  for (const std::string& text : *held_out_) {
    const std::vector<int> ids = tokenizer_->encode_text(text);
    for (int id : ids) ASSERT_NE(id, BpeTokenizer::kUnkId);
    ASSERT_EQ(tokenizer_->decode(ids), text);
  }
}

TEST_F(BpeTokenizerTest, DigitsAndNewlinesAreAlwaysSingleTokens) {
  for (int id = tokenizer_->first_regular_id(); id < tokenizer_->vocab_size(); ++id) {
    const std::string& t = tokenizer_->token(id);
    if (t.size() == 1) continue;
    EXPECT_EQ(t.find_first_of("0123456789\n"), std::string::npos) << "token '" << t << "'";
  }
  const std::string line = "v123=Conv{kernel_shape=[3,3]}(v122,[64,64,3,3]) [1,64,8,8]\n";
  const std::vector<int> ids = tokenizer_->encode_text(line);
  size_t digit_tokens = 0;
  for (int id : ids) {
    const std::string& t = tokenizer_->token(id);
    if (t.find_first_of("0123456789") != std::string::npos) {
      EXPECT_EQ(t.size(), 1u) << t;
      ++digit_tokens;
    }
  }
  EXPECT_EQ(digit_tokens, 19u);  // every digit of the line, one token each
  EXPECT_EQ(tokenizer_->token(ids.back()), "\n");
  // Digits are in the alphabet even when the corpus has none.
  const BpeTokenizer no_digits = BpeTokenizer::train({"abc abc"}, {});
  EXPECT_EQ(no_digits.decode(no_digits.encode_text("a7\n")), "a7\n");
}

TEST_F(BpeTokenizerTest, UnknownCharactersBecomeUnk) {
  const std::vector<int> ids = tokenizer_->encode_text("Relu@(v1)\xff Ω");
  size_t unk = 0;
  for (int id : ids) unk += id == BpeTokenizer::kUnkId;
  EXPECT_EQ(unk, 3u);  // '@', the invalid byte 0xFF and 'Ω' (U+03A9, two bytes)
  EXPECT_EQ(tokenizer_->decode(ids), "Relu(v1) ");
  EXPECT_EQ(tokenizer_->decode(ids, /*keep_special=*/true), "Relu<unk>(v1)<unk> <unk>");
  // A seen multi-byte character is known.
  for (int id : tokenizer_->encode_text("µs")) EXPECT_NE(id, BpeTokenizer::kUnkId);
}

TEST_F(BpeTokenizerTest, SpecialTokenTextIsOrdinaryText) {
  const std::vector<std::string> corpus(50, "x=<pad><s><unk><nb201>;");
  const BpeTokenizer tok = BpeTokenizer::train(corpus, {});
  const std::vector<int> ids = tok.encode_text("x=<pad><s><unk><nb201>;");
  for (int id : ids) EXPECT_GE(id, tok.first_regular_id());
  EXPECT_EQ(tok.decode(ids), "x=<pad><s><unk><nb201>;");
  EXPECT_EQ(BpeTokenizer::from_json(tok.to_json(), "special.json").encode_text("x=<pad>;"),
            tok.encode_text("x=<pad>;"));
}

TEST_F(BpeTokenizerTest, SaveLoadRoundTrip) {
  const std::string path = ::testing::TempDir() + "/nas_bpe_tokenizer_test/tokenizer.json";
  tokenizer_->save(path);
  const BpeTokenizer loaded = BpeTokenizer::load(path);
  EXPECT_EQ(loaded.to_json(), tokenizer_->to_json());
  EXPECT_EQ(loaded.space_names(), tokenizer_->space_names());
  for (const std::string& text : *held_out_)
    ASSERT_EQ(loaded.encode(text, "darts"), tokenizer_->encode(text, "darts"));
  std::remove(path.c_str());

  // The layout is the Hugging Face tokenizer.json one.
  const auto json = nlohmann::json::parse(tokenizer_->to_json());
  EXPECT_EQ(json["model"]["type"], "BPE");
  EXPECT_EQ(json["model"]["unk_token"], "<unk>");
  EXPECT_EQ(json["model"]["vocab"]["<pad>"], 0);
  EXPECT_EQ(json["model"]["merges"].size(), tokenizer_->merges().size());
  EXPECT_EQ(json["added_tokens"][2]["content"], "<unk>");
  EXPECT_EQ(json["added_tokens"][2]["special"], true);
  EXPECT_EQ(json["pre_tokenizer"]["pretokenizers"][0]["type"], "Digits");
  EXPECT_EQ(json["pre_tokenizer"]["pretokenizers"][0]["individual_digits"], true);
}

TEST_F(BpeTokenizerTest, LoadsLegacyStringMerges) {
  auto json = nlohmann::json::parse(tokenizer_->to_json());
  size_t converted = 0;
  for (auto& m : json["model"]["merges"]) {
    const std::string l = m[0], r = m[1];
    if (l.find(' ') != std::string::npos || r.find(' ') != std::string::npos) continue;
    m = l + " " + r;
    ++converted;
  }
  ASSERT_GT(converted, 10u);
  const BpeTokenizer loaded = BpeTokenizer::from_json(json.dump(), "legacy.json");
  EXPECT_EQ(loaded.merges(), tokenizer_->merges());
  EXPECT_EQ(loaded.encode_text((*held_out_)[1]), tokenizer_->encode_text((*held_out_)[1]));
}

TEST_F(BpeTokenizerTest, MalformedFilesNameTheField) {
  const auto valid = nlohmann::json::parse(tokenizer_->to_json());
  struct Case {
    std::string field;
    std::function<void(nlohmann::json&)> mutate;
  };
  const std::vector<Case> cases = {
      {"'model'", [](nlohmann::json& j) { j.erase("model"); }},
      {"'model.type'", [](nlohmann::json& j) { j["model"]["type"] = "WordPiece"; }},
      {"'model.type'", [](nlohmann::json& j) { j["model"]["type"] = 3; }},
      {"'model.unk_token'", [](nlohmann::json& j) { j["model"]["unk_token"] = "[UNK]"; }},
      {"'model.vocab'", [](nlohmann::json& j) { j["model"].erase("vocab"); }},
      {"'model.vocab", [](nlohmann::json& j) { j["model"]["vocab"]["v"] = "seven"; }},
      {"'model.vocab", [](nlohmann::json& j) { j["model"]["vocab"]["v"] = 100000; }},
      {"'model.vocab", [](nlohmann::json& j) { j["model"]["vocab"]["v"] = j["model"]["vocab"]["="]; }},
      {"'model.merges'", [](nlohmann::json& j) { j["model"].erase("merges"); }},
      {"'model.merges[0]'", [](nlohmann::json& j) { j["model"]["merges"][0] = 5; }},
      {"'model.merges[0]'",
       [](nlohmann::json& j) {
         j["model"]["merges"][0] = {"no_such_token", "a"};
       }},
      {"'model.merges[1]'", [](nlohmann::json& j) { j["model"]["merges"][1] = j["model"]["merges"][0]; }},
      {"'model.merges[0]'",
       [](nlohmann::json& j) {
         j["model"]["merges"][0] = {"x", "x"};
       }},
      {"'added_tokens'", [](nlohmann::json& j) { j.erase("added_tokens"); }},
      {"'added_tokens[2].content'", [](nlohmann::json& j) { j["added_tokens"][2]["content"] = "<mask>"; }},
      {"'added_tokens[1].id'", [](nlohmann::json& j) { j["added_tokens"][1]["id"] = 5; }},
      {"'added_tokens[3].content'", [](nlohmann::json& j) { j["added_tokens"][3].erase("content"); }},
      {"'pre_tokenizer'", [](nlohmann::json& j) { j["pre_tokenizer"] = nullptr; }},
      {"'pre_tokenizer'", [](nlohmann::json& j) { j.erase("pre_tokenizer"); }},
  };
  for (const Case& c : cases) {
    nlohmann::json j = valid;
    c.mutate(j);
    try {
      BpeTokenizer::from_json(j.dump(), "runs/tok.json");
      ADD_FAILURE() << "no error for a file broken at " << c.field;
    } catch (const DataError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("runs/tok.json: ", 0), 0u) << msg;
      EXPECT_NE(msg.find("field " + c.field), std::string::npos)
          << "expected field " << c.field << " in: " << msg;
    }
  }
  EXPECT_THROW(BpeTokenizer::from_json("{\"model\": [1, 2", "x.json"), DataError);
  EXPECT_THROW(BpeTokenizer::from_json("[]", "x.json"), DataError);
  try {
    BpeTokenizer::load("/nonexistent/dir/tokenizer.json");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/tokenizer.json"), std::string::npos) << e.what();
  }
}

TEST_F(BpeTokenizerTest, ConcurrentEncodingMatchesSerial) {
  const BpeTokenizer fresh = BpeTokenizer::from_json(tokenizer_->to_json(), "copy");  // cold cache
  std::vector<std::vector<int>> serial;
  for (const std::string& text : *held_out_) serial.push_back(tokenizer_->encode_text(text));
  std::vector<std::vector<int>> a(held_out_->size()), b(held_out_->size());
  std::thread t1([&] {
    for (size_t i = 0; i < held_out_->size(); ++i) a[i] = fresh.encode_text((*held_out_)[i]);
  });
  std::thread t2([&] {
    for (size_t i = held_out_->size(); i-- > 0;) b[i] = fresh.encode_text((*held_out_)[i]);
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a, serial);
  EXPECT_EQ(b, serial);
}

TEST_F(BpeTokenizerTest, CompressionAndSpeedOnOnnxLikeText) {
  size_t chars = 0, tokens = 0, digits = 0, chunks = 0;
  for (const std::string& text : *held_out_) {
    chars += text.size();
    tokens += tokenizer_->encode_text(text).size();
    chunks += BpeTokenizer::pre_tokenize(text).size();
    for (char c : text) digits += c >= '0' && c <= '9';
  }
  const double ratio = static_cast<double>(chars) / static_cast<double>(tokens);
  // Digits cost one token each; the rest is where BPE can compress.
  const double non_digit_ratio = static_cast<double>(chars - digits) / static_cast<double>(tokens - digits);
  std::cout << fmt::format(
      "[ compression ] {} held-out texts, {} chars -> {} tokens: {:.2f} chars/token "
      "({:.1f} chars/token outside digits; {} pre-token chunks; vocab {}, {} merges)\n",
      held_out_->size(), chars, tokens, ratio, non_digit_ratio, chunks, tokenizer_->vocab_size(),
      tokenizer_->merges().size());
  RecordProperty("chars_per_token", fmt::format("{:.3f}", ratio));
  EXPECT_GT(ratio, 1.8);
  EXPECT_GT(non_digit_ratio, 3.0);
  // Merges never cross chunks, so tokens >= chunks; on text like the training text almost every chunk
  // ("=Conv{kernel_shape=[", "],pads=[", ...) is a single token.
  EXPECT_GE(tokens, chunks);
  EXPECT_LE(static_cast<double>(tokens), 1.02 * static_cast<double>(chunks));

  const BpeTokenizer cold = BpeTokenizer::from_json(tokenizer_->to_json(), "copy");
  const auto start = std::chrono::steady_clock::now();
  const int rounds = 20;
  size_t total = 0;
  for (int r = 0; r < rounds; ++r) {
    for (const std::string& text : *held_out_) total += cold.encode_text(text).size();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format(
      "[ speed       ] {:.0f} texts/s ({:.1f} MB/s, {} chars/text), cache cold at start\n",
      rounds * held_out_->size() / seconds, rounds * chars / seconds / 1e6, chars / held_out_->size());
  EXPECT_EQ(total, rounds * tokens);
}

TEST(BpeTokenizerOptionsTest, RejectsBadOptions) {
  BpeTrainOptions bad_names;
  bad_names.space_names = {"nb201", "nb201"};
  EXPECT_THROW(BpeTokenizer::train({"abc"}, bad_names), ConfigError);
  bad_names.space_names = {"<x>"};
  EXPECT_THROW(BpeTokenizer::train({"abc"}, bad_names), ConfigError);
  BpeTrainOptions bad_size;
  bad_size.vocab_size = 0;
  EXPECT_THROW(BpeTokenizer::train({"abc"}, bad_size), ConfigError);
  BpeTrainOptions custom;
  custom.space_names = {"toy"};
  const BpeTokenizer tok = BpeTokenizer::train({"abc abc abc"}, custom);
  EXPECT_EQ(tok.token(3), "<toy>");
  EXPECT_EQ(tok.encode("abc", "toy")[0], 3);
}

TEST(BpeTokenizerOptionsTest, PreTokenizeSplitsDigitsAndNewlines) {
  const auto chunks = BpeTokenizer::pre_tokenize("v12=Relu(v11) [1,8]\n\nab");
  const std::vector<std::string_view> expected = {"v", "1", "2", "=Relu(v", "1",  "1",  ") [",
                                                  "1", ",", "8", "]",       "\n", "\n", "ab"};
  EXPECT_EQ(chunks, expected);
  // With isolate_newlines = false, '\n' belongs to the chunks of other characters.
  const std::vector<std::string_view> merged = {"v", "1", "2", "=Relu(v", "1", "1", ") [", "1", ",", "8", "]\n\nab"};
  EXPECT_EQ(BpeTokenizer::pre_tokenize("v12=Relu(v11) [1,8]\n\nab", /*isolate_newlines=*/false), merged);
}

TEST(BpeTokenizerOptionsTest, MergedNewlinesGiveFewerTokensAndSurviveJson) {
  std::vector<std::string> corpus;
  for (int i = 0; i < 50; ++i)
    corpus.push_back(fmt::format("Relu(a)\nConv(^,[A,A,{},1])\nt{}=BatchNormalization(^,[A]*4)\nret t{}\n", i % 7,
                                 i % 10, i % 10));
  BpeTrainOptions isolated, merged;
  isolated.vocab_size = merged.vocab_size = 400;
  merged.isolate_newlines = false;
  const BpeTokenizer a = BpeTokenizer::train(corpus, isolated), b = BpeTokenizer::train(corpus, merged);
  EXPECT_TRUE(a.isolate_newlines());
  EXPECT_FALSE(b.isolate_newlines());
  EXPECT_LT(b.encode_text(corpus[3]).size(), a.encode_text(corpus[3]).size());
  EXPECT_EQ(b.decode(b.encode_text(corpus[3])), corpus[3]);
  const BpeTokenizer c = BpeTokenizer::from_json(b.to_json(), "merged.json");
  EXPECT_FALSE(c.isolate_newlines());
  EXPECT_EQ(c.encode_text(corpus[5]), b.encode_text(corpus[5]));
  EXPECT_EQ(nlohmann::json::parse(b.to_json())["pre_tokenizer"]["pretokenizers"].size(), 1u);
}

}  // namespace
}  // namespace nas::predictor
