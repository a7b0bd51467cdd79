#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace nas::predictor {

// Rank and linear correlation between predictions and ground truth, as used to report predictor
// quality (Kendall tau is the headline metric of NAS predictor papers, e.g. the RLM paper, Akhauri et
// al. arXiv 2509.26476). All functions take two equally long vectors; x[i] and y[i] form pair i.
//
// Degenerate inputs return NaN rather than throwing: fewer than 2 pairs, or a constant x or y (zero
// variance / every pair tied), where the coefficient is undefined (scipy returns NaN there too).
// NaN values are not skipped by these functions (the result is then meaningless); drop them first with
// drop_nan_pairs() or use rank_metrics(). A size mismatch is a programming error: nas::Error.

// Kendall's tau-b, which corrects for ties in either variable:
//   tau_b = (n_c - n_d) / sqrt((n0 - n1) (n0 - n2)),
// n0 = n(n-1)/2, n1 / n2 = pairs tied in x / in y, n_c / n_d = concordant / discordant pairs
// (Kendall 1945; same definition as scipy.stats.kendalltau(variant='b')).
// O(n log n): Knight's algorithm (Knight 1966, JASA 61:436), sort by (x, y) then count the
// discordant pairs as the swaps of a stable merge sort on y.
double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);

// Spearman's rho: Pearson correlation of the ranks, tied values getting the average of the ranks they
// span (scipy.stats.spearmanr). O(n log n).
double spearman_rho(const std::vector<double>& x, const std::vector<double>& y);

// Pearson's product-moment correlation r, computed with centred sums (two passes) for accuracy.
double pearson_r(const std::vector<double>& x, const std::vector<double>& y);

// Ranks 1..n of `v` in ascending order, ties given their average rank ("fractional ranking").
// Example: {10, 20, 20, 5} -> {2, 3.5, 3.5, 1}.
std::vector<double> average_ranks(const std::vector<double>& v);

// Copies of x and y without the pairs where x[i] or y[i] is NaN (infinities are kept).
std::pair<std::vector<double>, std::vector<double>> drop_nan_pairs(const std::vector<double>& x,
                                                                   const std::vector<double>& y);

// The three correlations over the pairs where neither value is NaN; n = number of pairs used.
struct RankMetrics {
  size_t n = 0;
  double kendall_tau = 0.0;
  double spearman_rho = 0.0;
  double pearson_r = 0.0;
};
RankMetrics rank_metrics(const std::vector<double>& predicted, const std::vector<double>& actual);

}  // namespace nas::predictor
