#include "sim/Defects.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

namespace stmlens::sim {

double Primitive::reachNm(double blurSigma) const {
    switch (kind) {
        case Kind::Gauss: {
            const double s = blur ? std::sqrt(std::max(su, sv) * std::max(su, sv) + blurSigma * blurSigma)
                                  : std::max(su, sv);
            return 3.5 * s;
        }
        default: return std::hypot(su, sv) + 3 * soft + 2 * blurSigma;
    }
}

uint64_t atomKey(int terrace, int i, int j, int side) {
    return (static_cast<uint64_t>(terrace + 32768) & 0xFFFF) << 48 |
           (static_cast<uint64_t>(i + (1 << 23)) & 0xFFFFFF) << 24 |
           (static_cast<uint64_t>(j + (1 << 22)) & 0x7FFFFF) << 1 | static_cast<uint64_t>(side & 1);
}

void latticeToSurface(const TerraceLattice& L, double u, double v, double& sx, double& sy) {
    const double c = L.c, s = L.s;
    const double U = u + L.offU, V = v + L.offV;
    sx = U * c - V * s;
    sy = U * s + V * c;
}

void surfaceToLattice(const TerraceLattice& L, double sx, double sy, double& u, double& v) {
    const double c = L.c, s = L.s;
    u = sx * c + sy * s - L.offU;
    v = -sx * s + sy * c - L.offV;
}

double atomV(int j, int side) { return j * kRowPitchNm + (side ? 0.5 : -0.5) * kDimerBondNm; }

namespace {

// How a defect type looks in constant-height frames against the topographic rendering: amplitude and width
// factors, fitted to the labelled cda frames (bench_sim_realism --count 16, defect looks: contrast in robust
// sigma / equivalent diameter). Without them: single dihydrides +0.7 / 0.44 nm (real +2.5 / 0.69 nm, 70 %
// bright), Si vacancies -3.8 / 0.62 nm (real -5.6 / 1.10 nm), dihydride pairs -2.3 / 0.60 nm (real -3.0 /
// 0.42 nm); with them +2.6 / 0.65, -5.8 / 0.97 and -2.9 / 0.46.
struct CurrentLook {
    double amp = 1, size = 1;
};
constexpr CurrentLook kSameLook{1, 1};
constexpr CurrentLook kCurrentSingleDihydride{5.0, 1.0};
constexpr CurrentLook kCurrentSiVacancy{1.5, 1.7};
constexpr CurrentLook kCurrentDihydridePair{2.0, 0.6};

struct Placer {
    const SceneConfig& cfg;
    const Terraces& terraces;
    const ScanWarp& warp;
    Rng& rng;
    std::unordered_map<uint64_t, uint8_t>& state;
    std::unordered_set<uint64_t> occupied;   // dimer keys (side 0)

    Primitive gauss(double sx, double sy, const TerraceLattice& L, double su, double sv, double amp) const {
        Primitive p;
        p.sx = sx;
        p.sy = sy;
        p.ca = L.c;
        p.sa = L.s;
        p.su = su;
        p.sv = sv;
        p.amp = amp;
        return p;
    }
    LabelShape label(double sx, double sy, const TerraceLattice& L, double hu, double hv, PixelClass cls,
                     bool ellipse = true) const {
        LabelShape s;
        s.sx = sx;
        s.sy = sy;
        s.ca = L.c;
        s.sa = L.s;
        s.hu = hu;
        s.hv = hv;
        s.cls = cls;
        s.ellipse = ellipse;
        return s;
    }
    // Removes one atom of the rendered lattice exactly (same width and height as the lattice's atoms).
    void removeAtom(DefectPlan& d, const TerraceLattice& L, int T, int i, int j, int side, double fraction = 1.0) {
        double sx, sy;
        latticeToSurface(L, i * kDimerPitchNm, atomV(j, side), sx, sy);
        Primitive p = gauss(sx, sy, L, cfg.app.atomSigma, cfg.app.atomSigma, -cfg.app.atomAmp * fraction);
        d.prims.push_back(p);
        if (fraction >= 1.0) state[atomKey(T, i, j, side)] = kRemoved;
        d.sites.push_back(atomKey(T, i, j, side));
    }
    // Removes the dimer-row backbone over one dimer length (volume-equivalent Gaussian along the row).
    void removeRow(DefectPlan& d, const TerraceLattice& L, int i, int j, double fraction = 1.0) {
        double sx, sy;
        latticeToSurface(L, i * kDimerPitchNm, j * kRowPitchNm, sx, sy);
        d.prims.push_back(gauss(sx, sy, L, kDimerPitchNm / std::sqrt(2 * M_PI), cfg.app.rowSigma,
                                -cfg.app.rowAmp * fraction));
    }

    bool freeAround(int T, int i, int j, int ri, int rj) const {
        for (int a = -ri; a <= ri; ++a)
            for (int b = -rj; b <= rj; ++b)
                if (occupied.count(atomKey(T, i + a, j + b, 0))) return false;
        return true;
    }
    void occupy(int T, int i, int j) { occupied.insert(atomKey(T, i, j, 0)); }

    // A random point of the frame, snapped to a dimer on its terrace, away from step edges.
    bool pickSite(int& T, int& i, int& j, TerraceLattice& L) {
        const double x = rng.uniform(-0.5, warp.width - 0.5), y = rng.uniform(-0.5, warp.height - 0.5);
        double sx, sy;
        warp.toSurface(x, y, sx, sy);
        double dist = 0;
        T = terraces.terraceAt(sx, sy, &dist);
        if (std::abs(dist) < 1.2) return false;
        L = terraces.lattice(T);
        double u, v;
        surfaceToLattice(L, sx, sy, u, v);
        i = static_cast<int>(std::lround(u / kDimerPitchNm));
        j = static_cast<int>(std::lround(v / kRowPitchNm));
        return true;
    }

    void pointDefect(std::vector<DefectPlan>& out) {
        int T, i, j;
        TerraceLattice L;
        if (!pickSite(T, i, j, L)) return;
        if (!freeAround(T, i, j, 2, 1)) return;
        // Relative frequencies loosely after the Croshaw et al. census (DBs and vacancies dominate), and for surveys.
        // The 100-200 nm ntm/fsl surveys are dark-spotted: short dark dashes along the rows (dimer-vacancy lines)
        // are their commonest feature (1.65 % of their pixels below -3 robust sigma), so surveys draw etch pits
        // and missing dimers more often. bench_sim_realism: 0.95 -> 1.02 % with it; most single vacancies are
        // below a survey pixel, and what is still missing is probably larger dark areas.
        // Constant-height frames follow the 3068 labelled defects of the 46 cda frames instead (siloxane 36 %,
        // etch pits 14 %, dihydrides 13 %, raised Si 12 %, missing dimers 10 %, DBs 5 %): the Croshaw mix gave them
        // a third of the real dark pixels (0.70 against 2.28 % below -3 sigma, bench_sim_realism).
        struct Kind {
            const char* name;
            double census, survey, current;
        };
        static const Kind kinds[] = {
            {"dangling_bond", 0.25, 0.2, 0.05},     {"bare_dimer", 0.07, 0.05, 0.02},    {"missing_dimer", 0.12, 0.18, 0.10},
            {"vacancy_cluster", 0.07, 0.16, 0.14},  {"si_vacancy", 0.08, 0.07, 0.04},    {"single_dihydride", 0.1, 0.06, 0.025},
            {"dihydride_pair", 0.07, 0.05, 0.13},   {"siloxane", 0.10, 0.07, 0.36},      {"raised_si", 0.07, 0.09, 0.12},
            {"patch_1x1", 0.04, 0.04, 0.006},       {"patch_3x1", 0.03, 0.03, 0.009},
        };
        const bool survey = cfg.preset == Preset::Survey, current = cfg.mode == "current";
        double r = rng.uniform(), acc = 0;
        std::string kind = "dangling_bond";
        for (const Kind& k : kinds) {
            acc += current ? k.current : survey ? k.survey : k.census;
            if (r < acc) {
                kind = k.name;
                break;
            }
        }
        DefectPlan d;
        d.type = kind;
        double cx, cy;   // dimer centre
        latticeToSurface(L, i * kDimerPitchNm, j * kRowPitchNm, cx, cy);
        d.sx = cx;
        d.sy = cy;
        const auto& app = cfg.app;
        if (kind == "dangling_bond") {
            const int side = rng.integer(0, 1);
            double ax, ay;
            latticeToSurface(L, i * kDimerPitchNm, atomV(j, side), ax, ay);
            d.sx = ax;
            d.sy = ay;
            d.cls = PixelClass::Bright;
            state[atomKey(T, i, j, side)] = kBare;
            d.sites.push_back(atomKey(T, i, j, side));
            const double s = cfg.dbSigma * rng.uniform(0.85, 1.15);
            d.prims.push_back(gauss(ax, ay, L, s, s, cfg.dbHeight * rng.uniform(0.75, 1.25)));
            if (rng.chance(cfg.chargedFraction))
                d.prims.push_back(gauss(ax, ay, L, cfg.haloSigma, cfg.haloSigma, cfg.haloAmp * rng.uniform(0.7, 1.3)));
            d.labels.push_back(label(ax, ay, L, 0.5, 0.5, PixelClass::Bright));
        } else if (kind == "bare_dimer") {
            d.cls = PixelClass::Bright;
            for (int side = 0; side < 2; ++side) {
                state[atomKey(T, i, j, side)] = kBare;
                d.sites.push_back(atomKey(T, i, j, side));
            }
            d.prims.push_back(gauss(cx, cy, L, cfg.dbSigma, cfg.dbSigma * 1.35, cfg.dbHeight * rng.uniform(0.8, 1.2)));
            d.labels.push_back(label(cx, cy, L, 0.5, 0.65, PixelClass::Bright));
        } else if (kind == "raised_si") {
            d.cls = PixelClass::Bright;
            for (int side = 0; side < 2; ++side) {   // covered by the raised Si, still rendered below it
                state[atomKey(T, i, j, side)] = kRemoved;
                d.sites.push_back(atomKey(T, i, j, side));
            }
            const double s = rng.uniform(0.28, 0.42);
            d.prims.push_back(gauss(cx, cy, L, s, s * rng.uniform(0.9, 1.3), cfg.raisedHeight * rng.uniform(1.2, 2.0)));
            d.labels.push_back(label(cx, cy, L, 0.7, 0.75, PixelClass::Bright));
        } else if (kind == "single_dihydride") {
            const CurrentLook& look = current ? kCurrentSingleDihydride : kSameLook;
            const bool bright = rng.chance(current ? 0.7 : 0.6);
            d.cls = bright ? PixelClass::Bright : PixelClass::Dark;
            for (int side = 0; side < 2; ++side) d.sites.push_back(atomKey(T, i, j, side));
            d.prims.push_back(gauss(cx, cy, L, 0.3 * look.size, 0.35 * look.size,
                                    (bright ? 1 : -1) * rng.uniform(0.015, 0.035) * look.amp));
            d.labels.push_back(label(cx, cy, L, 0.45, 0.5, d.cls));
        } else if (kind == "missing_dimer" || kind == "vacancy_cluster" || kind == "si_vacancy") {
            d.cls = PixelClass::Dark;
            int nu = 1, nv = 1;
            if (kind == "vacancy_cluster") {
                // etch pits: mostly long along the row (dark "pills" several nm long), sometimes two rows wide;
                // the labelled pits of the constant-height cda frames are compact (0.84 nm across, bench_sim_realism);
                // the ntm/fsl surveys show short dark dashes (a few dimers), not the 5 nm pills of up to 13 dimers
                const bool current = cfg.mode == "current";
                nu = static_cast<int>(std::lround(rng.logUniform(current ? 1.5 : 2, current ? 3 : survey ? 6 : 13)));
                nv = rng.chance(current ? 0.15 : 0.3) ? 2 : 1;
                if (!freeAround(T, i, j, nu + 2, nv + 1)) return;
                d.extended = nu * nv >= 3;
            }
            const double frac = kind == "si_vacancy" ? 0.7 : 1.0;
            const CurrentLook& look = current && kind == "si_vacancy" ? kCurrentSiVacancy : kSameLook;
            double depth = (kind == "missing_dimer" ? cfg.shallowDepth : cfg.vacDepth) * (kind == "si_vacancy" ? 0.5 : 1.0) *
                           rng.uniform(0.8, 1.2) * look.amp;
            // A vacancy opens the layer below: darker than the (possibly dark, narrow) trough beside it.
            depth = std::max(depth, 1.5 * std::max(0.0, -cfg.app.troughAmp) + 0.01);
            double sumx = 0, sumy = 0;
            for (int a = 0; a < nu; ++a)
                for (int b = 0; b < nv; ++b) {
                    for (int side = 0; side < 2; ++side) removeAtom(d, L, T, i + a, j + b, side, frac);
                    removeRow(d, L, i + a, j + b, frac);
                    double x, y;
                    latticeToSurface(L, (i + a) * kDimerPitchNm, (j + b) * kRowPitchNm, x, y);
                    d.prims.push_back(gauss(x, y, L, 0.22 * look.size, (kind == "si_vacancy" ? 0.2 : 0.28) * look.size, -depth));
                    const double h = kind == "si_vacancy" ? 0.35 : 0.42;
                    d.labels.push_back(label(x, y, L, h, h + 0.12, PixelClass::Dark));
                    occupy(T, i + a, j + b);
                    sumx += x;
                    sumy += y;
                }
            d.sx = sumx / (nu * nv);
            d.sy = sumy / (nu * nv);
            if (kind == "missing_dimer" && cfg.missingDimerLobe > 0) {
                // Unlabelled: part of how the missing dimer looks, not a bright defect of its own.
                double x, y;
                latticeToSurface(L, (i + cfg.missingDimerLobeSide * 0.85) * kDimerPitchNm, j * kRowPitchNm, x, y);
                d.prims.push_back(gauss(x, y, L, 0.3, 0.22, cfg.missingDimerLobe * cfg.dbHeight));
            }
            if (kind == "si_vacancy")
                for (int side = 0; side < 2; ++side) state[atomKey(T, i, j, side)] = kRemoved;
        } else if (kind == "dihydride_pair") {
            const CurrentLook& look = current ? kCurrentDihydridePair : kSameLook;
            d.cls = PixelClass::Dark;
            double x, y;
            latticeToSurface(L, i * kDimerPitchNm, (j + 0.5) * kRowPitchNm, x, y);
            d.sx = x;
            d.sy = y;
            removeAtom(d, L, T, i, j, 1, 0.6);
            removeAtom(d, L, T, i, j + 1, 0, 0.6);
            d.prims.push_back(gauss(x, y, L, 0.3 * look.size, 0.25 * look.size, -0.6 * cfg.shallowDepth * look.amp));
            d.labels.push_back(label(x, y, L, 0.45, 0.5, PixelClass::Dark));
            occupy(T, i, j + 1);
        } else if (kind == "siloxane") {
            // Labelled by how it looks: the coarse classes are appearance classes.
            d.cls = cfg.siloxaneBright ? PixelClass::Bright : PixelClass::Dark;
            for (int side = 0; side < 2; ++side) d.sites.push_back(atomKey(T, i, j, side));
            if (cfg.siloxaneBright) {
                const double s = rng.uniform(0.2, 0.28);
                // In the cda frames siloxanes stand above the DBs (+4.8 against +3.9 robust sigma).
                const double over = cfg.mode == "current" ? 1.4 : 1.0;
                d.prims.push_back(gauss(cx, cy, L, s, s * rng.uniform(0.9, 1.2), over * cfg.dbHeight * rng.uniform(0.8, 1.2)));
            } else {
                d.prims.push_back(gauss(cx, cy, L, 0.2, 0.22, -rng.uniform(0.03, 0.06)));
                d.prims.push_back(gauss(cx, cy, L, 0.45, 0.5, rng.uniform(0.01, 0.025)));
            }
            d.labels.push_back(label(cx, cy, L, 0.45, 0.5, d.cls));
        } else {   // patch_1x1 (4x2 sites) or patch_3x1 (4x4 sites): H-terminated, labelled Lattice
            const bool p3 = kind == "patch_3x1";
            const int nu = p3 ? 4 : 4, nv = p3 ? 2 : 1;
            if (!freeAround(T, i, j, nu + 1, nv + 1)) return;
            d.cls = PixelClass::Lattice;
            d.extended = true;
            double x, y;
            latticeToSurface(L, (i + 0.5 * (nu - 1)) * kDimerPitchNm, (j + 0.5 * (nv - 1)) * kRowPitchNm, x, y);
            d.sx = x;
            d.sy = y;
            Primitive cover = gauss(x, y, L, 0.5 * nu * kDimerPitchNm, 0.5 * nv * kRowPitchNm + 0.2, p3 ? 0.85 : 0.7);
            cover.kind = Primitive::Kind::Cover;
            cover.soft = 0.15;
            d.prims.push_back(cover);
            if (p3) {
                Primitive st = cover;
                st.kind = Primitive::Kind::Stripes;
                st.amp = std::abs(app.rowAmp) * 0.6 + 0.01;
                st.period = 3 * kDimerPitchNm;
                d.prims.push_back(st);
            } else {
                d.prims.push_back(gauss(x, y, L, cover.su, cover.sv, 0.01));
            }
            for (int a = 0; a < nu; ++a)
                for (int b = 0; b < nv; ++b) {
                    occupy(T, i + a, j + b);
                    for (int side = 0; side < 2; ++side) d.sites.push_back(atomKey(T, i + a, j + b, side));
                }
            d.labels.push_back(label(x, y, L, cover.su, cover.sv, PixelClass::Lattice, false));
        }
        occupy(T, i, j);
        out.push_back(std::move(d));
    }

    void contamination(std::vector<DefectPlan>& out) {
        const double x = rng.uniform(-0.5, warp.width - 0.5), y = rng.uniform(-0.5, warp.height - 0.5);
        double sx, sy;
        warp.toSurface(x, y, sx, sy);
        DefectPlan d;
        d.type = "contamination";
        d.cls = PixelClass::Contamination;
        d.extended = true;
        d.sx = sx;
        d.sy = sy;
        const double D = rng.logUniform(cfg.contamMinNm, cfg.contamMaxNm);
        const double h = std::min(2.0, rng.uniform(0.12, 0.4) + D * rng.uniform(0.02, 0.08)) * cfg.contamHeightScale;
        const int lumps = D < 2 ? 1 : rng.integer(1, 4);
        TerraceLattice L;
        for (int k = 0; k < lumps; ++k) {
            const double ox = k == 0 ? 0 : rng.normal(0, D / 5), oy = k == 0 ? 0 : rng.normal(0, D / 5);
            const double s = D / 4 * rng.uniform(0.6, 1.0) * (k == 0 ? 1.0 : 0.7);
            const double amp = h * (k == 0 ? 1.0 : rng.uniform(0.4, 0.9));
            L.angleRad = rng.uniform(0, M_PI);
            L.c = std::cos(L.angleRad);
            L.s = std::sin(L.angleRad);
            const double e = rng.uniform(0.7, 1.0);
            Primitive g = gauss(sx + ox, sy + oy, L, s, s * e, amp);
            d.prims.push_back(g);
            // The lattice is invisible wherever the blob stands higher than a few percent of its peak.
            Primitive c = g;
            c.kind = Primitive::Kind::Cover;
            c.ellipse = true;
            c.su = 2.2 * s;
            c.sv = 2.2 * s * e;
            c.soft = 0.3 * s;
            c.amp = 1.0;
            d.prims.push_back(c);
            d.labels.push_back(label(sx + ox, sy + oy, L, 1.9 * s, 1.9 * s * e, PixelClass::Contamination));
        }
        out.push_back(std::move(d));
    }

    // A lithographically depassivated patch: a rectangle the tip wrote, in the scan frame or along the rows,
    // from a short line to tens of nm, across whatever steps lie under it (the real patches of
    // ntm_citythameslink run over ten terraces), most but not all of its dimers bare.
    void lithoPatch(std::vector<DefectPlan>& out) {
        int T, i, j;
        TerraceLattice L;
        if (!pickSite(T, i, j, L)) return;
        const double ext = std::max(warp.width * warp.pixel.x_nm, warp.height * warp.pixel.y_nm);
        const double maxHalf = std::max(1.2, std::min(30.0, 0.4 * ext));
        const double hu = std::exp(rng.uniform(0.0, std::log(maxHalf))), hv = std::exp(rng.uniform(0.0, std::log(maxHalf)));
        DefectPlan d;
        d.type = "litho_patch";
        d.cls = PixelClass::BareSi;
        d.extended = true;
        latticeToSurface(L, i * kDimerPitchNm, j * kRowPitchNm, d.sx, d.sy);
        TerraceLattice frame = L;   // only the axes are used
        if (rng.chance(0.5)) frame.c = 1, frame.s = 0;   // written along the scan axes
        // Real patches stand out mostly by texture: the ntm_citythameslink ones are 0.5 and -0.2 robust sigma of
        // the line-levelled scan above their surroundings, with 2-3.5 x their high-frequency power.
        Primitive box = gauss(d.sx, d.sy, frame, hu, hv, rng.uniform(-0.01, 0.06));
        box.kind = Primitive::Kind::Box;
        box.soft = 0.2;
        d.prims.push_back(box);
        Primitive cover = box;
        cover.kind = Primitive::Kind::Cover;
        cover.amp = rng.uniform(0.0, 0.7);
        d.prims.push_back(cover);
        const double bareFraction = rng.uniform(0.6, 1.0);
        // The terraces under the patch: its corners, centre and edge midpoints (a patch is never much wider
        // than a few terraces' span of these points without one of them landing on each).
        std::set<int> under;
        for (int a = -4; a <= 4; ++a)
            for (int b = -4; b <= 4; ++b) {
                const double u = hu * a / 4, v = hv * b / 4;
                under.insert(terraces.terraceAt(d.sx + u * frame.c - v * frame.s, d.sy + u * frame.s + v * frame.c));
            }
        const double reach = std::hypot(hu, hv);
        for (int t : under) {
            const TerraceLattice Lt = terraces.lattice(t);
            double cu, cv;
            surfaceToLattice(Lt, d.sx, d.sy, cu, cv);
            const int i0 = static_cast<int>(std::floor((cu - reach) / kDimerPitchNm)), i1 = static_cast<int>(std::ceil((cu + reach) / kDimerPitchNm));
            const int j0 = static_cast<int>(std::floor((cv - reach) / kRowPitchNm)), j1 = static_cast<int>(std::ceil((cv + reach) / kRowPitchNm));
            for (int a = i0; a <= i1; ++a)
                for (int b = j0; b <= j1; ++b) {
                    double x, y;
                    latticeToSurface(Lt, a * kDimerPitchNm, b * kRowPitchNm, x, y);
                    const double du = (x - d.sx) * frame.c + (y - d.sy) * frame.s, dv = -(x - d.sx) * frame.s + (y - d.sy) * frame.c;
                    if (std::abs(du) > hu || std::abs(dv) > hv) continue;
                    if (terraces.terraceAt(x, y) != t || occupied.count(atomKey(t, a, b, 0))) continue;
                    occupy(t, a, b);
                    if (!rng.chance(bareFraction)) continue;   // still H-terminated
                    for (int side = 0; side < 2; ++side) {
                        state[atomKey(t, a, b, side)] = kBare;
                        d.sites.push_back(atomKey(t, a, b, side));
                    }
                    // Bare dimers look brighter and uneven.
                    d.prims.push_back(gauss(x, y, Lt, cfg.dbSigma * 0.8, cfg.dbSigma, rng.uniform(0.0, 1.0) * cfg.dbHeight));
                }
        }
        d.labels.push_back(label(d.sx, d.sy, frame, hu, hv, PixelClass::BareSi, false));
        out.push_back(std::move(d));
    }
};

}  // namespace

std::vector<DefectPlan> planDefects(const SceneConfig& cfg, const Terraces& terraces, const ScanWarp& warp, Rng& rng,
                                    std::unordered_map<uint64_t, uint8_t>& atomState) {
    std::vector<DefectPlan> out;
    Placer p{cfg, terraces, warp, rng, atomState, {}};
    const double area = warp.width * warp.pixel.x_nm * warp.height * warp.pixel.y_nm;
    auto count = [&](double mean) {
        if (mean <= 0) return 0;
        return static_cast<int>(std::floor(mean * rng.uniform(0.7, 1.3) + rng.uniform()));
    };
    for (int k = 0; k < cfg.lithoPatches; ++k) p.lithoPatch(out);
    const int nPoint = count(cfg.defectDensity * area / (kDimerPitchNm * kRowPitchNm));
    for (int k = 0; k < nPoint; ++k) p.pointDefect(out);
    const int nContam = count(cfg.contaminationPer100nm2 * area / 100);
    for (int k = 0; k < nContam; ++k) p.contamination(out);
    return out;
}

}  // namespace stmlens::sim
