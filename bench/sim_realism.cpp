// Realism of the simulator, in numbers: the same statistics for real scans (../shared/data/real) and for
// simulated scans at the same pixel size. Run: bench_sim_realism [--save-images DIR] [--count N] [--per-scan]
//   row peak    log10 of (power at the 0.768 nm row pitch / median power at that spatial frequency band)
//   slope       radial power-spectrum slope, log P vs log k, between 1/20 and 1/2.5 of Nyquist... (row peak excluded)
//   skew, kurt  skewness and excess kurtosis of plane-levelled values (robust z-scores, clipped at +-20)
//   >3s, <-3s   % of pixels brighter / darker than 3 robust sigma (defect, contamination content)
//   top, bottom robust z of the brightest / darkest 0.05 % of pixels (how far the defects stand out)
//   vert/horz   variance of vertical neighbour differences / horizontal ones (scan-line streaks when > 1)
//   line off    std of per-line medians / robust std of the image (line-offset noise)
//   dimer/row   log10 of (peak power at the 0.384 nm dimer period along the rows / peak power at the row pitch);
//               blank where the dimer period is finer than Nyquist
// Then, per defect class, its contrast and apparent size on the labelled cda frames and on simulated
// constant-height scans at their pixel size (defectLooks below).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <complex>
#include <string>
#include <vector>

#include "analysis/LatticeCalibration.h"
#include "core/Image.h"
#include "core/Level.h"
#include "core/Median.h"
#include "core/Normalize.h"
#include "io/ImageWriter.h"
#include "io/NpyReader.h"
#include "nn/LabelledScans.h"
#include "sim/Simulator.h"

using namespace stmlens;

namespace {

struct Stats {
    double rowPeak = 0, slope = 0, skew = 0, kurt = 0, bright = 0, dark = 0, top = 0, bottom = 0, vertHorz = 0, lineOff = 0;
    double rowDimer = NAN;   // rowDimerCoupling; NaN where no dimer peak is seen
    double dimerRow = NAN;   // log10 dimer / row peak power; NaN where the dimer period is below Nyquist
};

// Where along the row-to-row profile the dimer contrast sits: the real part of the normalised bispectrum of the
// row wave R, the dimer wave A and their sums A +- R, summed over 64 px windows (it does not depend on the
// waves' signs). +1: the dimers modulate the bright lines (the rows as usually imaged); -1: the dark ones
// (the dimer contrast sits in the troughs, as in inverted contrast); near 0: no fixed relation.
double rowDimerCoupling(const Image& levelled) {
    const auto lattices = findRowLattices(levelled);
    if (lattices.empty() || !lattices[0].found || lattices[0].dimerPitchPx <= 0) return NAN;
    const RowLattice& L = lattices[0];
    constexpr int kWin = 64;
    const int W = levelled.width(), H = levelled.height();
    std::vector<double> hann(kWin);
    for (int i = 0; i < kWin; ++i) hann[i] = 0.5 - 0.5 * std::cos(2 * M_PI * i / (kWin - 1));
    std::complex<double> sum = 0;
    double norm = 0;
    const double waves[4][2] = {{L.waveX, L.waveY}, {L.dimerWaveX, L.dimerWaveY},
                                {L.dimerWaveX + L.waveX, L.dimerWaveY + L.waveY},
                                {L.dimerWaveX - L.waveX, L.dimerWaveY - L.waveY}};
    std::vector<double> w(kWin * kWin);
    for (int y0 = 0; y0 + kWin <= H; y0 += kWin / 2)
        for (int x0 = 0; x0 + kWin <= W; x0 += kWin / 2) {
            double mean = 0;
            for (int y = 0; y < kWin; ++y)
                for (int x = 0; x < kWin; ++x) mean += levelled.at(x0 + x, y0 + y);
            mean /= kWin * kWin;
            for (int y = 0; y < kWin; ++y)
                for (int x = 0; x < kWin; ++x) w[y * kWin + x] = (levelled.at(x0 + x, y0 + y) - mean) * hann[x] * hann[y];
            std::complex<double> F[4];
            for (int k = 0; k < 4; ++k) {
                std::complex<double> acc = 0;
                for (int y = 0; y < kWin; ++y)
                    for (int x = 0; x < kWin; ++x)
                        acc += w[y * kWin + x] * std::polar(1.0, -2 * M_PI * (waves[k][0] * x + waves[k][1] * y));
                F[k] = acc;
            }
            const std::complex<double> q = F[0] * F[1] * std::conj(F[2]) + std::conj(F[0]) * F[1] * std::conj(F[3]);
            sum += q;
            norm += std::abs(q);
        }
    return norm > 0 ? sum.real() / norm : NAN;
}

// On a copy: callers keep their sample as it was.
double median(std::vector<double> v) { return medianInPlace(v); }

Image centreCrop(const Image& img, int size) {
    if (img.width() <= size && img.height() <= size) return img;
    const int w = std::min(size, img.width()), h = std::min(size, img.height());
    return crop(img, Rect{(img.width() - w) / 2, (img.height() - h) / 2, w, h});
}

Stats measure(Image img) {
    Stats s;
    subtractPolynomial(img, 1);
    const int W = img.width(), H = img.height();
    std::vector<double> vals(img.pixels().begin(), img.pixels().end());
    const double med = median(vals);
    std::vector<double> dev(vals.size());
    for (size_t i = 0; i < vals.size(); ++i) dev[i] = std::abs(vals[i] - med);
    const double sigma = std::max(1e-12, 1.4826 * median(dev));
    double m2 = 0, m3 = 0, m4 = 0;
    size_t hi = 0, lo = 0;
    for (double v : vals) {
        const double z = std::clamp((v - med) / sigma, -20.0, 20.0);
        m2 += z * z, m3 += z * z * z, m4 += z * z * z * z;
        hi += z > 3, lo += z < -3;
    }
    const double n = vals.size();
    m2 /= n, m3 /= n, m4 /= n;
    s.skew = m3 / std::pow(m2, 1.5);
    s.kurt = m4 / (m2 * m2) - 3;
    s.bright = 100.0 * hi / n;
    s.dark = 100.0 * lo / n;
    {
        const auto [lo, hi] = percentileRange(img, 0.05, 99.95);
        s.bottom = (lo - med) / sigma;
        s.top = (hi - med) / sigma;
    }
    // streaks
    double vv = 0, hh = 0;
    for (int y = 0; y + 1 < H; ++y)
        for (int x = 0; x + 1 < W; ++x) {
            const double a = img.at(x, y);
            vv += (img.at(x, y + 1) - a) * (img.at(x, y + 1) - a);
            hh += (img.at(x + 1, y) - a) * (img.at(x + 1, y) - a);
        }
    s.vertHorz = vv / std::max(hh, 1e-30);
    std::vector<double> lineMed(H);
    for (int y = 0; y < H; ++y) lineMed[y] = median(std::vector<double>(img.row(y), img.row(y) + W));
    double lm = 0, lv = 0;
    for (double v : lineMed) lm += v;
    lm /= H;
    for (double v : lineMed) lv += (v - lm) * (v - lm);
    s.lineOff = std::sqrt(lv / H) / sigma;
    // power spectrum
    cv::Mat m(H, W, CV_64F);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const double wx = 0.5 - 0.5 * std::cos(2 * M_PI * (x + 0.5) / W);
            const double wy = 0.5 - 0.5 * std::cos(2 * M_PI * (y + 0.5) / H);
            m.at<double>(y, x) = (img.at(x, y) - med) * wx * wy;
        }
    cv::Mat F;
    cv::dft(m, F, cv::DFT_COMPLEX_OUTPUT);
    // The row peak is looked for within +-15 % of the 0.768 nm pitch and measured where it is: the real survey
    // files' calibrations are off by up to 9 % (their peaks lie at 0.91-0.97 of the nominal frequency), and a
    // window fixed at +-5 % of the nominal pitch measured the shoulder of their peaks, not the peak.
    const double kNominal = 1 / 0.768;
    const double kNyq = 0.5 / std::max(img.pixelSize.x_nm, img.pixelSize.y_nm);
    auto waveVector = [&](int kx, int ky, double& ux, double& uy) {
        ux = (kx <= W / 2 ? kx : kx - W) / (W * img.pixelSize.x_nm);
        uy = (ky <= H / 2 ? ky : ky - H) / (H * img.pixelSize.y_nm);
    };
    auto power = [&](int kx, int ky) {
        const auto c = F.at<cv::Vec2d>(ky, kx);
        return c[0] * c[0] + c[1] * c[1];
    };
    double rowMax = 0, rowKx = 0, rowKy = 0;   // the row peak and its wave vector (nm^-1)
    for (int ky = 0; ky < H; ++ky)
        for (int kx = 0; kx < W; ++kx) {
            double ux, uy;
            waveVector(kx, ky, ux, uy);
            const double k = std::hypot(ux, uy), p = power(kx, ky);
            if (k > 0.85 * kNominal && k < 1.15 * kNominal && p > rowMax) rowMax = p, rowKx = ux, rowKy = uy;
        }
    const double kRow = rowMax > 0 ? std::hypot(rowKx, rowKy) : kNominal;
    std::vector<double> ring;
    std::map<int, std::pair<double, int>> radial;   // log-k bin -> sum power, count
    for (int ky = 0; ky < H; ++ky)
        for (int kx = 0; kx < W; ++kx) {
            double ux, uy;
            waveVector(kx, ky, ux, uy);
            const double k = std::hypot(ux, uy), p = power(kx, ky);
            if (k > 0.8 * kRow && k < 1.25 * kRow) ring.push_back(p);
            if (k > kNyq / 20 && k < kNyq / 2.5 && (k < 0.85 * kRow || k > 1.15 * kRow)) {
                auto& b = radial[static_cast<int>(std::floor(std::log(k) * 8))];
                b.first += p, b.second += 1;
            }
        }
    if (rowMax > 0 && kRow < kNyq) s.rowPeak = std::log10(rowMax / std::max(median(ring), 1e-300));
    // The dimer wave runs along the rows, at right angles to the row wave (within 10 degrees); the row wave's
    // second harmonic has the same |k| but lies across the rows, so the angle keeps it out.
    // (The dimer period is scaled with the row peak: a calibration error stretches both.)
    const double kDimer = kRow * 0.768 / 0.384, rowK = kRow;
    if (rowMax > 0 && kDimer < kNyq) {
        double dimerMax = 0;
        for (int ky = 0; ky < H; ++ky)
            for (int kx = 0; kx < W; ++kx) {
                double ux, uy;
                waveVector(kx, ky, ux, uy);
                const double k = std::hypot(ux, uy);
                if (k < 0.95 * kDimer || k > 1.05 * kDimer) continue;
                if (std::abs(ux * rowKx + uy * rowKy) > std::sin(10 * M_PI / 180) * k * rowK) continue;
                dimerMax = std::max(dimerMax, power(kx, ky));
            }
        s.dimerRow = std::log10(std::max(dimerMax, 1e-300) / rowMax);
    }
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int cnt = 0;
    for (const auto& [bin, b] : radial) {
        const double x = (bin + 0.5) / 8, y = std::log(b.first / b.second);
        sx += x, sy += y, sxx += x * x, sxy += x * y, ++cnt;
    }
    if (cnt > 2) s.slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
    Image levelled = img;
    levelScan(levelled);
    s.rowDimer = rowDimerCoupling(levelled);
    return s;
}

void printHeader() {
    std::printf("%-46s %6s %8s %7s %6s %7s %6s %6s %6s %6s %9s %8s %9s %9s\n", "scan", "px nm", "row peak", "slope", "skew", "kurt",
                ">3s %", "<-3s %", "top", "bottom", "vert/horz", "line off", "row-dimer", "dimer/row");
}
void printRow(const std::string& name, double px, const Stats& s) {
    std::printf("%-46s %6.3f %8.2f %7.2f %6.2f %7.2f %6.2f %6.2f %6.1f %6.1f %9.2f %8.2f %9.2f %9.2f\n", name.c_str(), px, s.rowPeak,
                s.slope, s.skew, s.kurt, s.bright, s.dark, s.top, s.bottom, s.vertHorz, s.lineOff, s.rowDimer, s.dimerRow);
}
void printMean(const std::string& name, double px, const std::vector<Stats>& v) {
    Stats m;
    double rd = 0, dr = 0;
    int nrd = 0, ndr = 0;
    for (const auto& s : v) {
        if (!std::isnan(s.rowDimer)) rd += s.rowDimer, ++nrd;
        if (!std::isnan(s.dimerRow)) dr += s.dimerRow, ++ndr;
        m.rowPeak += s.rowPeak / v.size(), m.slope += s.slope / v.size(), m.skew += s.skew / v.size();
        m.kurt += s.kurt / v.size(), m.bright += s.bright / v.size(), m.dark += s.dark / v.size();
        m.top += s.top / v.size(), m.bottom += s.bottom / v.size();
        m.vertHorz += s.vertHorz / v.size(), m.lineOff += s.lineOff / v.size();
    }
    m.rowDimer = nrd ? rd / nrd : NAN;   // over the scans where dimers are seen
    m.dimerRow = ndr ? dr / ndr : NAN;
    printRow(name, px, m);
}

struct Group {
    std::string title;
    std::vector<std::string> files;
    PixelSize pixel;
    sim::Preset preset;
    sim::SimMode mode;
    double rotation;
    // The real files were line-aligned by their authors (the FSL arrays: median filter, plane, line alignment;
    // the ntm Gwyddion exports show the same flat lines), so the simulated scans get each line's median
    // subtracted before they are measured; otherwise the line statistics and the low end of the spectrum would
    // compare raw scans with processed ones.
    bool realLineAligned = false;
};

// What the authors did to their arrays: each scan line's median subtracted.
void subtractLineMedians(Image& img) {
    for (int y = 0; y < img.height(); ++y) {
        const double m = median(std::vector<double>(img.row(y), img.row(y) + img.width()));
        for (int x = 0; x < img.width(); ++x) img.at(x, y) -= static_cast<float>(m);
    }
}

// Levelled like the real previews (plane, median line alignment), 0.5-99.5 % stretch, 8-bit.
cv::Mat preview(const Image& img) {
    Image c = centreCrop(img, 200);
    levelScan(c);
    normalizeRobust(c, 0.5, 99.5);
    cv::Mat m(c.height(), c.width(), CV_8UC3);
    for (int y = 0; y < c.height(); ++y)
        for (int x = 0; x < c.width(); ++x) {
            const auto v = static_cast<uchar>(std::clamp(c.at(x, y) * 255.0f, 0.0f, 255.0f));
            m.at<cv::Vec3b>(y, x) = {v, v, v};
        }
    return m;
}

cv::Mat labelView(const Image& labels) {
    static const cv::Vec3b colours[6] = {{60, 60, 60}, {0, 220, 255}, {255, 80, 0}, {0, 200, 0}, {180, 0, 200}, {0, 0, 230}};
    Image c = centreCrop(labels, 200);
    cv::Mat m(c.height(), c.width(), CV_8UC3);
    for (int y = 0; y < c.height(); ++y)
        for (int x = 0; x < c.width(); ++x) m.at<cv::Vec3b>(y, x) = colours[std::clamp(int(c.at(x, y)), 0, 5)];
    return m;
}

cv::Mat mapView(const Image& map) {
    Image c = centreCrop(map, 200);
    cv::Mat m(c.height(), c.width(), CV_8UC3);
    for (int y = 0; y < c.height(); ++y)
        for (int x = 0; x < c.width(); ++x) {
            const auto v = static_cast<uchar>(std::clamp(c.at(x, y) * 255.0f, 0.0f, 255.0f));
            m.at<cv::Vec3b>(y, x) = {v, v, v};
        }
    return m;
}

// Side by side, 4 px white gaps.
void saveRow(const std::vector<cv::Mat>& tiles, const std::string& path, bool grey = false) {
    std::vector<cv::Mat> parts;
    for (size_t i = 0; i < tiles.size(); ++i) {
        if (i) parts.push_back(cv::Mat(tiles[i].rows, 4, CV_8UC3, cv::Scalar(255, 255, 255)));
        parts.push_back(tiles[i]);
    }
    cv::Mat row;
    cv::hconcat(parts, row);
    if (grey) cv::cvtColor(row, row, cv::COLOR_BGR2GRAY);
    cv::imwrite(path, row, {cv::IMWRITE_PNG_COMPRESSION, 9});
}

}  // namespace

// One defect's look on a levelled frame in robust-sigma units: the signed extreme within 0.35 nm of its centre
// against the median of the ring 1.0-1.5 nm away, and the equivalent diameter (nm) of the connected area around
// that extreme beyond half of it.
struct Look {
    double contrast = 0, sizeNm = 0;
};

Look defectLook(const Image& z, double cx, double cy) {
    const double px = std::sqrt(z.pixelSize.x_nm * z.pixelSize.y_nm);
    const int R = static_cast<int>(std::ceil(1.5 / px)), r0 = static_cast<int>(std::ceil(0.35 / px));
    std::vector<double> ring;
    for (int dy = -R; dy <= R; ++dy)
        for (int dx = -R; dx <= R; ++dx) {
            const double d = std::hypot(dx, dy) * px;
            const int x = static_cast<int>(std::lround(cx)) + dx, y = static_cast<int>(std::lround(cy)) + dy;
            if (d >= 1.0 && d <= 1.5 && x >= 0 && y >= 0 && x < z.width() && y < z.height()) ring.push_back(z.at(x, y));
        }
    Look l;
    if (ring.size() < 8) return l;
    const double base = median(ring);
    int bx = -1, by = -1;
    for (int dy = -r0; dy <= r0; ++dy)
        for (int dx = -r0; dx <= r0; ++dx) {
            const int x = static_cast<int>(std::lround(cx)) + dx, y = static_cast<int>(std::lround(cy)) + dy;
            if (std::hypot(dx, dy) > r0 || x < 0 || y < 0 || x >= z.width() || y >= z.height()) continue;
            const double v = z.at(x, y) - base;
            if (std::abs(v) > std::abs(l.contrast)) {
                l.contrast = v;
                bx = x;
                by = y;
            }
        }
    if (bx < 0 || l.contrast == 0) return l;
    // Flood fill from the extreme over pixels beyond half of it, inside a 3 nm box.
    const int B = static_cast<int>(std::ceil(1.5 / px));
    std::vector<std::pair<int, int>> stack{{bx, by}};
    std::map<std::pair<int, int>, bool> seen{{{bx, by}, true}};
    size_t area = 0;
    while (!stack.empty()) {
        auto [x, y] = stack.back();
        stack.pop_back();
        ++area;
        for (auto [u, v] : {std::pair{x + 1, y}, {x - 1, y}, {x, y + 1}, {x, y - 1}}) {
            if (u < 0 || v < 0 || u >= z.width() || v >= z.height() || std::abs(u - bx) > B || std::abs(v - by) > B) continue;
            if (seen.count({u, v}) || (z.at(u, v) - base) / l.contrast < 0.5) continue;
            seen[{u, v}] = true;
            stack.push_back({u, v});
        }
    }
    l.sizeNm = 2 * std::sqrt(area * z.pixelSize.x_nm * z.pixelSize.y_nm / M_PI);
    return l;
}

// Levelled and divided by the robust spread, as every statistic above sees a frame.
Image robustUnits(Image img) {
    levelScan(img);
    std::vector<double> v(img.pixels().begin(), img.pixels().end());
    const double med = median(v);
    for (double& x : v) x = std::abs(x - med);
    const double sigma = std::max(1e-12, 1.4826 * median(v));
    for (float& x : img.pixels()) x = static_cast<float>((x - med) / sigma);
    return img;
}

struct LookTally {
    std::vector<double> contrast, size;
};

void printLooks(const std::map<std::string, LookTally>& real, const std::map<std::string, LookTally>& sim,
                const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::printf("\n## Defect looks: cda frames (labelled) vs simulated constant-height scans, same pixel size\n\n");
    std::printf("contrast: signed extreme within 0.35 nm of the centre minus the 1.0-1.5 nm ring median, in robust sigma "
                "of the frame; bright: share with positive contrast; size: equivalent diameter beyond half the extreme\n\n");
    std::printf("| real class / simulated type | real n | contrast | bright | size nm | sim n | contrast | bright | size nm |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    auto cell = [](const LookTally* t) {
        char buf[96];
        if (!t || t->contrast.empty()) return std::string("| 0 | | | ");
        size_t bright = 0;
        for (double c : t->contrast) bright += c > 0;
        std::snprintf(buf, sizeof buf, "| %zu | %+.1f | %.2f | %.2f ", t->contrast.size(), median(t->contrast),
                      double(bright) / t->contrast.size(), median(t->size));
        return std::string(buf);
    };
    for (const auto& [r, s] : pairs) {
        auto ri = real.find(r);
        auto si = sim.find(s);
        std::printf("| %s / %s %s%s|\n", r.c_str(), s.c_str(), cell(ri == real.end() ? nullptr : &ri->second).c_str(),
                    cell(si == sim.end() ? nullptr : &si->second).c_str());
    }
}

void defectLooks(int count) {
    const std::string overlayDir = std::string(STMLENS_SHARED_DIR) + "/data/real/raw/sidb-defect-aware-physical-design/lattice_overlay";
    if (!std::filesystem::exists(overlayDir)) return;
    std::map<std::string, LookTally> real, sim;
    const auto frames = loadLabelledScans(overlayDir, LabelConfig::load(std::string(STMLENS_SOURCE_DIR) + "/configs/cda-overlay-labels.json"),
                                          {"lattice", "bright", "dark", "step_edge", "contamination", "bare_si"});
    for (const auto& f : frames) {
        const Image z = robustUnits(f.scan);
        for (const auto& o : f.objects) {
            const Look l = defectLook(z, o.x, o.y);
            real[o.fineClass].contrast.push_back(l.contrast);
            real[o.fineClass].size.push_back(l.sizeNm);
        }
    }
    for (int i = 0; i < count; ++i) {
        sim::SimParams p;
        p.width = p.height = 512;
        p.pixelSize = PixelSize(0.097, 0.099);
        p.preset = sim::Preset::Atomic;
        p.mode = sim::SimMode::ConstantHeight;
        p.rotationDeg = 0;
        const sim::SimSample s = sim::simulate(p, 1000 + i);
        Image img = s.image;
        img.pixelSize = p.pixelSize;
        const Image z = robustUnits(img);
        for (const auto& d : s.truth.defects) {
            if (d.extended && d.type != "vacancy_cluster") continue;
            const Look l = defectLook(z, d.x, d.y);
            sim[d.type].contrast.push_back(l.contrast);
            sim[d.type].size.push_back(l.sizeNm);
        }
    }
    printLooks(real, sim, {{"db", "dangling_bond"}, {"siloxane", "siloxane"}, {"raised_silicon", "raised_si"},
                           {"single_dihydride", "single_dihydride"}, {"dihydride", "dihydride_pair"},
                           {"missing_dimer", "missing_dimer"}, {"vacancy", "si_vacancy"}, {"etch_pit", "vacancy_cluster"},
                           {"-", "bare_dimer"}});
    std::printf("\n(%zu labelled frames; %d simulated 512 x 512 'atomic' constant-height scans, seeds 1000+)\n", frames.size(), count);
}

int main(int argc, char** argv) {
    std::string saveDir;
    int count = 8;
    bool perScan = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--save-images") && i + 1 < argc) saveDir = argv[++i];
        if (!std::strcmp(argv[i], "--per-scan")) perScan = true;
        if (!std::strcmp(argv[i], "--count") && i + 1 < argc) count = std::atoi(argv[++i]);
    }
    const std::string dir = std::string(STMLENS_SHARED_DIR) + "/data/real/";
    std::vector<Group> groups = {
        {"constant-height current, 0.1 nm/px (cda, 4.5 K)",
         {"cda_20220819_bias_series_0007_clean", "cda_20220819_bias_series_0017_clean",
          "cda_20220819_bias_series_0027_clean", "cda_20220819_bias_series_0037_clean",
          "cda_20220819_bias_series_0047_clean", "cda_20220822_bias_series_0010_clean",
          "cda_20220822_bias_series_0020_clean", "cda_20220822_bias_series_0030_clean",
          "cda_20220822_bias_series_0041_clean", "cda_20220822_bias_series_0051_clean"},
         PixelSize(0.097, 0.099), sim::Preset::Atomic, sim::SimMode::ConstantHeight, 0.0},
        {"topography, 0.195 nm/px (100-200 nm surveys)",
         {"ntm_hainault_20200212_38_1_Z_tracedown_gwy", "ntm_hainaultAsH3_20200217_27_1_Z_traceup_gwy",
          "ntm_hainault_20200219_38_1_Z_tracedown_gwy", "fsl_brockley_20221213_23_2_Z_retraceup_gwy",
          "fsl_brockley_20221213_23_2_Z_trace_nm", "fsl_paddington_20230727_24_2_Z_trace_nm",
          "fsl_paddington_20230727_31_1_Z_trace_nm", "fsl_neasden_20231027_9_2_Z_trace_nm"},
         PixelSize::square(0.195), sim::Preset::Survey, sim::SimMode::FilledState, 45.0, true},
        {"topography, 0.09 nm/px (100 nm file, scale corrected from its row period)",
         {"ntm_hainault_20200219_67_1_Z_traceup_gwy"},
         PixelSize::square(0.0902), sim::Preset::Atomic, sim::SimMode::FilledState, NAN},
    };
    if (!saveDir.empty()) std::filesystem::create_directories(saveDir);
    printHeader();
    int g = 0;
    for (const auto& grp : groups) {
        std::printf("--- %s\n", grp.title.c_str());
        std::vector<Stats> real, simulated;
        std::vector<cv::Mat> tiles;
        for (const auto& f : grp.files) {
            const NpyArray a = readNpy(dir + f + ".npy");
            Image img(static_cast<int>(a.shape[1]), static_cast<int>(a.shape[0]));
            std::copy(a.values.begin(), a.values.end(), img.data());
            img.pixelSize = grp.pixel;
            img = centreCrop(img, 512);
            real.push_back(measure(img));
            printRow(f, grp.pixel.x_nm, real.back());
            if (!saveDir.empty() && real.size() <= 2) tiles.push_back(preview(img));
        }
        for (int i = 0; i < count; ++i) {
            sim::SimParams p;
            p.width = p.height = 512;
            p.pixelSize = grp.pixel;
            p.preset = grp.preset;
            p.mode = grp.mode;
            p.rotationDeg = grp.rotation;
            const sim::SimSample s = sim::simulate(p, 1000 + i);
            Image measured = s.image;
            if (grp.realLineAligned) subtractLineMedians(measured);
            simulated.push_back(measure(measured));
            if (perScan) printRow("  sim seed " + std::to_string(1000 + i), grp.pixel.x_nm, simulated.back());
            if (!saveDir.empty() && i < 2) tiles.push_back(preview(s.image));
            if (!saveDir.empty() && i == 0) {
                saveRow({preview(s.image), labelView(s.truth.labels), mapView(s.truth.atomMap), mapView(s.truth.resolvedMask)},
                        saveDir + "/sim_truth_" + std::to_string(g) + ".png");
            }
        }
        if (!saveDir.empty()) saveRow(tiles, saveDir + "/real_vs_sim_" + std::to_string(g) + ".png", true);
        printMean("REAL mean", grp.pixel.x_nm, real);
        printMean("SIM mean (" + sim::presetName(grp.preset) + ", " + std::to_string(count) + " scans)", grp.pixel.x_nm,
                  simulated);
        ++g;
    }
    if (!saveDir.empty()) {   // one scan per preset at the pixel size it is meant for
        std::vector<cv::Mat> tiles;
        const std::pair<sim::Preset, double> presets[] = {{sim::Preset::Atomic, 0.04}, {sim::Preset::Survey, 0.2},
                                                          {sim::Preset::Stepped, 0.25}, {sim::Preset::Dirty, 0.15},
                                                          {sim::Preset::BadTip, 0.08}, {sim::Preset::Noisy, 0.1}};
        for (const auto& [preset, px] : presets) {
            sim::SimParams p;
            p.width = p.height = 200;
            p.pixelSize = PixelSize::square(px);
            p.preset = preset;
            tiles.push_back(preview(sim::simulate(p, 7).image));
        }
        saveRow(tiles, saveDir + "/presets.png", true);
    }
    defectLooks(count);
    return 0;
}
