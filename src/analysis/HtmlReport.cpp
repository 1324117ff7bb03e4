#include "analysis/HtmlReport.h"

#include <nanoflann.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <numbers>
#include <sstream>

#include "analysis/KdPoints.h"
#include "analysis/Overlay.h"
#include "analysis/SvgPlot.h"
#include "core/Errors.h"
#include "core/ScaleBar.h"
#include "io/AtomicFile.h"
#include "io/Base64.h"

namespace stmlens {

namespace {

// "T1", "T2", ... (appended rather than "T" + ...: GCC 12 gives that a false -Wrestrict warning).
std::string terraceName(int t) {
    std::string s = "T";
    s += std::to_string(t + 1);
    return s;
}

// Distinct colours for cluster ids (outliers grey).
std::array<uint8_t, 3> clusterColor(int id) {
    static const std::array<std::array<uint8_t, 3>, 12> palette{{{230, 25, 75}, {60, 180, 75}, {255, 225, 25},
                                                                 {0, 130, 200}, {245, 130, 48}, {145, 30, 180},
                                                                 {70, 240, 240}, {240, 50, 230}, {210, 245, 60},
                                                                 {250, 190, 212}, {0, 128, 128}, {170, 110, 40}}};
    if (id < 0) return {150, 150, 150};
    return palette[static_cast<size_t>(id) % palette.size()];
}

std::string dataPng(const std::vector<uint8_t>& png) { return "data:image/png;base64," + base64Encode(png); }

std::string baseName(const std::string& path) {
    const std::string n = std::filesystem::path(path).filename().string();
    return n.empty() ? path : n;
}

std::string nowText() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

double areaNm2(const AnalysisResult& r) { return r.width * r.pixelSize.x_nm * r.height * r.pixelSize.y_nm; }

int localizedDefects(const AnalysisResult& r) {
    return static_cast<int>(std::count_if(r.defects.begin(), r.defects.end(), [](const Defect& d) { return !d.extended; }));
}

const char* kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 16px 40px;color:#222}
h1{margin:16px 0 4px}h2{margin:28px 0 8px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.verdict{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold}
.v-usable{background:#2a8a3a}.v-degraded{background:#c98a00}.v-unusable{background:#b52a2a}.v-failed{background:#555}
.scan-body{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}
.viewer{position:relative;width:min(100%,760px);line-height:0;background:#000}
.viewer img{width:100%;display:block}
.viewer .layer,.viewer svg{position:absolute;left:0;top:0;width:100%;height:100%}
.controls{font-size:13px;margin:6px 0}.controls label{margin-right:12px;white-space:nowrap}
.picture{flex:0 1 760px;max-width:760px}.side{flex:1 1 360px;min-width:320px}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:13px;margin:8px 0}
dl.facts dt{color:#666}dl.facts dd{margin:0;overflow-wrap:anywhere}
.plots{display:flex;flex-wrap:wrap;gap:10px;margin-top:10px}
.defect-table{max-height:420px;overflow:auto;display:inline-block}
.defect-table tr{cursor:pointer}.defect-table tr:hover td{background:#eef4ff}
.defect-table tr.sel td{background:#ffe9a8}
svg .sel{stroke:#fff!important;stroke-width:4px!important}
.swatch{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border:1px solid #0003}
.legend{font-size:12px;margin:4px 0}.legend span{margin-right:10px;white-space:nowrap}
.note{color:#666;font-size:12px}
)css";

// Switches overlay groups, colours by class or by cluster, and ties table rows to markers.
const char* kScript = R"js(
window.addEventListener('error', function (e) { document.body.dataset.jsError = String(e.message); });
document.querySelectorAll('section.scan').forEach(function (sec) {
  sec.querySelectorAll('input[data-toggle]').forEach(function (box) {
    var apply = function () {
      sec.querySelectorAll('[data-layer="' + box.dataset.toggle + '"]').forEach(function (el) {
        el.style.display = box.checked ? '' : 'none';
      });
    };
    box.addEventListener('change', apply);
    apply();
  });
  var colour = sec.querySelector('select[data-colour]');
  if (colour) {
    var by = function () {
      sec.querySelectorAll('[data-colour-by]').forEach(function (el) {
        el.setAttribute('visibility', el.dataset.colourBy === colour.value ? 'visible' : 'hidden');
      });
    };
    colour.addEventListener('change', by);
    by();
  }
  sec.querySelectorAll('tr[data-defect]').forEach(function (row) {
    row.addEventListener('click', function () {
      sec.querySelectorAll('.sel').forEach(function (el) { el.classList.remove('sel'); });
      row.classList.add('sel');
      sec.querySelectorAll('[data-marker="' + row.dataset.defect + '"]').forEach(function (m) { m.classList.add('sel'); });
      sec.querySelector('.viewer').scrollIntoView({behavior: 'smooth', block: 'center'});
    });
  });
  sec.querySelectorAll('[data-marker]').forEach(function (m) {
    m.addEventListener('click', function () {
      var row = sec.querySelector('tr[data-defect="' + m.dataset.marker + '"]');
      if (row) { row.click(); row.scrollIntoView({block: 'nearest'}); }
    });
  });
});
document.body.dataset.renderedDefects =
  String(document.querySelectorAll('g[data-colour-by="class"] [data-marker]').length);
document.body.dataset.ready = 'yes';
)js";

void writeScanSection(std::ostringstream& h, const ReportScan& rs, size_t index) {
    const AnalysisResult& r = rs.result;
    const std::string sid = "scan-" + std::to_string(index);
    h << "<section class=\"scan\" id=\"" << sid << "\" data-defects=\"" << r.defects.size() << "\">";
    h << "<h2>" << escapeXml(baseName(r.path)) << "</h2>";
    if (!rs.error.empty()) {
        h << "<p><span class=\"verdict v-failed\">failed</span> " << escapeXml(rs.error) << "</p></section>";
        return;
    }
    h << "<p><span class=\"verdict v-" << escapeXml(r.assessment.verdict) << "\">" << escapeXml(r.assessment.verdict)
      << "</span>";
    if (!r.assessment.reasons.empty()) {
        h << " reasons: ";
        for (size_t i = 0; i < r.assessment.reasons.size(); ++i)
            h << (i ? ", " : "") << escapeXml(r.assessment.reasons[i]);
    }
    h << "</p>";
    for (const auto& w : r.warnings) h << "<p class=\"note\">warning: " << escapeXml(w) << "</p>";

    const double px = r.pixelSize.x_nm, py = r.pixelSize.y_nm;
    const int w = r.width, ht = r.height;
    h << "<div class=\"scan-body\"><div class=\"picture\">";
    // Controls.
    int clustered = 0;
    for (const auto& d : r.defects) clustered += d.cluster >= 0;
    h << "<div class=\"controls\">";
    h << "<label><input type=\"checkbox\" data-toggle=\"atoms\" checked> " << (r.lattice.site == "atom" ? "atoms" : "dimers")
      << " (" << r.atoms.size() << ")</label>";
    h << "<label><input type=\"checkbox\" data-toggle=\"defects\" checked> defects (" << r.defects.size() << ")</label>";
    for (const auto& l : rs.layers)
        h << "<label><input type=\"checkbox\" data-toggle=\"" << escapeXml(l.key) << "\"" << (l.key == "unresolved" ? "" : " checked")
          << "> <span class=\"swatch\" style=\"background:" << cssColor(l.rgb) << "\"></span>" << escapeXml(l.label) << " ("
          << fixedDecimals(100 * l.fraction, 1) << "%)</label>";
    h << "<label><input type=\"checkbox\" data-toggle=\"free\" checked> defect-free areas (" << r.freeRegions.size() << ")</label>";
    h << "<label>colour defects by <select data-colour><option value=\"class\">class</option><option value=\"cluster\""
      << (clustered ? "" : " disabled") << ">cluster</option></select></label>";
    h << "</div>";

    // Picture and layers, then one SVG in the scan's own pixel coordinates (pixel centres at integers).
    h << "<div class=\"viewer\"><img alt=\"levelled scan\" src=\"" << dataPng(rs.imagePng) << "\">";
    for (const auto& l : rs.layers)
        h << "<img class=\"layer\" alt=\"\" data-layer=\"" << escapeXml(l.key) << "\" src=\"" << dataPng(l.png) << "\">";
    h << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"-0.5 -0.5 " << w << ' ' << ht
      << "\" preserveAspectRatio=\"none\">";
    // Atoms as one path of zero-length round-capped strokes: compact for 10^5 atoms.
    const double dot = std::max(0.8, 0.12 / std::max(px, 1e-9));
    h << "<g data-layer=\"atoms\"><path fill=\"none\" stroke=\"#00e5ff\" stroke-opacity=\"0.85\" stroke-linecap=\"round\" stroke-width=\""
      << fixedDecimals(dot, 2) << "\" d=\"";
    for (const auto& a : r.atoms) h << 'M' << fixedDecimals(a.x, 1) << ' ' << fixedDecimals(a.y, 1) << "h0";
    h << "\"/></g>";
    // Defects twice: coloured by class and by cluster (the select shows one).
    for (const char* by : {"class", "cluster"}) {
        h << "<g data-layer=\"defects\" data-colour-by=\"" << by << "\" fill=\"none\">";
        for (const auto& d : r.defects) {
            const auto c = std::string(by) == "class" ? classColor(d.cls) : clusterColor(d.cluster);
            const double bw = d.bbox[2] - d.bbox[0] + 1, bh = d.bbox[3] - d.bbox[1] + 1;
            const double pad = std::max(1.0, 0.15 / px);
            h << "<rect data-marker=\"" << d.id << "\" x=\"" << fixedDecimals(d.bbox[0] - 0.5 - pad, 1) << "\" y=\""
              << fixedDecimals(d.bbox[1] - 0.5 - pad, 1) << "\" width=\"" << fixedDecimals(bw + 2 * pad, 1) << "\" height=\""
              << fixedDecimals(bh + 2 * pad, 1) << "\" stroke=\"" << cssColor(c) << "\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\">"
              << "<title>#" << d.id << ' ' << escapeXml(d.cls) << (d.cluster >= 0 ? ", cluster " + std::to_string(d.cluster) : "")
              << "</title></rect>";
        }
        h << "</g>";
    }
    h << "<g data-layer=\"free\" fill=\"none\" stroke=\"#7CFC00\" stroke-dasharray=\"6 4\">";
    for (const auto& f : r.freeRegions) {
        // Corners in nm (the angle is physical, counter-clockwise from +x with y up), then in pixels.
        const double a = f.angleDeg * std::numbers::pi / 180;
        const double ux = std::cos(a), uy = -std::sin(a), vx = std::sin(a), vy = std::cos(a);
        h << "<polygon points=\"";
        for (auto [p, q] : {std::pair{-1, -1}, std::pair{1, -1}, std::pair{1, 1}, std::pair{-1, 1}}) {
            const double nx = p * f.widthNm / 2 * ux + q * f.heightNm / 2 * vx;
            const double ny = p * f.widthNm / 2 * uy + q * f.heightNm / 2 * vy;
            h << fixedDecimals(f.centerX + nx / px, 1) << ',' << fixedDecimals(f.centerY + ny / py, 1) << ' ';
        }
        h << "\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\"><title>defect-free " << fixedDecimals(f.widthNm, 1)
          << " x " << fixedDecimals(f.heightNm, 1) << " nm</title></polygon>";
    }
    h << "</g>";
    // Scale bar, bottom left, in nm.
    const double barNm = scaleBarLengthNm(w * px), barPx = barNm / px;
    const double margin = 0.04 * w, thick = std::max(1.0, 0.012 * ht), font = std::max(4.0, 0.045 * ht);
    h << "<g class=\"scalebar\"><rect x=\"" << fixedDecimals(margin, 1) << "\" y=\"" << fixedDecimals(ht - margin - thick, 1) << "\" width=\""
      << fixedDecimals(barPx, 1) << "\" height=\"" << fixedDecimals(thick, 1) << "\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1\" "
      << "vector-effect=\"non-scaling-stroke\"/><text x=\"" << fixedDecimals(margin + barPx / 2, 1) << "\" y=\""
      << fixedDecimals(ht - margin - thick - font * 0.4, 1) << "\" font-size=\"" << fixedDecimals(font, 1)
      << "\" text-anchor=\"middle\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"" << fixedDecimals(font / 12, 2)
      << "\" paint-order=\"stroke\" font-family=\"sans-serif\">" << lengthLabel(barNm) << "</text></g>";
    h << "</svg></div>";
    // Legend of the classes present.
    std::map<std::string, int> perClass;
    for (const auto& d : r.defects) ++perClass[d.cls];
    h << "<div class=\"legend\">";
    for (const auto& [cls, n] : perClass)
        h << "<span><span class=\"swatch\" style=\"background:" << cssColor(classColor(cls)) << "\"></span>" << escapeXml(cls)
          << " (" << n << ")</span>";
    h << "<span><span class=\"swatch\" style=\"background:#7CFC00\"></span>defect-free rectangle</span></div>";
    h << "</div>";

    // Facts, plots and the defect table.
    h << "<div class=\"side\"><dl class=\"facts\">";
    auto fact = [&](const std::string& k, const std::string& v) { h << "<dt>" << escapeXml(k) << "</dt><dd>" << escapeXml(v) << "</dd>"; };
    fact("file", r.path);
    fact("format / channel", r.format + (r.channel.empty() ? "" : " / " + r.channel) + (r.direction.empty() ? "" : " (" + r.direction + ")"));
    fact("size", std::to_string(w) + " x " + std::to_string(ht) + " px, " + fixedDecimals(w * px, 1) + " x " + fixedDecimals(ht * py, 1) + " nm");
    fact("pixel size", r.pixelSize.str() + " (" + r.pixelSizeSource + ")");
    if (r.lattice.found)
        fact("dimer rows", fixedDecimals(r.lattice.rowDirectionDeg, 1) + " deg, pitch " + fixedDecimals(r.lattice.rowPitchNm, 3) + " nm, " +
                               std::to_string(r.lattice.domains.size()) + " domain(s)");
    else
        fact("dimer rows", "not found");
    fact("resolved", fixedDecimals(100 * r.assessment.resolvedFraction, 1) + "% of the scan");
    fact("contamination", fixedDecimals(100 * r.contaminationFraction, 1) + "%");
    fact("step edges", fixedDecimals(r.stepEdgeLengthNm, 1) + " nm");
    const int local = localizedDefects(r);
    fact("point defects", std::to_string(local) + " (" + fixedDecimals(100.0 * local / std::max(1e-9, areaNm2(r)), 2) + " per 100 nm^2)");
    if (r.timingMs.count("total")) fact("analysis time", fixedDecimals(r.timingMs.at("total"), 0) + " ms");
    h << "</dl>";

    h << "<div class=\"plots\">";
    {
        std::vector<Bar> bars;
        for (const auto& [cls, n] : perClass) bars.push_back({cls, static_cast<double>(n), classColor(cls)});
        h << svgBarChart(bars, {"Defects per class", "", "count"});
    }
    if (clustered) {
        std::map<int, int> perCluster;
        for (const auto& d : r.defects)
            if (d.cluster >= 0 || !d.descriptor.empty()) ++perCluster[d.cluster];
        std::vector<Bar> bars;
        for (const auto& [id, n] : perCluster)
            bars.push_back({id < 0 ? "outl." : std::to_string(id), static_cast<double>(n), clusterColor(id)});
        h << svgBarChart(bars, {"Defects per cluster", "cluster", "count"});
    }
    {
        std::vector<Bar> bars;
        for (size_t t = 0; t < rs.terraces.size(); ++t) {
            const auto& tr = rs.terraces[t];
            std::string label = terraceName(static_cast<int>(t));
            if (tr.rowDirectionDeg >= 0) label += " (" + fixedDecimals(tr.rowDirectionDeg, 0) + "\u00b0)";
            bars.push_back({label + " " + fixedDecimals(tr.areaNm2, 0) + " nm\u00b2", tr.densityPer100Nm2()});
        }
        PlotOptions o{"Point defects per terrace", "terrace (row direction, area)", "per 100 nm\u00b2"};
        o.valueDigits = 2;
        h << svgBarChart(bars, o);
    }
    h << svgHistogram(defectNearestNeighbourNm(r), 20, {"Nearest-neighbour distance", "nm (point defects)", "count"});
    h << "</div>";

    h << "<h3>Defects (" << r.defects.size() << ")</h3><p class=\"note\">Click a row to mark the defect in the picture; click a box to find its row.</p>";
    h << "<div class=\"defect-table\"><table><tr><th>#</th><th class=\"l\">class</th><th>cluster</th><th>x nm</th><th>y nm</th>"
         "<th>area nm\u00b2</th><th class=\"l\">kind</th><th>terrace</th><th>score</th></tr>";
    for (size_t i = 0; i < r.defects.size(); ++i) {
        const auto& d = r.defects[i];
        const auto sc = d.classScores.find(d.cls);
        const int t = i < rs.defectTerrace.size() ? rs.defectTerrace[i] : -1;
        h << "<tr data-defect=\"" << d.id << "\"><td>" << d.id << "</td><td class=\"l\"><span class=\"swatch\" style=\"background:"
          << cssColor(classColor(d.cls)) << "\"></span>" << escapeXml(d.cls) << "</td><td>" << (d.cluster >= 0 ? std::to_string(d.cluster) : "-")
          << "</td><td>" << fixedDecimals(d.x * px, 2) << "</td><td>" << fixedDecimals(d.y * py, 2) << "</td><td>" << fixedDecimals(d.areaNm2, 2)
          << "</td><td class=\"l\">" << (d.extended ? "extended" : "localized") << "</td><td>"
          << (t >= 0 ? terraceName(t) : "-") << "</td><td>"
          << (sc != d.classScores.end() ? fixedDecimals(sc->second, 2) : "") << "</td></tr>";
    }
    h << "</table></div></div></div></section>";
}

}  // namespace

std::vector<double> defectNearestNeighbourNm(const AnalysisResult& r) {
    KdPoints2 pts;
    for (const auto& d : r.defects)
        if (!d.extended) pts.xy.insert(pts.xy.end(), {d.x * r.pixelSize.x_nm, d.y * r.pixelSize.y_nm});
    const size_t n = pts.kdtree_get_point_count();
    std::vector<double> out;
    if (n < 2) return out;
    using Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, KdPoints2>, KdPoints2, 2, uint32_t>;
    Tree tree(2, pts, nanoflann::KDTreeSingleIndexAdaptorParams(10));
    tree.buildIndex();
    for (size_t i = 0; i < n; ++i) {
        uint32_t idx[2];
        double d2[2];
        nanoflann::KNNResultSet<double, uint32_t> rs(2);
        rs.init(idx, d2);
        tree.findNeighbors(rs, &pts.xy[2 * i], nanoflann::SearchParams());
        // The nearest is the point itself (distance 0) unless a twin sits on it; take the other one.
        out.push_back(std::sqrt(idx[0] == i ? d2[1] : d2[0]));
    }
    return out;
}

std::string renderHtmlReport(const std::vector<ReportScan>& scans, const ReportRun& run) {
    std::ostringstream h;
    size_t total = 0;
    for (const auto& s : scans) total += s.error.empty() ? s.result.defects.size() : 0;
    h << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
      << "<title>" << escapeXml(run.title) << "</title><style>" << kStyle << "</style></head>";
    h << "<body data-scans=\"" << scans.size() << "\" data-defects=\"" << total << "\">";
    h << "<h1>" << escapeXml(run.title) << "</h1><p class=\"note\">" << escapeXml(run.generated.empty() ? nowText() : run.generated)
      << " &middot; " << scans.size() << " scan(s)";
    for (const auto& [role, name] : run.models) h << " &middot; " << escapeXml(role) << ": " << escapeXml(name);
    h << "</p>";
    if (!run.command.empty()) h << "<p class=\"note\"><code>" << escapeXml(run.command) << "</code></p>";

    // Summary: one row per scan.
    h << "<h2>Summary</h2><table><tr><th class=\"l\">scan</th><th class=\"l\">verdict</th><th>size nm</th><th>pixel size</th>"
         "<th>atoms</th><th>defects</th><th>point defects / 100 nm\u00b2</th><th>clusters</th><th>resolved</th></tr>";
    for (size_t i = 0; i < scans.size(); ++i) {
        const auto& s = scans[i];
        const auto& r = s.result;
        h << "<tr><td class=\"l\"><a href=\"#scan-" << i << "\">" << escapeXml(baseName(r.path)) << "</a></td>";
        if (!s.error.empty()) {
            h << "<td class=\"l\"><span class=\"verdict v-failed\">failed</span></td><td class=\"l\" colspan=\"7\">"
              << escapeXml(s.error) << "</td></tr>";
            continue;
        }
        h << "<td class=\"l\"><span class=\"verdict v-" << escapeXml(r.assessment.verdict) << "\">" << escapeXml(r.assessment.verdict)
          << "</span></td><td>" << fixedDecimals(r.width * r.pixelSize.x_nm, 1) << " x " << fixedDecimals(r.height * r.pixelSize.y_nm, 1)
          << "</td><td>" << escapeXml(r.pixelSize.str()) << "</td><td>" << r.atoms.size() << "</td><td>" << r.defects.size()
          << "</td><td>" << fixedDecimals(100.0 * localizedDefects(r) / std::max(1e-9, areaNm2(r)), 2) << "</td><td>" << r.clusters.size()
          << "</td><td>" << fixedDecimals(100 * r.assessment.resolvedFraction, 0) << "%</td></tr>";
    }
    h << "</table>";

    for (size_t i = 0; i < scans.size(); ++i) writeScanSection(h, scans[i], i);

    if (!run.galleryPng.empty())
        h << "<section id=\"gallery\"><h2>Cluster gallery</h2><p class=\"note\">One row per cluster of the run: its id and "
             "count, the mean patch of its members (red frame), then examples.</p><img alt=\"cluster gallery\" src=\""
          << dataPng(run.galleryPng) << "\"></section>";
    h << "<script>" << kScript << "</script></body></html>\n";
    return h.str();
}

void writeHtmlReport(const std::string& path, const std::vector<ReportScan>& scans, const ReportRun& run) {
    const std::string html = renderHtmlReport(scans, run);
    writeBytesAtomically(path, html, "report");
}

}  // namespace stmlens
