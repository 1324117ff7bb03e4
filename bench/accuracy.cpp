// Accuracy of the full pipeline, printed as tables:
//   1. held-out simulated scans per preset: atom F1 (0.1 nm) inside the simulated resolved area (atoms reported
//      outside it are counted, with the fraction on a true site; a site reported inside it on a true site just
//      outside it, such as a dimer straddling the image edge, counts neither way), and defect F1 (0.5 nm) per coarse class, over the
//      whole scan and inside the resolved area only (br.res / dk.res); a survey at 0.5 nm/px, where the rows are beyond
//      the pixel grid, scores the defects only ("-" where nothing was there to score);
//   2. atom and defect F1 against noise level; then, over both, where the missed atoms and point defects are
//      (per fine type, and per row for the dark ones);
//   3. the real labelled cda_* frames (../shared/data/real): atom-site F1 and defect F1 per class.
// Usage: bench_accuracy [--models DIR] [--scans N] [--quick] [--real-only | --sim-only] [--holdout-from CARD]
//                       [--split P] [--min-score S] [--seed-offset N] [--atom-threshold P] [--precision auto|fp32|bf16]
//   --split, --min-score: defect split persistence / faint-defect threshold instead of the pipeline's;
//   --seed-offset: other simulated seeds
//   --per-scan: also list every simulated scan's counts (atoms, bright, dark: TP/FP/FN)
//   --holdout-from: also score only the frames that fine-tuned card held out (to compare another model on them)
#include <cmath>
#include <complex>
#include <numeric>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>
#include <memory>
#include <tuple>
#include <string>

#include <nanoflann.hpp>
#include <opencv2/imgproc.hpp>

#include "BenchTiming.h"
#include "analysis/Instances.h"
#include "analysis/KdPoints.h"
#include "analysis/Pipeline.h"
#include "analysis/SitePairs.h"
#include "core/Errors.h"
#include "nn/LabelledScans.h"
#include "nn/DefectTypeTraining.h"
#include "nn/Metrics.h"
#include "nn/ModelCard.h"
#include "nn/Model.h"
#include "sim/Simulator.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {

struct Tally {
    DetectionCounts atoms;
    std::map<std::string, DetectionCounts> defects;
    // The same inside the simulated resolved area only (truth and reported defects outside it ignored), the
    // area the atoms are scored in.
    std::map<std::string, DetectionCounts> defectsResolved;
    std::map<std::string, ContactCounts> extended;   // step edges, contamination, bare Si, by contact
    int scans = 0;
    double ms = 0;
    int outside = 0, outsideAtSite = 0;   // atoms reported outside the resolved area; of them, on a true site
    // Truth sites with no reported atom within the tolerance, by where they are: no dimer-row periodicity in
    // the scan's spectrum, called unresolved by the assessment, under contamination, or missed by the atom finder.
    int missNoRows = 0, missUnresolved = 0, missContaminated = 0, missFinder = 0;
    // Every 5th scored truth site: is the pipeline's local row direction there (its lattice domain) the truth's
    // within 10 degrees, turned (a terrace read 90 degrees off), or none (no domain there)?
    int rowRight = 0, rowTurned = 0, rowNone = 0;
};
std::vector<std::pair<std::string, Tally>> gMissRows;   // per table row, for the missed-sites table

// --per-scan: one line per simulated scan, to find the scans a table row's errors come from.
bool gPerScan = false;
bool gFineTables = true;   // off for rows whose rows are beyond the pixel grid: they would swamp the fine-type tables
std::vector<std::string> gPerScanLines;
// The image assessment on every simulated scan: the truth's quality label -> the assessment's top class and
// verdict (the networks' classes are the truth's labels).
struct QualityTally {
    int scans = 0;
    std::map<std::string, int> topClass, verdict;
};
std::map<std::string, QualityTally> gQuality;

std::string tpFpFn(const DetectionCounts& c) {
    return std::to_string(c.truePositives) + "/" + std::to_string(c.falsePositives) + "/" + std::to_string(c.falseNegatives);
}

// Per simulated fine defect type (point defects only): how many there were, how many have a reported defect of
// their own coarse class within the tolerance, and how many have some reported defect there (any class).
struct FineTally {
    int total = 0, sameClass = 0, anyClass = 0;
};
std::map<std::string, FineTally> gFine;        // over every simulated scan of the run
DetectionCounts gFalseNearTruth, gFalseAlone;  // reported point defects: near an unmatched truth defect or not
// Truth point defects not found as their class, by where they are (first that applies): outside the simulated
// resolved area, inside an extended truth defect's box (contamination, patch, etch pit), reported only as part of
// an extended instance of its class, a reported defect of the other class within the tolerance, a point defect of
// its own class within 1 nm (found but misplaced), or nothing reported nearby.
struct MissTally {
    int total = 0, unresolved = 0, inExtended = 0, merged = 0, otherClass = 0, misplaced = 0, nothing = 0;
};
std::map<std::string, MissTally> gDefectMiss;  // per fine type
// Dark point defects not found as dark, per row: with a bright point defect reported within 0.8 nm (the bright lobe
// beside a constant-height missing dimer is reported in its place), with nothing reported within 1 nm, or else.
struct DarkMissTally {
    int total = 0, missed = 0, brightNear = 0, nothing = 0;
};
std::vector<std::pair<std::string, DarkMissTally>> gDarkMiss;   // in the order the rows run
// Offset (nm) from each truth point defect to the nearest reported defect of its class within 1 nm, per fine type:
// a systematic mean says the instance centroid sits off the defect, a wide spread says it wanders.
std::map<std::string, std::vector<Point2>> gDefectOffsets;

bool within(const Point2& a, const Point2& b, double tol) { return std::hypot(a.x - b.x, a.y - b.y) <= tol; }

std::vector<Point2> truthAtomPoints(const sim::SimSample& s, bool atomSites) {
    std::vector<Point2> pts;
    if (atomSites) {
        for (const auto& a : s.truth.atoms) pts.push_back({a.x, a.y});
        return pts;
    }
    std::map<int, std::pair<Point2, int>> dimers;
    for (const auto& a : s.truth.atoms) {
        auto& d = dimers[a.dimerId];
        d.first.x += a.x;
        d.first.y += a.y;
        d.second++;
    }
    for (auto& [id, d] : dimers) pts.push_back({d.first.x / d.second, d.first.y / d.second});
    return pts;
}

// Labelled lattice sites (one per H atom, two per dimer) paired into dimer centres: closest pairs first, at most
// maxPx apart. Sites left unpaired (at the edge of the labelled area) are dropped.
std::vector<Point2> pairSitesIntoDimers(const std::vector<Point2>& sites, double maxPx) {
    std::vector<double> xs, ys;
    for (const auto& p : sites) xs.push_back(p.x), ys.push_back(p.y);
    std::vector<Point2> centres;
    for (const auto& [i, j] : closestPairs(xs, ys, maxPx)) centres.push_back({(xs[i] + xs[j]) / 2, (ys[i] + ys[j]) / 2});
    return centres;
}

// Extended defects have no meaningful centre (a labelled step edge is a chain of sites across the frame, the
// reported one its own line a pixel or two beside it), so they are scored by contact within the 0.5 nm
// tolerance (nn/Metrics.h matchByContact), not by centroid.
const std::vector<std::string> kExtendedClasses{"step_edge", "contamination", "bare_si"};

// Each reported instance of `cls` as the pixels of its box whose arg-max class is `cls` (as the pipeline
// labels them), numbered from 1; with `known`, only pixels where the label is known.
Image instanceIds(const std::vector<Defect>& defects, const AnalysisMaps& maps, const std::vector<int>& argmax,
                  const std::string& cls, const Image* known) {
    const int w = maps.levelled.width(), h = maps.levelled.height();
    Image ids(w, h, 0.0f);
    const long c = std::find(maps.defectClasses.begin(), maps.defectClasses.end(), cls) - maps.defectClasses.begin();
    if (c >= static_cast<long>(maps.defectClasses.size())) return ids;
    int next = 0;
    for (const auto& d : defects) {
        if (d.cls != cls) continue;
        ++next;
        for (int y = std::max(0, d.bbox[1]); y <= std::min(h - 1, d.bbox[3]); ++y)
            for (int x = std::max(0, d.bbox[0]); x <= std::min(w - 1, d.bbox[2]); ++x)
                if (argmax[static_cast<size_t>(y) * w + x] == c && ids.at(x, y) == 0.0f && (!known || known->at(x, y) > 0.5f))
                    ids.at(x, y) = static_cast<float>(next);
    }
    return ids;
}

// The truth's objects of one pixel class: its connected components (8-connected) of at least minArea pixels.
std::vector<std::vector<Point2>> truthObjects(const Image& labels, sim::PixelClass cls, int minArea) {
    cv::Mat bin(labels.height(), labels.width(), CV_8U);
    for (int y = 0; y < labels.height(); ++y)
        for (int x = 0; x < labels.width(); ++x)
            bin.at<uint8_t>(y, x) = std::lround(labels.at(x, y)) == static_cast<int>(cls) ? 1 : 0;
    cv::Mat comp;
    const int n = cv::connectedComponents(bin, comp, 8, CV_32S);
    std::vector<std::vector<Point2>> objects(std::max(0, n - 1));
    for (int y = 0; y < comp.rows; ++y)
        for (int x = 0; x < comp.cols; ++x)
            if (const int k = comp.at<int>(y, x); k > 0) objects[k - 1].push_back({double(x), double(y)});
    std::erase_if(objects, [minArea](const auto& o) { return static_cast<int>(o.size()) < minArea; });
    return objects;
}

// The truth's steps, one object each, at the sites along it (the simulator's step_edge instances): the step label
// of a kinked edge breaks into many components, which counted pieces of steps, not steps.
std::vector<std::vector<Point2>> truthSteps(const sim::SimTruth& truth) {
    std::vector<std::vector<Point2>> steps;
    for (const auto& d : truth.defects) {
        if (d.cls != sim::PixelClass::StepEdge || d.sites.empty()) continue;
        steps.emplace_back();
        for (int i : d.sites) steps.back().push_back({truth.atoms[i].x, truth.atoms[i].y});
    }
    return steps;
}

// whenInverted: the pipeline for scans whose truth has the rows inverted (--row-contrast given), else none.
void scoreSim(const Pipeline& usual, const Pipeline* whenInverted, const sim::SimParams& params, uint64_t seed, Tally& t,
              const std::string& row) {
    sim::SimSample s = sim::simulate(params, seed);
    s.image.pixelSize = params.pixelSize;
    AnalysisMaps maps;
    const Pipeline& p = whenInverted && s.truth.rowsInverted ? *whenInverted : usual;
    AnalysisResult r = p.analyzeImage(s.image, &maps);
    t.ms += r.timingMs["total"];
    ++t.scans;
    {
        QualityTally& q = gQuality[s.truth.quality];
        ++q.scans;
        ++q.verdict[r.assessment.verdict];
        const auto top = std::max_element(r.assessment.scores.begin(), r.assessment.scores.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; });
        ++q.topClass[top == r.assessment.scores.end() ? std::string("(none)") : top->first];
    }
    const double px = params.pixelSize.x_nm;
    // Atoms are scored inside the truth's resolved area only: elsewhere the pipeline is right to report none,
    // and not wrong to report real sites (a don't-care area, as the unlabelled parts of the real frames).
    auto resolvedAt = [&](const Point2& q) {
        const int xi = std::clamp(static_cast<int>(std::lround(q.x)), 0, s.image.width() - 1);
        const int yi = std::clamp(static_cast<int>(std::lround(q.y)), 0, s.image.height() - 1);
        return q.x >= 0 && q.y >= 0 && q.x < s.image.width() && q.y < s.image.height() && s.truth.resolvedMask.at(xi, yi) > 0.5f;
    };
    std::vector<Point2> pred, outside;
    for (const auto& a : r.atoms) (resolvedAt({a.x, a.y}) ? pred : outside).push_back({a.x, a.y});
    // Sites outside the scored area (past the image edge, where a dimer straddles it, or outside the resolved
    // area) are don't-care truth: a reported site that lands on one is neither right nor wrong.
    std::vector<Point2> truth, dontCare;
    const std::vector<Point2> allSites = truthAtomPoints(s, r.lattice.site == "atom");
    for (const auto& q : allSites) (resolvedAt(q) ? truth : dontCare).push_back(q);
    // The don't-care area is reported too, so that inventions there do not go unseen.
    t.outside += static_cast<int>(outside.size());
    const double atomTolerance = (r.lattice.site == "atom" ? 0.1 : 0.2) / px;
    t.outsideAtSite += matchPoints(outside, allSites, atomTolerance).truePositives;
    const DetectionCounts atomCounts = matchPoints(pred, truth, dontCare, atomTolerance);
    t.atoms += atomCounts;
    int rowRight = 0, rowTurned = 0, rowNone = 0;   // this scan's, for --per-scan
    for (size_t i = 0; i < truth.size(); i += 5) {
        const double want = simulatedRowDirection(s, truth[i].x, truth[i].y);
        if (!std::isfinite(want)) continue;
        const int xi = std::clamp(static_cast<int>(std::lround(truth[i].x)), 0, s.image.width() - 1);
        const int yi = std::clamp(static_cast<int>(std::lround(truth[i].y)), 0, s.image.height() - 1);
        const float got = maps.rowDirection.empty() ? -1.0f : maps.rowDirection.at(xi, yi);
        if (!(got >= 0)) {
            ++rowNone;
            continue;
        }
        const double off = std::abs(std::remainder(got - want, 180.0));
        ++(off < 10 ? rowRight : rowTurned);
    }
    t.rowRight += rowRight;
    t.rowTurned += rowTurned;
    t.rowNone += rowNone;
    {
        const auto contam = std::find(maps.defectClasses.begin(), maps.defectClasses.end(), "contamination") - maps.defectClasses.begin();
        for (const auto& q : truth) {
            bool found = false;
            for (const auto& a : pred) found = found || within(a, q, atomTolerance);
            if (found) continue;
            const int xi = std::clamp(static_cast<int>(std::lround(q.x)), 0, s.image.width() - 1);
            const int yi = std::clamp(static_cast<int>(std::lround(q.y)), 0, s.image.height() - 1);
            if (!r.lattice.found) ++t.missNoRows;
            else if (maps.resolved.at(xi, yi) < 0.5f) ++t.missUnresolved;
            else if (contam < static_cast<long>(maps.defectProb.size()) && maps.defectProb[contam].at(xi, yi) > 0.5f) ++t.missContaminated;
            else ++t.missFinder;
        }
    }
    // Point defects against point defects: reported extended instances (large dark areas such as etch pits,
    // merged blobs) are not point detections, and a reported point defect inside an extended truth defect (an
    // etch pit, a 1x1/3x1 patch, contamination, with the tolerance around it) is neither right nor wrong: the
    // truth and the pipeline draw the line between a small cluster and a point defect in slightly different
    // places.
    const double extMargin = 0.5 / px;
    auto inExtendedTruth = [&](const Point2& q, double marginPx) {
        for (const auto& e : s.truth.defects)
            if (e.extended && e.type != "step_edge" && q.x >= e.bbox[0] - marginPx && q.x <= e.bbox[2] + marginPx &&
                q.y >= e.bbox[1] - marginPx && q.y <= e.bbox[3] + marginPx)
                return true;
        return false;
    };
    std::string perScanDefects;
    for (const char* cls : {"bright", "dark"}) {
        std::vector<Point2> pd, td;
        for (const auto& d : r.defects)
            if (d.cls == cls && !d.extended && !inExtendedTruth({d.x, d.y}, extMargin)) pd.push_back({d.x, d.y});
        for (const auto& d : s.truth.defects)
            if (std::string(sim::pixelClassName(d.cls)) == cls && !d.extended) td.push_back({d.x, d.y});
        const DetectionCounts dc = matchPoints(pd, td, 0.5 / px);
        t.defects[cls] += dc;
        perScanDefects += " " + tpFpFn(dc) + " |";
        std::vector<Point2> pdr, tdr;
        for (const auto& q : pd)
            if (resolvedAt(q)) pdr.push_back(q);
        for (const auto& q : td)
            if (resolvedAt(q)) tdr.push_back(q);
        t.defectsResolved[cls] += matchPoints(pdr, tdr, 0.5 / px);
    }
    const std::vector<int> argmax = argmaxLabels(maps.defectProb);
    const int minArea = std::max(1, static_cast<int>(std::lround(PipelineOptions{}.minDefectAreaNm2 / (px * px))));
    for (int k = 0; k < sim::kPixelClassCount; ++k) {
        const auto pc = static_cast<sim::PixelClass>(k);
        const std::string cls = sim::pixelClassName(pc);
        if (std::find(kExtendedClasses.begin(), kExtendedClasses.end(), cls) == kExtendedClasses.end()) continue;
        t.extended[cls] += matchByContact(instanceIds(r.defects, maps, argmax, cls, nullptr),
                                          pc == sim::PixelClass::StepEdge ? truthSteps(s.truth)
                                                                          : truthObjects(s.truth.labels, pc, minArea),
                                          0.5 / px);
    }
    if (gPerScan)
        gPerScanLines.push_back("| " + row + " | " + std::to_string(seed) + " | " + s.truth.mode + " | " +
                                (s.truth.rowsInverted ? "dark" : "bright") + " | " + r.lattice.rowContrast + " | " +
                                tpFpFn(atomCounts) + " |" + perScanDefects + " " + std::to_string(rowRight) + "/" +
                                std::to_string(rowTurned) + "/" + std::to_string(rowNone) + " |");
    if (!gFineTables) return;
    const double tol = 0.5 / px;
    for (const auto& d : s.truth.defects) {
        const std::string cls = sim::pixelClassName(d.cls);
        if (d.extended || (cls != "bright" && cls != "dark")) continue;
        FineTally& f = gFine[d.type];
        ++f.total;
        bool same = false, any = false;
        bool mergedExtended = false;  // within the tolerance of a reported extended instance of its class only
        for (const auto& q : r.defects) {
            if (!within({q.x, q.y}, {d.x, d.y}, tol)) continue;
            any = true;
            same = same || (q.cls == cls && !q.extended);
            mergedExtended = mergedExtended || (q.cls == cls && q.extended);
        }
        f.sameClass += same;
        f.anyClass += any;
        {
            double best = 2 * tol;
            Point2 off{NAN, NAN};
            for (const auto& q : r.defects)
                if (q.cls == cls && !q.extended && std::hypot(q.x - d.x, q.y - d.y) < best) {
                    best = std::hypot(q.x - d.x, q.y - d.y);
                    off = {(q.x - d.x) * px, (q.y - d.y) * px};
                }
            if (std::isfinite(off.x)) gDefectOffsets[d.type].push_back(off);
        }
        if (cls == "dark") {
            if (gDarkMiss.empty() || gDarkMiss.back().first != row) gDarkMiss.push_back({row, {}});
            DarkMissTally& dm = gDarkMiss.back().second;
            ++dm.total;
            if (!same) {
                ++dm.missed;
                bool brightNear = false, anyNear = false;
                for (const auto& q : r.defects) {
                    brightNear = brightNear || (q.cls == "bright" && !q.extended && within({q.x, q.y}, {d.x, d.y}, 0.8 / px));
                    anyNear = anyNear || within({q.x, q.y}, {d.x, d.y}, 1.0 / px);
                }
                dm.brightNear += brightNear;
                dm.nothing += !brightNear && !anyNear;
            }
        }
        if (same) continue;
        MissTally& m = gDefectMiss[d.type];
        ++m.total;
        const int xi = std::clamp(static_cast<int>(std::lround(d.x)), 0, s.image.width() - 1);
        const int yi = std::clamp(static_cast<int>(std::lround(d.y)), 0, s.image.height() - 1);
        const bool inExt = inExtendedTruth({d.x, d.y}, 0.0);   // d itself is a point defect, never extended
        bool misplaced = false;
        for (const auto& q : r.defects)
            if (q.cls == cls && !q.extended && within({q.x, q.y}, {d.x, d.y}, 2 * tol)) misplaced = true;
        if (s.truth.resolvedMask.at(xi, yi) < 0.5f) ++m.unresolved;
        else if (inExt) ++m.inExtended;
        else if (mergedExtended) ++m.merged;
        else if (any) ++m.otherClass;
        else if (misplaced) ++m.misplaced;
        else ++m.nothing;
    }
    // Where do reported point defects without a truth defect of their class nearby come from?
    for (const auto& q : r.defects) {
        if ((q.cls != "bright" && q.cls != "dark") || q.extended || inExtendedTruth({q.x, q.y}, extMargin)) continue;
        bool ownClass = false, someTruth = false;
        for (const auto& d : s.truth.defects) {
            if (!within({q.x, q.y}, {d.x, d.y}, d.extended ? 2 * tol : tol)) continue;
            someTruth = true;
            ownClass = ownClass || (!d.extended && sim::pixelClassName(d.cls) == q.cls);
        }
        if (ownClass) continue;
        if (someTruth) ++gFalseNearTruth.falsePositives;
        else ++gFalseAlone.falsePositives;
    }
}

void printQualityTable() {
    std::set<std::string> classes;
    for (const auto& [truth, q] : gQuality)
        for (const auto& [c, n] : q.topClass) classes.insert(c);
    std::printf("\n## Image assessment on the simulated scans above (both tables)\n\n"
                "Each truth quality label: the scans, the share whose assessment's top class it is, the assessment's top "
                "classes, and its verdicts.\n\n| truth quality | scans | top class right |");
    for (const auto& c : classes) std::printf(" %s |", c.c_str());
    std::printf(" usable / degraded / unusable |\n|---|---|---|");
    for (size_t i = 0; i < classes.size(); ++i) std::printf("---|");
    std::printf("---|\n");
    for (const auto& [truth, q] : gQuality) {
        auto count = [&](const std::map<std::string, int>& m, const std::string& k) { return m.count(k) ? m.at(k) : 0; };
        std::printf("| %s | %d | %.2f |", truth.c_str(), q.scans, double(count(q.topClass, truth)) / q.scans);
        for (const auto& c : classes) std::printf(" %d |", count(q.topClass, c));
        std::printf(" %d / %d / %d |\n", count(q.verdict, "usable"), count(q.verdict, "degraded"), count(q.verdict, "unusable"));
    }
}

void printFineTable() {
    std::printf("\n## Simulated point defects by fine type (every simulated scan above)\n\n");
    std::printf("| fine type | instances | found as its class (0.5 nm) | found as any defect |\n|---|---|---|---|\n");
    for (const auto& [type, f] : gFine)
        std::printf("| %s | %d | %.2f | %.2f |\n", type.c_str(), f.total, f.total ? double(f.sameClass) / f.total : 0.0,
                    f.total ? double(f.anyClass) / f.total : 0.0);
    std::printf("\nTruth point defects not found as their class, by where they are (first that applies):\n\n"
                "| fine type | missed | truth unresolved | in an extended truth defect | in a reported extended one | "
                "found as the other class | own class within 1 nm | nothing near |\n|---|---|---|---|---|---|---|---|\n");
    for (const auto& [type, m] : gDefectMiss) {
        auto sh = [&](int v) { return m.total ? double(v) / m.total : 0.0; };
        std::printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", type.c_str(), m.total, sh(m.unresolved),
                    sh(m.inExtended), sh(m.merged), sh(m.otherClass), sh(m.misplaced), sh(m.nothing));
    }
    std::printf("\nDark point defects not found as dark (0.5 nm), per row: with a bright point defect reported within "
                "0.8 nm in their place, with no defect reported within 1 nm, or else:\n\n| row | dark | missed | bright "
                "within 0.8 nm | nothing within 1 nm | else |\n|---|---|---|---|---|---|\n");
    for (const auto& [row, dm] : gDarkMiss)
        std::printf("| %s | %d | %d | %d | %d | %d |\n", row.c_str(), dm.total, dm.missed, dm.brightNear, dm.nothing,
                    dm.missed - dm.brightNear - dm.nothing);
    std::printf("\nOffset from each truth point defect to the nearest reported defect of its class within 1 nm "
                "(nm; x along the image's columns):\n\n| fine type | n | mean dx | mean dy | median distance | "
                "90th percentile |\n|---|---|---|---|---|---|\n");
    for (const auto& [type, v] : gDefectOffsets) {
        double mx = 0, my = 0;
        std::vector<double> dist;
        for (const auto& o : v) {
            mx += o.x / v.size();
            my += o.y / v.size();
            dist.push_back(std::hypot(o.x, o.y));
        }
        std::sort(dist.begin(), dist.end());
        std::printf("| %s | %zu | %+.3f | %+.3f | %.3f | %.3f |\n", type.c_str(), v.size(), mx, my,
                    dist[dist.size() / 2], dist[std::min(dist.size() - 1, dist.size() * 9 / 10)]);
    }
    std::printf("\nreported bright/dark defects with no truth defect of their class nearby: %d next to another truth "
                "defect (wrong class, or an extended one), %d with none\n",
                gFalseNearTruth.falsePositives, gFalseAlone.falsePositives);
}

void printMissTable() {
    std::printf("\n## Where the missed truth sites are (simulated scans above)\n\n");
    std::printf("| row | missed | no rows in spectrum | assessed unresolved | under contamination | missed by the atom finder | reported on a don't-care site |\n|---|---|---|---|---|---|---|\n");
    for (const auto& [name, t] : gMissRows) {
        const int n = t.missNoRows + t.missUnresolved + t.missContaminated + t.missFinder;
        auto share = [n](int k) { return n ? double(k) / n : 0.0; };
        std::printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %d |\n", name.c_str(), n, share(t.missNoRows), share(t.missUnresolved),
                    share(t.missContaminated), share(t.missFinder), t.atoms.ignored);
    }
}

// The lattice per terrace: the pipeline's local row direction at the truth sites (Tally::rowRight).
void printRowDirectionTable() {
    std::printf("\n## Row direction per terrace (simulated scans above)\n\n"
                "Every 5th scored truth site: the row direction of the pipeline's lattice domain there against the "
                "truth's (the rows turn by 90 degrees across single steps).\n\n"
                "| row | sites | right (within 10 degrees) | turned | no domain there |\n|---|---|---|---|---|\n");
    for (const auto& [name, t] : gMissRows) {
        const int n = t.rowRight + t.rowTurned + t.rowNone;
        if (!n) continue;
        std::printf("| %s | %d | %.3f | %.3f | %.3f |\n", name.c_str(), n, double(t.rowRight) / n, double(t.rowTurned) / n,
                    double(t.rowNone) / n);
    }
}

// Step edges, contamination and bare-Si patches of the rows above, scored by contact (kExtendedClasses).
void printExtendedTable() {
    std::printf("\n## Extended defects, by contact within 0.5 nm (simulated scans above)\n\n"
                "Each cell: F1 (reported instances touching a true one / reported; true objects touched / true). A true step is "
                "one object, the sites along it; contamination and bare Si are the label's connected components.\n\n"
                "| row | step_edge | contamination | bare_si |\n|---|---|---|---|\n");
    for (const auto& [name, t] : gMissRows) {
        std::printf("| %s |", name.c_str());
        for (const auto& cls : kExtendedClasses) {
            const auto it = t.extended.find(cls);
            const ContactCounts c = it == t.extended.end() ? ContactCounts{} : it->second;
            if (c.instances + c.objects == 0) std::printf(" - |");
            else if (c.objects == 0) std::printf(" - (0/%d; none true) |", c.instances);   // recall undefined
            else std::printf(" %.3f (%d/%d; %d/%d) |", c.f1(), c.instancesTouching, c.instances, c.objectsTouched, c.objects);
        }
        std::printf("\n");
    }
}

void printRow(const char* name, const Tally& t) {
    gMissRows.push_back({name, t});
    char out[32];
    std::snprintf(out, sizeof out, "%d (%.2f)", t.outside, t.outside ? double(t.outsideAtSite) / t.outside : 1.0);
    // "-" where there was nothing to score (no truth site and no report: coarse pixels, no resolved area).
    auto cell = [](bool defined, double v) {
        char c[16];
        if (defined) std::snprintf(c, sizeof c, "%.3f", v);
        else std::snprintf(c, sizeof c, "-");
        return std::string(c);
    };
    auto counted = [](const DetectionCounts& d) { return d.truePositives + d.falsePositives + d.falseNegatives > 0; };
    auto f1 = [&](const std::map<std::string, DetectionCounts>& m, const char* cls) {
        return m.count(cls) && counted(m.at(cls)) ? cell(true, m.at(cls).f1()) : cell(false, 0);
    };
    const DetectionCounts& a = t.atoms;
    std::printf("| %-22s | %5d | %6s | %6s | %6s | %13s | %6s | %6s | %6s | %6s | %8.0f |\n", name, t.scans,
                cell(a.truePositives + a.falsePositives > 0, a.precision()).c_str(),
                cell(a.truePositives + a.falseNegatives > 0, a.recall()).c_str(), cell(counted(a), a.f1()).c_str(), out,
                f1(t.defects, "bright").c_str(), f1(t.defects, "dark").c_str(), f1(t.defectsResolved, "bright").c_str(),
                f1(t.defectsResolved, "dark").c_str(), t.scans ? t.ms / t.scans : 0.0);
}

// How consistently reported sites sit off the labelled ones along the rows: each site's offset from its nearest
// label (within 0.3 nm), projected on the row direction, as a phase of the dimer period. R (the length of the mean
// phase vector) near 1 over a band of scan lines but low over the frame says the offset is constant locally and
// drifts across the frame: the labels are a rigid lattice and the scan is not (slow-scan drift), so at 0.1 nm the
// frame's site F1 measures that drift more than the finder. -1: too few sites.
struct AlongRowPhase {
    double frameR = -1, bandR = -1;
};
AlongRowPhase alongRowPhase(const std::vector<Point2>& pred, const std::vector<Point2>& labels, PixelSize px, double rowDeg) {
    constexpr double kDimerPitchNm = 0.384, kMaxNm = 0.3;
    constexpr int kBandLines = 32, kMinSites = 30;
    AlongRowPhase out;
    if (labels.empty()) return out;
    const double c = std::cos(rowDeg * M_PI / 180), sn = std::sin(rowDeg * M_PI / 180);
    KdPoints2 pts;
    for (const auto& l : labels) pts.xy.insert(pts.xy.end(), {l.x * px.x_nm, l.y * px.y_nm});
    using Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, KdPoints2>, KdPoints2, 2, uint32_t>;
    Tree tree(2, pts, nanoflann::KDTreeSingleIndexAdaptorParams(10));
    tree.buildIndex();
    std::complex<double> frame = 0;
    int nFrame = 0;
    std::map<long, std::pair<std::complex<double>, int>> bands;
    for (const auto& q : pred) {
        const double at[2] = {q.x * px.x_nm, q.y * px.y_nm};
        uint32_t idx = 0;
        double d2 = 0;
        nanoflann::KNNResultSet<double, uint32_t> rs(1);
        rs.init(&idx, &d2);
        tree.findNeighbors(rs, at, nanoflann::SearchParams());
        if (!(d2 < kMaxNm * kMaxNm)) continue;
        const double dx = at[0] - pts.xy[2 * idx], dy = at[1] - pts.xy[2 * idx + 1];
        const std::complex<double> z = std::polar(1.0, 2 * M_PI * (dx * c - dy * sn) / kDimerPitchNm);
        frame += z;
        ++nFrame;
        auto& b = bands[static_cast<long>(q.y) / kBandLines];
        b.first += z;
        ++b.second;
    }
    if (nFrame < kMinSites) return out;
    out.frameR = std::abs(frame) / nFrame;
    double sum = 0;
    int n = 0;
    for (const auto& [band, b] : bands)
        if (b.second >= kMinSites) sum += std::abs(b.first) / b.second, ++n;
    out.bandR = n ? sum / n : -1;
    return out;
}

// Atom/dimer-site and defect F1 of the pipeline on labelled real frames, printed as a table.
// withoutPixelSize: each frame is analysed as a scan that carries no pixel size (the pipeline calibrates it from
// the rows); the scoring stays in the labels' pixel grid, and the calibrated pixel sizes are compared with the
// labels' (how often a user who has no calibration gets a right scale). A frame the pipeline refuses is counted,
// not scored.
void scoreRealFrames(const Pipeline& pipeline, const std::vector<LabelledScan>& frames, bool withoutPixelSize = false) {
    std::vector<std::pair<double, std::string>> calibrationErrors;   // worse of x and y, frame
    size_t refused = 0;
    DetectionCounts atoms01, atoms02;
    if (gPerScan)
        std::printf("| frame (--per-scan) | rows | sites | TP/FP/FN 0.1 nm | TP/FP/FN 0.2 nm | along-row R |\n"
                    "|---|---|---|---|---|---|\n");
    std::vector<double> phaseFrames, phaseBands;
    int dimerFrames = 0;
    std::map<std::string, DetectionCounts> perClass;
    std::map<std::string, ContactCounts> extended;
    std::map<std::string, std::pair<int, int>> perFine;  // fine class -> (found by any defect, total)
    for (const auto& f : frames) {
        AnalysisMaps maps;
        Image scan = f.scan;
        if (withoutPixelSize) scan.pixelSize = PixelSize{};
        AnalysisResult r;
        try {
            r = pipeline.analyzeImage(scan, &maps);
        } catch (const InputError&) {
            if (!withoutPixelSize) throw;
            ++refused;   // no rows to calibrate from
            continue;
        }
        if (withoutPixelSize)
            calibrationErrors.push_back({std::max(std::abs(r.pixelSize.x_nm / f.scan.pixelSize.x_nm - 1),
                                                  std::abs(r.pixelSize.y_nm / f.scan.pixelSize.y_nm - 1)),
                                         fs::path(f.path).filename().string()});
        // Atom sites: every labelled site (clean or defective) inside the labelled region is an atom position.
        // Where the pipeline reports dimers (coarser than 0.08 nm/px, as here), the sites are paired into
        // dimer centres (the two atoms of a dimer are 0.24 nm apart; the next site is >= 0.38 nm away).
        std::vector<Point2> truth, pred;
        for (const auto& s : f.latticeSites) truth.push_back({s.x, s.y});
        const bool dimerSites = r.lattice.site == "dimer";
        dimerFrames += dimerSites;
        if (dimerSites) truth = pairSitesIntoDimers(truth, 0.31 / 0.0985);
        for (const auto& a : r.atoms) {
            const int xi = static_cast<int>(std::lround(a.x)), yi = static_cast<int>(std::lround(a.y));
            if (f.known.at(std::clamp(xi, 0, f.known.width() - 1), std::clamp(yi, 0, f.known.height() - 1)) > 0.5f) pred.push_back({a.x, a.y});
        }
        const DetectionCounts m01 = matchPoints(pred, truth, 0.1 / 0.0985), m02 = matchPoints(pred, truth, 0.2 / 0.0985);
        atoms01 += m01;
        atoms02 += m02;
        AlongRowPhase ph;
        if (r.lattice.found) {
            ph = alongRowPhase(pred, truth, f.scan.pixelSize, r.lattice.rowDirectionDeg);
            if (ph.frameR >= 0) {
                phaseFrames.push_back(ph.frameR);
                phaseBands.push_back(ph.bandR);
            }
        }
        if (gPerScan)
            std::printf("| %s | %s | %s | %s | %s | %.2f |\n", fs::path(f.path).filename().c_str(),
                        r.lattice.rowContrast.c_str(), r.lattice.site.c_str(), tpFpFn(m01).c_str(), tpFpFn(m02).c_str(), ph.frameR);
        const std::vector<int> argmax = argmaxLabels(maps.defectProb);
        for (const auto& cls : kExtendedClasses) {
            std::vector<std::vector<Point2>> objects;
            for (const auto& o : f.objects)
                if (o.coarseClass == cls) objects.push_back(o.points);
            extended[cls] += matchByContact(instanceIds(r.defects, maps, argmax, cls, &f.known), objects, 0.5 / 0.0985);
        }
        for (const std::string cls : {"bright", "dark"}) {
            std::vector<Point2> pd, td;
            for (const auto& d : r.defects) {
                const int xi = std::clamp(static_cast<int>(std::lround(d.x)), 0, f.known.width() - 1);
                const int yi = std::clamp(static_cast<int>(std::lround(d.y)), 0, f.known.height() - 1);
                if (d.cls == cls && f.known.at(xi, yi) > 0.5f) pd.push_back({d.x, d.y});
            }
            for (const auto& o : f.objects)
                if (o.coarseClass == cls) td.push_back({o.x, o.y});
            perClass[cls] += matchPoints(pd, td, 0.5 / 0.0985);
        }
        std::vector<Point2> anyDefect;
        for (const auto& d : r.defects) anyDefect.push_back({d.x, d.y});
        for (const auto& o : f.objects) {
            auto m = matchPoints(anyDefect, {{o.x, o.y}}, 0.5 / 0.0985);
            perFine[o.fineClass].first += m.truePositives;
            perFine[o.fineClass].second += 1;
        }
    }
    if (withoutPixelSize) {
        std::sort(calibrationErrors.begin(), calibrationErrors.end());
        const auto within2 = std::count_if(calibrationErrors.begin(), calibrationErrors.end(), [](const auto& e) { return e.first <= 0.02; });
        std::printf("Given no pixel size, the pipeline calibrated %zu of %zu frames from their dimer rows (refused %zu); %td "
                    "within 2 %% of the labels' pixel size in x and y; median error %.1f %%, worst %.1f %% (%s).\n\n",
                    calibrationErrors.size(), frames.size(), refused, within2,
                    calibrationErrors.empty() ? 0.0 : 100 * calibrationErrors[calibrationErrors.size() / 2].first,
                    calibrationErrors.empty() ? 0.0 : 100 * calibrationErrors.back().first,
                    calibrationErrors.empty() ? "-" : calibrationErrors.back().second.c_str());
    }
    const size_t scored = frames.size() - refused;
    std::printf("frames: %zu\n\n| metric | precision | recall | F1 |\n|---|---|---|---|\n", scored);
    // The pipeline decides per frame whether it sees atoms or only dimers; each frame is scored as reported.
    char site[96];
    std::snprintf(site, sizeof site, "sites (atoms in %zu frames, dimers = labelled pairs in %d)",
                  scored - dimerFrames, dimerFrames);
    std::printf("| %s, 0.1 nm | %.3f | %.3f | %.3f |\n", site, atoms01.precision(), atoms01.recall(), atoms01.f1());
    std::printf("| %s, 0.2 nm | %.3f | %.3f | %.3f |\n", site, atoms02.precision(), atoms02.recall(), atoms02.f1());
    for (const auto& [cls, c] : perClass)
        std::printf("| defects %s (TP %d FP %d FN %d) | %.3f | %.3f | %.3f |\n", cls.c_str(), c.truePositives,
                    c.falsePositives, c.falseNegatives, c.precision(), c.recall(), c.f1());
    for (const auto& cls : kExtendedClasses) {
        const ContactCounts& c = extended[cls];
        std::printf("| defects %s by contact (instances touching %d of %d, objects touched %d of %d) | %.3f |",
                    cls.c_str(), c.instancesTouching, c.instances, c.objectsTouched, c.objects, c.precision());
        // With no labelled object of the class, recall and F1 are undefined: every reported instance is false.
        if (c.objects == 0) std::printf(" - | - |\n");
        else std::printf(" %.3f | %.3f |\n", c.recall(), c.f1());
    }
    if (!phaseFrames.empty()) {
        auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); };
        std::printf("\nalong-row offset of each reported site from its nearest labelled site, as a phase of the 0.384 nm "
                    "dimer period: coherence R over whole frames %.2f, within bands of 32 scan lines %.2f (mean over %zu "
                    "frames; 1 = one constant offset, 0 = none)\n", mean(phaseFrames), mean(phaseBands), phaseFrames.size());
    }
    std::printf("\n| labelled fine class | instances | found by any defect (0.5 nm) |\n|---|---|---|\n");
    for (const auto& [fine, v] : perFine) std::printf("| %s | %d | %.2f |\n", fine.c_str(), v.second, v.second ? double(v.first) / v.second : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
    std::string models;
    int scans = 6;
    std::string holdoutCard;   // a fine-tuned card whose held-out frames are scored on their own
    bool realOnly = false, simOnly = false;
    bool mirrorAverage = false;   // the atom finder averaged over mirror images (PipelineOptions::mirrorAverageAtoms)
    double split = NAN;
    double minScore = NAN;   // point defects below this mean class probability dropped (NaN: the pipeline's)   // defect split persistence (NaN: the pipeline's default)
    uint64_t seedOffset = 0;   // other simulated scans than the reported ones (to check a setting on fresh seeds)
    double atomThreshold = PipelineOptions{}.atomThreshold;
    std::string precision = "auto";
    std::string rowContrast = "auto";   // or normal | inverted for every scan, or given: each simulated scan's truth
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
        else if (!std::strcmp(argv[i], "--scans") && i + 1 < argc) scans = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--quick")) scans = 2;
        else if (!std::strcmp(argv[i], "--per-scan")) gPerScan = true;
        else if (!std::strcmp(argv[i], "--mirror-average")) mirrorAverage = true;
        else if (!std::strcmp(argv[i], "--holdout-from") && i + 1 < argc) holdoutCard = argv[++i];
        else if (!std::strcmp(argv[i], "--real-only")) realOnly = true;
        else if (!std::strcmp(argv[i], "--sim-only")) simOnly = true;
        else if (!std::strcmp(argv[i], "--split") && i + 1 < argc) split = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--min-score") && i + 1 < argc) minScore = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--seed-offset") && i + 1 < argc) seedOffset = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--atom-threshold") && i + 1 < argc) atomThreshold = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else if (!std::strcmp(argv[i], "--row-contrast") && i + 1 < argc) rowContrast = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_accuracy [--models DIR] [--scans N | --quick] [--real-only | --sim-only] "
                                 "[--holdout-from CARD] [--split P] [--min-score S] [--seed-offset N] [--atom-threshold P] "
                                 "[--precision auto|fp32|bf16] [--row-contrast auto|normal|inverted|given] [--per-scan] [--mirror-average]\n");
            return 2;
        }
    }
    const bool given = rowContrast == "given";
    setTorchThreads(2);
    PipelineOptions po;
    po.modelsDir = models;
    po.atomThreshold = atomThreshold;
    po.mirrorAverageAtoms = mirrorAverage;
    if (std::isfinite(split)) po.defectSplitPersistence = split;
    if (std::isfinite(minScore)) po.defectMinScore = minScore;
    const auto parsed = bench::precisionArg("bench_accuracy", precision);
    if (!parsed) return 2;
    po.precision = *parsed;
    // given: what a user who knows the contrast gets, on the simulated scans (from their truth, rowsInverted).
    // The real frames keep the automatic check: nothing but their labels says which of them show dark rows
    // (0082 and 0084 of the 2022-08-19 bias series do; all are listed at the same bias).
    try {
        po.rowContrast = parseRowContrast(given ? "auto" : rowContrast);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_accuracy: %s (or given)\n", e.what());
        return 2;
    }
    Pipeline pipeline(po);
    std::unique_ptr<Pipeline> givenNormal, givenInverted;
    if (given) {
        PipelineOptions o = po;
        o.rowContrast = RowContrast::Normal;
        givenNormal = std::make_unique<Pipeline>(o);
        o.rowContrast = RowContrast::Inverted;
        givenInverted = std::make_unique<Pipeline>(o);
    }
    std::printf("models %s, inference precision %s, row contrast %s%s\n\n", models.empty() ? "(shipped)" : models.c_str(),
                pipeline.precisionName().c_str(), rowContrast.c_str(), mirrorAverage ? ", atom finder mirror-averaged" : "");

    if (!realOnly) {
    std::printf("## Simulated held-out scans (seeds 900000+), 256x256\n\n");
    std::printf("| %-22s | %5s | %6s | %6s | %6s | %13s | %6s | %6s | %6s | %6s | %8s |\n", "preset @ pixel size", "scans",
                "atom P", "atom R", "atom F1", "unres. (site)", "bright", "dark", "br.res", "dk.res", "ms/scan");
    std::printf("|%s|\n", std::string(134, '-').c_str());
    const std::vector<std::pair<sim::Preset, double>> presets = {
        {sim::Preset::Atomic, 0.1}, {sim::Preset::Survey, 0.2}, {sim::Preset::Stepped, 0.15},
        {sim::Preset::Dirty, 0.1}, {sim::Preset::BadTip, 0.1}, {sim::Preset::Noisy, 0.1},
        // Rows beyond the grid (no lattice, no atoms): how well point defects are found as blobs.
        {sim::Preset::Survey, 0.5}};
    for (const auto& [preset, px] : presets) {
        gFineTables = px < 0.3;
        Tally t;
        for (int k = 0; k < scans; ++k) {
            sim::SimParams p;
            p.width = p.height = 256;
            p.pixelSize = PixelSize::square(px);
            p.preset = preset;
            scoreSim(given ? *givenNormal : pipeline, givenInverted.get(), p, 900000 + seedOffset + k, t,
                     sim::presetName(preset));
        }
        char name[64];
        std::snprintf(name, sizeof name, "%s @ %.2f nm", sim::presetName(preset).c_str(), px);
        printRow(name, t);
    }

    gFineTables = true;
    std::printf("\n## Against noise (preset atomic, 0.1 nm/px, noise scale x)\n\n");
    std::printf("| %-22s | %5s | %6s | %6s | %6s | %13s | %6s | %6s | %6s | %6s | %8s |\n", "noise scale", "scans",
                "atom P", "atom R", "atom F1", "unres. (site)", "bright", "dark", "br.res", "dk.res", "ms/scan");
    std::printf("|%s|\n", std::string(134, '-').c_str());
    for (double noise : {0.25, 0.5, 1.0, 2.0, 4.0, 8.0}) {
        Tally t;
        char name[32];
        std::snprintf(name, sizeof name, "x %.2f", noise);
        for (int k = 0; k < scans; ++k) {
            sim::SimParams p;
            p.width = p.height = 256;
            p.pixelSize = PixelSize::square(0.1);
            p.preset = sim::Preset::Atomic;
            p.noiseScale = noise;
            scoreSim(given ? *givenNormal : pipeline, givenInverted.get(), p, 910000 + seedOffset + k, t, name);
        }
        printRow(name, t);
    }
    printMissTable();
    printRowDirectionTable();
    printExtendedTable();
    printFineTable();
    printQualityTable();
    if (gPerScan) {
        std::printf("\n## Per scan (--per-scan): TP/FP/FN\n\n| row | seed | mode | rows (truth) | rows (reported) | atoms | bright | dark | row direction right/turned/none |\n"
                    "|---|---|---|---|---|---|---|---|---|\n");
        for (const auto& l : gPerScanLines) std::printf("%s\n", l.c_str());
    }
    }
    if (simOnly) return 0;

    const std::string realDir = std::string(STMLENS_SHARED_DIR) + "/data/real";
    const std::string cfgPath = std::string(STMLENS_SOURCE_DIR) + "/configs/cda-labels.json";
    if (!fs::exists(realDir)) {
        std::printf("\n(real data not found at %s)\n", realDir.c_str());
        return 0;
    }
    std::printf("\n## Real labelled frames (cda_*, ../shared/data/real), pixel 0.097 x 0.100 nm\n\n");
    const LabelConfig cfg = LabelConfig::load(cfgPath);
    auto frames = loadLabelledScans(realDir, cfg, {"lattice", "bright", "dark", "step_edge", "contamination", "bare_si"});
    scoreRealFrames(pipeline, frames);
    // A defect finder fine-tuned on some of these frames names the ones it held out: score those alone too,
    // since only they say how it does on frames it has not seen.
    const std::string defectsDir = (models.empty() ? defaultModelsDir() : models) + "/defects";
    const ModelCard card = ModelCard::load(holdoutCard.empty() ? defectsDir + "/card.json" : holdoutCard);
    const nlohmann::json fineTune =
        card.training.is_object() ? card.training.value("fine_tune", nlohmann::json::object()) : nlohmann::json::object();
    const std::string held = fineTune.value("held_out", "");
    // A fine-tuning run with --test kept some of the held-out frames from choosing the checkpoint too: only they
    // are unseen in every sense.
    const std::string tested = fineTune.value("test", "");
    // Frames are named "cda_20220822_bias_series_0030_clean.npy" when exported, "20220822_bias_series_0030.png"
    // as published: compare the part in between.
    auto frameKey = [](const std::string& path) {
        std::string n = fs::path(path).filename().string();
        if (n.starts_with("cda_")) n = n.substr(4);
        return n.substr(0, std::min(n.find("_clean"), n.find('.')));
    };
    auto listed = [&](const std::string& list, const std::string& path) {
        return !list.empty() && list.find(frameKey(path)) != std::string::npos;
    };
    // Copies: the same frames are scored in several subsets.
    auto keepListed = [&](const std::vector<LabelledScan>& all, const std::string& list) {
        std::vector<LabelledScan> kept;
        for (const auto& f : all)
            if (listed(list, f.path)) kept.push_back(f);
        return kept;
    };
    auto keepHeld = [&](const std::vector<LabelledScan>& all) { return keepListed(all, held); };
    auto scoreTested = [&](const std::vector<LabelledScan>& all) {
        if (tested.empty()) return;
        auto t = keepListed(all, tested);
        std::printf("\n### Only the frames the fine-tuning kept for testing: never trained on, never used to pick the "
                    "checkpoint (%zu)\n\n", t.size());
        scoreRealFrames(pipeline, t);
    };
    if (!held.empty()) {
        auto heldFrames = keepHeld(frames);
        std::printf("\n### Only the frames the defect finder's fine-tuning held out (%zu of them here)\n\n", heldFrames.size());
        scoreRealFrames(pipeline, heldFrames);
        scoreTested(frames);
    }
    // The same source publishes 46 frames with the labels burned in (10 of them are the exported ones above).
    const std::string overlayDir = realDir + "/raw/sidb-defect-aware-physical-design/lattice_overlay";
    if (fs::exists(overlayDir)) {
        auto overlay = loadLabelledScans(overlayDir, LabelConfig::load(std::string(STMLENS_SOURCE_DIR) + "/configs/cda-overlay-labels.json"),
                                         {"lattice", "bright", "dark", "step_edge", "contamination", "bare_si"});
        std::printf("\n## Published cda frames with burned-in labels (raw/sidb-defect-aware-physical-design/lattice_overlay)\n\n");
        std::printf("All %zu frames (a fine-tuned network saw the frames its fine-tuning did not hold out):\n\n", overlay.size());
        scoreRealFrames(pipeline, overlay);
        std::printf("\nThe same %zu frames analysed without their pixel size (calibrated from the rows), scored in the labels' "
                    "pixel grid:\n\n", overlay.size());
        scoreRealFrames(pipeline, overlay, true);
        if (!held.empty()) {
            auto heldFrames = keepHeld(overlay);
            std::printf("\n### Only the frames the defect finder's fine-tuning held out (%zu)\n\n", heldFrames.size());
            scoreRealFrames(pipeline, heldFrames);
            scoreTested(overlay);
        }
    }
    return 0;
}
