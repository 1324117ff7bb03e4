#pragma once
// Small self-contained SVG charts for the HTML report (no script, no external fonts): a bar chart of labelled
// values and a histogram. Text is escaped; empty data gives a chart that says so.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace stmlens {

struct Bar {
    std::string label;
    double value = 0;
    std::array<uint8_t, 3> rgb{90, 120, 170};
};

struct PlotOptions {
    std::string title, xLabel, yLabel;
    int width = 420, height = 240;
    int valueDigits = 0;          // decimals of the value printed above each bar
};

std::string svgBarChart(const std::vector<Bar>& bars, const PlotOptions& options);

// Histogram of values in `bins` equal bins from 0 (or the minimum when negative) to the maximum.
std::string svgHistogram(const std::vector<double>& values, int bins, const PlotOptions& options);

// Escapes &, <, >, " and ' for HTML/SVG text and attributes.
std::string escapeXml(const std::string& text);

// "#rrggbb", for SVG and CSS.
std::string cssColor(const std::array<uint8_t, 3>& rgb);

// The number with a fixed count of decimals ("%.*f").
std::string fixedDecimals(double value, int digits);

}  // namespace stmlens
