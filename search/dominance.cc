#include "search/dominance.h"

#include "core/error.h"

namespace nas::search {

Dominance compare_dominance(const std::vector<double>& a, const std::vector<double>& b) {
  NAS_CHECK(a.size() == b.size(), "objective vectors of different lengths ({} vs {})", a.size(), b.size());
  bool a_better = false, b_better = false;
  for (size_t j = 0; j < a.size(); ++j) {
    if (a[j] < b[j]) {
      a_better = true;
    } else if (b[j] < a[j]) {
      b_better = true;
    }
    if (a_better && b_better) return Dominance::kNeither;
  }
  if (a_better) return Dominance::kADominates;
  if (b_better) return Dominance::kBDominates;
  return Dominance::kNeither;
}

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  return compare_dominance(a, b) == Dominance::kADominates;
}

Dominance compare_constrained(const std::vector<double>& a, double cv_a, const std::vector<double>& b,
                              double cv_b) {
  bool a_feasible = cv_a <= 0.0, b_feasible = cv_b <= 0.0;
  if (a_feasible && b_feasible) return compare_dominance(a, b);
  if (a_feasible) return Dominance::kADominates;
  if (b_feasible) return Dominance::kBDominates;
  if (cv_a < cv_b) return Dominance::kADominates;
  if (cv_b < cv_a) return Dominance::kBDominates;
  return Dominance::kNeither;
}

bool constrained_dominates(const std::vector<double>& a, double cv_a, const std::vector<double>& b,
                           double cv_b) {
  return compare_constrained(a, cv_a, b, cv_b) == Dominance::kADominates;
}

}  // namespace nas::search
