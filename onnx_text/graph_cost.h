#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <onnx/onnx_pb.h>

namespace nas::onnx_text {

// Parameter and FLOP count of a model, in millions.
struct GraphCost {
  double params_M = 0;  // trainable parameters (elements), / 1e6
  double flops_M = 0;   // multiply-accumulates (+ bias additions, see below), / 1e6
  // The part of flops_M that the graph outputs depend on: the MACs left after dead-code elimination, as
  // an inference runtime that prunes unused nodes runs the graph. A node is live if a graph output
  // reads one of its outputs, directly or through live nodes; Sub(x, x) and Mul by an all-zero FLOAT
  // initializer are live but read nothing (a runtime folds them to zero), so what only feeds them is
  // dead. Local functions count as if inlined: a call counts the nodes of its body that its needed
  // outputs depend on (worked out once per signature and set of needed outputs). Example: the NB201 cell
  // |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2| computes
  // node 2 (a 3x3 conv of node 0 plus a pool of node 1) only for a `none` edge, so its conv is dead:
  // live_flops_M is the table's flops_M_cifar10 of the cell with `none` on both edges into node 2
  // (checked for every cell in tests/spaces/nb201_test.cc). Why it matters: HW-NAS-Bench's Pixel 3
  // latencies follow the live ops; over all 15,625 NB201 cells their Spearman rho with the live convs'
  // MACs (counted on the genotype) is 0.90, with flops_M 0.84 (configs/rlm_nb201.yaml).
  double live_flops_M = 0;
  // Number of live nodes per operator (the same liveness; calls of local functions expanded, folded
  // zero nodes left out): op_type for the default ONNX domain, "domain.op_type" otherwise. Why it
  // matters: MACs alone do not tell a 3x3 conv from nine 1x1 convs, nor see pooling. On the NB201
  // table, a least-squares fit of Pixel 3 latency on live MACs alone scores Spearman rho 0.90 on 2,000
  // held-out cells (1,000 for fitting, mean of 3 random splits); on live MACs plus the live Conv and
  // AveragePool counts, 0.96 (counted on the genotype, in python). Checked against the genotype for
  // every NB201 cell in tests/spaces/nb201_test.cc.
  std::map<std::string, int64_t> live_nodes;
  // Number of nodes per operator, live or not (same naming; calls of local functions expanded). With
  // live_nodes it gives the dead ones, which some runtimes still run. On the NB201 table, HW-NAS-Bench's
  // Pixel 3 latencies leave out the ops of some dead nodes and count those of others, by the cell's
  // pattern of `none` edges: with only edge 2->3 `none`, node 2 (summing two ops) is left out (512
  // cells: median share of its ops' fitted cost in the latency 0.05); with edges 1->2 and 2->3 `none`,
  // node 2 (one op of node 0) is counted (64 cells: 1.09) (fitted in python on the genotypes).
  std::map<std::string, int64_t> nodes;
  // The dead nodes (in `nodes`, not in `live_nodes`) whose unused results end only in merges of
  // branches, by operator (same naming). A dead node that no other dead node reads is an end, and a
  // merge if it combines two or more computed inputs of its output's shape (Sum or Add of two
  // activations; not a Conv's weight, BatchNormalization's statistics or an Add of a bias). A dead node
  // counts if every end its results reach is a merge. Calls of local functions count as if inlined:
  // their bodies are walked knowing where their outputs end outside (checked against inline_functions
  // on NB201 models in tests/onnx_text/graph_cost_test.cc). Why it matters: HW-NAS-Bench's Pixel 3
  // latencies on NB201 leave out dead ops whose unused node sums two or more edges and count those
  // whose unused node is a single op (the pattern above: 0.05 vs 1.09). On the benchmark protocol
  // (1,000 / 2,000 cells, five random splits, in python on the genotype), a least-squares fit of Pixel 3
  // latency on the live MACs, live conv and pool counts and dead conv and pool counts scores Spearman
  // rho 0.961; with the dead convs split into those ending in merges and the rest, 0.969. Checked
  // against the genotype for every NB201 cell in tests/spaces/nb201_test.cc.
  std::map<std::string, int64_t> dead_merged_nodes;
};

// Counts the trainable parameters and multiply-accumulates of ANY ONNX model: types and shapes come
// from onnx::shape_inference::InferShapes (type checks on, node errors thrown, data propagation on),
// then the nodes are counted. Calls of model-local functions are counted through their bodies,
// recursively, exactly as if the model were inlined (onnx_text/inline.h): each function is inferred
// once per distinct signature (its actual input types, the values of small constant inputs, and the
// call's attributes) and the result reused for every call with that signature, which is what makes
// costing an NB201 model (17 calls, 5 signatures) take ~0.4 ms instead of ~3 ms with inlining.
// Runs of ordinary nodes between calls are inferred as one graph each.
//
// Rules: the conventions of the params_M_* / flops_M_* columns of data/nb201.csv, found by fitting
// the table (conv weights + BN scale/bias + linear weight/bias; conv MACs + linear MACs + linear bias
// adds, per image; pooling and BN not counted, as in xautodl's Conv2d / Linear FLOP hooks), and checked
// against all 15,625 x 3 rows in tests/spaces/nb201_test.cc to a relative 1e-5 (the table's rounding):
//   params: elements of every floating-point initializer that some node reads in a trainable slot,
//     counted once per initializer. Inputs 3 and 4 of BatchNormalization (running mean / variance) are
//     running statistics, not trainable, so BN adds 2 x C (scale, bias), not 4 x C. Graph inputs
//     without an initializer are data, and Constant nodes are not parameters. Integer initializers
//     (shapes, indices) are never parameters.
//   flops (MACs; ops not listed add 0, e.g. pooling, BatchNorm, activations, Add / Sum):
//     Conv          |Y| * (C_in / group * k_1 * ... * k_d)  [= |Y| * product of W.dims[1:]]
//                   + |Y| if it has a bias input (one add per output element)
//     ConvTranspose |X| * (C_out / group * k_1 * ... * k_d) [= |X| * product of W.dims[1:]] + |Y| with bias
//     Gemm          M * K * N (honouring transA / transB) + M * N if it has a C input
//     MatMul        |Y| * K (K = last dim of A; numpy broadcasting)
//   where |T| is the element count of T with the model's input shapes. So the counts are per run of
//   the graph as given: NB201 models built with batch_size 1 give the benchmark's per-image values;
//   batch N gives N times the flops (params do not change).
// Nodes inside control-flow subgraphs (If / Loop / Scan bodies) are not counted. Data propagation
// (Shape -> Gather -> Reshape chains) does not cross a function-call boundary.
//
// Example: build_nb201_model(Nb201Genotype::parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+"
//   "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"), {"cifar10"}) -> {0.802426, 113.951} (table row 1).
//
// Errors: throws nas::OnnxTextError for a call with more actuals than formals or a recursive function,
// when shape inference fails (its message is kept, with the function being inferred), and when a
// counted node's operand shape is unknown or dynamic after inference ("graph_cost: Conv node 'n'
// (output 'y'): shape of 'y' is not static ([1, 4, H, 6])").
// Declared shapes (graph outputs, value_info) are merged with the inferred ones; a conflict throws.
// Memory model: `model` is not copied. Initializer values are handed to shape inference only for
// integer tensors of <= 1,024 elements and float tensors of <= 8 (shapes, pads, Resize scales): the
// rest contribute only their type and dims.
// Thread-safety: pure function; may be called concurrently.
GraphCost graph_cost(const onnx::ModelProto& model);

}  // namespace nas::onnx_text
