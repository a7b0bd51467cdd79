#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "search/nsga2.h"
#include "tests/search/toy_space.h"

namespace nas::search {
namespace {

using Json = nlohmann::ordered_json;
using spaces::Genotype;
using toy::ToySpace;

constexpr int kLength = 6, kCardinality = 16;

// A constrained, mixed-direction ZDT1 so that the state holds constraints, ranks > 0 and infinite
// crowding distances.
Evaluation evaluate(const Genotype& x) {
  std::vector<double> f = toy::zdt1(x, kCardinality);
  return {{f[0], -f[1]}, {0.3 - f[0], f[1] - 5.0}};
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) /
        ("nas_search_state_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.population_size = 20;
    options_.generations = 15;
    options_.seed = 2024;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // An algorithm after `generations` tell() calls.
  Nsga2 advanced(int generations) const {
    Nsga2 algorithm(problem_, options_);
    SerialEvaluator evaluator(evaluate);
    for (int g = 0; g < generations; ++g) {
      std::vector<Genotype> xs = algorithm.ask();
      Evaluations values = evaluator.evaluate(xs);
      algorithm.tell(xs, values.objectives, values.constraints);
    }
    return algorithm;
  }

  // Restores `text` into a fresh algorithm and returns the CheckpointError message ("" if none).
  std::string restore_error(const std::string& text) const {
    Nsga2 algorithm(problem_, options_);
    try {
      algorithm.restore_state(text, "run/state.json");
    } catch (const CheckpointError& e) {
      EXPECT_EQ(algorithm.generation(), 0) << "a failed restore must leave the state unchanged";
      return e.what();
    }
    return "";
  }

  ToySpace space_{kLength, kCardinality};
  Problem problem_{space_, {{"f1"}, {"quality", Direction::kMaximize}}, {"min_f1", "max_f2"}};
  Nsga2Options options_;
  std::filesystem::path dir_;
};

struct Interrupted {};

TEST_F(StateTest, ResumedRunReachesTheSameFinalPopulation) {
  SerialEvaluator evaluator(evaluate);
  Nsga2 uninterrupted = run_nsga2(problem_, evaluator, options_, {}, {path("full.json"), false});

  // Simulate a kill right after generation 6 was saved.
  Nsga2Callbacks kill_after_6;
  kill_after_6.on_generation = [](const Nsga2& algorithm) {
    if (algorithm.generation() == 6) throw Interrupted{};
    return true;
  };
  StateOptions state{path("killed.json"), /*resume=*/true};
  EXPECT_THROW(run_nsga2(problem_, evaluator, options_, kill_after_6, state), Interrupted);
  EXPECT_EQ(Json::parse(read_file(state.path))["generation"], 6);

  std::vector<int> resumed_generations;
  Nsga2Callbacks record;
  record.on_generation = [&](const Nsga2& algorithm) {
    resumed_generations.push_back(algorithm.generation());
    return true;
  };
  Nsga2 resumed = run_nsga2(problem_, evaluator, options_, record, state);
  EXPECT_EQ(resumed_generations.front(), 7);
  EXPECT_EQ(resumed_generations.back(), 15);
  EXPECT_EQ(resumed.evaluations(), uninterrupted.evaluations());
  ASSERT_EQ(resumed.population().size(), uninterrupted.population().size());
  for (size_t i = 0; i < resumed.population().size(); ++i) {
    EXPECT_EQ(resumed.population()[i].genotype, uninterrupted.population()[i].genotype) << i;
    EXPECT_EQ(resumed.population()[i].objectives, uninterrupted.population()[i].objectives) << i;
  }
  EXPECT_EQ(resumed.save_state(), uninterrupted.save_state());
  EXPECT_EQ(read_file(state.path), read_file(path("full.json")));
  // The interruption really happened mid-run: generation 6 differs from the end.
  EXPECT_NE(advanced(6).save_state(), uninterrupted.save_state());
}

TEST_F(StateTest, ResumeWithoutAStateFileStartsAfreshAndFinishedRunsStop) {
  SerialEvaluator evaluator(evaluate);
  StateOptions state{path("new.json"), /*resume=*/true};
  Nsga2 first = run_nsga2(problem_, evaluator, options_, {}, state);
  EXPECT_EQ(first.save_state(), advanced(15).save_state());
  int calls = 0;
  Nsga2Callbacks count;
  count.on_generation = [&](const Nsga2&) { return ++calls, true; };
  Nsga2 again = run_nsga2(problem_, evaluator, options_, count, state);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(again.generation(), 15);
  // A longer run continues from the saved state, as if it had been that long from the start.
  options_.generations = 18;
  EXPECT_EQ(run_nsga2(problem_, evaluator, options_, {}, state).save_state(), advanced(18).save_state());
}

TEST_F(StateTest, CallbackCanStopTheRun) {
  SerialEvaluator evaluator(evaluate);
  Nsga2Callbacks stop;
  stop.on_generation = [](const Nsga2& algorithm) { return algorithm.generation() < 4; };
  EXPECT_EQ(run_nsga2(problem_, evaluator, options_, stop).generation(), 4);
}

TEST_F(StateTest, SaveRestoreRoundTripContinuesIdentically) {
  Nsga2 original = advanced(5);
  std::string text = original.save_state();
  Json j = Json::parse(text);
  EXPECT_EQ(j["population"].size(), 20u);
  int infinite = 0;
  for (const auto& ind : j["population"]) {
    infinite += ind["crowding"] == "inf";
  }
  EXPECT_GE(infinite, 2);  // front boundaries are written as "inf"
  EXPECT_GT(j["rng"].get<std::string>().size(), 1000u);
  Nsga2 copy(problem_, options_);
  copy.restore_state(text, "memory");
  EXPECT_EQ(copy.save_state(), text);
  EXPECT_EQ(copy.ask(), original.ask());
  original.save(path("a.json"));
  Nsga2 from_file(problem_, options_);
  from_file.load(path("a.json"));
  EXPECT_EQ(from_file.save_state(), text);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1) << "the atomic write leaves no temporary file behind";
}

TEST_F(StateTest, MismatchedRunsAreRejected) {
  std::string text = advanced(2).save_state();
  Nsga2Options other = options_;
  other.seed = 1;
  Nsga2 different_seed(problem_, other);
  try {
    different_seed.restore_state(text, "run/state.json");
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("run/state.json: field 'options.seed'"), std::string::npos)
        << e.what();
  }
  Problem renamed(space_, {{"f1"}, {"accuracy", Direction::kMaximize}}, {"min_f1", "max_f2"});
  EXPECT_THROW(Nsga2(renamed, options_).restore_state(text, "s"), CheckpointError);
  Problem flipped(space_, {{"f1"}, {"quality"}}, {"min_f1", "max_f2"});
  EXPECT_THROW(Nsga2(flipped, options_).restore_state(text, "s"), CheckpointError);
  Problem fewer_constraints(space_, {{"f1"}, {"quality", Direction::kMaximize}}, {"min_f1"});
  EXPECT_THROW(Nsga2(fewer_constraints, options_).restore_state(text, "s"), CheckpointError);
  ToySpace longer(kLength + 1, kCardinality);
  Problem other_space(longer, {{"f1"}, {"quality", Direction::kMaximize}}, {"min_f1", "max_f2"});
  EXPECT_THROW(Nsga2(other_space, options_).restore_state(text, "s"), CheckpointError);  // genes invalid
}

TEST_F(StateTest, MalformedStatesNameTheFileAndField) {
  const std::string text = advanced(3).save_state();
  auto edited = [&](auto edit) {
    Json j = Json::parse(text);
    edit(j);
    return j.dump();
  };
  auto expect_error = [&](const std::string& bad, const std::string& expected) {
    std::string message = restore_error(bad);
    EXPECT_NE(message.find(expected), std::string::npos) << "got: '" << message << "'";
  };
  expect_error(text.substr(0, text.size() / 2), "run/state.json: not valid JSON");
  expect_error("[1, 2]", "run/state.json: field '(top level)'");
  expect_error(edited([](Json& j) { j.erase("population"); }), "run/state.json: field 'population': missing");
  expect_error(edited([](Json& j) { j["format"] = "other"; }), "field 'format'");
  expect_error(edited([](Json& j) { j["version"] = 2; }), "field 'version'");
  expect_error(edited([](Json& j) { j["generation"] = -1; }), "field 'generation'");
  expect_error(edited([](Json& j) { j["generation"] = "3"; }), "field 'generation'");
  expect_error(edited([](Json& j) { j["rng"] = "not a state"; }), "field 'rng'");
  expect_error(edited([](Json& j) { j["population"][0]["genes"][1] = "x"; }),
               "field 'population[0].genes[1]'");
  expect_error(edited([](Json& j) { j["population"][2]["genes"][1] = 16; }), "field 'population[2].genes'");
  expect_error(edited([](Json& j) { j["population"][2]["genes"].push_back(0); }),
               "field 'population[2].genes'");
  expect_error(edited([](Json& j) { j["population"][4]["objectives"] = {1.0}; }),
               "field 'population[4].objectives': expected 2 values");
  expect_error(edited([](Json& j) { j["population"][4]["objectives"][1] = nullptr; }),
               "field 'population[4].objectives[1]'");
  expect_error(edited([](Json& j) { j["population"][5].erase("constraints"); }),
               "field 'population[5].constraints': missing");
  expect_error(edited([](Json& j) { j["population"][6]["crowding"] = "big"; }),
               "field 'population[6].crowding'");
  expect_error(edited([](Json& j) { j["population"][6]["rank"] = 0.5; }), "field 'population[6].rank'");
  expect_error(edited([](Json& j) { j["archive"][0]["genes"] = 3; }), "field 'archive[0].genes'");
  expect_error(edited([](Json& j) { j["population"].push_back(j["population"][0]); }), "field 'population'");
  expect_error(edited([](Json& j) { j["options"]["population_size"] = 21; }),
               "field 'options.population_size'");
  EXPECT_EQ(restore_error(text), "");

  Nsga2 algorithm(problem_, options_);
  try {
    algorithm.load(path("missing.json"));
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(path("missing.json")), std::string::npos) << e.what();
  }
  write_file_atomic(path("truncated.json"), text.substr(0, 100));
  try {
    algorithm.load(path("truncated.json"));
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(path("truncated.json") + ": not valid JSON"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace nas::search
