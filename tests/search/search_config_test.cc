#include "search/search_config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"

namespace nas::search {
namespace {

const char* kValid = R"(
space: nb201
dataset: cifar10
table: nb201.csv
objectives:
  - {name: acc_cifar10, direction: max}
  - {name: lat_ms_pixel3, direction: min, reference: p95}
constraints: ["lat_ms_pixel3 <= 15", "params_M >= 0.1"]
population: 24
generations: 7
crossover_prob: 0.8
mutation_prob: 0.5
seed: 3
threads: 2
evaluator:
  type: rlm
  checkpoint: checkpoints/x
  rlm_config: configs/rlm_nb201.yaml
  budget: 500
  statistic: pessimistic
  samples: 4
output: results/x
export_onnx: false
)";

// The ConfigError message of parsing `yaml` as "s.yaml" ("" if it parses).
std::string error_of(const std::string& yaml) {
  try {
    parse_search_config(yaml, "s.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SearchConfigTest, ParsesEveryKey) {
  SearchConfig c = parse_search_config(kValid, "s.yaml");
  EXPECT_EQ(c.source, "s.yaml");
  EXPECT_EQ(c.space, "nb201");
  EXPECT_EQ(c.dataset, "cifar10");
  ASSERT_EQ(c.objectives.size(), 2u);
  EXPECT_EQ(c.objectives[0].direction, Direction::kMaximize);
  EXPECT_FALSE(c.objectives[0].reference.fixed);
  EXPECT_DOUBLE_EQ(c.objectives[0].reference.quantile, 0.5);  // default for a maximised objective
  EXPECT_DOUBLE_EQ(c.objectives[1].reference.quantile, 0.95);
  ASSERT_EQ(c.constraints.size(), 2u);
  EXPECT_EQ(c.constraint_names(), (std::vector<std::string>{"lat_ms_pixel3 <= 15", "params_M >= 0.1"}));
  EXPECT_EQ(c.nsga2.population_size, 24);
  EXPECT_EQ(c.nsga2.generations, 7);
  EXPECT_DOUBLE_EQ(c.nsga2.crossover_prob, 0.8);
  EXPECT_DOUBLE_EQ(c.nsga2.mutation_prob, 0.5);
  EXPECT_EQ(c.nsga2.seed, 3u);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.evaluator.type, "rlm");
  EXPECT_EQ(c.evaluator.budget, 500);
  EXPECT_EQ(c.evaluator.statistic, Statistic::kPessimistic);
  EXPECT_EQ(c.evaluator.samples, 4);
  EXPECT_EQ(c.output, "results/x");
  EXPECT_FALSE(c.export_onnx);
  EXPECT_EQ(c.table_path(), data_path("nb201.csv"));
}

TEST(SearchConfigTest, ShippedConfigParses) {
  SearchConfig c = load_search_config(std::string(NAS_TEST_DATA_DIR) + "/../../configs/search_nb201.yaml");
  EXPECT_EQ(c.objectives[0].name, "acc_cifar10");
  EXPECT_EQ(c.objectives[1].name, "lat_ms_pixel3");
  EXPECT_DOUBLE_EQ(c.objectives[1].reference.quantile, 0.9);
  EXPECT_EQ(c.evaluator.type, "rlm");
  EXPECT_EQ(c.evaluator.budget, 1000);
}

TEST(SearchConfigTest, FixedReferenceValues) {
  SearchConfig c = parse_search_config(R"(
objectives:
  - {name: acc_cifar10, direction: max, reference: 88.5}
  - {name: lat_ms_pixel3, direction: min, reference: median}
evaluator: {type: table}
)",
                                       "s.yaml");
  EXPECT_TRUE(c.objectives[0].reference.fixed);
  EXPECT_DOUBLE_EQ(c.objectives[0].reference.value, 88.5);
  EXPECT_DOUBLE_EQ(c.objectives[1].reference.quantile, 0.5);
}

struct BadCase {
  std::string yaml, expected;  // `expected` must appear in the message, after "s.yaml: "
};

TEST(SearchConfigTest, ErrorsNameTheFileAndTheKey) {
  const std::string objectives = "objectives: [{name: acc_cifar10, direction: max}]\n";
  const std::vector<BadCase> cases = {
      {"space: nb999\n" + objectives, "s.yaml: space: unknown space 'nb999'"},
      {objectives + "populaton: 10\n", "s.yaml: populaton: unknown key (line 2)"},
      {objectives + "population: 1\n", "s.yaml: population: must be >= 2, got 1 (line 2)"},
      {objectives + "generations: many\n", "s.yaml: generations: wrong type 'many' (line 2)"},
      {objectives + "crossover_prob: 1.5\n", "s.yaml: crossover_prob: must be in [0, 1]"},
      {"population: 10\n", "s.yaml: objectives: missing"},
      {"objectives: []\n", "s.yaml: objectives: expected a non-empty list"},
      {"objectives: [{name: acc_cifar10, direction: up}]\n",
       "s.yaml: objectives[0].direction: unknown objective direction 'up'"},
      {"objectives: [{direction: max}]\n", "s.yaml: objectives[0].name: missing"},
      {"objectives: [{name: a, direction: max, colour: red}]\n", "s.yaml: objectives[0].colour: unknown key"},
      {"objectives: [{name: a, direction: max}, {name: a, direction: min}]\n",
       "s.yaml: objectives[1].name: objective 'a' declared twice"},
      {"objectives: [{name: a, direction: max, reference: p120}]\n",
       "s.yaml: objectives[0].reference: 'p120' is not"},
      {objectives + "constraints: [\"lat_ms_pixel3 < 15\"]\n",
       "s.yaml: constraints[0]: constraint 'lat_ms_pixel3 < 15'"},
      {objectives + "evaluator: {type: oracle}\n", "s.yaml: evaluator.type: unknown evaluator 'oracle'"},
      {objectives + "evaluator: {type: rlm, checkpoint: c, budget: 0}\n",
       "s.yaml: evaluator.budget: must be >= 1, got 0"},
      {objectives + "evaluator: {type: rlm}\n", "s.yaml: evaluator.checkpoint: the rlm evaluator needs"},
      {objectives + "evaluator: {type: table, statistic: mean}\n",
       "s.yaml: evaluator.statistic: unknown statistic 'mean'"},
      {objectives + "evaluator: {type: table, budgett: 3}\n", "s.yaml: evaluator.budgett: unknown key"},
      {objectives + "table: ''\nevaluator: {type: table}\n",
       "s.yaml: evaluator.type: the table evaluator needs a `table`"},
      {objectives + "dataset: mnist\n", "s.yaml: dataset: unknown dataset 'mnist'"},
      {objectives + "threads: -1\n", "s.yaml: threads: must be >= 0"},
      {"objectives: [{name: a, direction: max}\n", "s.yaml:"},  // invalid YAML: file, line and column
  };
  for (const auto& c : cases) {
    std::string message = error_of(c.yaml);
    EXPECT_EQ(message.rfind(c.expected, 0), 0u) << "yaml:\n" << c.yaml << "message: " << message;
  }
  EXPECT_NE(error_of("objectives: [{name: a, direction: max}\n").find("invalid YAML"), std::string::npos);
}

TEST(SearchConfigTest, MissingFileIsAConfigError) {
  EXPECT_THROW(load_search_config("/nonexistent/search.yaml"), ConfigError);
}

}  // namespace
}  // namespace nas::search
