#pragma once

#include <cstdint>
#include <vector>

namespace nas::spaces {

// Whether the dim sequence `u` (one value per call of a model-local function) can be written in the
// predictor text as a literal (the same at every call), a dim variable (equal to one of `vars`), or a
// variable times / divided by an integer >= 2 — the forms onnx_text/serializer.h allows for implicit
// weight formals. Emitters use it to list first the weight formals whose shapes declare new dim
// variables (the serializer itself no longer depends on that order: it picks the formals to list).
// Example: u = {32, 64, 128} is expressible with vars {{16, 32, 64}} (variable * 2).
bool dims_expressible(const std::vector<int64_t>& u, const std::vector<std::vector<int64_t>>& vars);

}  // namespace nas::spaces
