#include "spaces/fbnet_lut.h"

#include <cmath>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"

namespace nas::spaces {

struct FbnetLut::Tables {
  std::string source;
  std::vector<std::string> metrics;
  std::vector<std::unordered_map<std::string, double>> blocks;  // per metric: signature -> cost
  // [dataset][metric]: fixed cost and the cost of op o at layer l, cost[l * kFbnetNumOps + o].
  struct Costs {
    double fixed = 0;
    std::array<double, kFbnetNumLayers * kFbnetNumOps> block{};
  };
  std::vector<std::vector<Costs>> costs;

  size_t metric_index(const std::string& metric) const {
    for (size_t i = 0; i < metrics.size(); ++i)
      if (metrics[i] == metric) return i;
    throw SpaceError(
        fmt::format("fbnet cost table: unknown metric '{}'; known: {}", metric, fmt::join(metrics, ", ")));
  }
  static size_t dataset_index(const std::string& dataset) {
    return static_cast<size_t>(&fbnet_dataset(dataset) - fbnet_datasets().data());
  }
  double network(const FbnetGenotype& g, size_t d, size_t m) const {
    const Costs& c = costs[d][m];
    double sum = 0;
    for (size_t l = 0; l < kFbnetNumLayers; ++l) sum += c.block[l * kFbnetNumOps + static_cast<size_t>(g.ops[l])];
    return sum + c.fixed;
  }
};

namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& source, const std::string& key, const std::string& what) {
  throw DataError(fmt::format("{}: key '{}': {}", source, key, what));
}

const Json& member(const Json& object, const std::string& name, const std::string& source,
                   const std::string& key) {
  auto it = object.find(name);
  if (it == object.end()) fail(source, key, "missing");
  if (!it->is_object()) fail(source, key, fmt::format("expected an object, found {}", it->type_name()));
  return *it;
}

double number(const Json& value, const std::string& source, const std::string& key) {
  if (!value.is_number()) fail(source, key, fmt::format("expected a number, found {}", value.type_name()));
  double v = value.get<double>();
  if (!std::isfinite(v)) fail(source, key, "not a finite number");
  return v;
}

}  // namespace

FbnetLut FbnetLut::parse(const std::string& json_text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw DataError(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
  if (!root.is_object()) fail(source, "<root>", fmt::format("expected an object, found {}", root.type_name()));
  auto tables = std::make_shared<Tables>();
  tables->source = source;
  const Json& block_costs = member(root, "block_costs", source, "block_costs");
  const Json& fixed = member(root, "fixed_network_costs", source, "fixed_network_costs");

  // The per-metric tables are the object-valued members of block_costs ("devices", "operations", ...
  // are descriptive lists).
  for (const auto& [metric, table] : block_costs.items()) {
    if (!table.is_object()) continue;
    std::unordered_map<std::string, double> costs;
    for (const auto& [signature, value] : table.items())
      costs[signature] = number(value, source, fmt::format("block_costs.{}.{}", metric, signature));
    tables->metrics.push_back(metric);
    tables->blocks.push_back(std::move(costs));
  }
  if (tables->metrics.empty()) fail(source, "block_costs", "no cost tables (object-valued members)");

  for (const auto& ds : fbnet_datasets()) {
    std::vector<Tables::Costs> per_metric;
    const auto& layers = fbnet_layers(ds.name);
    for (size_t m = 0; m < tables->metrics.size(); ++m) {
      const std::string& metric = tables->metrics[m];
      Tables::Costs c;
      std::string fixed_key = ds.lut_key + "|" + metric;
      auto it = fixed.find(fixed_key);
      if (it == fixed.end()) fail(source, "fixed_network_costs." + fixed_key, "missing");
      c.fixed = number(*it, source, "fixed_network_costs." + fixed_key);
      for (const FbnetLayer& layer : layers) {
        for (int o = 0; o < kFbnetNumOps; ++o) {
          std::string signature = fbnet_block_signature(layer, static_cast<FbnetOp>(o));
          auto b = tables->blocks[m].find(signature);
          if (b == tables->blocks[m].end())
            fail(source, fmt::format("block_costs.{}.{}", metric, signature),
                 fmt::format("missing (layer {} of {}, block {})", layer.index, ds.name,
                             fbnet_op_name(static_cast<FbnetOp>(o))));
          c.block[static_cast<size_t>(layer.index * kFbnetNumOps + o)] = b->second;
        }
      }
      per_metric.push_back(c);
    }
    tables->costs.push_back(std::move(per_metric));
  }
  return FbnetLut(std::move(tables));
}

FbnetLut FbnetLut::load(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw DataError(e.what());
  }
  return parse(text, path);
}

const FbnetLut& FbnetLut::builtin() {
  static const FbnetLut lut = load(data_path("fbnet_hwnasbench_lut.json"));
  return lut;
}

const std::vector<std::string>& FbnetLut::metrics() const { return tables_->metrics; }

void FbnetLut::check(const std::string& dataset, const std::string& metric) const {
  fbnet_dataset(dataset);
  tables_->metric_index(metric);
}

bool FbnetLut::has_block(const std::string& metric, const std::string& signature) const {
  const auto& blocks = tables_->blocks[tables_->metric_index(metric)];
  return blocks.count(signature) > 0;
}

double FbnetLut::block_cost(const std::string& metric, const std::string& signature) const {
  const auto& blocks = tables_->blocks[tables_->metric_index(metric)];
  auto it = blocks.find(signature);
  if (it == blocks.end()) fail(tables_->source, fmt::format("block_costs.{}.{}", metric, signature), "missing");
  return it->second;
}

double FbnetLut::fixed_cost(const std::string& dataset, const std::string& metric) const {
  return tables_->costs[Tables::dataset_index(dataset)][tables_->metric_index(metric)].fixed;
}

double FbnetLut::network_cost(const FbnetGenotype& g, const std::string& dataset,
                              const std::string& metric) const {
  return tables_->network(g, Tables::dataset_index(dataset), tables_->metric_index(metric));
}

std::function<double(const Genotype&)> FbnetLut::objective(const std::string& dataset,
                                                           const std::string& metric) const {
  size_t d = Tables::dataset_index(dataset), m = tables_->metric_index(metric);
  std::shared_ptr<const Tables> tables = tables_;
  return [tables, d, m](const Genotype& g) { return tables->network(FbnetGenotype::from_genotype(g), d, m); };
}

}  // namespace nas::spaces
