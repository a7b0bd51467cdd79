#pragma once

#include <vector>

namespace nas::search {

// Outcome of comparing two individuals a and b. kNeither covers both equal and mutually
// non-dominated vectors.
enum class Dominance { kADominates, kBDominates, kNeither };

// Pareto dominance, all objectives minimised: a dominates b iff a_j <= b_j for every j and a_j < b_j for
// at least one j. Requires a.size() == b.size() (throws nas::Error otherwise).
Dominance compare_dominance(const std::vector<double>& a, const std::vector<double>& b);
bool dominates(const std::vector<double>& a, const std::vector<double>& b);

// Constrained domination (Deb 2000, "An efficient constraint handling method for genetic algorithms";
// Deb et al. 2002, NSGA-II section VI). `cv_a`, `cv_b` are total constraint violations (0 = feasible,
// see constraint_violation()):
//   feasible vs infeasible  -> the feasible one dominates;
//   both infeasible         -> the smaller violation dominates (equal violations: kNeither);
//   both feasible           -> Pareto dominance of the objectives.
Dominance compare_constrained(const std::vector<double>& a, double cv_a, const std::vector<double>& b,
                              double cv_b);
bool constrained_dominates(const std::vector<double>& a, double cv_a, const std::vector<double>& b,
                           double cv_b);

}  // namespace nas::search
