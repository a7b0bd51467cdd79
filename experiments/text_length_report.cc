// Length of the predictor text per search space (issue 5: "the median and maximum text length in
// predictor tokens is reported per space"; no space's text may be truncated at the model's maximum
// length). For every registered space: N seeded random genotypes, their texts as the RLM reads them
// (predictor::architecture_texts, the space's default dataset), and the token count of each text
// (the space's prefix token included, as Rlm encodes it) under a BPE tokenizer trained the way
// predictor::train_tokenizer trains it, once per vocabulary size asked for. Torch-free.
//
// Usage: text_length_report [--n 500] [--seed 1] [--config configs/rlm_nb201.yaml] [--isolate-newlines]
//                           [--lines] [--dump DIR] [--arch SPACE=GENOTYPE ...] [VOCAB_SIZE ...]
//                           (default vocab sizes: 512 1024 2048)
//   --config  the RLM config whose tokenizer settings (corpus size, seed, space, dataset) to use;
//             without it, RlmConfig's defaults with the corpus size of configs/rlm_nb201.yaml (200).
//   --isolate-newlines  trains the tokenizers with '\n' as a token of its own (the setting before
//             text version 2), to show what merging newlines gives.
//   --arch    also prints the chars and tokens of this genotype's text (e.g. a worst case).
//   --lines   also prints, per space, where the tokens go: tokens per line kind at the first vocab size.
//   --dump    writes the longest sampled text (in tokens of the first vocab size) of every space to
//             DIR/<space>.txt, and the same text with '|' after each token to DIR/<space>.tokens.txt.
//
// Example output (abridged; 500 networks, vocab 512, --isolate-newlines):
//   | space | chars median | chars max | tokens@512 median | tokens@512 max | ...
//   | darts | 3291 | 3651 | 1025 | 1141 | ...
//   | nb201 | 834 | 1012 | 284 | 342 | ...

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "predictor/arch_text.h"
#include "predictor/bpe_tokenizer.h"
#include "predictor/config.h"
#include "spaces/search_space.h"

namespace {

using namespace nas;

size_t median(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The kind of a text line, for --lines.
std::string line_kind(const std::string& line, bool in_function) {
  auto starts = [&](const char* p) { return line.rfind(p, 0) == 0; };
  if (starts("def ")) return "def";
  if (starts("ret")) return "ret";
  if (starts("in ") || starts("out") || starts("ir ") || starts("opset")) return "header/in/out";
  std::string head = line.substr(line.find_first_not_of("0123456789*"));  // without a `k*` repeat
  head = head.substr(0, head.find_first_of("({"));
  std::string op = head.substr(head.find('=') == std::string::npos ? 0 : head.find('=') + 1);
  std::string where = in_function ? "body " : "main ";
  bool is_call = !op.empty() && std::islower(static_cast<unsigned char>(op[0]));
  return where + (is_call ? "call" : op);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int64_t n = 500;
    uint64_t seed = 1;
    std::string config_path, dump;
    std::vector<std::pair<std::string, std::string>> archs;  // (space, genotype)
    bool lines = false, isolate_newlines = false;
    std::vector<int> vocabs;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw ConfigError(fmt::format("{} needs a value", a));
        return argv[++i];
      };
      if (a == "--n") n = std::stoll(value());
      else if (a == "--seed") seed = std::stoull(value());
      else if (a == "--config") config_path = value();
      else if (a == "--dump") dump = value();
      else if (a == "--lines") lines = true;
      else if (a == "--isolate-newlines") isolate_newlines = true;
      else if (a == "--arch") {
        std::string v = value();
        size_t eq = v.find('=');
        if (eq == std::string::npos) throw ConfigError(fmt::format("--arch {}: expected SPACE=GENOTYPE", v));
        archs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
      }
      else vocabs.push_back(std::stoi(a));
    }
    if (vocabs.empty()) vocabs = {512, 1024, 2048};
    tbb::global_control threads(tbb::global_control::max_allowed_parallelism,
                                std::getenv("OMP_NUM_THREADS") ? std::atoi(std::getenv("OMP_NUM_THREADS")) : 2);

    predictor::RlmConfig config;
    config.tokenizer_corpus_size = 200;  // configs/rlm_nb201.yaml
    if (!config_path.empty()) config = predictor::load_rlm_config(config_path);

    // Texts of N sampled genotypes per space.
    std::map<std::string, std::vector<predictor::ArchText>> texts;
    for (const auto& name : spaces::space_names()) {
      auto space = spaces::make_space(name);
      Rng rng(derive_seed(seed, 7));
      std::vector<spaces::Genotype> gs;
      for (int64_t i = 0; i < n; ++i) gs.push_back(space->sample(rng));
      texts[name] = predictor::architecture_texts(*space, gs, name == config.space ? config.dataset : "");
    }

    std::vector<predictor::BpeTokenizer> tokenizers;
    for (int v : vocabs) {
      config.tokenizer_vocab_size = v;
      tokenizers.push_back(predictor::train_tokenizer(config, isolate_newlines));
    }

    if (!dump.empty())
      for (const auto& [name, ts] : texts) {
        std::filesystem::create_directories(dump);
        const auto& longest = *std::max_element(ts.begin(), ts.end(), [&](const auto& a, const auto& b) {
          return tokenizers.front().encode_text(a.text).size() < tokenizers.front().encode_text(b.text).size();
        });
        write_file_atomic(dump + "/" + name + ".txt", longest.text);
        std::string shown;
        for (int id : tokenizers.front().encode_text(longest.text)) {
          const std::string& t = tokenizers.front().token(id);
          shown += t == "\n" ? "\n" : t + "|";
        }
        write_file_atomic(dump + "/" + name + ".tokens.txt", shown);
      }

    std::string header = "| space | chars median | chars max |", rule = "|---|---:|---:|";
    for (size_t k = 0; k < vocabs.size(); ++k) {
      header += fmt::format(" tokens@{0} median | tokens@{0} max |", vocabs[k]);
      rule += "---:|---:|";
    }
    std::cout << fmt::format("{} genotypes per space (seed {}); tokenizer: {} texts per space, seed {}{}\n\n", n,
                             seed, config.tokenizer_corpus_size, config.seed,
                             isolate_newlines ? ", newlines isolated (isolate_newlines = true)" : ", newlines merged")
              << header << "\n" << rule << "\n";
    for (const auto& [name, ts] : texts) {
      std::vector<size_t> chars;
      for (const auto& t : ts) chars.push_back(t.text.size());
      std::string row = fmt::format("| {} | {} | {} |", name, median(chars), *std::max_element(chars.begin(), chars.end()));
      for (const auto& tok : tokenizers) {
        std::vector<size_t> counts;
        for (const auto& t : ts) counts.push_back(tok.encode(t.text, t.space).size());
        row += fmt::format(" {} | {} |", median(counts), *std::max_element(counts.begin(), counts.end()));
      }
      std::cout << row << "\n";
    }
    for (const auto& [name, arch] : archs) {
      auto space = spaces::make_space(name);
      auto t = predictor::architecture_texts(*space, {space->parse(arch)}, name == config.space ? config.dataset : "");
      std::string row = fmt::format("| {} `{}` | {} | |", name, arch, t[0].text.size());
      for (const auto& tok : tokenizers) row += fmt::format(" {} | |", tok.encode(t[0].text, t[0].space).size());
      std::cout << row << "\n";
    }
    std::cout << fmt::format("\nactual vocabulary sizes:");
    for (const auto& tok : tokenizers) std::cout << " " << tok.vocab_size();
    std::cout << "\n";

    if (lines) {
      const auto& tok = tokenizers.front();
      for (const auto& [name, ts] : texts) {
        std::map<std::string, std::pair<size_t, size_t>> by_kind;  // kind -> (tokens, lines)
        size_t total = 0;
        for (const auto& t : ts) {
          bool in_function = false;
          size_t start = 0;
          while (start < t.text.size()) {
            size_t end = t.text.find('\n', start);
            if (end == std::string::npos) end = t.text.size();
            std::string line = t.text.substr(start, end - start);
            std::string kind = line_kind(line, in_function);
            if (kind == "def") in_function = true;
            if (kind == "ret") in_function = false;
            size_t k = tok.encode_text(t.text.substr(start, end + 1 - start)).size();
            by_kind[kind].first += k;
            by_kind[kind].second += 1;
            total += k;
            start = end + 1;
          }
        }
        std::vector<std::pair<size_t, std::string>> sorted;
        for (const auto& [kind, v] : by_kind) sorted.emplace_back(v.first, kind);
        std::sort(sorted.rbegin(), sorted.rend());
        std::cout << fmt::format("\n{}: tokens per text by line kind (vocab {}), mean over {} texts\n", name,
                                 vocabs.front(), ts.size());
        for (const auto& [count, kind] : sorted)
          std::cout << fmt::format("  {:<28} {:7.1f} tokens in {:5.1f} lines ({:4.1f}%)\n", kind,
                                   double(count) / ts.size(), double(by_kind[kind].second) / ts.size(),
                                   100.0 * count / total);
      }
    }
    return 0;
  } catch (const nas::Error& e) {
    std::cerr << "text_length_report: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "text_length_report: error: " << e.what() << "\n";
    return 1;
  }
}
