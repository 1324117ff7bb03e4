#include "analysis/SvgPlot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace stmlens {

std::string escapeXml(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string cssColor(const std::array<uint8_t, 3>& c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
    return buf;
}

std::string fixedDecimals(double v, int digits) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

namespace {

// A round axis maximum (1, 2, 2.5 or 5 x 10^k) at or above v.
double niceMax(double v) {
    if (!(v > 0)) return 1;
    const double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * p >= v * (1 - 1e-9)) return m * p;
    return 10 * p;
}

// Frame, title, axis labels and the y axis: ticks every 1, 2 or 5 x 10^k, 2-5 of them above zero.
struct Area {
    double x0, y0, x1, y1, yMax;
};

Area frame(std::ostringstream& s, const PlotOptions& o, double yMax, int yDigits) {
    double step = 1;
    if (yMax > 0) {
        const double p = std::pow(10.0, std::floor(std::log10(yMax / 5)));
        step = 10 * p;
        for (double m : {1.0, 2.0, 5.0, 10.0})
            if (m * p >= yMax / 5 * (1 - 1e-9)) {
                step = m * p;
                break;
            }
    }
    if (yDigits == 0 && step < 1) step = 1;   // counts
    const int ticks = std::max(1, static_cast<int>(std::ceil(yMax / step - 1e-9)));
    const Area a{48, 28, static_cast<double>(o.width - 10), static_cast<double>(o.height - 44), ticks * step};
    const int digits = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    s << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"" << o.width << "\" height=\"" << o.height
      << "\" viewBox=\"0 0 " << o.width << ' ' << o.height << "\" font-family=\"sans-serif\" font-size=\"11\">";
    s << "<text x=\"" << o.width / 2 << "\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">"
      << escapeXml(o.title) << "</text>";
    for (int i = 0; i <= ticks; ++i) {
        const double v = step * i, y = a.y1 - (a.y1 - a.y0) * i / ticks;
        s << "<line x1=\"" << a.x0 << "\" x2=\"" << a.x1 << "\" y1=\"" << y << "\" y2=\"" << y
          << "\" stroke=\"#ddd\"/><text x=\"" << a.x0 - 4 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
          << fixedDecimals(v, digits) << "</text>";
    }
    s << "<line x1=\"" << a.x0 << "\" x2=\"" << a.x0 << "\" y1=\"" << a.y0 << "\" y2=\"" << a.y1 << "\" stroke=\"#444\"/>";
    s << "<line x1=\"" << a.x0 << "\" x2=\"" << a.x1 << "\" y1=\"" << a.y1 << "\" y2=\"" << a.y1 << "\" stroke=\"#444\"/>";
    if (!o.xLabel.empty())
        s << "<text x=\"" << (a.x0 + a.x1) / 2 << "\" y=\"" << o.height - 4 << "\" text-anchor=\"middle\">"
          << escapeXml(o.xLabel) << "</text>";
    if (!o.yLabel.empty())
        s << "<text transform=\"translate(12," << (a.y0 + a.y1) / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
          << escapeXml(o.yLabel) << "</text>";
    return a;
}

std::string emptyChart(const PlotOptions& o) {
    std::ostringstream s;
    frame(s, o, 1, 0);
    s << "<text x=\"" << o.width / 2 << "\" y=\"" << o.height / 2 << "\" text-anchor=\"middle\" fill=\"#888\">no data</text></svg>";
    return s.str();
}

}  // namespace

std::string svgBarChart(const std::vector<Bar>& bars, const PlotOptions& o) {
    if (bars.empty()) return emptyChart(o);
    double top = 0;
    for (const auto& b : bars) top = std::max(top, b.value);
    std::ostringstream s;
    const Area a = frame(s, o, top, o.valueDigits);
    const double slot = (a.x1 - a.x0) / bars.size(), w = std::max(1.0, slot * 0.7);
    const bool turn = slot < 44;   // labels would collide: write them at an angle
    for (size_t i = 0; i < bars.size(); ++i) {
        const auto& b = bars[i];
        const double h = (a.y1 - a.y0) * std::max(0.0, b.value) / a.yMax;
        const double x = a.x0 + slot * i + (slot - w) / 2, cx = x + w / 2;
        s << "<rect x=\"" << x << "\" y=\"" << a.y1 - h << "\" width=\"" << w << "\" height=\"" << h << "\" fill=\""
          << cssColor(b.rgb) << "\"><title>" << escapeXml(b.label) << ": " << fixedDecimals(b.value, o.valueDigits)
          << "</title></rect>";
        if (slot >= 18)
            s << "<text x=\"" << cx << "\" y=\"" << a.y1 - h - 3 << "\" text-anchor=\"middle\" font-size=\"10\">"
              << fixedDecimals(b.value, o.valueDigits) << "</text>";
        if (turn)
            s << "<text transform=\"translate(" << cx + 3 << ',' << a.y1 + 8 << ") rotate(-45)\" text-anchor=\"end\" "
              << "font-size=\"9\">" << escapeXml(b.label) << "</text>";
        else
            s << "<text x=\"" << cx << "\" y=\"" << a.y1 + 13 << "\" text-anchor=\"middle\">" << escapeXml(b.label)
              << "</text>";
    }
    s << "</svg>";
    return s.str();
}

std::string svgHistogram(const std::vector<double>& values, int bins, const PlotOptions& o) {
    std::vector<double> v;
    for (double x : values)
        if (std::isfinite(x)) v.push_back(x);
    if (v.empty() || bins < 1) return emptyChart(o);
    const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    // From 0 (values are distances and counts) to a round maximum, so bin edges and ticks are readable.
    const double lo = std::min(0.0, *mn), hi = lo == 0 ? niceMax(*mx > 0 ? *mx : 1) : (*mx > lo ? *mx : lo + 1);
    std::vector<int> count(bins, 0);
    for (double x : v) ++count[std::min(bins - 1, static_cast<int>((x - lo) / (hi - lo) * bins))];
    std::ostringstream s;
    const Area a = frame(s, o, *std::max_element(count.begin(), count.end()), 0);
    const double bw = (a.x1 - a.x0) / bins;
    for (int i = 0; i < bins; ++i) {
        const double h = (a.y1 - a.y0) * count[i] / a.yMax;
        const double b0 = lo + (hi - lo) * i / bins, b1 = lo + (hi - lo) * (i + 1) / bins;
        s << "<rect x=\"" << a.x0 + bw * i << "\" y=\"" << a.y1 - h << "\" width=\"" << std::max(0.5, bw - 1)
          << "\" height=\"" << h << "\" fill=\"#5a78aa\"><title>" << fixedDecimals(b0, 2) << " to " << fixedDecimals(b1, 2) << ": "
          << count[i] << "</title></rect>";
    }
    // Five tick labels along x.
    for (int i = 0; i <= 4; ++i) {
        const double x = a.x0 + (a.x1 - a.x0) * i / 4;
        s << "<text x=\"" << x << "\" y=\"" << a.y1 + 13 << "\" text-anchor=\"middle\">"
          << fixedDecimals(lo + (hi - lo) * i / 4, hi - lo < 10 ? 1 : 0) << "</text>";
    }
    s << "</svg>";
    return s.str();
}

}  // namespace stmlens
