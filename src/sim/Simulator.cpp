// The simulator's pipeline: scene -> geometry -> lattice + defects -> tip -> instrument -> truth.
#include "sim/Simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

#include "core/Errors.h"
#include "core/Median.h"
#include "sim/Artefacts.h"
#include "sim/Defects.h"
#include "sim/LatticeProfile.h"
#include "sim/SceneConfig.h"
#include "sim/ScanWarp.h"
#include "sim/Terraces.h"

namespace stmlens::sim {

namespace {

void validate(const SimParams& p) {
    const std::string who = "simulate";
    if (p.width < 8 || p.height < 8 || p.width > 8192 || p.height > 8192)
        throw InputError(who, "size " + std::to_string(p.width) + " x " + std::to_string(p.height) +
                                  " out of range (8..8192 pixels per side)");
    auto okPx = [](double v) { return std::isfinite(v) && v >= 0.005 && v <= 2.0; };
    if (!okPx(p.pixelSize.x_nm) || !okPx(p.pixelSize.y_nm))
        throw InputError(who, "pixel size " + p.pixelSize.str() + " out of range (0.005..2 nm)");
    if (std::isinf(p.rotationDeg)) throw InputError(who, "rotation must be finite (or NaN for random)");
    if (!std::isnan(p.defectDensity) && (p.defectDensity < 0 || p.defectDensity > 0.5))
        throw InputError(who, "defect density must be within 0..0.5 per dimer");
    if (!std::isnan(p.noiseScale) && (p.noiseScale < 0 || p.noiseScale > 100))
        throw InputError(who, "noise scale must be within 0..100");
}

int priority(PixelClass c) {
    switch (c) {
        case PixelClass::Lattice: return 0;
        case PixelClass::StepEdge: return 1;
        case PixelClass::Dark: return 2;
        case PixelClass::Bright: return 3;
        case PixelClass::BareSi: return 4;
        case PixelClass::Contamination: return 5;
    }
    return 0;
}

double smoothBox(double d, double half, double soft) { return 0.5 * (1 + std::tanh((half - std::abs(d)) / soft)); }

struct TerraceInfo {
    TerraceLattice lat;
    double c = 1, s = 0;
    double minX = 1e300, maxX = -1e300, minY = 1e300, maxY = -1e300;   // surface bbox of its pixels
    bool present = false;
};

// Everything per pixel the stages share.
struct Frame {
    int W = 0, H = 0;
    std::vector<float> sx, sy;      // surface nm of each pixel
    std::vector<int> terrace;
    std::vector<float> edgeDist;    // signed distance to the nearest step edge, nm
    std::vector<int> edgeIndex;
    std::vector<float> layer, cover;
    std::vector<uint8_t> label;
};

}  // namespace

SimSample simulate(const SimParams& params, uint64_t seed) {
    validate(params);
    Rng root(seed);
    Rng sceneRng = root.fork(), geoRng = root.fork(), defectRng = root.fork(), noiseRng = root.fork();
    const SceneConfig cfg = sampleScene(params, sceneRng);

    const int W = params.width, H = params.height;
    const PixelSize pix = params.pixelSize;
    const double pxMin = std::min(pix.x_nm, pix.y_nm);
    const double extent = std::max(W * pix.x_nm, H * pix.y_nm);
    Rng warpRng = geoRng.fork();
    ScanWarp warp = ScanWarp::random(W, H, pix, cfg.warpStrength, warpRng);
    warp.tabulate();
    const Terraces terraces =
        cfg.steps == 0 ? Terraces(cfg.rotationRad)
                       : Terraces(cfg.rotationRad, cfg.stepNormalRad, cfg.terraceWidthNm, cfg.stepOriginNm,
                                  cfg.doubleSteps, cfg.roughSA, cfg.roughSB, extent, geoRng, cfg.stepFacetNm);
    const LatticeProfile profA(cfg.app), profB(cfg.app2);
    auto appAt = [&](int y) -> const Appearance& { return cfg.tipChange && y >= cfg.tipChangeRow ? cfg.app2 : cfg.app; };
    auto profAt = [&](int y) -> const LatticeProfile& {
        return cfg.tipChange && y >= cfg.tipChangeRow ? profB : profA;
    };

    // --- geometry: surface coordinates and terrace of every pixel (the warp is separable in x and y).
    thread_local Frame f;   // scratch reused between calls (fresh pages cost more than the rendering)
    f.W = W;
    f.H = H;
    const size_t N = static_cast<size_t>(W) * H;
    f.sx.assign(N, 0.0f);
    f.sy.assign(N, 0.0f);
    f.terrace.assign(N, 0);
    f.edgeDist.assign(N, 1e9f);
    f.edgeIndex.assign(N, 0);
    std::vector<double> colX(W), rowX(H), rowY(H);
    const double dx00 = warp.dx(0, 0);
    for (int x = 0; x < W; ++x) colX[x] = x + warp.dx(x, 0) - dx00;
    for (int y = 0; y < H; ++y) {
        rowX[y] = warp.dx(0, y);
        rowY[y] = y + warp.dy(0, y);
    }
    int tMin = 0, tMax = 0;
    {
        bool first = true;
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                const size_t p = static_cast<size_t>(y) * W + x;
                const double sx = (colX[x] + rowX[y]) * pix.x_nm, sy = rowY[y] * pix.y_nm;
                f.sx[p] = static_cast<float>(sx);
                f.sy[p] = static_cast<float>(sy);
                if (!terraces.flat()) {
                    double d;
                    int e;
                    const int T = terraces.terraceAt(sx, sy, &d, &e);
                    f.terrace[p] = T;
                    f.edgeDist[p] = static_cast<float>(d);
                    f.edgeIndex[p] = e;
                    if (first) tMin = tMax = T, first = false;
                    tMin = std::min(tMin, T);
                    tMax = std::max(tMax, T);
                }
            }
    }
    std::vector<TerraceInfo> tinfo(tMax - tMin + 1);
    for (int T = tMin; T <= tMax; ++T) {
        auto& ti = tinfo[T - tMin];
        ti.lat = terraces.lattice(T);
        ti.c = std::cos(ti.lat.angleRad);
        ti.s = std::sin(ti.lat.angleRad);
    }
    for (size_t p = 0; p < N; ++p) {
        auto& ti = tinfo[f.terrace[p] - tMin];
        ti.present = true;
        ti.minX = std::min<double>(ti.minX, f.sx[p]);
        ti.maxX = std::max<double>(ti.maxX, f.sx[p]);
        ti.minY = std::min<double>(ti.minY, f.sy[p]);
        ti.maxY = std::max<double>(ti.maxY, f.sy[p]);
    }

    // --- defects
    std::unordered_map<uint64_t, uint8_t> atomState;
    const std::vector<DefectPlan> plans = planDefects(cfg, terraces, warp, defectRng, atomState);
    f.layer.assign(N, 0.0f);
    f.cover.assign(N, 0.0f);
    const double maxBlur = std::max(cfg.app.blurSigma, cfg.app2.blurSigma);
    // Subsurface charged centres: smooth, unlabelled, anywhere (their own random stream, so adding them left
    // the rest of every seed's scene as it was).
    std::vector<Primitive> dopants;
    if (cfg.dopantsPerNm2 > 0) {
        Rng dopantRng = root.fork();
        double x0 = 1e30, x1 = -1e30, y0 = 1e30, y1 = -1e30;
        for (const auto& ti : tinfo)
            if (ti.present) x0 = std::min(x0, ti.minX), x1 = std::max(x1, ti.maxX), y0 = std::min(y0, ti.minY), y1 = std::max(y1, ti.maxY);
        // A round Gaussian anywhere over the surface; the caller then draws its width and height.
        auto placed = [&]() -> Primitive& {
            Primitive& p = dopants.emplace_back();
            p.sx = dopantRng.uniform(x0, x1);
            p.sy = dopantRng.uniform(y0, y1);
            return p;
        };
        const int n = static_cast<int>(cfg.dopantsPerNm2 * (x1 - x0) * (y1 - y0) + dopantRng.uniform());
        for (int k = 0; k < n; ++k) {
            Primitive& p = placed();
            p.su = p.sv = dopantRng.uniform(cfg.dopantSigmaMin, cfg.dopantSigmaMax);
            p.amp = cfg.dopantAmp * dopantRng.uniform(0.5, 1.5) * (dopantRng.chance(cfg.dopantBrightShare) ? -0.5 : 1.0);
        }
        for (int k = 0; k < cfg.swells; ++k) {
            Primitive& p = placed();
            p.su = p.sv = dopantRng.uniform(4.0, 12.0);
            p.amp = cfg.swellAmp * dopantRng.uniform(-1.0, 1.0);
        }
    }
    std::vector<const std::vector<Primitive>*> primLists{&dopants};
    for (const auto& d : plans) primLists.push_back(&d.prims);
    for (const auto* prims : primLists)
        for (const auto& pr : *prims) {
            double cx, cy;
            warp.toImage(pr.sx, pr.sy, cx, cy);
            const double reach = pr.reachNm(maxBlur) / pxMin + 1.5;
            const int x0 = std::max(0, static_cast<int>(std::floor(cx - reach)));
            const int x1 = std::min(W - 1, static_cast<int>(std::ceil(cx + reach)));
            const int y0 = std::max(0, static_cast<int>(std::floor(cy - reach)));
            const int y1 = std::min(H - 1, static_cast<int>(std::ceil(cy + reach)));
            if (x0 > x1 || y0 > y1) continue;
            for (int y = y0; y <= y1; ++y) {
                const Appearance& app = appAt(y);
                double su = pr.su, sv = pr.sv, amp = pr.amp, soft = pr.soft;
                if (pr.kind == Primitive::Kind::Gauss && pr.blur) {
                    su = app.blurred(pr.su);
                    sv = app.blurred(pr.sv);
                    amp = pr.amp * (pr.su * pr.sv) / (su * sv);
                } else {
                    soft = app.blurred(pr.soft);
                }
                const double iu = 1 / (2 * su * su), iv = 1 / (2 * sv * sv);
                for (int x = x0; x <= x1; ++x) {
                    const size_t p = static_cast<size_t>(y) * W + x;
                    const double ex = f.sx[p] - pr.sx, ey = f.sy[p] - pr.sy;
                    const double du = ex * pr.ca + ey * pr.sa, dv = -ex * pr.sa + ey * pr.ca;
                    switch (pr.kind) {
                        case Primitive::Kind::Gauss: {
                            const double q = du * du * iu + dv * dv * iv;
                            if (q < 12) f.layer[p] += static_cast<float>(amp * std::exp(-q));
                            break;
                        }
                        case Primitive::Kind::Cover:
                        case Primitive::Kind::Box:
                        case Primitive::Kind::Stripes: {
                            double w;
                            if (pr.ellipse) {
                                const double r = std::sqrt((du / su) * (du / su) + (dv / sv) * (dv / sv));
                                w = 0.5 * (1 + std::tanh((1 - r) * su / soft));
                            } else {
                                w = smoothBox(du, su, soft) * smoothBox(dv, sv, soft);
                            }
                            if (pr.kind == Primitive::Kind::Cover)
                                f.cover[p] = std::max(f.cover[p], static_cast<float>(amp * w));
                            else if (pr.kind == Primitive::Kind::Box)
                                f.layer[p] += static_cast<float>(amp * w);
                            else
                                f.layer[p] += static_cast<float>(amp * w * std::cos(2 * M_PI * dv / pr.period));
                            break;
                        }
                    }
                }
            }
        }

    // --- surface: lattice (hidden under covers) + terraces + defects, through the tip of each line
    Image surface(W, H);
    surface.pixelSize = pix;
    for (int y = 0; y < H; ++y) {
        const LatticeProfile& prof = profAt(y);
        const Appearance& app = appAt(y);
        const double stepSigma = std::max(app.blurSigma, 0.08);
        float* out = surface.row(y);
        for (int x = 0; x < W; ++x) {
            const size_t p = static_cast<size_t>(y) * W + x;
            const auto& ti = tinfo[f.terrace[p] - tMin];
            const double u = f.sx[p] * ti.c + f.sy[p] * ti.s - ti.lat.offU;
            const double v = -f.sx[p] * ti.s + f.sy[p] * ti.c - ti.lat.offV;
            double lat = prof.value(u, v);
            lat += (prof.mean() - lat) * f.cover[p];
            double h = ti.lat.heightNm;
            const double d = f.edgeDist[p];
            if (std::abs(d) < 4 * stepSigma) {   // the tip rounds the step
                const int k = f.edgeIndex[p];
                const double hu = -(k - 1) * terraces.stepHeight(), hl = -k * terraces.stepHeight();
                h = hu + (hl - hu) * 0.5 * std::erfc(-d / (stepSigma * M_SQRT2));
            }
            out[x] = static_cast<float>(lat + app.gain * f.layer[p] + h + app.offset);
        }
    }

    // --- tip: extra apexes see the surface shifted; the apex closest to the surface wins
    if (cfg.doubleTip) {
        const Image src = surface;
        for (int k = 0; k < cfg.extraApexes; ++k) {
            const double ox = cfg.apexDxNm[k] / pix.x_nm, oy = cfg.apexDyNm[k] / pix.y_nm;
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    const double qx = std::clamp(x - ox, 0.0, W - 1.0), qy = std::clamp(y - oy, 0.0, H - 1.0);
                    const int ix = std::min(static_cast<int>(qx), W - 2), iy = std::min(static_cast<int>(qy), H - 2);
                    const double fx = qx - ix, fy = qy - iy;
                    const double v = (1 - fy) * ((1 - fx) * src.at(ix, iy) + fx * src.at(ix + 1, iy)) +
                                     fy * ((1 - fx) * src.at(ix, iy + 1) + fx * src.at(ix + 1, iy + 1));
                    surface.at(x, y) = std::max(surface.at(x, y), static_cast<float>(v - cfg.apexDeltaNm[k]));
                }
        }
    }

    // --- instrument
    SimSample out;
    Image& img = out.image;
    img = std::move(surface);
    double noiseRms = 0;
    const bool current = cfg.mode == "current";
    if (params.artefacts) {
        if (!current) {
            addFeedbackLag(img, cfg);
            addRinging(img, cfg);
        }
        SceneConfig bg = cfg;
        if (current) bg.tiltX *= 0.1, bg.tiltY *= 0.1, bg.bow *= 0.1;
        addBackground(img, bg, noiseRng);
        noiseRms = addScanNoise(img, cfg, noiseRng);
    }
    if (current) {
        // Constant height: I ~ exp(beta z), saturating in the amplifier.
        double mean = 0;
        for (float v : img.pixels()) mean += v;
        mean /= static_cast<double>(N);
        const double sat = std::exp(params.artefacts ? noiseRng.uniform(1.0, 3.0) : 6.0);
        double lineGain = 0;
        for (int y = 0; y < H; ++y) {
            // the tip height wanders from line to line: multiplicative streaks
            lineGain = 0.25 * lineGain + cfg.currentLineNoise * noiseRng.normal();
            float* r = img.row(y);
            for (int x = 0; x < W; ++x) {
                const double e = std::exp(std::min(20.0, cfg.currentBeta * (r[x] - mean)));
                double i = e * sat / (e + sat) * (1 + sat) / sat;   // soft saturation, ~e for e << sat
                i *= 1 + lineGain;
                if (cfg.currentNoise > 0) i *= 1 + cfg.currentNoise * noiseRng.fastNormal();
                r[x] = static_cast<float>(i);
            }
        }
        // Many current frames reach us as display exports: a window around the background, clipped at both ends
        // (bright DBs white, pits black), often 8-bit. The cda exports set it wide for the frame's own spread: the
        // floor 6-19 robust sigma below the median, the ceiling 15-17 above. A window in fractions of the mean
        // current put the floor at 2-5 sigma, and pits lost half their real contrast (bench_sim_realism).
        if (params.artefacts && cfg.currentClip) {
            std::vector<float> sample;
            sample.reserve(img.size() / 7 + 1);
            for (size_t i = 0; i < img.size(); i += 7) sample.push_back(img.pixels()[i]);
            const float med = medianInPlace(sample);
            for (float& v : sample) v = std::abs(v - med);
            const float sigma = 1.4826f * medianInPlace(sample);
            const float lo = med - static_cast<float>(cfg.currentClipLowSigma) * sigma;
            const float hi = med + static_cast<float>(cfg.currentClipHighSigma) * sigma;
            for (auto& v : img.pixels()) v = std::clamp(v, lo, hi);
            if (cfg.current8bit) quantise(img, (hi - lo) / 255.0);
        } else if (params.artefacts && cfg.quantStepNm > 0) {
            quantise(img, cfg.quantStepNm * 10);
        }
        img.meta.channel = "Current";
        img.meta.units = "arb";
        img.meta.biasV = 1.3;
    } else {
        if (params.artefacts) quantise(img, cfg.quantStepNm);
        img.meta.channel = "Z";
        img.meta.units = "nm";
        img.meta.biasV = cfg.mode == "filled" ? -1.8 : 1.5;
    }
    img.pixelSize = pix;
    img.meta.sourceFormat = "sim";
    img.meta.direction = "forward";
    img.meta.pixelSizeSource = "file";

    // --- truth: label map
    SimTruth& truth = out.truth;
    truth.preset = cfg.preset;
    truth.mode = cfg.mode;
    truth.rotationDeg = cfg.rotationRad * 180 / M_PI;
    {
        const bool mostlySecond = cfg.tipChange && 2 * (H - cfg.tipChangeRow) > H;
        truth.rowsInverted = (mostlySecond ? cfg.app2 : cfg.app).inverted();
    }
    f.label.assign(N, static_cast<uint8_t>(PixelClass::Lattice));
    std::unordered_map<int, std::array<double, 7>> edges;   // edge -> n, sumx, sumy, x0, y0, x1, y1
    const double stepBand = std::max(0.25, 0.6 * pxMin);   // half-width of the step-edge label, nm
    if (!terraces.flat()) {
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                const size_t p = static_cast<size_t>(y) * W + x;
                if (std::abs(f.edgeDist[p]) > stepBand) continue;
                f.label[p] = static_cast<uint8_t>(PixelClass::StepEdge);
                auto it = edges.find(f.edgeIndex[p]);
                if (it == edges.end()) it = edges.emplace(f.edgeIndex[p], std::array<double, 7>{0, 0, 0, 1e9, 1e9, -1, -1}).first;
                auto& e = it->second;
                e[0] += 1, e[1] += x, e[2] += y;
                e[3] = std::min<double>(e[3], x), e[4] = std::min<double>(e[4], y);
                e[5] = std::max<double>(e[5], x), e[6] = std::max<double>(e[6], y);
            }
    }
    // Paint defect footprints, lower priority first; record each defect's painted box.
    std::vector<std::array<int, 4>> boxes(plans.size(), std::array<int, 4>{W, H, -1, -1});
    {
        std::vector<std::pair<int, size_t>> order;
        for (size_t i = 0; i < plans.size(); ++i) order.emplace_back(priority(plans[i].cls), i);
        std::stable_sort(order.begin(), order.end());
        const double minHalf = 0.7 * pxMin;
        for (const auto& [pri, i] : order)
            for (const auto& s : plans[i].labels) {
                double cx, cy;
                warp.toImage(s.sx, s.sy, cx, cy);
                const double hu = std::max(s.hu, minHalf), hv = std::max(s.hv, minHalf);
                const double reach = std::hypot(hu, hv) / pxMin + 1.5;
                const int x0 = std::max(0, static_cast<int>(std::floor(cx - reach)));
                const int x1 = std::min(W - 1, static_cast<int>(std::ceil(cx + reach)));
                const int y0 = std::max(0, static_cast<int>(std::floor(cy - reach)));
                const int y1 = std::min(H - 1, static_cast<int>(std::ceil(cy + reach)));
                for (int y = y0; y <= y1; ++y)
                    for (int x = x0; x <= x1; ++x) {
                        const size_t p = static_cast<size_t>(y) * W + x;
                        const double ex = f.sx[p] - s.sx, ey = f.sy[p] - s.sy;
                        const double du = ex * s.ca + ey * s.sa, dv = -ex * s.sa + ey * s.ca;
                        const bool inside = s.ellipse ? (du / hu) * (du / hu) + (dv / hv) * (dv / hv) <= 1.0
                                                      : std::abs(du) <= hu && std::abs(dv) <= hv;
                        if (!inside) continue;
                        if (priority(static_cast<PixelClass>(f.label[p])) > pri) continue;
                        f.label[p] = static_cast<uint8_t>(s.cls);
                        auto& b = boxes[i];
                        b[0] = std::min(b[0], x), b[1] = std::min(b[1], y);
                        b[2] = std::max(b[2], x), b[3] = std::max(b[3], y);
                    }
            }
    }
    truth.labels = Image(W, H);
    truth.labels.pixelSize = pix;
    for (size_t p = 0; p < N; ++p) truth.labels.data()[p] = f.label[p];

    // --- truth: atoms (every visible site of every terrace, in the final image grid)
    // Sites that defects touch: their state and, once listed, their index. A bitmap in front of the hash map
    // keeps the per-atom cost low (most atoms are untouched).
    struct SiteInfo {
        uint8_t state = 0;
        int index = -1;
    };
    std::unordered_map<uint64_t, SiteInfo> sites;
    std::vector<uint64_t> siteBits(1024, 0);
    auto bit = [](uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 48; };
    for (const auto& [k, st] : atomState) sites[k].state = st;
    for (const auto& d : plans)
        for (uint64_t k : d.sites) sites.emplace(k, SiteInfo{});
    for (const auto& [k, info] : sites) siteBits[bit(k) >> 6] |= 1ull << (bit(k) & 63);
    double estimate = 0;
    for (const auto& ti : tinfo)
        if (ti.present)
            estimate += 2 * (ti.maxX - ti.minX + 1) * (ti.maxY - ti.minY + 1) / (kDimerPitchNm * kRowPitchNm);
    const bool listAtoms = estimate <= static_cast<double>(params.maxListedAtoms) * 2.5;
    if (!listAtoms) truth.qualityReasons.push_back("atoms_not_listed");
    else truth.atoms.reserve(static_cast<size_t>(estimate * 0.6));
    const bool identity = warp.isIdentity();
    int dimerCounter = 0;
    for (int T = tMin; T <= tMax && listAtoms; ++T) {
        const auto& ti = tinfo[T - tMin];
        if (!ti.present) continue;
        double umin = 1e300, umax = -1e300, vmin = 1e300, vmax = -1e300;
        for (double X : {ti.minX - 1, ti.maxX + 1})
            for (double Y : {ti.minY - 1, ti.maxY + 1}) {
                double u, v;
                surfaceToLattice(ti.lat, X, Y, u, v);
                umin = std::min(umin, u), umax = std::max(umax, u);
                vmin = std::min(vmin, v), vmax = std::max(vmax, v);
            }
        const int i0 = static_cast<int>(std::floor(umin / kDimerPitchNm)), i1 = static_cast<int>(std::ceil(umax / kDimerPitchNm));
        const int j0 = static_cast<int>(std::floor(vmin / kRowPitchNm)), j1 = static_cast<int>(std::ceil(vmax / kRowPitchNm));
        for (int j = j0; j <= j1; ++j) {
            double gx = 0, gy = 0;   // warp offsets of the previous atom: the next one starts from there
            for (int i = i0; i <= i1; ++i) {
                bool any = false;
                for (int side = 0; side < 2; ++side) {
                    const double U = i * kDimerPitchNm + ti.lat.offU, V = atomV(j, side) + ti.lat.offV;
                    const double sx = U * ti.c - V * ti.s, sy = U * ti.s + V * ti.c;
                    if (sx < ti.minX - 0.5 || sx > ti.maxX + 0.5 || sy < ti.minY - 0.5 || sy > ti.maxY + 0.5) continue;
                    if (!terraces.flat() && terraces.terraceAt(sx, sy) != T) continue;
                    const uint64_t key = atomKey(T, i, j, side);
                    SiteInfo* info = nullptr;
                    const uint64_t b = bit(key);
                    if (siteBits[b >> 6] >> (b & 63) & 1) {
                        const auto it = sites.find(key);
                        if (it != sites.end()) info = &it->second;
                    }
                    if (info && info->state == kRemoved) continue;
                    double x, y;
                    if (identity) {
                        x = sx / pix.x_nm;
                        y = sy / pix.y_nm;
                    } else {
                        warp.toImageFrom(sx, sy, x, y, gx, gy);
                        gx = sx / pix.x_nm - x;
                        gy = sy / pix.y_nm - y;
                    }
                    if (x < -0.5 || y < -0.5 || x >= W - 0.5 || y >= H - 0.5) continue;
                    const int ix = std::clamp(static_cast<int>(std::lround(x)), 0, W - 1);
                    const int iy = std::clamp(static_cast<int>(std::lround(y)), 0, H - 1);
                    const auto cls = static_cast<PixelClass>(f.label[static_cast<size_t>(iy) * W + ix]);
                    if (cls == PixelClass::Contamination) continue;
                    SimAtom a;
                    a.x = x;
                    a.y = y;
                    a.dimerId = dimerCounter;
                    a.terraceId = T;
                    a.hydrogenated = !(cls == PixelClass::BareSi || (info && info->state == kBare));
                    if (info) info->index = static_cast<int>(truth.atoms.size());
                    truth.atoms.push_back(a);
                    any = true;
                }
                if (any) ++dimerCounter;
            }
        }
    }

    // --- truth: resolution, atom map, resolved mask, quality
    const double px = std::sqrt(pix.x_nm * pix.y_nm);
    // Only noise near the row frequency hides rows: white noise and the fastest 1/f octaves, not line offsets.
    // Constant-height frames add per-pixel current noise on top: a relative noise n on I ~ exp(beta z) is a
    // height noise of n / beta.
    const double currentZ = current ? cfg.currentNoise / cfg.currentBeta : 0.0;
    const double hfNoise = params.artefacts ? std::sqrt(cfg.whiteNoise * cfg.whiteNoise + 0.2 * cfg.pinkNoise * cfg.pinkNoise + currentZ * currentZ) : 0.0;
    auto rowsVisible = [&](const LatticeProfile& prof) {
        return px < 0.3 && prof.rowContrast() > 2.0 * hfNoise && prof.rowContrast() > 0.004;
    };
    const bool rowsA = rowsVisible(profA), rowsB = rowsVisible(profB);
    // Single atoms count as resolved when the two atoms of a dimer render as two maxima above the noise.
    // (apparent maxima nearer the atoms than the dimer centre).
    truth.atomsResolved = px <= 0.08 && profA.apparentAtomV() >= 0.06 && profA.dimerDip() > std::max(2 * hfNoise, 0.001);
    truth.atomMap = Image(W, H);
    truth.atomMap.pixelSize = pix;
    {
        const double sig = std::max(0.06 / pxMin, 1.0);
        const int rad = static_cast<int>(std::ceil(3 * sig));
        std::vector<float> wx(2 * rad + 1), wy(2 * rad + 1);
        // exp(-t) tabulated over t = d^2 / 2 sigma^2 in [0, 9] (3 sigma), linear interpolation
        constexpr int kLut = 1024;
        static const std::vector<float> lut = [] {
            std::vector<float> t(kLut + 2);
            for (int k = 0; k <= kLut + 1; ++k) t[k] = static_cast<float>(std::exp(-9.0 * k / kLut));
            return t;
        }();
        auto gauss = [&](double e) {
            const double t = e * e / (2 * sig * sig) * (kLut / 9.0);
            if (t >= kLut) return 0.0f;
            const int k = static_cast<int>(t);
            return static_cast<float>(lut[k] + (lut[k + 1] - lut[k]) * (t - k));
        };
        auto splat = [&](double cx, double cy) {   // separable Gaussian, max-combined
            const int xc = static_cast<int>(std::lround(cx)), yc = static_cast<int>(std::lround(cy));
            for (int k = -rad; k <= rad; ++k) {
                wx[k + rad] = gauss(xc + k - cx);
                wy[k + rad] = gauss(yc + k - cy);
            }
            for (int y = std::max(0, yc - rad); y <= std::min(H - 1, yc + rad); ++y) {
                float* m = truth.atomMap.row(y);
                const float fy = wy[y - yc + rad];
                for (int x = std::max(0, xc - rad); x <= std::min(W - 1, xc + rad); ++x)
                    m[x] = std::max(m[x], fy * wx[x - xc + rad]);
            }
        };
        if (truth.atomsResolved) {
            for (const auto& a : truth.atoms) splat(a.x, a.y);
        } else {
            for (size_t i = 0; i < truth.atoms.size();) {
                size_t j = i;
                double sx = 0, sy = 0;
                while (j < truth.atoms.size() && truth.atoms[j].dimerId == truth.atoms[i].dimerId) {
                    sx += truth.atoms[j].x;
                    sy += truth.atoms[j].y;
                    ++j;
                }
                splat(sx / (j - i), sy / (j - i));
                i = j;
            }
        }
    }
    truth.resolvedMask = Image(W, H);
    truth.resolvedMask.pixelSize = pix;
    size_t contaminated = 0, resolved = 0;
    for (int y = 0; y < H; ++y) {
        const bool rows = cfg.tipChange && y >= cfg.tipChangeRow ? rowsB : rowsA;
        for (int x = 0; x < W; ++x) {
            const size_t p = static_cast<size_t>(y) * W + x;
            const bool contam = f.label[p] == static_cast<uint8_t>(PixelClass::Contamination);
            contaminated += contam;
            const bool r = rows && !contam && f.cover[p] < 0.5;
            resolved += r;
            truth.resolvedMask.data()[p] = r ? 1.0f : 0.0f;
        }
    }
    const double contamFrac = static_cast<double>(contaminated) / N;
    std::vector<std::string> reasons;
    if (cfg.tipChange) reasons.push_back("tip_change");
    if (cfg.doubleTip) reasons.push_back("double_tip");
    if (contamFrac > 0.35) reasons.push_back("contaminated");
    const double rowC = profA.rowContrast();
    if (params.artefacts && (hfNoise > 0.5 * rowC || noiseRms > 1.5 * std::max(rowC, 0.01) || cfg.glitchLines >= 4 ||
                             cfg.lineJumpRate > 0.05 || (current && cfg.currentLineNoise > 0.08)))
        reasons.push_back("heavy_noise");
    if (px < 0.3 && !rowsA && std::find(reasons.begin(), reasons.end(), "heavy_noise") == reasons.end())
        reasons.push_back("unresolved");
    truth.quality = reasons.empty() ? "good" : reasons.front();
    truth.qualityReasons.insert(truth.qualityReasons.end(), reasons.begin(), reasons.end());

    // --- truth: defect instances
    for (size_t i = 0; i < plans.size(); ++i) {
        const auto& d = plans[i];
        double cx, cy;
        warp.toImage(d.sx, d.sy, cx, cy);
        if (cx < -0.5 || cy < -0.5 || cx >= W - 0.5 || cy >= H - 0.5) continue;
        SimDefect sd;
        sd.type = d.type;
        sd.cls = d.cls;
        sd.x = cx;
        sd.y = cy;
        sd.extended = d.extended;
        const auto& b = boxes[i];
        if (b[2] >= 0) {
            for (int k = 0; k < 4; ++k) sd.bbox[k] = b[k];
        } else {
            const int ix = std::clamp(static_cast<int>(std::lround(cx)), 0, W - 1);
            const int iy = std::clamp(static_cast<int>(std::lround(cy)), 0, H - 1);
            sd.bbox[0] = sd.bbox[2] = ix;
            sd.bbox[1] = sd.bbox[3] = iy;
        }
        for (uint64_t k : d.sites) {
            const auto it = sites.find(k);
            if (it != sites.end() && it->second.index >= 0) sd.sites.push_back(it->second.index);
        }
        std::sort(sd.sites.begin(), sd.sites.end());
        sd.sites.erase(std::unique(sd.sites.begin(), sd.sites.end()), sd.sites.end());
        truth.defects.push_back(std::move(sd));
    }
    std::vector<int> edgeIds;
    for (const auto& [k, e] : edges) edgeIds.push_back(k);
    std::sort(edgeIds.begin(), edgeIds.end());
    // A step's sites: the atoms along it, within its labelled band and one dimer beyond (0.4 nm), so that a step is
    // one object however ragged its label gets (its label breaks into many pieces along a kinked edge).
    std::unordered_map<int, std::vector<int>> edgeSites;
    if (!edges.empty()) {
        const double reach = stepBand + 0.4;
        for (size_t i = 0; i < truth.atoms.size(); ++i) {
            const int xi = static_cast<int>(std::lround(truth.atoms[i].x)), yi = static_cast<int>(std::lround(truth.atoms[i].y));
            if (xi < 0 || yi < 0 || xi >= W || yi >= H) continue;
            const size_t p = static_cast<size_t>(yi) * W + xi;
            if (std::abs(f.edgeDist[p]) <= reach && edges.count(f.edgeIndex[p]))
                edgeSites[f.edgeIndex[p]].push_back(static_cast<int>(i));
        }
    }
    for (int k : edgeIds) {
        const auto& e = edges[k];
        SimDefect sd;
        sd.sites = std::move(edgeSites[k]);
        sd.type = "step_edge";
        sd.cls = PixelClass::StepEdge;
        sd.extended = true;
        sd.x = e[1] / e[0];
        sd.y = e[2] / e[0];
        sd.bbox[0] = static_cast<int>(e[3]);
        sd.bbox[1] = static_cast<int>(e[4]);
        sd.bbox[2] = static_cast<int>(e[5]);
        sd.bbox[3] = static_cast<int>(e[6]);
        truth.defects.push_back(std::move(sd));
    }
    (void)resolved;
    return out;
}

}  // namespace stmlens::sim
