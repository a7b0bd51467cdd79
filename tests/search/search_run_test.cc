#include "search/search_run.h"

#include <tbb/global_control.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "search/dominance.h"
#include "search/table_source.h"
#include "tests/search/svg_check.h"

namespace nas::search {
namespace {

namespace fs = std::filesystem;

class SearchRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("nas_search_run_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A small table-evaluated NB201 search: 16 x 6 = 96 evaluations.
  SearchConfig config(const std::string& name, uint64_t seed = 1) const {
    SearchConfig c = parse_search_config(R"(
space: nb201
table: nb201.csv
objectives:
  - {name: acc_cifar10, direction: max}
  - {name: lat_ms_pixel3, direction: min}
population: 16
generations: 6
evaluator: {type: table}
export_onnx: false
)",
                                         "test.yaml");
    c.nsga2.seed = seed;
    c.output = (dir_ / name).string();
    return c;
  }
  static SearchRunOptions quiet() {
    SearchRunOptions o;
    o.progress = false;
    return o;
  }
  std::string file(const std::string& run, const std::string& name) const {
    return read_file((dir_ / run / name).string());
  }

  fs::path dir_;
};

TEST_F(SearchRunTest, WritesTheResultsFolder) {
  SearchConfig c = config("run");
  c.export_onnx = true;
  SearchResult r = run_search(c, quiet());
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.generations_done, 6);
  EXPECT_EQ(r.evaluations, 96);
  EXPECT_GT(r.estimated, 16);
  EXPECT_LE(r.estimated, r.evaluations);
  ASSERT_FALSE(r.front.empty());
  // Reference point from the table (issue 4: 90.745 %, 19.223 ms) and the exact front by enumeration.
  ASSERT_EQ(r.reference.size(), 2u);
  EXPECT_NEAR(r.reference[0], 90.745, 5e-4);
  EXPECT_NEAR(r.reference[1], 19.223, 5e-4);
  ASSERT_TRUE(r.exact.has_value());
  EXPECT_EQ(r.exact->enumerated, 15625u);
  EXPECT_GT(r.hv_exact, 0.0);
  EXPECT_TRUE(r.exact_evaluator);
  EXPECT_DOUBLE_EQ(r.hv_true, r.hv_search);
  EXPECT_GT(r.hv_true, 0.0);
  EXPECT_LE(r.hv_true, r.hv_exact * (1 + 1e-12));

  // pareto.csv parses, has one row per front member, and its values are the table's.
  Table pareto = Table::parse(file("run", "pareto.csv"), "pareto.csv",
                              {{"arch", ColumnType::kText}, {"onnx", ColumnType::kText}});
  ASSERT_EQ(pareto.rows(), r.front.size());
  for (const char* col : {"acc_cifar10_median", "acc_cifar10_p10", "acc_cifar10_p90", "acc_cifar10_true",
                          "lat_ms_pixel3_median", "lat_ms_pixel3_true", "feasible"})
    EXPECT_TRUE(pareto.has_column(col)) << col;
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  ObjectiveMatrix points;
  for (size_t i = 0; i < pareto.rows(); ++i) {
    auto g = space->parse(pareto.text(i, "arch"));
    EXPECT_DOUBLE_EQ(pareto.number(i, "acc_cifar10_true"), table.value(g, "acc_cifar10"));
    EXPECT_DOUBLE_EQ(pareto.number(i, "acc_cifar10_median"), table.value(g, "acc_cifar10"));
    EXPECT_DOUBLE_EQ(pareto.number(i, "lat_ms_pixel3_true"), table.value(g, "lat_ms_pixel3"));
    points.push_back({-pareto.number(i, "acc_cifar10_true"), pareto.number(i, "lat_ms_pixel3_true")});
    // The ONNX model of every front member.
    std::string bytes = file("run", pareto.text(i, "onnx"));
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(bytes)) << pareto.text(i, "onnx");
    EXPECT_GT(model.graph().node_size(), 10);
    EXPECT_EQ(model.functions_size(), 0);
  }
  for (size_t i = 0; i < points.size(); ++i)
    for (size_t j = 0; j < points.size(); ++j) EXPECT_FALSE(dominates(points[i], points[j])) << i << " " << j;

  Table history = Table::parse(file("run", "history.csv"), "history.csv");
  ASSERT_EQ(history.rows(), 6u);
  EXPECT_DOUBLE_EQ(history.number(5, "hv_true"), r.hv_true);
  EXPECT_NEAR(history.number(5, "hv_ratio"), r.hv_true / r.hv_exact, 1e-12);
  for (size_t g = 1; g < 6; ++g)  // the archive only improves
    EXPECT_GE(history.number(g, "hv_search"), history.number(g - 1, "hv_search"));

  for (const char* svg : {"front.svg", "history.svg"}) {
    std::string text = file("run", svg);
    EXPECT_EQ(testing::xml_problem(text), "") << svg;
    EXPECT_NE(text.find("exact front"), std::string::npos) << svg;
  }
  std::string summary = file("run", "summary.md");
  EXPECT_NE(summary.find("maximise acc_cifar10, minimise lat_ms_pixel3"), std::string::npos);
  EXPECT_NE(summary.find("ratio to exact"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "checkpoint.json"));
}

TEST_F(SearchRunTest, ResumeAfterInterruptionMatchesAnUninterruptedRun) {
  SearchResult whole = run_search(config("whole"), quiet());

  // Kill the run after its third generation (an exception escapes mid-run, as a crash would).
  struct Killed {};
  SearchRunOptions killer = quiet();
  killer.on_generation = [](const Nsga2& a) {
    if (a.generation() == 3) throw Killed{};
    return true;
  };
  EXPECT_THROW(run_search(config("resumed"), killer), Killed);
  EXPECT_FALSE(fs::exists(dir_ / "resumed" / "pareto.csv"));

  int generations_run = 0;
  SearchRunOptions resume = quiet();
  resume.resume = true;
  resume.on_generation = [&](const Nsga2&) {
    ++generations_run;
    return true;
  };
  SearchResult resumed = run_search(config("resumed"), resume);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(generations_run, 3) << "the three completed generations are not run again";
  EXPECT_EQ(resumed.evaluations, whole.evaluations);
  EXPECT_EQ(resumed.estimated, whole.estimated);
  EXPECT_EQ(file("resumed", "pareto.csv"), file("whole", "pareto.csv"));
  EXPECT_EQ(file("resumed", "history.csv"), file("whole", "history.csv"));

  // A finished run resumed again does nothing new; a different run is refused.
  generations_run = 0;
  run_search(config("resumed"), resume);
  EXPECT_EQ(generations_run, 0);
  SearchConfig other = config("resumed", /*seed=*/2);
  try {
    run_search(other, resume);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint.json"), std::string::npos) << e.what();
  }
  // Without --resume the run starts afresh over the old checkpoint.
  SearchRunOptions fresh = quiet();
  fresh.on_generation = [&](const Nsga2&) {
    ++generations_run;
    return true;
  };
  run_search(config("resumed"), fresh);
  EXPECT_EQ(generations_run, 6);
}

TEST_F(SearchRunTest, ResultsDoNotDependOnTheThreadCount) {
  auto run_with = [&](int threads, const std::string& name, uint64_t seed) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
    SearchConfig c = config(name, seed);
    c.constraints = {MetricConstraint::parse("lat_ms_pixel3 <= 15")};
    run_search(c, quiet());
    return file(name, "pareto.csv") + file(name, "history.csv");
  };
  std::string one = run_with(1, "one", 7);
  std::string two = run_with(2, "two", 7);
  EXPECT_EQ(one, two);
  EXPECT_NE(run_with(2, "other_seed", 8), two);
}

TEST_F(SearchRunTest, ConstraintsKeepTheFrontFeasible) {
  SearchConfig c = config("constrained");
  c.constraints = {MetricConstraint::parse("lat_ms_pixel3 <= 15")};
  SearchResult r = run_search(c, quiet());
  ASSERT_FALSE(r.front.empty());
  for (const auto& f : r.front) {
    EXPECT_LE(f.truth[1], 15.0) << f.arch;
    EXPECT_EQ(f.violation, 0.0);
  }
  ASSERT_TRUE(r.exact.has_value());
  EXPECT_LT(r.exact->feasible, 15625u);
  for (const auto& o : r.exact->objectives) EXPECT_LE(o[1], 15.0);
  EXPECT_NE(file("constrained", "summary.md").find("lat_ms_pixel3 <= 15"), std::string::npos);
}

TEST_F(SearchRunTest, ConfigProblemsAreReported) {
  SearchConfig rlm = config("rlm");
  rlm.evaluator.type = "rlm";
  rlm.evaluator.checkpoint = (dir_ / "ckpt").string();
  try {
    run_search(rlm, quiet());  // no predictor factory
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.yaml: evaluator.type"), std::string::npos) << e.what();
  }
  SearchConfig unknown = config("unknown");
  unknown.objectives[1].name = "lat_ms_abacus";
  try {
    run_search(unknown, quiet());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("test.yaml: objectives[1].name: no evaluator provides metric 'lat_ms_abacus'"),
        std::string::npos)
        << e.what();
  }
  SearchConfig no_reference = config("no_reference");
  no_reference.objectives[1].name = "params_M";  // computed from the graph; no table column to take p90 of
  try {
    run_search(no_reference, quiet());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.yaml: objectives[1].reference"), std::string::npos) << e.what();
  }
  no_reference.objectives[1].reference.fixed = true;
  no_reference.objectives[1].reference.value = 1.0;
  no_reference.nsga2.generations = 2;
  SearchRunOptions no_exact = quiet();
  no_exact.exact_front = false;  // would build all 15,625 networks for their params
  SearchResult r = run_search(no_reference, no_exact);
  EXPECT_FALSE(r.exact.has_value());  // params_M from the ONNX graph, exact
  EXPECT_TRUE(r.exact_evaluator);
  for (const auto& f : r.front) EXPECT_NEAR(f.estimates[1].median, f.truth[1], 1e-12);
}

}  // namespace
}  // namespace nas::search
