#include "spaces/function_weights.h"

#include <algorithm>

namespace nas::spaces {

bool dims_expressible(const std::vector<int64_t>& u, const std::vector<std::vector<int64_t>>& vars) {
  if (std::all_of(u.begin(), u.end(), [&](int64_t v) { return v == u[0]; })) return true;
  for (const auto& w : vars) {
    if (w == u) return true;
    bool times = u[0] % w[0] == 0 && u[0] / w[0] >= 2, divided = w[0] % u[0] == 0 && w[0] / u[0] >= 2;
    for (size_t i = 0; i < u.size(); ++i) {
      times = times && u[i] == w[i] * (u[0] / w[0]);
      divided = divided && w[i] == u[i] * (w[0] / u[0]);
    }
    if (times || divided) return true;
  }
  return false;
}

}  // namespace nas::spaces
