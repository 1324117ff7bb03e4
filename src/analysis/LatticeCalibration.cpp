#include "analysis/LatticeCalibration.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace stmlens {

namespace {

constexpr double kPi = std::numbers::pi;

// Power spectrum (DC at the centre) of one tile: mean removed over valid pixels, Hann window.
void addPowerSpectrum(const Image& img, Rect r, cv::Mat& acc) {
    cv::Mat tile(r.height, r.width, CV_32F);
    double sum = 0;
    size_t n = 0;
    for (int y = 0; y < r.height; ++y)
        for (int x = 0; x < r.width; ++x)
            if (img.isValid(r.x + x, r.y + y)) {
                sum += img.at(r.x + x, r.y + y);
                ++n;
            }
    const float mean = n ? static_cast<float>(sum / n) : 0.0f;
    for (int y = 0; y < r.height; ++y) {
        float* t = tile.ptr<float>(y);
        for (int x = 0; x < r.width; ++x)
            t[x] = img.isValid(r.x + x, r.y + y) ? img.at(r.x + x, r.y + y) - mean : 0.0f;
    }
    cv::Mat window;
    cv::createHanningWindow(window, tile.size(), CV_32F);
    tile = tile.mul(window);
    cv::Mat spectrum;
    cv::dft(tile, spectrum, cv::DFT_COMPLEX_OUTPUT);
    cv::Mat planes[2];
    cv::split(spectrum, planes);
    cv::Mat power = planes[0].mul(planes[0]) + planes[1].mul(planes[1]);
    // Shift DC to (w/2, h/2).
    cv::Mat shifted(power.size(), CV_32F);
    const int w = power.cols, h = power.rows;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            shifted.at<float>((y + h / 2) % h, (x + w / 2) % w) = power.at<float>(y, x);
    if (acc.empty())
        acc = shifted;
    else
        acc += shifted;
}

cv::Mat averagedPowerSpectrum(const Image& img, int maxTile) {
    const int tw = std::min(img.width(), maxTile), th = std::min(img.height(), maxTile);
    cv::Mat acc;
    const int nx = (img.width() + tw - 1) / tw, ny = (img.height() + th - 1) / th;
    for (int j = 0; j < ny; ++j)
        for (int i = 0; i < nx; ++i) {
            // Last tile shifted back so every tile is full size (spectra must share one grid).
            const int x0 = std::min(i * tw, img.width() - tw), y0 = std::min(j * th, img.height() - th);
            addPowerSpectrum(img, {x0, y0, tw, th}, acc);
        }
    return acc;
}

// The scan with its local contrast equalised: high-passed and divided by its local spread, both over a
// Gaussian of kEqualiseNm. A constant-height current image shows the rows of a lower terrace exponentially
// fainter than those of the terrace above; in the raw spectrum the brightest terrace's domain drowns the other
// (simulated constant-height frames: the second domain missed, or no lattice at all). The local mean and spread
// vary slowly, so they are computed on a grid a few times coarser (the cost is a few ms at 512 x 512).
constexpr double kEqualiseNm = 1.5;
// Only a scan whose raw row peak is this weak (peak over background) is read equalised too: topographic frames
// give 1000-10000 and need nothing more; the simulated constant-height frames that lost a domain gave 50-200.
constexpr double kWeakLattice = 1000;
Image contrastEqualised(const Image& img) {
    const double sigma = std::max(3.0, kEqualiseNm / std::min(img.pixelSize.x_nm, img.pixelSize.y_nm));
    const int w = img.width(), h = img.height();
    cv::Mat value(h, w, CV_32F), weight(h, w, CV_32F);
    for (int y = 0; y < h; ++y) {
        const float* src = img.row(y);
        float* v = value.ptr<float>(y);
        float* wt = weight.ptr<float>(y);
        for (int x = 0; x < w; ++x) {
            const bool ok = img.isValid(x, y) && std::isfinite(src[x]);
            v[x] = ok ? src[x] : 0.0f;
            wt[x] = ok ? 1.0f : 0.0f;
        }
    }
    const int f = std::max(1, static_cast<int>(sigma / 4));
    const cv::Size small(std::max(1, w / f), std::max(1, h / f));
    auto smooth = [&](const cv::Mat& m) {   // Gaussian of sigma, at 1/f resolution, back on the full grid
        cv::Mat lo, blurred, up;
        cv::resize(m, lo, small, 0, 0, cv::INTER_AREA);
        cv::GaussianBlur(lo, blurred, cv::Size(0, 0), sigma / f);
        cv::resize(blurred, up, m.size(), 0, 0, cv::INTER_LINEAR);
        return up;
    };
    const cv::Mat sumW = cv::max(smooth(weight), 1e-6f);
    cv::Mat high = (value - smooth(value) / sumW).mul(weight);
    cv::Mat spread;
    cv::sqrt(smooth(high.mul(high)) / sumW, spread);
    // A flat region (spread 0) stays flat instead of amplifying rounding noise.
    const double meanSpread = cv::mean(spread, weight > 0)[0];
    const float floor = static_cast<float>(1e-3 * meanSpread + 1e-12);
    Image out = img;
    for (int y = 0; y < h; ++y) {
        float* o = out.row(y);
        const float* hp = high.ptr<float>(y);
        const float* sp = spread.ptr<float>(y);
        const float* wt = weight.ptr<float>(y);
        for (int x = 0; x < w; ++x)
            if (wt[x] > 0) o[x] = hp[x] / std::max(sp[x], floor);
    }
    return out;
}

struct Peak {
    double fx = 0, fy = 0;   // cycles per pixel, fy >= 0 half plane
    double logProminence = 0;
    double radius() const { return std::hypot(fx, fy); }
};

float sampleBilinear(const cv::Mat& m, double x, double y) {
    x = std::clamp(x, 0.0, m.cols - 1.001);
    y = std::clamp(y, 0.0, m.rows - 1.001);
    const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);
    const double ax = x - x0, ay = y - y0;
    return static_cast<float>((1 - ay) * ((1 - ax) * m.at<float>(y0, x0) + ax * m.at<float>(y0, x0 + 1)) +
                              ay * ((1 - ax) * m.at<float>(y0 + 1, x0) + ax * m.at<float>(y0 + 1, x0 + 1)));
}

// Log power (3x3-summed, DC at the centre) with peak measurement: sub-bin position by parabolas, prominence over
// the power at the same direction but shifted radii (so broad scan-line noise along an axis is no peak).
struct Spectrum {
    cv::Mat logp;
    int w = 0, h = 0, cx = 0, cy = 0;

    explicit Spectrum(const cv::Mat& power) : w(power.cols), h(power.rows), cx(power.cols / 2), cy(power.rows / 2) {
        cv::Mat smooth;
        cv::boxFilter(power, smooth, CV_32F, cv::Size(3, 3), cv::Point(-1, -1), false);
        cv::log(smooth + 1e-20f, logp);
    }

    Peak measure(int x, int y) const {
        auto vertex = [](double a, double b, double c) {
            const double d = a - 2 * b + c;
            return d < 0 ? std::clamp(0.5 * (a - c) / d, -0.5, 0.5) : 0.0;
        };
        const float l = logp.at<float>(y, x);
        const double du = vertex(logp.at<float>(y, x - 1), l, logp.at<float>(y, x + 1));
        const double dv = vertex(logp.at<float>(y - 1, x), l, logp.at<float>(y + 1, x));
        Peak p;
        p.fx = (x - cx + du) / w;
        p.fy = (y - cy + dv) / h;
        std::vector<float> bg;
        for (double s : {0.2, 0.3, 0.4})
            for (double sign : {-1.0, 1.0}) {
                const double k = 1 + sign * s;
                bg.push_back(sampleBilinear(logp, cx + p.fx * k * w, cy + p.fy * k * h));
            }
        std::nth_element(bg.begin(), bg.begin() + 3, bg.end());
        p.logProminence = l - bg[3];
        return p;
    }

    // The most prominent local maximum within `radius` bins of wave vector (fx, fy).
    std::optional<Peak> probe(double fx, double fy, int radius) const {
        if (fy < 0) fx = -fx, fy = -fy;  // the spectrum of a real image is symmetric
        const int x0 = cx + static_cast<int>(std::lround(fx * w)), y0 = cy + static_cast<int>(std::lround(fy * h));
        std::optional<Peak> best;
        for (int y = y0 - radius; y <= y0 + radius; ++y)
            for (int x = x0 - radius; x <= x0 + radius; ++x) {
                if (x < 1 || y < 1 || x >= w - 1 || y >= h - 1) continue;
                const float l = logp.at<float>(y, x);
                bool isMax = true;
                for (int j = -1; j <= 1 && isMax; ++j)
                    for (int i = -1; i <= 1; ++i)
                        if ((i || j) && logp.at<float>(y + j, x + i) > l) isMax = false;
                if (!isMax) continue;
                Peak p = measure(x, y);
                if (!best || p.logProminence > best->logProminence) best = p;
            }
        return best;
    }

    // Local maxima (5x5) in the period band, upper half plane, most prominent first.
    std::vector<Peak> peaks(double minPeriod, double maxPeriod, size_t maxCount) const {
        cv::Mat dil;
        cv::dilate(logp, dil, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5)));
        const double fMin = 1.0 / maxPeriod, fMax = 1.0 / minPeriod;
        std::vector<Peak> out;
        for (int y = cy; y < h - 1; ++y)
            for (int x = 1; x < w - 1; ++x) {
                const int u = x - cx, v = y - cy;
                if (v == 0 && u <= 0) continue;
                const double f = std::hypot(static_cast<double>(u) / w, static_cast<double>(v) / h);
                if (f < fMin || f > fMax) continue;
                if (logp.at<float>(y, x) < dil.at<float>(y, x)) continue;
                out.push_back(measure(x, std::max(y, 1)));
            }
        std::sort(out.begin(), out.end(), [](const Peak& a, const Peak& b) { return a.logProminence > b.logProminence; });
        if (out.size() > maxCount) out.resize(maxCount);
        return out;
    }
};

// Angle between two wave vectors, folded into [0, 90] degrees.
double angleBetween(const Peak& a, const Peak& b) {
    const double c = std::abs(a.fx * b.fx + a.fy * b.fy) / (a.radius() * b.radius());
    return std::acos(std::clamp(c, 0.0, 1.0)) * 180.0 / kPi;
}

RowLattice toLattice(const Peak& p, const PixelSize& px) {
    RowLattice r;
    r.found = true;
    r.waveX = p.fx;
    r.waveY = p.fy;
    r.pitchPx = 1.0 / p.radius();
    r.strength = std::exp(p.logProminence);
    const double sx = px.known() ? px.x_nm : 1.0, sy = px.known() ? px.y_nm : 1.0;
    const double kx = p.fx / sx, ky = p.fy / sy;  // cycles per nm (or per pixel)
    if (px.known()) r.pitchNm = 1.0 / std::hypot(kx, ky);
    // Rows run perpendicular to the wave vector; on screen y points down, so counter-clockwise is -y.
    const double dx = -ky, dy = kx;
    double deg = std::atan2(-dy, dx) * 180.0 / kPi;
    deg = std::fmod(deg + 360.0, 180.0);
    if (deg >= 179.9995) deg = 0;
    r.directionDeg = deg;
    return r;
}

}  // namespace

namespace {
std::vector<RowLattice> rowLatticesOf(const Image& levelled, const LatticeOptions& options);
}  // namespace

std::vector<RowLattice> findRowLattices(const Image& levelled, const LatticeOptions& options) {
    std::vector<RowLattice> rows = rowLatticesOf(levelled, options);
    if (!options.equaliseContrast || !levelled.pixelSize.known() || rows.size() > 1 ||
        (!rows.empty() && rows[0].strength >= kWeakLattice))
        return rows;
    // The raw spectrum measures the pitch best (equalising modulates the rows' amplitude, which moved the
    // measured pitch of some cda frames by 1 %); the equalised one adds what a bright terrace drowned: the
    // lattice itself, or a second domain perpendicular to the first.
    const std::vector<RowLattice> eq = rowLatticesOf(contrastEqualised(levelled), options);
    if (rows.empty()) return eq;
    if (eq.size() == 2)
        for (int k = 0; k < 2; ++k) {
            const double turn = std::abs(std::remainder(eq[k].directionDeg - rows[0].directionDeg, 180.0));
            const double other = std::abs(std::remainder(eq[1 - k].directionDeg - rows[0].directionDeg, 180.0));
            if (turn < 5 && other > 60) {
                rows.push_back(eq[1 - k]);
                break;
            }
        }
    return rows;
}

namespace {
std::vector<RowLattice> rowLatticesOf(const Image& levelled, const LatticeOptions& options) {
    if (levelled.width() < 16 || levelled.height() < 16) return {};
    const cv::Mat power = averagedPowerSpectrum(levelled, options.maxTile);
    const double maxPeriod = std::min(options.maxPeriodPx, std::min(power.cols, power.rows) / 4.0);
    if (maxPeriod <= options.minPeriodPx) return {};
    const Spectrum spectrum(power);
    const std::vector<Peak> peaks = spectrum.peaks(options.minPeriodPx, maxPeriod, 24);
    const double minLog = std::log(std::min(options.minStrength, options.minConfirmedStrength));
    std::vector<Peak> strong;
    for (const Peak& p : peaks)
        if (p.logProminence >= minLog) strong.push_back(p);
    if (strong.empty()) return {};

    auto ratio = [](const Peak& a, const Peak& b) { return b.radius() / a.radius(); };
    auto near = [](double value, double target, double tol) { return std::abs(value / target - 1) < tol; };
    // A peak predicted by a strong one (its fundamental) counts at a lower prominence than a free-standing one.
    const double predictedLog = std::log(options.minPredictedStrength);
    // With a known pixel size: is this wave vector's period within the allowed row pitches? A reading of a peak
    // as the dimer peak (or a harmonic) of rows at an impossible pitch is not taken.
    const PixelSize& pxs = levelled.pixelSize;
    auto pitchNm = [&](const Peak& p) { return 1.0 / std::hypot(p.fx / pxs.x_nm, p.fy / pxs.y_nm); };
    auto plausible = [&](const Peak& p) {
        if (!pxs.known()) return true;
        const double nm = pitchNm(p);
        return (options.minPitchNm <= 0 || nm >= options.minPitchNm) && (options.maxPitchNm <= 0 || nm <= options.maxPitchNm);
    };
    const double maxFreq = 1.0 / options.minPeriodPx;
    std::vector<bool> used(strong.size(), false);
    std::vector<RowLattice> cands;
    for (size_t i = 0; i < strong.size() && cands.size() < 8; ++i) {
        if (used[i]) continue;
        used[i] = true;
        Peak row = strong[i];
        double dimerFreq = 0;
        Peak dimerPeak{};
        // The strongest peak may be the dimer modulation along the rows (row peak perpendicular, half the
        // frequency; H-Si(100) frames resolving single atoms show it strongest, often with the row peak itself
        // faint but its sums with the dimer peak clear) or a harmonic of the rows (row peak parallel, half the
        // frequency). With a strong perpendicular partner of the same frequency, either may be the dimer peak.
        if (row.radius() / 2 > 1.0 / maxPeriod) {
            const Peak a = row;
            std::optional<Peak> partner;
            for (size_t j = 0; j < strong.size(); ++j)
                if (!used[j] && angleBetween(a, strong[j]) > 80 && near(ratio(a, strong[j]), 1, 0.08)) {
                    partner = strong[j];
                    break;
                }
            // Evidence for a row fundamental r given the dimer peak d: r itself, or d + r, or d - r.
            struct Candidate { Peak row; Peak dimer; double evidence = -1e9; };
            auto evaluate = [&](const Peak& d, double rx, double ry) {
                Candidate c;
                c.dimer = d;
                c.row = Peak{rx, ry, -1e9};
                if (auto p = spectrum.probe(rx, ry, 2)) {
                    c.row = *p;
                    c.evidence = p->logProminence;
                }
                // Sums count only well above the dimer peak's own leakage (a domain boundary inside the frame
                // spreads a strong peak's power into sidelobes; 1/150 of it lets cda overlay frame 20220822 0033's
                // sum of 17 beside a dimer peak of 2143 count), or as a pair: d + r and d - r both clear and
                // implying one row vector, which leakage does not give (cda frame 0051: dimer peak 1730, sums 7
                // and 11, row peak 3.6; without its pixel size its dimer wave was read as rows 0.194 nm/px).
                const double minSumLog = d.logProminence - std::log(150.0);
                std::optional<Peak> implied[2];
                for (int k = 0; k < 2; ++k) {
                    const double sign = k == 0 ? 1.0 : -1.0;
                    auto p = spectrum.probe(d.fx + sign * rx, d.fy + sign * ry, 2);
                    if (!p) continue;
                    // Row vector from the measured sum/difference peak (orient it like d + sign r first).
                    double px = p->fx, py = p->fy;
                    if (px * (d.fx + sign * rx) + py * (d.fy + sign * ry) < 0) px = -px, py = -py;
                    implied[k] = Peak{sign * (px - d.fx), sign * (py - d.fy), p->logProminence};
                    if (p->logProminence > c.evidence && p->logProminence >= minSumLog) {
                        c.evidence = p->logProminence;
                        c.row = *implied[k];
                    }
                }
                if (implied[0] && implied[1] && c.evidence < std::log(options.minPredictedStrength)) {
                    const Peak &a = *implied[0], &b = *implied[1];
                    const double weaker = std::min(a.logProminence, b.logProminence);
                    if (weaker >= std::log(options.minPredictedStrength) &&
                        std::hypot(a.fx - b.fx, a.fy - b.fy) < 0.05 * std::hypot(rx, ry)) {
                        c.evidence = weaker;
                        c.row = Peak{(a.fx + b.fx) / 2, (a.fy + b.fy) / 2, weaker};
                    }
                }
                if (c.row.fy < 0) c.row.fx = -c.row.fx, c.row.fy = -c.row.fy;
                return c;
            };
            // Perpendicular in pixel space: (fx, fy) -> (-fy, fx), scaled so |f| halves.
            Candidate best = evaluate(a, -a.fy / 2, a.fx / 2);
            if (partner) {
                Candidate other = evaluate(*partner, -partner->fy / 2, partner->fx / 2);
                if (other.evidence > best.evidence) best = other;
                // The partner may be the rows' second harmonic (two atoms per row period): half of it is the row
                // vector as measured, where the guess above assumes square pixels (cda overlay frame 20220822
                // 0037: its sums lie 2.8 bins from that guess).
                Candidate measured = evaluate(a, partner->fx / 2, partner->fy / 2);
                if (measured.evidence > best.evidence) best = measured;
            }
            // With a known pixel size, a clear peak too fine to be rows but at the dimer pitch (0.384 nm, within the
            // calibration tolerance) is the dimer wave, and a faint row peak is enough to place the rows (cda frame
            // 0051: dimer peak 1730, row peak 3.6).
            const bool onlyDimer = pxs.known() && !plausible(best.dimer) && best.dimer.logProminence >= std::log(options.minStrength) &&
                                   std::abs(pitchNm(best.dimer) / kDimerPitchNm - 1) < options.dimerOnlyPitchTolerance;
            const double needed = onlyDimer ? std::log(options.minDimerOnlyRowStrength) : predictedLog;
            if (best.evidence >= needed && near(ratio(best.dimer, best.row), 0.5, 0.1) && plausible(best.row)) {
                dimerFreq = best.dimer.radius();
                dimerPeak = best.dimer;
                row = best.row;
                row.logProminence = std::max(best.evidence, best.dimer.logProminence);
            } else if (auto para = spectrum.probe(a.fx / 2, a.fy / 2, 2);
                       para && para->logProminence >= predictedLog && angleBetween(a, *para) < 5 &&
                       near(ratio(a, *para), 0.5, 0.06) && plausible(*para)) {
                row = *para;
                row.logProminence = a.logProminence;
            }
        }
        if (dimerFreq == 0 && 2 * row.radius() < maxFreq) {
            auto dimer = spectrum.probe(-row.fy * 2, row.fx * 2, 2);
            if (dimer && dimer->logProminence >= predictedLog && angleBetween(row, *dimer) > 80 &&
                near(ratio(row, *dimer), 2, 0.08))
            {
                dimerFreq = dimer->radius();
                dimerPeak = *dimer;
            }
        }
        // Everything this lattice explains: harmonics of the rows, the dimer peak and its harmonics.
        for (size_t j = 0; j < strong.size(); ++j) {
            if (used[j]) continue;
            const double ang = angleBetween(row, strong[j]), q = ratio(row, strong[j]);
            if (ang < 5 && (near(q, 1, 0.05) || near(q, 2, 0.06) || near(q, 3, 0.06))) used[j] = true;
            // (Perpendicular at the rows' own frequency is no part of this lattice: it is a second domain's rows.)
            else if (dimerFreq > 0 && ang > 85 && near(q, 2, 0.08)) used[j] = true;
        }
        RowLattice r = toLattice(row, levelled.pixelSize);
        // Below the lone-peak threshold (down to minConfirmedStrength) only a row peak with its dimer peak is a
        // lattice.
        if (r.strength < options.minConfirmedStrength || (r.strength < options.minStrength && dimerFreq == 0)) continue;
        if (dimerFreq > 0) {
            r.dimerPitchPx = 1.0 / dimerFreq;
            r.dimerWaveX = dimerPeak.fx;
            r.dimerWaveY = dimerPeak.fy;
            const PixelSize& px = levelled.pixelSize;
            if (px.known()) r.dimerPitchNm = 1.0 / std::hypot(dimerPeak.fx / px.x_nm, dimerPeak.fy / px.y_nm);
        }
        cands.push_back(r);
    }
    // The 2x1 lattice has peaks at sums of the row and dimer wave vectors too; the (2, +-1) pair is two equal,
    // perpendicular peaks that look like two domains of rows 0.27 nm apart. A candidate that another one explains
    // as such a sum is no lattice of its own.
    auto explainedBy = [](const RowLattice& c, const RowLattice& r) {
        const double rx = r.waveX, ry = r.waveY;
        const double dx = r.dimerPitchPx > 0 ? r.dimerWaveX : -2 * ry, dy = r.dimerPitchPx > 0 ? r.dimerWaveY : 2 * rx;
        for (int a = -3; a <= 3; ++a)
            for (int b = -2; b <= 2; ++b) {
                if (b == 0) continue;  // multiples of the rows are harmonics, handled above
                const double sx = a * rx + b * dx, sy = a * ry + b * dy, m = std::hypot(sx, sy);
                for (double sign : {1.0, -1.0})
                    if (std::hypot(c.waveX - sign * sx, c.waveY - sign * sy) < 0.04 * m) return true;
            }
        return false;
    };
    // A lattice's support: its own strength plus that of every candidate it explains. An atom-resolving frame's
    // sum peaks can outshine its rows (cda overlay frame 20220819 0041: rows 1452, the (+-1, 2) sums 4082 and
    // 2611), and two peaks it leaves unexplained (2.3 px, 1574 and 1346, 72 degrees apart) then outweighed it as
    // a "pair of domains" (0.33 nm/px instead of 0.097).
    struct Ranked { RowLattice lattice; double support; };
    std::vector<Ranked> kept;
    for (size_t i = 0; i < cands.size(); ++i) {
        bool explained = false;
        for (size_t j = 0; j < cands.size() && !explained; ++j) explained = j != i && explainedBy(cands[i], cands[j]);
        if (explained || !plausible(Peak{cands[i].waveX, cands[i].waveY, 0})) continue;
        double support = cands[i].strength;
        for (size_t j = 0; j < cands.size(); ++j)
            if (j != i && explainedBy(cands[j], cands[i])) support += cands[j].strength;
        kept.push_back({cands[i], support});
    }
    if (kept.empty()) return {};
    // Two domains: rows turned by roughly 90 degrees (less in drifted or skewed frames), the same pitch, both
    // clear. A consistent pair wins over a stronger lone peak (artefacts such as aliasing give lone peaks).
    std::sort(kept.begin(), kept.end(), [](const Ranked& a, const Ranked& b) { return a.support > b.support; });
    // A hexagonal surface gives three equal periods 60 degrees apart; drift and shear move them by a few degrees.
    RowLattice& best = kept[0].lattice;
    {
        const Peak main{best.waveX, best.waveY, 0};
        for (const Peak& p : strong)
            if (const double ang = angleBetween(main, p); ang >= 50 && ang <= 70 && near(ratio(main, p), 1, 0.15) &&
                std::exp(p.logProminence) >= options.minThreeFoldFraction * best.strength) {
                best.threeFold = true;
                best.threeFoldAngleDeg = ang;
                return {best};   // one lattice, not two domains
            }
    }
    std::vector<RowLattice> out{best};
    double bestSum = kept[0].support;
    for (size_t i = 0; i < kept.size(); ++i)
        for (size_t j = i + 1; j < kept.size(); ++j) {
            const RowLattice &li = kept[i].lattice, &lj = kept[j].lattice;
            const Peak a{li.waveX, li.waveY, 0}, b{lj.waveX, lj.waveY, 0};
            if (angleBetween(a, b) < 60 || !near(ratio(a, b), 1, 0.15)) continue;
            if (lj.strength < options.minSecondDomainFraction * li.strength) continue;
            if (kept[i].support + kept[j].support > bestSum) {
                bestSum = kept[i].support + kept[j].support;
                out = {li, lj};
            }
        }
    return out;
}
}  // namespace

namespace {

// Pixel sizes from two measured wave vectors (cycles/px) of physically perpendicular features with known
// periods: |(fx/sx, fy/sy)| = 1/period is linear in 1/sx^2 and 1/sy^2. Nothing when the pair cannot separate
// x from y (both near 45 degrees), the answer is implausible, or the solved vectors are not perpendicular
// (shear from drift: a square estimate is then the honest answer).
std::optional<PixelSize> anisotropicPixelSize(double fx1, double fy1, double p1, double fx2, double fy2, double p2) {
    const double a = fx1 * fx1, b = fy1 * fy1, c = fx2 * fx2, d = fy2 * fy2;
    const double det = a * d - b * c;
    if (std::abs(det) < 0.5 * std::hypot(a, b) * std::hypot(c, d)) return std::nullopt;
    const double r1 = 1 / (p1 * p1), r2 = 1 / (p2 * p2);
    const double u = (r1 * d - b * r2) / det, v = (a * r2 - c * r1) / det;
    if (u <= 0 || v <= 0) return std::nullopt;
    const double sx = 1 / std::sqrt(u), sy = 1 / std::sqrt(v);
    if (sx / sy > 1.25 || sy / sx > 1.25) return std::nullopt;
    const double kx1 = fx1 / sx, ky1 = fy1 / sy, kx2 = fx2 / sx, ky2 = fy2 / sy;
    const double cosAngle = std::abs(kx1 * kx2 + ky1 * ky2) / (std::hypot(kx1, ky1) * std::hypot(kx2, ky2));
    if (cosAngle > std::sin(5 * kPi / 180)) return std::nullopt;
    return PixelSize(sx, sy);
}

}  // namespace

std::optional<PixelSize> calibratePixelSize(const Image& levelled, const LatticeOptions& options) {
    // The raw spectrum only: the calibration reads the pixel grid, the same whether a pixel size is given or not.
    LatticeOptions raw = options;
    raw.equaliseContrast = false;
    return pixelSizeFromLattices(findRowLattices(levelled, raw));
}

std::optional<PixelSize> pixelSizeFromLattices(const std::vector<RowLattice>& lattices) {
    if (lattices.empty() || lattices[0].threeFold) return std::nullopt;
    // Two perpendicular periodicities of known length fix x and y separately: the rows and the dimers along
    // them, or the rows of two domains.
    const RowLattice& m = lattices[0];
    if (m.dimerPitchPx > 0)
        if (auto px = anisotropicPixelSize(m.waveX, m.waveY, kRowPitchNm, m.dimerWaveX, m.dimerWaveY, kDimerPitchNm)) return px;
    if (lattices.size() > 1)
        if (auto px = anisotropicPixelSize(m.waveX, m.waveY, kRowPitchNm, lattices[1].waveX, lattices[1].waveY, kRowPitchNm))
            return px;
    // Otherwise square, from the strength-weighted row pitch over the domains.
    double num = 0, den = 0;
    for (const auto& l : lattices) {
        num += l.strength * l.pitchPx;
        den += l.strength;
    }
    return PixelSize::square(kRowPitchNm / (num / den));
}

int DomainMap::domainAt(double x, double y) const {
    if (label.empty()) return -1;
    const int ix = std::clamp(static_cast<int>(std::lround(x)), 0, label.width() - 1);
    const int iy = std::clamp(static_cast<int>(std::lround(y)), 0, label.height() - 1);
    return static_cast<int>(label.at(ix, iy));
}

namespace {

// Local amplitude of one plane wave (cycles per pixel) as a map `down` times coarser than the image: the image
// times the wave's conjugate phasor, low-passed by a Gaussian of `sigma` pixels (a Gabor filter). The product
// is smooth once low-passed, so it is low-passed on a pyramid (pyrDown filters before it decimates, so the
// other waves cannot alias onto zero frequency) and the rest of the blur done at the coarse size.
cv::Mat localWaveEnergy(const cv::Mat& fine, double kx, double ky, double sigma, int levels) {
    const int w = fine.cols, h = fine.rows;
    // The phasor separates into a column and a row factor; multiplied out in reals (std::complex's product
    // checks for infinities on every call).
    std::vector<float> cx(w), sx(w);
    for (int x = 0; x < w; ++x) {
        cx[x] = static_cast<float>(std::cos(2 * kPi * kx * x));
        sx[x] = static_cast<float>(std::sin(2 * kPi * kx * x));
    }
    cv::Mat re(h, w, CV_32F), im(h, w, CV_32F);
    for (int y = 0; y < h; ++y) {
        const float cy = static_cast<float>(std::cos(2 * kPi * ky * y)), sy = static_cast<float>(std::sin(2 * kPi * ky * y));
        const float* f = fine.ptr<float>(y);
        float* r = re.ptr<float>(y);
        float* i = im.ptr<float>(y);
        for (int x = 0; x < w; ++x) {
            // f * exp(-i(a + b)) = f * (cos a cos b - sin a sin b) - i f * (sin a cos b + cos a sin b)
            r[x] = f[x] * (cx[x] * cy - sx[x] * sy);
            i[x] = -f[x] * (sx[x] * cy + cx[x] * sy);
        }
    }
    for (int l = 0; l < levels; ++l) {
        cv::pyrDown(re, re);
        cv::pyrDown(im, im);
    }
    const double rest = sigma / (1 << levels);
    if (rest > 0.3) {
        cv::GaussianBlur(re, re, cv::Size(0, 0), rest, rest, cv::BORDER_REFLECT);
        cv::GaussianBlur(im, im, cv::Size(0, 0), rest, rest, cv::BORDER_REFLECT);
    }
    return re.mul(re) + im.mul(im);
}

// Angular distance between two row directions (degrees, modulo 180).
double directionGap(double a, double b) {
    const double d = std::fmod(std::abs(a - b), 180.0);
    return std::min(d, 180.0 - d);
}

// What the domain map and the search for a hidden domain share: the scan high-passed (steps, charge halos and
// tilt would otherwise dominate: minus a blur 1.5 row pitches wide), and the Gaussian of the Gabor filter with
// the pyramid depth it allows.
struct GaborReader {
    cv::Mat fine;
    double sigma = 0;
    int levels = 0;
    GaborReader(const Image& levelled, double pitchPx, double sigmaPx) {
        const int w = levelled.width(), h = levelled.height();
        sigma = std::clamp(sigmaPx, 2.0, std::min(w, h) / 2.0);
        while ((2 << levels) * 3.0 <= sigma && (w >> (levels + 1)) >= 8 && (h >> (levels + 1)) >= 8) ++levels;
        cv::Mat src(h, w, CV_32F, const_cast<float*>(levelled.data())), low;
        cv::GaussianBlur(src, low, cv::Size(0, 0), std::max(1.0, 1.5 * pitchPx));
        fine = src - low;
    }
    cv::Mat energy(double kx, double ky) const { return localWaveEnergy(fine, kx, ky, sigma, levels); }
    // A wave's background: the mean energy of the same wave turned by turnA and turnB degrees (in the pixel grid,
    // against the image's y axis pointing down; either sense of turn serves), where the lattice puts no power.
    // It varies less than the signal, so it is averaged twice as widely.
    cv::Mat reference(double kx, double ky, double turnA, double turnB) const {
        cv::Mat ref;
        for (double turn : {turnA, turnB}) {
            const double c = std::cos(turn * kPi / 180), s = std::sin(turn * kPi / 180);
            const cv::Mat r = energy(c * kx - s * ky, s * kx + c * ky);
            ref = ref.empty() ? 0.5 * r : ref + 0.5 * r;
        }
        const double refBlur = 2.0 * sigma / (1 << levels);
        cv::GaussianBlur(ref, ref, cv::Size(0, 0), refBlur, refBlur, cv::BORDER_REFLECT);
        return ref;
    }
};

}  // namespace

std::optional<RowLattice> perpendicularDomain(const Image& levelled, const RowLattice& only) {
    const int w = levelled.width(), h = levelled.height();
    if (only.threeFold || only.pitchPx <= 0 || w < 16 || h < 16) return std::nullopt;
    // The same rows turned by 90 degrees in the sample plane (in the pixel grid only where pixels are square).
    const PixelSize& px = levelled.pixelSize;
    const double sx = px.known() ? px.x_nm : 1.0, sy = px.known() ? px.y_nm : 1.0;
    const double kx = only.waveX / sx, ky = only.waveY / sy;   // cycles per nm (or per pixel)
    Peak turned{-ky * sx, kx * sy, 0};
    if (turned.fy < 0) turned.fx = -turned.fx, turned.fy = -turned.fy;
    if (turned.radius() >= 0.5) return std::nullopt;
    const GaborReader reader(levelled, only.pitchPx, 2.0 * only.pitchPx);
    const cv::Mat own = reader.energy(only.waveX, only.waveY);
    const cv::Mat other = reader.energy(turned.fx, turned.fy);
    // Reference: the rows' wave turned by 45 degrees either way, where neither orientation puts power.
    const cv::Mat ref = reader.reference(only.waveX, only.waveY, 45, -45);
    size_t shown = 0;
    double sum = 0;
    for (int y = 0; y < ref.rows; ++y)
        for (int x = 0; x < ref.cols; ++x) {
            const double r = ref.at<float>(y, x) + 1e-30, o = other.at<float>(y, x) / r;
            if (o > 4 && o > own.at<float>(y, x) / r) ++shown, sum += o;
        }
    // A tenth of the scan: simulated two-domain scans that the spectrum read as one show the turned rows over
    // 22-61 % of it, single-domain ones over at most 6 % (beside steps).
    if (shown < 0.1 * static_cast<double>(ref.total())) return std::nullopt;
    RowLattice r = toLattice(turned, px);
    r.strength = sum / static_cast<double>(shown);
    r.pitchNm = only.pitchNm;   // the same rows: the one measured pitch
    return r;
}

DomainMap mapDomains(const Image& scan, const std::vector<RowLattice>& lattices, int windowPx) {
    // As findRowLattices reads it: with a known pixel size and a weak lattice, contrast equalised (a window
    // straddling a step then weighs both terraces' rows).
    double strongest = 0;
    for (const RowLattice& l : lattices) strongest = std::max(strongest, l.strength);
    const Image equalised = scan.pixelSize.known() && !lattices.empty() && strongest < kWeakLattice ? contrastEqualised(scan) : Image();
    const Image& levelled = equalised.empty() ? scan : equalised;
    DomainMap out;
    const int w = levelled.width(), h = levelled.height();
    out.label = Image(w, h, -1.0f);
    out.label.pixelSize = levelled.pixelSize;
    out.areaFractions.assign(lattices.size(), 0.0);
    if (lattices.empty() || w < 4 || h < 4) return out;
    double maxPitch = 0;
    for (const RowLattice& l : lattices) maxPitch = std::max(maxPitch, l.pitchPx);
    // The evidence for a domain is averaged by a Gaussian of two row pitches (the window side / 4.5): on
    // vicinal surfaces terraces are 3-5 nm wide, and windows of nine pitches straddled two or three of them.
    const GaborReader reader(levelled, maxPitch, windowPx > 0 ? windowPx / 4.5 : 2.0 * maxPitch);
    const size_t nd = lattices.size();
    // Each domain's signature waves: its rows; with a single domain also their second harmonic and the dimers
    // along them (frames resolving atoms often show the row fundamental faintly: without them the domain covered
    // 42-68 % instead of 86-97 % of five real cda frames). With two domains those would coincide across domains
    // (one domain's dimer wave is the other's second harmonic), so only the rows count.
    struct Wave {
        size_t domain;
        double kx, ky;
    };
    std::vector<Wave> waves;
    auto addWave = [&](size_t d, double kx, double ky) {
        if (std::hypot(kx, ky) < 0.5) waves.push_back({d, kx, ky});  // beyond Nyquist it is not in the image
    };
    for (size_t d = 0; d < nd; ++d) {
        const RowLattice& l = lattices[d];
        addWave(d, l.waveX, l.waveY);
        if (nd == 1) {
            addWave(d, 2 * l.waveX, 2 * l.waveY);
            if (l.dimerPitchPx > 0) {
                const double k = l.pitchPx / l.dimerPitchPx;  // dimer frequency over row frequency
                addWave(d, -l.waveY * k, l.waveX * k);
            }
        }
    }
    // Each wave's reference: the same wave turned to the two directions farthest from every domain's rows (45
    // degrees off for two perpendicular domains), where the lattice puts no power. A domain shows where a wave
    // holds several times its reference: a local signal-to-background ratio, so weak but clear rows count as
    // much as strong ones, and noise, steps or defects that raise every direction do not.
    auto gapFromRows = [&](double turn) {   // of the first domain's rows turned by `turn`, to the nearest domain's
        double gap = 180;
        for (const RowLattice& l : lattices) gap = std::min(gap, directionGap(lattices[0].directionDeg + turn, l.directionDeg));
        return gap;
    };
    double turnA = 0, bestGap = -1;
    for (int t = 0; t < 180; ++t)
        if (const double gap = gapFromRows(t); gap > bestGap) bestGap = gap, turnA = t;
    double turnB = turnA + 90, bestB = -1;
    for (int t = 0; t < 180; ++t)
        if (const double gap = gapFromRows(t); directionGap(t, turnA) >= 45 && gap > bestB) bestB = gap, turnB = t;
    std::vector<cv::Mat> score(nd);
    for (const Wave& wv : waves) {
        cv::Mat ratio = reader.energy(wv.kx, wv.ky) / (reader.reference(wv.kx, wv.ky, turnA, turnB) + 1e-30);
        cv::Mat& sc = score[wv.domain];
        sc = sc.empty() ? ratio : cv::max(sc, ratio);
    }
    // Coarse grid -> pixels, by bilinear interpolation.
    std::vector<cv::Mat> up(nd);
    for (size_t d = 0; d < nd; ++d) cv::resize(score[d], up[d], cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    // Rows present where their wave holds over twice its reference (noise gives about 1; 3 or 4 left more sites
    // without a domain and turned about as many on simulated scans).
    const float minRatio = 2.0f;
    std::vector<size_t> counts(nd, 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            int best = -1;
            float bestV = minRatio;
            for (size_t d = 0; d < nd; ++d) {
                const float v = up[d].at<float>(y, x);
                if (v > bestV) {
                    bestV = v;
                    best = static_cast<int>(d);
                }
            }
            out.label.at(x, y) = static_cast<float>(best);
            if (best >= 0) ++counts[best];
        }
    for (size_t d = 0; d < nd; ++d) out.areaFractions[d] = static_cast<double>(counts[d]) / (static_cast<double>(w) * h);
    return out;
}

LatticeInfo latticeInfo(const std::vector<RowLattice>& lattices, const DomainMap& domains) {
    LatticeInfo info;
    if (lattices.empty()) return info;
    info.found = true;
    size_t main = 0;
    for (size_t d = 0; d < lattices.size(); ++d) {
        const double area = d < domains.areaFractions.size() ? domains.areaFractions[d] : 0.0;
        info.domains.push_back({lattices[d].directionDeg, area});
        if (d < domains.areaFractions.size() && area > domains.areaFractions[main]) main = d;
    }
    const RowLattice& m = lattices[main];
    info.rowDirectionDeg = m.directionDeg;
    info.rowPitchNm = m.pitchNm;
    info.dimerPitchNm = m.dimerPitchNm > 0 ? m.dimerPitchNm : m.pitchNm / 2;
    return info;
}

void assignDomains(std::vector<AtomSite>& sites, const DomainMap& domains) {
    for (AtomSite& s : sites) s.domain = domains.domainAt(s.x, s.y);
}

Image rowDirectionMap(const Image& levelled, int windowPx) {
    const auto lattices = findRowLattices(levelled);
    DomainMap dm = mapDomains(levelled, lattices, windowPx);
    Image out = dm.label;
    for (float& v : out.pixels()) v = v >= 0 ? static_cast<float>(lattices[static_cast<size_t>(v)].directionDeg) : -1.0f;
    return out;
}

}  // namespace stmlens
