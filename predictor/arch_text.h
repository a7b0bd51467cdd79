#pragma once

// The predictor's inputs: the ONNX text of an architecture (spaces -> ONNX -> onnx_text), and the
// label-free targets computed from the same ONNX graph that pretraining regresses.

#include <string>
#include <vector>

#include "predictor/bpe_tokenizer.h"
#include "predictor/config.h"
#include "predictor/rlm.h"
#include "spaces/search_space.h"

namespace nas::predictor {

// Version of the predictor's input: the text dialect of onnx_text/serializer.h plus the computed
// targets below. Stored in checkpoints (config key text_version; absent = 1) so that a pretrained
// model made for another input version is not silently reused. Bump it whenever the text or the value
// of an existing target changes; appending a target does not (a model names the targets it was
// pretrained on, and pretrain.targets is part of the pretrained-model cache key).
inline constexpr int64_t kArchTextVersion = 2;

// Names of the targets computed from an ONNX graph, in the order computed_targets() returns them:
// "params_M" (trainable parameters, M) and "flops_M" (multiply-accumulates, M), as counted by
// onnx_text/graph_cost.h; "depth_max" and "depth_min" (weighted layers on the longest / shortest
// input-to-output path, onnx_text/graph_depth.h); "flops_live_M" (the multiply-accumulates left after
// dead-code elimination, GraphCost::live_flops_M: what a runtime that prunes unused nodes computes);
// "convs_live" (live Conv / ConvTranspose nodes) and "pools_live" (live windowed pooling nodes:
// AveragePool, MaxPool, LpPool), counted from GraphCost::live_nodes; "convs_dead" and "pools_dead"
// (the same operators' nodes that are not live: GraphCost::nodes minus live_nodes); "convs_dead_merged"
// (the dead Conv / ConvTranspose nodes whose unused results end only in merges of branches,
// GraphCost::dead_merged_nodes) and "convs_dead_unmerged" (the other dead ones): HW-NAS-Bench's Pixel 3
// latencies leave out the first and count the second.
const std::vector<std::string>& computed_target_names();

// Text and computed targets (ArchText::computed; also copied to `computed` if non-null) of each
// genotype's network for `dataset`, built in parallel (TBB); output order = input order. Throws nas::SpaceError for an invalid
// genotype or dataset.
std::vector<ArchText> architecture_texts(const spaces::SearchSpace& space, const std::vector<spaces::Genotype>& gs,
                                         const std::string& dataset,
                                         std::vector<std::vector<double>>* computed = nullptr);

// Learns the RLM's BPE tokenizer (config.tokenizer_vocab_size tokens) from the texts of
// config.tokenizer_corpus_size random architectures of every registered space (seeded by
// config.seed; config.dataset for config.space, each other space's default dataset). '\n' merges with
// the punctuation around it (BpeTrainOptions::isolate_newlines = false) unless `isolate_newlines`:
// measured with experiments/text_length_report, that takes every space's longest text under 900
// tokens at 1,024 tokens of vocabulary (NB201 max 232, DARTS 799, OFA 868 over 500 networks each).
BpeTokenizer train_tokenizer(const RlmConfig& config, bool isolate_newlines = false);

// Text and computed targets of any ONNX model; `space` is the prefix token (a registered space name).
ArchText model_text(const onnx::ModelProto& model, const std::string& space);
std::vector<double> computed_targets(const onnx::ModelProto& model);

}  // namespace nas::predictor
