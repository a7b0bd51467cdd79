#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spaces/fbnet.h"
#include "spaces/search_space.h"

namespace nas::spaces {

// HW-NAS-Bench's per-block cost table of the FBNet space (Li et al., ICLR 2021; data/fbnet_hwnasbench_lut.json,
// provenance in data/README.md), for costing ANY FBNet architecture on five devices: the network's cost is
// the sum of its 22 blocks' costs (each block looked up by fbnet_block_signature(): input size, channels,
// expansion, kernel, stride, groups) plus the fixed cost of stem, head and classifier,
// fixed_network_costs["<dataset>|<device>_<metric>"]. Identity skips have their own (often zero) entries.
// Units are HW-NAS-Bench's: latency in ms, energy in mJ.
//
// Metrics ("<device>_<metric>"): edgegpu_latency, edgegpu_energy, raspi4_latency, pixel3_latency,
// eyeriss_latency, eyeriss_energy, fpga_latency, fpga_energy (the tables under "block_costs", in file
// order). Datasets: fbnet_datasets() names, "cifar100" (32x32, fixed key "cifar100|...") and "imagenet"
// (224x224, fixed key "ImageNet|...").
//
// Example:
//   const FbnetLut& lut = FbnetLut::builtin();
//   double ms = lut.network_cost(FbnetGenotype::parse("k5_e6 skip ..."), "cifar100", "pixel3_latency");
//   auto objective = lut.objective("imagenet", "edgegpu_energy");   // Genotype -> mJ, for search
//
// Errors: loading throws nas::DataError "PATH: key 'block_costs.pixel3_latency.ConvBlock_H...': <what>"
// naming the missing or malformed key (invalid JSON, a section that is not an object, a cost that is not
// a finite number, a block signature or fixed cost the FBNet layers need that is absent). Every lookup
// the 22 layers x 9 blocks x 2 datasets can make is checked at load, so costing never fails on a valid
// genotype.
// Thread-safety: immutable after loading; every method may be called concurrently. objective()'s function
// shares the tables and may outlive the table object.
class FbnetLut {
 public:
  // Parses JSON text; `source` names it in error messages.
  static FbnetLut parse(const std::string& json_text, const std::string& source);
  // Reads and parses a file (nas::DataError naming the path if unreadable).
  static FbnetLut load(const std::string& path);
  // data/fbnet_hwnasbench_lut.json (core/table.h data_path()), loaded once on first use.
  static const FbnetLut& builtin();

  // The metric names in file order.
  const std::vector<std::string>& metrics() const;
  // Throws nas::SpaceError naming the known metrics / datasets for an unknown name.
  void check(const std::string& dataset, const std::string& metric) const;

  // Cost of one block of the table by signature (fbnet_block_signature()); throws nas::DataError
  // naming the key if the table has no such block.
  double block_cost(const std::string& metric, const std::string& signature) const;
  bool has_block(const std::string& metric, const std::string& signature) const;
  // fixed_network_costs["<lut_key>|<metric>"] of the dataset (stem, header conv, pooling, classifier).
  double fixed_cost(const std::string& dataset, const std::string& metric) const;
  // Sum of the 22 blocks' costs plus the fixed cost (ms or mJ).
  double network_cost(const FbnetGenotype& g, const std::string& dataset, const std::string& metric) const;

  // network_cost() as a search objective on generic genotypes (nas::SpaceError for an invalid genotype).
  // Throws nas::SpaceError for an unknown dataset or metric when called, not when the function runs.
  std::function<double(const Genotype&)> objective(const std::string& dataset, const std::string& metric) const;

 private:
  struct Tables;
  explicit FbnetLut(std::shared_ptr<const Tables> tables) : tables_(std::move(tables)) {}
  std::shared_ptr<const Tables> tables_;
};

}  // namespace nas::spaces
