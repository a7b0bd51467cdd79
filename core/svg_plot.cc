#include "core/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/io.h"

namespace nas {
namespace {

// Margins of the plot area inside the canvas, pixels.
constexpr double kLeft = 78, kRight = 24, kTop = 44, kBottom = 62;

// Shortest decimal text of a tick value at the precision of `step` ("0.25", "15", "1e+06").
std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-9) v = 0.0;
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  if (std::abs(v) >= 1e6 || (v != 0.0 && std::abs(v) < 1e-4)) return fmt::format("{:g}", v);
  return fmt::format("{:.{}f}", v, decimals);
}

std::string num(double v) { return fmt::format("{:.2f}", v); }

// The range of the finite values of one coordinate over all series; {0, 1} if there are none.
std::pair<double, double> data_range(const std::vector<PlotSeries>& series, bool x_axis) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      double v = x_axis ? s.x[i] : s.y[i];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!(lo <= hi)) return {0.0, 1.0};
  if (lo == hi) {
    double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
    return {lo - pad, hi + pad};
  }
  double pad = (hi - lo) * 0.04;
  return {lo - pad, hi + pad};
}

std::string marker_svg(Marker marker, double cx, double cy, double r, const std::string& color, double opacity) {
  std::string style = fmt::format("fill=\"{}\" fill-opacity=\"{}\" stroke=\"{}\"", color, opacity, color);
  switch (marker) {
    case Marker::kCircle:
      return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {}/>", num(cx), num(cy), num(r), style);
    case Marker::kSquare:
      return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {}/>", num(cx - r), num(cy - r),
                         num(2 * r), num(2 * r), style);
    case Marker::kDiamond:
      return fmt::format("<polygon points=\"{},{} {},{} {},{} {},{}\" {}/>", num(cx), num(cy - r), num(cx + r),
                         num(cy), num(cx), num(cy + r), num(cx - r), num(cy), style);
    case Marker::kCross:
      return fmt::format(
          "<path d=\"M{},{} L{},{} M{},{} L{},{}\" stroke=\"{}\" stroke-opacity=\"{}\" stroke-width=\"2\" "
          "fill=\"none\"/>",
          num(cx - r), num(cy - r), num(cx + r), num(cy + r), num(cx - r), num(cy + r), num(cx + r), num(cy - r),
          color, opacity);
  }
  return "";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo, hi};
  target = std::max(target, 1);
  double raw = (hi - lo) / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double fraction = raw / magnitude;
  double nice = fraction < 1.5 ? 1.0 : fraction < 3.0 ? 2.0 : fraction < 7.0 ? 5.0 : 10.0;
  double step = nice * magnitude;
  std::vector<double> ticks;
  double first = std::ceil(lo / step - 1e-9) * step;
  for (int k = 0; k < 1000; ++k) {
    double t = first + k * step;
    if (t > hi + step * 1e-9) break;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

SvgPlot::SvgPlot(std::string title, std::string x_label, std::string y_label, int width, int height)
    : title_(std::move(title)),
      x_label_(std::move(x_label)),
      y_label_(std::move(y_label)),
      width_(std::max(width, 200)),
      height_(std::max(height, 160)) {}

void SvgPlot::add(PlotSeries series) {
  NAS_CHECK(series.x.size() == series.y.size(), "series '{}' has {} x and {} y values", series.label,
            series.x.size(), series.y.size());
  series_.push_back(std::move(series));
}

void SvgPlot::set_x_range(double lo, double hi) {
  NAS_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, "bad x range [{}, {}]", lo, hi);
  x_fixed_ = true;
  x_lo_ = lo;
  x_hi_ = hi;
}

void SvgPlot::set_y_range(double lo, double hi) {
  NAS_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, "bad y range [{}, {}]", lo, hi);
  y_fixed_ = true;
  y_lo_ = lo;
  y_hi_ = hi;
}

std::string SvgPlot::render() const {
  auto [x_lo, x_hi] = x_fixed_ ? std::make_pair(x_lo_, x_hi_) : data_range(series_, /*x_axis=*/true);
  auto [y_lo, y_hi] = y_fixed_ ? std::make_pair(y_lo_, y_hi_) : data_range(series_, /*x_axis=*/false);
  const double w = width_ - kLeft - kRight, h = height_ - kTop - kBottom;
  auto px = [&, x_lo = x_lo, x_hi = x_hi](double x) { return kLeft + (x - x_lo) / (x_hi - x_lo) * w; };
  auto py = [&, y_lo = y_lo, y_hi = y_hi](double y) { return kTop + h - (y - y_lo) / (y_hi - y_lo) * h; };
  auto inside = [&, x_lo = x_lo, x_hi = x_hi, y_lo = y_lo, y_hi = y_hi](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && x >= x_lo && x <= x_hi && y >= y_lo && y <= y_hi;
  };

  std::string s;
  s += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
      width_, height_, width_, height_);
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", width_, height_);
  s += fmt::format("<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
                   num(kLeft + w / 2), xml_escape(title_));
  s += "<defs><clipPath id=\"plot-area\">";
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", num(kLeft), num(kTop), num(w), num(h));
  s += "</clipPath></defs>\n";

  // Grid, ticks and tick labels.
  auto xt = nice_ticks(x_lo, x_hi, 7), yt = nice_ticks(y_lo, y_hi, 6);
  double x_step = xt.size() > 1 ? xt[1] - xt[0] : x_hi - x_lo;
  double y_step = yt.size() > 1 ? yt[1] - yt[0] : y_hi - y_lo;
  for (double t : xt) {
    double x = px(t);
    s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e5e5e5\"/>\n", num(x), num(kTop),
                     num(kTop + h));
    s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#000000\"/>\n", num(x),
                     num(kTop + h), num(kTop + h + 5));
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x), num(kTop + h + 19),
                     xml_escape(tick_label(t, x_step)));
  }
  for (double t : yt) {
    double y = py(t);
    s += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#e5e5e5\"/>\n", num(y),
                     num(kLeft), num(kLeft + w));
    s += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#000000\"/>\n", num(y),
                     num(kLeft - 5), num(kLeft));
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(kLeft - 8), num(y + 4),
                     xml_escape(tick_label(t, y_step)));
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#000000\"/>\n",
                   num(kLeft), num(kTop), num(w), num(h));
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(kLeft + w / 2),
                   num(height_ - 16.0), xml_escape(x_label_));
  s += fmt::format("<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">{1}</text>\n",
                   num(kTop + h / 2), xml_escape(y_label_));

  // Series, clipped to the plot area, in the order added (later ones on top).
  s += "<g clip-path=\"url(#plot-area)\">\n";
  for (const auto& series : series_) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < series.x.size(); ++i)
      if (std::isfinite(series.x[i]) && std::isfinite(series.y[i])) idx.push_back(i);
    if (series.style == SeriesStyle::kScatter) {
      for (size_t i : idx)
        if (inside(series.x[i], series.y[i]))
          s += marker_svg(series.marker, px(series.x[i]), py(series.y[i]), series.marker_size, series.color,
                          series.opacity) +
               "\n";
      continue;
    }
    if (series.style == SeriesStyle::kStep)
      std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return series.x[a] < series.x[b]; });
    if (idx.empty()) continue;
    std::string d = fmt::format("M{},{}", num(px(series.x[idx[0]])), num(py(series.y[idx[0]])));
    for (size_t k = 1; k < idx.size(); ++k) {
      if (series.style == SeriesStyle::kStep)
        d += fmt::format(" L{},{}", num(px(series.x[idx[k]])), num(py(series.y[idx[k - 1]])));
      d += fmt::format(" L{},{}", num(px(series.x[idx[k]])), num(py(series.y[idx[k]])));
    }
    s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"{}\"/>\n", d,
                     series.color, series.line_width, series.opacity);
  }
  s += "</g>\n";

  // Legend.
  std::vector<const PlotSeries*> named;
  for (const auto& series : series_)
    if (!series.label.empty()) named.push_back(&series);
  if (!named.empty()) {
    size_t longest = 0;
    for (const auto* p : named) longest = std::max(longest, p->label.size());
    double box_w = 34 + 6.6 * static_cast<double>(longest), box_h = 8 + 18.0 * static_cast<double>(named.size());
    bool right = legend_ == LegendPosition::kTopRight || legend_ == LegendPosition::kBottomRight;
    bool top = legend_ == LegendPosition::kTopRight || legend_ == LegendPosition::kTopLeft;
    double bx = right ? kLeft + w - box_w - 8 : kLeft + 8;
    double by = top ? kTop + 8 : kTop + h - box_h - 8;
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\" "
        "stroke=\"#999999\"/>\n",
        num(bx), num(by), num(box_w), num(box_h));
    for (size_t k = 0; k < named.size(); ++k) {
      const PlotSeries& p = *named[k];
      double cy = by + 13 + 18.0 * static_cast<double>(k);
      if (p.style == SeriesStyle::kScatter) {
        s += marker_svg(p.marker, bx + 14, cy, std::min(p.marker_size, 5.0), p.color, p.opacity) + "\n";
      } else {
        s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                         num(bx + 5), num(cy), num(bx + 23), num(cy), p.color, p.line_width);
      }
      s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(bx + 29), num(cy + 4), xml_escape(p.label));
    }
  }
  s += "</svg>\n";
  return s;
}

void SvgPlot::save(const std::string& path) const { write_file_atomic(path, render()); }

}  // namespace nas
