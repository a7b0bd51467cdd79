#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/rng.h"

namespace nas::spaces {

// A point of a search space: a fixed-length vector of choice indices, gene i in
// [0, SearchSpace::gene_cardinalities()[i]). What each gene means is the space's business (e.g. the
// op on one NB201 edge); generic code (search operators, one-hot encodings) only relies on the
// cardinalities. Not every vector is valid for every space (NB101 adjacency rules): use
// SearchSpace::validate().
struct Genotype {
  std::vector<int> genes;
  bool operator==(const Genotype& o) const { return genes == o.genes; }
  bool operator!=(const Genotype& o) const { return genes != o.genes; }
  bool operator<(const Genotype& o) const { return genes < o.genes; }
};

// How initializer (weight) values are filled in emitted models. Shapes are always exact.
enum class WeightFill {
  kZeros,   // cheapest; for analysis (param/FLOP counting, text) where values do not matter
  kRandom,  // seeded He-normal conv/Gemm weights, BN scale 1 / bias 0 / mean 0 / var 1; for export
};

// Options for SearchSpace::build_model().
struct BuildOptions {
  std::string dataset;        // one of SearchSpace::datasets(); empty = the space's first dataset
  int64_t batch_size = 1;     // leading dimension of the input and output
  WeightFill weights = WeightFill::kZeros;
  uint64_t weight_seed = 0;   // used with WeightFill::kRandom
  bool use_functions = true;  // emit repeated blocks (cells) as ONNX model-local functions
};

// A search space: sampling, variation operators, the genotype string of its benchmark, canonical
// form (isomorphism classes) and the ONNX model of a genotype.
// Thread-safety: every method is const and may be called concurrently.
class SearchSpace {
 public:
  virtual ~SearchSpace() = default;

  // Registry name: "nb201", "nb101", "fbnet", "ofa_mbv3", "darts". Also the predictor's prefix.
  virtual std::string name() const = 0;
  // Number of choices of each gene; size() of it is the genotype length.
  virtual std::vector<int> gene_cardinalities() const = 0;
  // Datasets / input configurations build_model() accepts, e.g. {"cifar10", "cifar100", "imagenet16"}.
  virtual std::vector<std::string> datasets() const = 0;

  // Throws nas::SpaceError saying what is wrong if `g` is not a valid genotype of this space.
  virtual void validate(const Genotype& g) const = 0;
  // A uniformly random valid genotype (uniform over valid gene vectors).
  virtual Genotype sample(Rng& rng) const = 0;
  // A valid genotype that differs from `parent` (one or more genes changed).
  virtual Genotype mutate(const Genotype& parent, Rng& rng) const = 0;
  // A valid child mixing the genes of `a` and `b` (uniform crossover unless the space needs more).
  virtual Genotype crossover(const Genotype& a, const Genotype& b, Rng& rng) const = 0;

  // The benchmark's architecture string <-> genotype. parse() throws nas::SpaceError naming the
  // offending token; format(parse(s)) == s for every string the benchmark writes.
  virtual Genotype parse(std::string_view arch) const = 0;
  virtual std::string format(const Genotype& g) const = 0;
  // A string equal for two genotypes iff they denote the same network up to isomorphism.
  virtual std::string canonical(const Genotype& g) const = 0;

  // Number of genotypes if the space is small enough to enumerate, else nullopt.
  virtual std::optional<uint64_t> size() const { return std::nullopt; }
  // The index-th genotype in mixed-radix order of the genes (gene 0 most significant). Throws
  // nas::SpaceError if the space is not enumerable or index >= size().
  virtual Genotype at(uint64_t index) const;

  // The full network of `g` as an ONNX model (opset 15, IR 8) for options.dataset. Throws
  // nas::SpaceError on an invalid genotype or unknown dataset.
  virtual onnx::ModelProto build_model(const Genotype& g, const BuildOptions& options = {}) const = 0;
};

// The registered space names, sorted.
std::vector<std::string> space_names();
// A new instance of the named space. Throws nas::ConfigError("unknown space 'x'; known: ...").
std::unique_ptr<SearchSpace> make_space(const std::string& name);

// `n` random genotypes of `space` (SearchSpace::sample()) that are pairwise distinct networks: no two share
// a canonical form; draws that repeat one are skipped. Throws nas::ConfigError if the space is finite
// with fewer than `n` genotypes, or when 100 x n + 10,000 draws did not give `n` distinct canonical forms
// (e.g. n above NB201's 6,466 classes), saying how many were found.
std::vector<Genotype> sample_distinct(const SearchSpace& space, size_t n, Rng& rng);

// The genotypes listed in the text file `path`, one per line as space.parse() reads it, each with its
// line's text (a trailing '\r' removed); empty lines and lines starting with '#' are skipped.
// Throws nas::Error("PATH: cannot open file for reading"), nas::SpaceError("PATH:LINE: <parse error>"),
// nas::Error("PATH: no genotypes in file").
std::vector<std::pair<std::string, Genotype>> read_genotype_file(const SearchSpace& space, const std::string& path);

// Variation building blocks for spaces whose genes can be drawn independently (NB201, FBNet, OFA):
// gene i uniform in [0, cardinalities[i]).
Genotype sample_independent_genes(const std::vector<int>& cardinalities, Rng& rng);
// A copy of `parent` whose `gene` takes another value, uniform over the cardinality - 1 others.
Genotype mutate_gene(const Genotype& parent, size_t gene, int cardinality, Rng& rng);
// Uniform crossover: each gene from `b` with probability 1/2, else from `a` (same lengths).
Genotype uniform_crossover(const Genotype& a, const Genotype& b, Rng& rng);

}  // namespace nas::spaces
