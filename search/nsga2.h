#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "search/evaluator.h"
#include "search/objectives.h"
#include "search/operators.h"
#include "search/problem.h"

namespace nas::search {

// NSGA-II settings (Deb et al. 2002). The YAML keys live in configs/, not here.
struct Nsga2Options {
  int population_size = 64;     // N: individuals kept and offspring per generation; >= 2
  int generations = 50;         // generations including the initial population (pymoo's n_gen), >= 1;
                                // a run evaluates population_size * generations genotypes
  double crossover_prob = 0.9;  // per offspring, in [0, 1]
  double mutation_prob = 1.0;   // per offspring, in [0, 1]; per-gene rates are the space's business
  uint64_t seed = 0;
};

// Throws nas::ConfigError("nsga2.population_size: must be >= 2, got 1") for out-of-range options.
void validate(const Nsga2Options& options);

// One evaluated member of a population or archive.
struct Individual {
  spaces::Genotype genotype;
  std::vector<double> objectives;   // [m], as evaluated, in the problem's directions
  std::vector<double> constraints;  // [k], g_j(x); feasible iff every value <= 0
  double violation = 0.0;           // constraint_violation(constraints), 0 = feasible
  int rank = 0;                     // constrained non-domination rank in the population, 0 = best
  double crowding = 0.0;            // crowding distance within its front (+inf at the boundaries)
};

// NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002, "A fast and elitist multiobjective genetic algorithm:
// NSGA-II") as an ask/tell algorithm over a SearchSpace, with Deb's constrained domination for
// constraints g_j(x) <= 0.
//   ask():  at generation 0, population_size genotypes from the sampling operator; later,
//           population_size offspring, each from two binary tournaments on (rank, crowding), crossover
//           with crossover_prob, then mutation with mutation_prob. An offspring whose
//           SearchSpace::canonical() form is already in the population or earlier in the batch is
//           bred again (up to kMaxTries times), then sampled afresh (up to kMaxTries times), and
//           accepted as a duplicate only if all of that fails (a nearly exhausted space).
//           Offspring i of generation g draws only from Rng(derive_seed(seed, g, i)), so ask() is a
//           pure function of the state and independent of any thread count.
//   tell(): merges the evaluated genotypes with the population and keeps the best population_size by
//           constrained non-domination rank, then crowding distance (rank_and_crowding_survival);
//           also updates the archive.
// The state (generation, population, archive, survival RNG) saves to and restores from JSON, so a
// killed run resumes to exactly the result of an uninterrupted one.
// Thread-safety: not thread-safe; call ask()/tell() from one thread. Evaluation may be parallel.
// Memory model: `problem` (and its space) must outlive the algorithm; operators are shared.
class Nsga2 {
 public:
  static constexpr int kMaxTries = 64;

  // Throws nas::ConfigError on invalid options.
  Nsga2(const Problem& problem, Nsga2Options options, OperatorSet operators = {});

  // The genotypes to evaluate next (see above). Does not change the state: calling it twice gives
  // the same batch.
  std::vector<spaces::Genotype> ask() const;

  // Merges evaluated genotypes: `objectives` [n, m] in the problem's directions, `constraints` [n, k]
  // (may be empty when the problem has no constraints). Advances generation() by one. Throws
  // nas::Error on an empty batch, mismatched shapes or non-finite values, nas::SpaceError on an
  // invalid genotype; the state is unchanged then.
  void tell(const std::vector<spaces::Genotype>& xs, const ObjectiveMatrix& objectives,
            const ObjectiveMatrix& constraints = {});

  // Number of tell() calls so far (0 before the initial population is told).
  int generation() const { return generation_; }
  // True once generation() >= options().generations.
  bool done() const { return generation_ >= options_.generations; }
  // Number of genotypes told so far.
  int64_t evaluations() const { return evaluations_; }
  const Problem& problem() const { return *problem_; }
  const Nsga2Options& options() const { return options_; }
  const std::vector<Individual>& population() const { return population_; }
  // The constrained non-dominated set of every individual told so far (the feasible Pareto set once
  // any feasible individual exists), one per canonical form, in order of first evaluation. rank and
  // crowding are 0.
  const std::vector<Individual>& archive() const { return archive_; }

  // The whole state as JSON text: one top-level field per line, one individual per line. Example
  // (abridged):
  //   {
  //     "format": "nas-nsga2-state",
  //     "version": 1,
  //     "space": "nb201",
  //     "objectives": [{"name":"acc","direction":"max"},{"name":"latency_ms","direction":"min"}],
  //     "constraints": ["params_budget"],
  //     "options": {"population_size":64,"crossover_prob":0.9,"mutation_prob":1.0,"seed":0},
  //     "generation": 3,
  //     "evaluations": 192,
  //     "rng": "<std::mt19937_64 state, the survival tie-break stream>",
  //     "population": [
  //       {"genes":[1,0,4,2,3,3],"objectives":[91.2,3.1],"constraints":[-0.3],"rank":0,"crowding":"inf"},
  //       ...
  //     ],
  //     "archive": [
  //       {"genes":[1,0,4,2,3,3],"objectives":[91.2,3.1],"constraints":[-0.3]},
  //       ...
  //     ]
  //   }
  // Doubles are printed with round-trip precision; infinite crowding is written "inf".
  std::string save_state() const;
  // Replaces the state by a saved one. The saved space, objectives, constraints, population_size,
  // seed and probabilities must match this algorithm's (generations may differ, to extend a run).
  // Throws nas::CheckpointError("SOURCE: field 'population[3].genes': ...") naming `source` and the
  // field at fault for malformed JSON, missing or mistyped fields, invalid genotypes and mismatches;
  // the state is unchanged then.
  void restore_state(const std::string& json_text, const std::string& source);
  // save_state() written with nas::write_file_atomic; throws nas::Error naming the path on failure.
  void save(const std::string& path) const;
  // restore_state() of the file's contents; throws nas::CheckpointError if it cannot be read.
  void load(const std::string& path);

 private:
  Individual make_individual(const spaces::Genotype& x, const std::vector<double>& objectives,
                             const std::vector<double>* constraints, size_t row) const;
  int tournament(Rng& rng) const;
  spaces::Genotype breed(Rng& rng) const;
  void update_archive(const std::vector<Individual>& told);

  const Problem* problem_;
  Nsga2Options options_;
  OperatorSet operators_;
  int generation_ = 0;
  int64_t evaluations_ = 0;
  Rng survival_rng_;  // tie-breaks when survival cuts a front
  std::vector<Individual> population_;
  std::vector<Individual> archive_;
};

// Hooks into run_nsga2().
struct Nsga2Callbacks {
  // Called after every generation (the initial population included) once the state file, if any, is
  // written. Return false to stop the run early.
  std::function<bool(const Nsga2&)> on_generation;
};

// Where run_nsga2() keeps its state.
struct StateOptions {
  std::string path;     // if non-empty, the state is written here (atomically) after every generation
  bool resume = false;  // if true and `path` exists, continue from it (a missing file starts afresh)
};

// The NSGA-II driver loop: ask, evaluate, tell, save the state, call back, until `options.generations`
// generations are done or the callback returns false. Returns the algorithm in its final state.
// Throws what the evaluator throws, nas::CheckpointError for an unusable state file, and nas::Error
// if writing the state fails.
Nsga2 run_nsga2(const Problem& problem, Evaluator& evaluator, const Nsga2Options& options,
                const Nsga2Callbacks& callbacks = {}, const StateOptions& state = {},
                OperatorSet operators = {});

}  // namespace nas::search
