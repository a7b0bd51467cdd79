// Subcommands over search spaces, ONNX models and their text: spaces, sample, export, text, info, check.

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "apps/commands.h"
#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/table.h"
#include "onnx_text/graph_cost.h"
#include "onnx_text/serializer.h"
#include "spaces/search_space.h"

namespace nas::apps {
namespace {

// The benchmark table of a space, if the repository ships one.
struct SpaceTable {
  std::string file, arch_column;
};
std::optional<SpaceTable> table_of(const std::string& space) {
  if (space == "nb201") return SpaceTable{"nb201.csv", "arch_str"};
  return std::nullopt;
}

void validate_model(const onnx::ModelProto& model) {
  onnx::checker::check_model(model);
  onnx::ModelProto copy = model;
  onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions{true, 1, false});
}

void add_spaces(CLI::App& app) {
  auto* cmd = app.add_subcommand("spaces", "List the registered search spaces");
  cmd->callback([] {
    for (const auto& name : spaces::space_names()) {
      auto space = spaces::make_space(name);
      auto size = space->size();
      fmt::print("{:<10} genes={:<3} datasets={:<30} size={}\n", name, space->gene_cardinalities().size(),
                 fmt::format("{}", fmt::join(space->datasets(), ",")), size ? std::to_string(*size) : "unbounded");
    }
  });
}

void add_sample(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Print random genotypes of a space, one per line");
  auto space_name = std::make_shared<std::string>();
  auto n = std::make_shared<int>(5);
  auto seed = std::make_shared<uint64_t>(0);
  cmd->add_option("--space", *space_name, "search space (see `nas spaces`)")->required();
  cmd->add_option("-n", *n, "number of genotypes")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", *seed, "random seed");
  cmd->callback([=] {
    auto space = spaces::make_space(*space_name);
    Rng rng(*seed);
    for (int i = 0; i < *n; ++i) fmt::print("{}\n", space->format(space->sample(rng)));
  });
}

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write the network of one genotype as ONNX or as predictor text");
  struct Opts {
    std::string space, arch, dataset, format = "onnx", output, weights = "random";
    uint64_t seed = 0;
    bool no_functions = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--space", o->space, "search space")->required();
  cmd->add_option("--arch", o->arch, "genotype string, e.g. '|nor_conv_3x3~0|+|...|'")->required();
  cmd->add_option("--dataset", o->dataset, "dataset / input configuration (space default if omitted)");
  cmd->add_option("--format", o->format, "onnx or text")->check(CLI::IsMember({"onnx", "text"}));
  cmd->add_option("--weights", o->weights, "initializer values: random (He-normal, seeded) or zeros")
      ->check(CLI::IsMember({"random", "zeros"}));
  cmd->add_option("--seed", o->seed, "seed of random weights");
  cmd->add_flag("--no-functions", o->no_functions, "inline cells instead of ONNX local functions");
  cmd->add_option("-o,--output", o->output, "output file ('-' = stdout for text)")->required();
  cmd->callback([o] {
    auto space = spaces::make_space(o->space);
    auto g = space->parse(o->arch);
    spaces::BuildOptions b;
    b.dataset = o->dataset;
    b.weights = o->weights == "random" ? spaces::WeightFill::kRandom : spaces::WeightFill::kZeros;
    b.weight_seed = o->seed;
    b.use_functions = !o->no_functions;
    auto model = space->build_model(g, b);
    validate_model(model);
    if (o->format == "text") {
      std::string text = onnx_text::to_text(model);
      if (o->output == "-") std::cout << text;
      else write_file_atomic(o->output, text);
    } else {
      std::string bytes;
      if (!model.SerializeToString(&bytes)) throw Error("cannot serialize the ONNX model");
      write_file_atomic(o->output, bytes);
    }
    if (o->output != "-") fmt::print(stderr, "wrote {}\n", o->output);
  });
}

void add_text(CLI::App& app) {
  auto* cmd = app.add_subcommand("text", "Print the predictor text of any ONNX file");
  auto path = std::make_shared<std::string>();
  cmd->add_option("model", *path, "ONNX file")->required();
  cmd->callback([path] { std::cout << onnx_text::to_text(onnx_text::load_onnx_file(*path)); });
}

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Params, FLOPs and benchmark values of one genotype");
  auto space_name = std::make_shared<std::string>();
  auto arch = std::make_shared<std::string>();
  cmd->add_option("--space", *space_name, "search space")->required();
  cmd->add_option("--arch", *arch, "genotype string")->required();
  cmd->callback([=] {
    auto space = spaces::make_space(*space_name);
    auto g = space->parse(*arch);
    fmt::print("space      {}\narch       {}\ncanonical  {}\n", space->name(), space->format(g), space->canonical(g));
    for (const auto& ds : space->datasets()) {
      spaces::BuildOptions b;
      b.dataset = ds;
      auto cost = onnx_text::graph_cost(space->build_model(g, b));
      fmt::print("{:<10} params {:.6f} M   FLOPs {:.5f} M   live FLOPs {:.5f} M\n", ds, cost.params_M, cost.flops_M,
                 cost.live_flops_M);
    }
    if (auto t = table_of(*space_name)) {
      Table table = Table::load(data_path(t->file), {{t->arch_column, ColumnType::kText}});
      table.index_by(t->arch_column);
      auto row = table.find(space->format(g));
      if (!row) {
        fmt::print("benchmark  not in {}\n", t->file);
        return;
      }
      fmt::print("benchmark  {} row {}\n", t->file, *row + 2);
      for (const auto& c : table.columns()) {
        if (c == t->arch_column || table.type(c) != ColumnType::kNumber) continue;
        fmt::print("  {:<24} {}\n", c, table.number(*row, c));
      }
    }
  });
}

// The foundation's main job: build every architecture of a space's benchmark table for every
// dataset, validate it (ONNX checker + shape inference), compare params/FLOPs with the table, and
// export a few networks as ONNX and text.
void add_check(CLI::App& app) {
  auto* cmd = app.add_subcommand("check", "Build, validate and cost every architecture of a benchmark table");
  struct Opts {
    std::string space = "nb201", output = "results/check";
    int64_t limit = 0;
    int export_count = 3;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--space", o->space, "search space with a table (nb201)");
  cmd->add_option("--limit", o->limit, "check only the first N rows (0 = all)");
  cmd->add_option("--export", o->export_count, "export this many networks as .onnx and .txt");
  cmd->add_option("-o,--output", o->output, "output directory");
  cmd->callback([o] {
    auto space = spaces::make_space(o->space);
    auto t = table_of(o->space);
    if (!t) throw ConfigError(fmt::format("space '{}' has no benchmark table with params/FLOPs", o->space));
    Table table = Table::load(data_path(t->file), {{t->arch_column, ColumnType::kText}});
    size_t n = o->limit > 0 ? std::min<size_t>(table.rows(), static_cast<size_t>(o->limit)) : table.rows();
    const auto datasets = space->datasets();
    std::vector<double> worst(datasets.size() * 2, 0.0);
    std::vector<std::vector<double>> rel(n, std::vector<double>(datasets.size() * 2, 0.0));
    std::vector<std::string> failure(n);
    Progress progress("check", static_cast<int64_t>(n), "arch");
    std::atomic<int64_t> done{0};
    tbb::parallel_for(size_t{0}, n, [&](size_t r) {
      try {
        auto g = space->parse(table.text(r, t->arch_column));
        for (size_t d = 0; d < datasets.size(); ++d) {
          spaces::BuildOptions b;
          b.dataset = datasets[d];
          auto model = space->build_model(g, b);
          validate_model(model);
          auto cost = onnx_text::graph_cost(model);
          double p = table.number(r, "params_M_" + datasets[d]), f = table.number(r, "flops_M_" + datasets[d]);
          rel[r][2 * d] = std::abs(cost.params_M - p) / p;
          rel[r][2 * d + 1] = std::abs(cost.flops_M - f) / f;
        }
      } catch (const std::exception& e) {
        failure[r] = fmt::format("{}:{}: {}", t->file, r + 2, e.what());
      }
      int64_t k = ++done;
      if (k % 256 == 0) progress.update(k);
    });
    progress.update(static_cast<int64_t>(n));
    progress.finish();
    size_t failures = 0;
    for (size_t r = 0; r < n; ++r) {
      if (!failure[r].empty()) {
        if (++failures <= 5) fmt::print(stderr, "FAIL {}\n", failure[r]);
        continue;
      }
      for (size_t k = 0; k < worst.size(); ++k) worst[k] = std::max(worst[k], rel[r][k]);
    }
    fmt::print("checked {} architectures x {} datasets of {}: {} failed validation\n", n, datasets.size(), t->file,
               failures);
    size_t mismatches = 0;
    for (size_t d = 0; d < datasets.size(); ++d) {
      fmt::print("  {:<11} max relative error: params {:.2e}, FLOPs {:.2e}\n", datasets[d], worst[2 * d],
                 worst[2 * d + 1]);
      if (worst[2 * d] > 1e-5 || worst[2 * d + 1] > 1e-5) ++mismatches;
    }
    make_dirs(o->output);
    Rng rng(0);
    for (int i = 0; i < o->export_count && n > 0; ++i) {
      size_t r = rng.index(n);
      auto g = space->parse(table.text(r, t->arch_column));
      spaces::BuildOptions b;
      b.weights = spaces::WeightFill::kRandom;
      auto model = space->build_model(g, b);
      std::string bytes;
      model.SerializeToString(&bytes);
      std::string stem = fmt::format("{}/{}_row{}", o->output, o->space, r + 2);
      write_file_atomic(stem + ".onnx", bytes);
      write_file_atomic(stem + ".txt", onnx_text::to_text(model));
      fmt::print("  exported {}.onnx and {}.txt ({})\n", stem, stem, table.text(r, t->arch_column));
    }
    if (failures > 0 || mismatches > 0)
      throw Error(fmt::format("{} architectures failed validation, {} datasets differ from the table", failures,
                              mismatches));
    fmt::print("all architectures valid; params and FLOPs equal the table (relative error <= 1e-5)\n");
  });
}

}  // namespace

void add_space_commands(CLI::App& app) {
  add_spaces(app);
  add_sample(app);
  add_export(app);
  add_text(app);
  add_info(app);
  add_check(app);
}

}  // namespace nas::apps
