#include "core/svg_plot.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/search/svg_check.h"

namespace nas {
namespace {

using search::testing::xml_problem;

TEST(SvgPlotTest, NiceTicks) {
  EXPECT_EQ(nice_ticks(0.3, 9.7, 5), (std::vector<double>{2, 4, 6, 8}));
  auto unit = nice_ticks(0, 1, 5);
  ASSERT_EQ(unit.size(), 6u);
  for (size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], 0.2 * static_cast<double>(i), 1e-12);
  auto t = nice_ticks(88.2, 94.6, 6);
  ASSERT_FALSE(t.empty());
  EXPECT_GE(t.front(), 88.2);
  EXPECT_LE(t.back(), 94.6);
  EXPECT_DOUBLE_EQ(t[1] - t[0], 1.0);
  EXPECT_EQ(nice_ticks(3, 3), (std::vector<double>{3, 3}));
}

TEST(SvgPlotTest, EscapesText) {
  EXPECT_EQ(xml_escape("a<b & \"c\" > 'd'"), "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;");
}

TEST(SvgPlotTest, RendersWellFormedSvgWithEverySeries) {
  SvgPlot plot("front <A&B>", "lat_ms_pixel3", "acc_cifar10 (%)");
  plot.add({"exact front", {1, 2, 4}, {80, 90, 94}, SeriesStyle::kStep, "#000000"});
  plot.add({"found", {1.5, 3, std::nan("")}, {85, 93, 1}});
  PlotSeries line{"hv", {0, 1, 2}, {0.1, 0.5, 0.7}, SeriesStyle::kLine, "#ff0000"};
  plot.add(line);
  for (Marker m : {Marker::kSquare, Marker::kCross, Marker::kDiamond}) {
    PlotSeries s{"", {2}, {88}};
    s.marker = m;
    plot.add(s);
  }
  std::string svg = plot.render();
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("front &lt;A&amp;B&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">exact front</text>"), std::string::npos);
  EXPECT_NE(svg.find(">found</text>"), std::string::npos);
  EXPECT_NE(svg.find(">acc_cifar10 (%)</text>"), std::string::npos);
  // Two finite points of "found" -> two circles (the NaN point is skipped), plus its legend marker.
  size_t circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++circles;
  EXPECT_EQ(circles, 3u);
  // The step series goes right before it goes up: M x0,y0 L x1,y0 L x1,y1 ...
  size_t path = svg.find("<path d=\"M");
  ASSERT_NE(path, std::string::npos);
  std::string d = svg.substr(path + 9, svg.find('"', path + 9) - path - 9);
  EXPECT_EQ(std::count(d.begin(), d.end(), 'L'), 4) << d;
  EXPECT_THROW(plot.add({"bad", {1, 2}, {1}}), Error);
  EXPECT_THROW(plot.set_x_range(2, 1), Error);
}

TEST(SvgPlotTest, FixedRangesAndEmptyPlots) {
  SvgPlot empty("nothing", "x", "y");
  EXPECT_EQ(xml_problem(empty.render()), "");
  SvgPlot plot("ranged", "x", "y");
  plot.set_x_range(0, 10);
  plot.set_y_range(-1, 1);
  plot.add({"out of range", {20}, {0}});
  std::string svg = plot.render();
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("<circle cx"), svg.rfind("<circle cx")) << "only the legend marker is drawn";
}

}  // namespace
}  // namespace nas
