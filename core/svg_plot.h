#pragma once

#include <string>
#include <vector>

namespace nas {

// How one data series is drawn.
enum class SeriesStyle {
  kScatter,  // one marker per point
  kLine,     // straight segments between consecutive points, in the order given
  kStep,     // a staircase in increasing x: the y of a point holds until the next point's x
             // ("steps-post"), the usual drawing of a two-objective Pareto front
};

// Marker drawn for each point of a kScatter series.
enum class Marker { kCircle, kSquare, kCross, kDiamond };

// Where the legend box sits inside the plot area.
enum class LegendPosition { kTopRight, kTopLeft, kBottomRight, kBottomLeft };

// One named series of (x, y) points. Non-finite points are skipped.
struct PlotSeries {
  std::string label;         // legend text; empty = not in the legend
  std::vector<double> x, y;  // same length
  SeriesStyle style = SeriesStyle::kScatter;
  std::string color = "#1f77b4";  // any SVG colour
  Marker marker = Marker::kCircle;
  double marker_size = 4.0;  // radius / half-width in pixels
  double line_width = 1.5;   // pixels
  double opacity = 1.0;      // in [0, 1]
};

// A small self-contained SVG chart writer (no plotting library): one plot area with axes, "nice"
// ticks (1, 2, 5 x 10^k steps, after Heckbert, "Nice numbers for graph labels", Graphics Gems 1990),
// tick labels, axis labels, a title, and a legend in a corner of the plot area (top right unless set).
// Axis ranges cover every finite point of every series plus 4% padding, unless set explicitly.
// Text is XML-escaped.
//
// Example:
//   SvgPlot plot("NB201 front", "lat_ms_pixel3 (ms)", "acc_cifar10 (%)");
//   plot.add({"exact front", {1, 2, 4}, {80, 90, 94}, SeriesStyle::kStep, "#000000"});
//   plot.add({"found", {1.5, 3}, {85, 93}});
//   plot.save("results/front.svg");   // <svg xmlns="http://www.w3.org/2000/svg" width="760" ...>...</svg>
class SvgPlot {
 public:
  SvgPlot(std::string title, std::string x_label, std::string y_label, int width = 760, int height = 520);

  // Throws nas::Error if x and y differ in length.
  void add(PlotSeries series);
  // Fixes an axis range instead of fitting the data. Throws nas::Error unless lo < hi (both finite).
  void set_x_range(double lo, double hi);
  void set_y_range(double lo, double hi);
  void set_legend(LegendPosition position) { legend_ = position; }

  // The whole SVG document (UTF-8, one element per line).
  std::string render() const;
  // render() written atomically (nas::write_file_atomic); throws nas::Error naming the path.
  void save(const std::string& path) const;

 private:
  std::string title_, x_label_, y_label_;
  int width_, height_;
  std::vector<PlotSeries> series_;
  LegendPosition legend_ = LegendPosition::kTopRight;
  bool x_fixed_ = false, y_fixed_ = false;
  double x_lo_ = 0, x_hi_ = 1, y_lo_ = 0, y_hi_ = 1;
};

// Tick positions covering [lo, hi] with about `target` intervals of a 1, 2 or 5 x 10^k step; ticks lie
// within [lo, hi] (ends included when they fall on the step). Requires lo < hi; returns {lo, hi}
// otherwise. Example: nice_ticks(0.3, 9.7, 5) -> {2, 4, 6, 8}.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// `text` with &, <, >, " and ' replaced by XML entities.
std::string xml_escape(const std::string& text);

}  // namespace nas
