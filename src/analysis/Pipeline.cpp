#include "analysis/Pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "analysis/FreeRegions.h"
#include "analysis/Instances.h"
#include "analysis/LatticeCalibration.h"
#include "analysis/Peaks.h"
#include "analysis/RegionStats.h"
#include "analysis/RowContrast.h"
#include "analysis/SitePairs.h"
#include "core/Errors.h"
#include "core/Level.h"
#include "io/ScanReader.h"
#include "nn/Model.h"
#include "nn/Preprocess.h"

namespace stmlens {

namespace fs = std::filesystem;

std::string defaultModelsDir() {
    if (const char* env = std::getenv("STMLENS_MODELS"); env && *env) return env;
    // Next to the executable (installed or build tree: <prefix>/bin/../models, build/../models), else the source tree.
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const fs::path& cand : {exe.parent_path() / "../models", exe.parent_path() / "../share/stmlens/models"})
            if (fs::exists(cand / "defects" / "card.json")) return fs::weakly_canonical(cand).string();
    }
    return std::string(STMLENS_SOURCE_DIR) + "/models";
}

namespace {

void negate(Image& img) {
    for (float& v : img.pixels()) v = -v;
}

// Rows further than this from 0.768 nm at a known pixel size get a warning. Drift and piezo creep stretch real
// frames by a few %; the worst file calibrations among the real scans are 9 % off.
constexpr double kPitchWarnTolerance = 0.15;
// Between this and kPitchWarnTolerance the rows are taken, but the calibration is called off, with the pixel size
// the rows imply: the real survey files are 3-9 % off; the cda frames measure within 1.4 %, simulated scans of
// every preset (24 each, drift and creep included) within 5.3 %.
constexpr double kPitchCalibrationTolerance = 0.06;

// Coarser than half the row pitch, the 0.768 nm dimer rows are beyond the pixel grid's Nyquist limit: any row-like
// peak is an alias, so no lattice is sought. The defect finder still finds point defects as blobs there
// (simulated surveys at 0.5 nm/px: precision 0.77-0.89 within 0.5 nm). Coarser than 1 nm, point defects
// (0.4-2 nm) are a pixel or less and resampling to the networks' 0.1 nm/px makes 100 pixels of every one:
// overview scans get a verdict and nothing else.
constexpr double kRowsResolvableMaxPixelNm = kRowPitchNm / 2;
constexpr double kAnalysableMaxPixelNm = 1.0;

void addReason(Assessment& a, const std::string& reason) {
    if (std::find(a.reasons.begin(), a.reasons.end(), reason) == a.reasons.end()) a.reasons.push_back(reason);
}

std::string threeFoldNote(const RowLattice& l) {
    char s[120];
    std::snprintf(s, sizeof s, "a spectral peak of the same period %.0f degrees from the strongest", l.threeFoldAngleDeg);
    return s;
}

}  // namespace

RowContrast parseRowContrast(const std::string& name, const std::string& where) {
    if (name == "auto") return RowContrast::Auto;
    if (name == "normal") return RowContrast::Normal;
    if (name == "inverted") return RowContrast::Inverted;
    throw InputError(where, "unknown row contrast '" + name + "' (auto, normal or inverted)");
}

struct Pipeline::Impl {
    PipelineOptions options;
    Model assess, atoms, defects;
    std::optional<DefectTypeModel> types;   // optional: only the clustering descriptor uses it
};

Pipeline::Pipeline(const PipelineOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    const std::string dir = options.modelsDir.empty() ? defaultModelsDir() : options.modelsDir;
    impl_->assess = Model::load((fs::path(dir) / "assess").string(), "assess");
    impl_->atoms = Model::load((fs::path(dir) / "atoms").string(), "atoms");
    impl_->defects = Model::load((fs::path(dir) / "defects").string(), "defects");
    if (fs::exists(fs::path(dir) / "types" / "card.json")) impl_->types = DefectTypeModel::load((fs::path(dir) / "types").string());
    // Auto can be pinned from the environment, for embedders (C API, Python) that have no option for it.
    Precision precision = options.precision;
    if (const char* env = std::getenv("STMLENS_PRECISION"); precision == Precision::Auto && env && *env)
        precision = parsePrecision(env, "STMLENS_PRECISION");
    for (Model* m : {&impl_->assess, &impl_->atoms, &impl_->defects}) m->setPrecision(precision);
    if (const char* env = std::getenv("STMLENS_ROW_CONTRAST"); options.rowContrast == RowContrast::Auto && env && *env)
        impl_->options.rowContrast = parseRowContrast(env, "STMLENS_ROW_CONTRAST");
    if (const char* env = std::getenv("STMLENS_MIRROR_AVERAGE"); !options.mirrorAverageAtoms && env && *env) {
        const std::string v = env;
        if (v == "1" || v == "on") impl_->options.mirrorAverageAtoms = true;
        else if (v != "0" && v != "off")
            throw InputError("STMLENS_MIRROR_AVERAGE", "unknown value '" + v + "' (1 or on, 0 or off)");
    }
    impl_->atoms.setMirrorAverage(impl_->options.mirrorAverageAtoms);
}

Pipeline::~Pipeline() = default;

std::map<std::string, std::string> Pipeline::modelNames() const {
    std::map<std::string, std::string> names{{"assessment", impl_->assess.card().name},
                                             {"atoms", impl_->atoms.card().name},
                                             {"defects", impl_->defects.card().name}};
    if (impl_->types) names["types"] = impl_->types->card().name;
    return names;
}

const DefectTypeModel* Pipeline::typeModel() const { return impl_->types ? &*impl_->types : nullptr; }

// All three models are set alike (constructor).
std::string Pipeline::precisionName() const { return impl_->atoms.precision() == Precision::BFloat16 ? "bf16" : "fp32"; }

namespace {

// Topography first: the networks are trained on height-like contrast; then whatever exists.
const Image& pickChannel(const ScanFile& f, const std::string& channel, const std::string& direction) {
    if (!channel.empty() || !direction.empty()) return f.select(channel, direction);
    for (const char* name : {"Z", "Topography", "Height"})
        for (const Image& img : f.channels)
            if (img.meta.channel == name && (img.meta.direction.empty() || img.meta.direction == "forward")) return img;
    return f.channels.front();
}

double msSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

AnalysisResult Pipeline::analyzeFile(const std::string& path, AnalysisMaps* maps) const {
    return analyzeFile(path, CallOptions{}, maps);
}

AnalysisResult Pipeline::analyzeFile(const std::string& path, const std::optional<PixelSize>& pixelSize,
                                     AnalysisMaps* maps) const {
    CallOptions call;
    call.pixelSize = pixelSize;
    return analyzeFile(path, call, maps);
}

AnalysisResult Pipeline::analyzeFile(const std::string& path, const CallOptions& call, AnalysisMaps* maps) const {
    const auto t0 = std::chrono::steady_clock::now();
    ReadOptions ro;
    ro.pixelSize = call.pixelSize ? call.pixelSize : impl_->options.pixelSize;
    ScanFile f = readScanFile(path, ro);
    const Image& img = pickChannel(f, impl_->options.channel, impl_->options.direction);
    AnalysisResult r = analyzeImage(img, call, maps);
    r.path = path;
    r.format = f.format;
    for (const auto& w : f.warnings) r.warnings.push_back(w);
    r.timingMs["read"] = msSince(t0) - r.timingMs["total"];
    r.timingMs["total"] = msSince(t0);
    return r;
}

AnalysisResult Pipeline::analyzeImage(const Image& input, AnalysisMaps* maps) const {
    return analyzeImage(input, CallOptions{}, maps);
}

AnalysisResult Pipeline::analyzeImage(const Image& input, const CallOptions& call, AnalysisMaps* maps) const {
    const auto t0 = std::chrono::steady_clock::now();
    const PipelineOptions& opt = impl_->options;
    const RowContrast rowContrast = call.rowContrast.value_or(opt.rowContrast);
    const std::string where = input.meta.sourcePath.empty() ? std::string("image") : input.meta.sourcePath;
    if (input.empty()) throw InputError(where, "empty image");
    AnalysisResult r;
    r.path = input.meta.sourcePath;
    r.format = input.meta.sourceFormat;
    r.channel = input.meta.channel;
    r.direction = input.meta.direction;
    r.width = input.width();
    r.height = input.height();
    r.models = modelNames();
    r.precision = precisionName();
    if (input.validCount() < input.size() / 10) throw InputError(where, "fewer than 10 % of the pixels hold data");

    // 1. Level.
    auto t = std::chrono::steady_clock::now();
    Image scan = input;
    // A given pixel size applies before levelling: row alignment uses it to know the dimer-row period.
    if (opt.pixelSize) scan.pixelSize = *opt.pixelSize;
    levelScan(scan);
    r.timingMs["level"] = msSince(t);

    // 2. Scale: user, file, or the lattice itself.
    t = std::chrono::steady_clock::now();
    // One calibration for both uses (no pixel size, or --pixel-size lattice). With its default options (no pitch
    // limits) it reads the rows in the pixel grid, whatever pixel size the scan carries.
    const bool fromRows = call.pixelSizeFromLattice.value_or(opt.pixelSizeFromLattice);
    const std::optional<PixelSize> calibrated =
        fromRows || !scan.pixelSize.known() ? calibratePixelSize(scan) : std::optional<PixelSize>{};
    if (calibrated) {
        r.warnings.push_back("pixel size calibrated from the dimer-row pitch (0.768 nm): " + calibrated->str() +
                             (scan.pixelSize.known() ? " (instead of " + scan.pixelSize.str() + ")" : ""));
        scan.pixelSize = *calibrated;
        r.pixelSizeSource = "calibrated";
    } else if (scan.pixelSize.known()) {   // the user's (--pixel-size, applied above) or the file's
        r.pixelSizeSource = opt.pixelSize || scan.meta.pixelSizeSource == "user" ? "user" : "file";
        if (fromRows)
            r.warnings.push_back("no dimer rows to calibrate the pixel size from (--pixel-size lattice); kept " +
                                 scan.pixelSize.str() + (r.pixelSizeSource == "file" ? " from the file" : ""));
    } else {
        const auto seen = findRowLattices(scan);
        if (!seen.empty() && seen[0].threeFold)
            throw InputError(where, "no pixel size in the file, and its lattice is three-fold (" + threeFoldNote(seen[0]) +
                                        "), not the dimer rows of Si(100) 2x1 to calibrate from; give the pixel size in nm (--pixel-size X[,Y])");
        throw InputError(where, "no pixel size in the file and no dimer rows to calibrate it from; give the pixel size in nm (--pixel-size X[,Y])");
    }
    r.pixelSize = scan.pixelSize;
    const double minSideNm = 16 * impl_->defects.card().pixelSizeNm;
    if (scan.widthNm() < minSideNm || scan.heightNm() < minSideNm) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "scan is too small to analyse (%.3g x %.3g nm; at least %.3g nm a side)",
                      scan.widthNm(), scan.heightNm(), minSideNm);
        throw InputError(where, msg);
    }
    const double coarsestNm = std::max(scan.pixelSize.x_nm, scan.pixelSize.y_nm);
    if (coarsestNm > kAnalysableMaxPixelNm) {
        char msg[300];
        std::snprintf(msg, sizeof msg, "pixel %.3g nm is coarser than %.0f nm: the dimer rows (0.768 nm) and point defects "
                      "(0.4-2 nm) are below the pixel grid: an overview scan, given a verdict and not analysed", coarsestNm,
                      kAnalysableMaxPixelNm);
        r.warnings.push_back(msg);
        r.assessment.verdict = "unusable";
        addReason(r.assessment, "pixel_too_coarse");
        addReason(r.assessment, "not_atomically_resolved");
        r.timingMs["scale"] = msSince(t);
        if (maps) maps->levelled = scan;
        r.timingMs["total"] = msSince(t0);
        return r;
    }
    if (scan.width() * scan.pixelSize.x_nm / 0.1 * scan.height() * scan.pixelSize.y_nm / 0.1 > 2.0e8)
        throw InputError(where, "scan is too large for atom-level analysis at 0.1 nm/px (more than 2e8 resampled pixels)");
    // With the pixel size from the file or the user, rows far from the 0.768 nm pitch are not Si(100) 2x1 dimer
    // rows at this scale (a wrong calibration, another surface, or an artefact): no lattice to place sites on.
    LatticeOptions lo;
    lo.minPitchNm = 0.7 * kRowPitchNm;
    lo.maxPitchNm = 1.4 * kRowPitchNm;
    const bool rowsBeyondGrid = coarsestNm > kRowsResolvableMaxPixelNm;
    auto lattices = rowsBeyondGrid ? std::vector<RowLattice>{} : findRowLattices(scan, lo);
    if (rowsBeyondGrid) {
        char msg[300];
        std::snprintf(msg, sizeof msg, "pixel %.3g nm is coarser than half the dimer-row pitch (%.3f nm): the rows cannot "
                      "show on this grid, so no lattice and no atoms; defects are found as blobs", coarsestNm,
                      kRowsResolvableMaxPixelNm);
        r.warnings.push_back(msg);
    }
    // Another surface: a hexagonal pattern has no dimer rows to place sites on, whatever the networks make of it.
    const bool threeFold = !lattices.empty() && lattices[0].threeFold;
    const double pitchOff = lattices.empty() || lattices[0].pitchNm <= 0 ? 0 : std::abs(lattices[0].pitchNm / kRowPitchNm - 1);
    if (threeFold) {
        r.warnings.push_back("the lattice is three-fold (" + threeFoldNote(lattices[0]) +
                             "): not the dimer rows of Si(100) 2x1, so no lattice and no atoms; is this H-Si(100)?");
        lattices.clear();
    } else if (pitchOff > kPitchWarnTolerance) {
        char msg[240];
        std::snprintf(msg, sizeof msg, "dimer-row pitch %.3f nm is %.0f %% off the 0.768 nm of Si(100) 2x1: check the pixel "
                      "size (%s), or the surface is not H-Si(100)", lattices[0].pitchNm,
                      100 * pitchOff, r.pixelSizeSource == "user" ? "--pixel-size" : "the file's calibration");
        r.warnings.push_back(msg);
    } else if (!lattices.empty()) {
        // Two domains at different pitches: shear or drift, which no pixel size (a scale per axis) undoes.
        double lo = 0, hi = 0;
        for (const RowLattice& l : lattices)
            if (l.pitchNm > 0) lo = lo > 0 ? std::min(lo, l.pitchNm) : l.pitchNm, hi = std::max(hi, l.pitchNm);
        const auto px = pixelSizeFromLattices(lattices);
        const double off = px ? std::max(std::abs(px->x_nm / scan.pixelSize.x_nm - 1), std::abs(px->y_nm / scan.pixelSize.y_nm - 1)) : 0;
        if (lo > 0 && hi / lo - 1 > kPitchCalibrationTolerance) {
            char msg[240];
            std::snprintf(msg, sizeof msg, "the row domains measure %.3f and %.3f nm apart: the scan is sheared or drifted, which "
                          "no pixel size undoes, so lengths in nm are uncertain by about %.0f %%", hi, lo, 50 * (hi / lo - 1));
            r.warnings.push_back(msg);
        } else if (r.pixelSizeSource != "calibrated" && pitchOff > kPitchCalibrationTolerance && off > kPitchCalibrationTolerance) {
            // (Both: from two domains near 45 degrees the x/y solution is ill-conditioned, and a simulated stepped
            // scan with rows 1.4 % off came out 8 % off in y.)
            char msg[320];
            std::snprintf(msg, sizeof msg, "the dimer rows (%.3f nm apart at this pixel size, against 0.768) imply a pixel of %s, "
                          "%.1f %% from %s: that calibration looks off (--pixel-size lattice calibrates from the rows)",
                          lattices[0].pitchNm, px->str().c_str(), 100 * off,
                          r.pixelSizeSource == "user" ? "the one given (--pixel-size)" : "the file's");
            r.warnings.push_back(msg);
        }
    }
    if (lattices.empty() && !threeFold && !rowsBeyondGrid)
        if (const auto other = findRowLattices(scan); !other.empty() && other[0].pitchNm > 0) {
            char msg[200];
            std::snprintf(msg, sizeof msg, "row-like periodicity at %.2f nm, not the 0.768 nm of Si(100) 2x1 dimer rows: "
                          "check the pixel size (--pixel-size); no lattice assumed", other[0].pitchNm);
            r.warnings.push_back(msg);
        }
    r.timingMs["scale"] = msSince(t);

    // 3. Assess.
    t = std::chrono::steady_clock::now();
    std::vector<float> quality;
    Image resolved;
    {
        const auto& card = impl_->assess.card();
        PreparedInput in = prepareLevelledForModel(scan, card.pixelSizeNm);
        auto out = impl_->assess.predictImage(in.resampled.image, &quality);
        resolved = mapToScanGrid(out[1], in.resampled.map, scan.width(), scan.height());
        double sum = 0;
        for (float v : resolved.pixels()) sum += v > 0.5f;
        r.assessment.resolvedFraction = sum / resolved.size();
        for (size_t k = 0; k < card.imageClasses.size(); ++k) r.assessment.scores[card.imageClasses[k]] = quality[k];
        const double good = r.assessment.scores["good"];
        std::vector<std::pair<double, std::string>> bad;
        for (const auto& [name, p] : r.assessment.scores)
            if (name != "good" && p >= 0.2) bad.push_back({p, name});
        std::sort(bad.rbegin(), bad.rend());
        for (const auto& b : bad) r.assessment.reasons.push_back(b.second);
        if (good >= 0.5 && r.assessment.resolvedFraction >= 0.5) r.assessment.verdict = "usable";
        else if (good >= 0.2 || r.assessment.resolvedFraction >= 0.25) r.assessment.verdict = "degraded";
        else r.assessment.verdict = "unusable";
        if (r.assessment.verdict != "usable" && r.assessment.resolvedFraction < 0.5)
            r.assessment.reasons.push_back("not_atomically_resolved");
        if (rowsBeyondGrid) {   // whatever the network makes of the blur, no atom can be placed
            if (r.assessment.verdict == "usable") r.assessment.verdict = "degraded";
            addReason(r.assessment, "pixel_too_coarse");
            addReason(r.assessment, "not_atomically_resolved");
        }
        if (threeFold) {   // the networks know only H-Si(100): their verdict on another surface means nothing
            r.assessment.verdict = "unusable";
            r.assessment.reasons.push_back("not_si100_2x1");
        }
    }
    r.timingMs["assess"] = msSince(t);

    // 4. Defects.
    t = std::chrono::steady_clock::now();
    std::vector<Image> defectProb;
    const auto& dcard = impl_->defects.card();
    {
        PreparedInput in = prepareLevelledForModel(scan, dcard.pixelSizeNm);
        auto out = impl_->defects.predictImage(in.resampled.image);
        defectProb = mapToScanGrid(out, in.resampled.map, scan.width(), scan.height());
    }
    InstanceOptions io;
    io.minAreaNm2 = opt.minDefectAreaNm2;
    io.splitPersistence = opt.defectSplitPersistence;
    io.minMeanScore = opt.defectMinScore;
    r.defects = extractDefects(defectProb, dcard.classes, scan.pixelSize, io);
    // argmax class per pixel: contamination fraction, step length, blocked mask for free regions.
    Image blocked(scan.width(), scan.height());
    const int kContam = static_cast<int>(std::find(dcard.classes.begin(), dcard.classes.end(), "contamination") - dcard.classes.begin());
    const int kStep = static_cast<int>(std::find(dcard.classes.begin(), dcard.classes.end(), "step_edge") - dcard.classes.begin());
    Image contamMask(scan.width(), scan.height()), stepMask(scan.width(), scan.height());
    for (size_t i = 0; i < blocked.size(); ++i) {
        int best = 0;
        for (int c = 1; c < static_cast<int>(defectProb.size()); ++c)
            if (defectProb[c].pixels()[i] > defectProb[best].pixels()[i]) best = c;
        contamMask.pixels()[i] = best == kContam;
        stepMask.pixels()[i] = best == kStep;
        blocked.pixels()[i] = (best != 0 || resolved.pixels()[i] < 0.5f) ? 1.0f : 0.0f;
    }
    r.contaminationFraction = maskFraction(contamMask);
    r.stepEdgeLengthNm = stepEdgeLengthNm(stepMask, scan.pixelSize);
    stepMask = Image();   // scan-sized, and needed no further
    r.timingMs["defects"] = msSince(t);

    // 5. Lattice per domain.
    t = std::chrono::steady_clock::now();
    DomainMap domains;
    if (!lattices.empty()) {
        // A second domain the spectrum hid (vicinal surfaces: the step staircase's ridge runs through its peak).
        if (lattices.size() == 1)
            if (auto turned = perpendicularDomain(scan, lattices[0])) lattices.push_back(*turned);
        domains = mapDomains(scan, lattices);
        r.lattice = latticeInfo(lattices, domains);
    }
    r.timingMs["lattice"] = msSince(t);

    // 6. Atoms, only where the lattice is resolved and not covered by contamination.
    t = std::chrono::steady_clock::now();
    Image atomProbScan;
    // Single atoms or dimers: decided from the sites found (below); dimers until then.
    r.lattice.site = "dimer";
    if (rowContrast == RowContrast::Inverted) r.lattice.rowContrast = "inverted";   // as given, atoms or not
    // Without dimer-row periodicity in the power spectrum there is no lattice to find sites on, whatever the
    // assessment says: on featureless scans (heavy noise, blunt or double tips) the atom finder invents sites.
    if (r.assessment.verdict != "unusable" && lattices.empty() && !rowsBeyondGrid) {
        r.warnings.push_back("no dimer-row periodicity in the power spectrum: atoms not reported");
        // A scan without rows is at best partly usable, whatever the network made of it (a real Au-on-mica
        // scan was rated usable with no lattice and no atoms).
        if (r.assessment.verdict == "usable") r.assessment.verdict = "degraded";
        addReason(r.assessment, "no_dimer_rows");
    }
    if (r.assessment.verdict != "unusable" && !lattices.empty()) {
        const auto& acard = impl_->atoms.card();
        PreparedInput in = prepareLevelledForModel(scan, acard.pixelSizeNm);
        if (rowContrast == RowContrast::Inverted) negate(in.resampled.image);
        auto out = impl_->atoms.predictImage(in.resampled.image);
        out[0] = Image();   // the background channel: unused, and as large as the scan
        const double minDist = 0.15 / acard.pixelSizeNm;
        std::vector<AtomSite> peaks = findPeaks(out[1], opt.atomThreshold, minDist);
        bool inverted = false;
        std::string why;
        if (rowContrast == RowContrast::Auto) {
            std::vector<AtomSite> onScan = peaks;
            for (AtomSite& a : onScan) a.x = in.resampled.map.toInputX(a.x), a.y = in.resampled.map.toInputY(a.y);
            // The two atoms of a dimer sit 0.12 nm either side of the row centre, which halves the cosines below.
            assignDomains(onScan, domains);
            mergeDimerAtoms(onScan, scan.pixelSize, r.lattice);
            // The bright defects decide where they clearly sit; otherwise the atom finder's confidence does.
            const double phase = brightDefectRowPhase(r.defects, onScan, lattices, domains);
            if (!std::isnan(phase) && (phase <= -kTroughRowPhase || phase >= kOnRowsPhase)) {
                inverted = phase < 0;
                why = "the bright point defects sit between the rows the atom finder saw";
            } else {
                inverted = rowContrastInverted(impl_->atoms, in.resampled.image, peaks, opt.atomThreshold, minDist);
                why = "the atom finder is much surer of its sites on the negated image";
            }
        }
        if (inverted) {
            negate(in.resampled.image);
            out = impl_->atoms.predictImage(in.resampled.image);
            peaks = findPeaks(out[1], opt.atomThreshold, minDist);
            r.lattice.rowContrast = "inverted";
            r.warnings.push_back("dimer-row contrast looks inverted (dark rows, bright troughs): " + why +
                                 ", so the atoms were found on the negated image; if the overlay shows the dimers in the "
                                 "troughs, give the row contrast (--row-contrast normal)");
        }
        for (AtomSite a : peaks) {
            a.x = in.resampled.map.toInputX(a.x);
            a.y = in.resampled.map.toInputY(a.y);
            const int xi = std::clamp(static_cast<int>(std::lround(a.x)), 0, scan.width() - 1);
            const int yi = std::clamp(static_cast<int>(std::lround(a.y)), 0, scan.height() - 1);
            if (resolved.at(xi, yi) < 0.5f || !scan.isValid(xi, yi)) continue;
            if (kContam < static_cast<int>(defectProb.size()) && defectProb[kContam].at(xi, yi) > 0.5f) continue;
            r.atoms.push_back(a);
        }
        if (!lattices.empty()) assignDomains(r.atoms, domains);
        // Single atoms where the finder marked about twice the lattice's dimer density (one dimer per 0.384 x
        // 0.768 nm^2 of resolved, uncontaminated area) and a good share of its sites pair up as the two atoms
        // of a dimer (0.24 nm apart across the row). The ghost copies of a double tip double the count too, but
        // do not pair; and fine pixels alone, which decided before, gave "atoms" at dimer centres on scans
        // whose dimers show as one blob. A third paired is a fifth of the dimers shown as two atoms.
        double openPx = 0;
        for (size_t i = 0; i < resolved.size(); ++i)
            openPx += resolved.pixels()[i] >= 0.5f && contamMask.pixels()[i] < 0.5f;
        const double openNm2 = openPx * scan.pixelSize.x_nm * scan.pixelSize.y_nm;
        constexpr double kDimersPerNm2 = 1.0 / (0.384 * 0.768);
        constexpr double kAtomPairedFraction = 1.0 / 3;
        if (openNm2 > 4.0 && r.atoms.size() > 1.5 * kDimersPerNm2 * openNm2 &&
            dimerPairedFraction(r.atoms, scan.pixelSize, r.lattice) >= kAtomPairedFraction)
            r.lattice.site = "atom";
        // Reporting dimers, the finder may still have marked both atoms of some of them: one site per dimer.
        if (r.lattice.site == "dimer" && opt.mergeDimerAtoms) mergeDimerAtoms(r.atoms, scan.pixelSize, r.lattice);
        if (maps && opt.keepMaps) atomProbScan = mapToScanGrid(out[1], in.resampled.map, scan.width(), scan.height());
    }
    r.timingMs["atoms"] = msSince(t);

    // 7. Defect-free regions, aligned to the rows.
    t = std::chrono::steady_clock::now();
    r.freeRegions = findFreeRegions(blocked, scan.pixelSize, r.lattice.found ? r.lattice.rowDirectionDeg : 0.0,
                                    opt.freeRegions, opt.minFreeRegionNm2);
    r.timingMs["free_regions"] = msSince(t);

    if (maps) {
        maps->levelled = scan;
        maps->atomProb = std::move(atomProbScan);
        maps->defectProb = std::move(defectProb);
        maps->defectClasses = dcard.classes;
        maps->resolved = std::move(resolved);
        if (!lattices.empty()) {
            maps->rowDirection = Image(scan.width(), scan.height(), -1.0f);
            for (size_t i = 0; i < maps->rowDirection.size(); ++i) {
                const int d = static_cast<int>(domains.label.pixels()[i]);
                if (d >= 0 && d < static_cast<int>(lattices.size())) maps->rowDirection.pixels()[i] = static_cast<float>(lattices[d].directionDeg);
            }
        }
    }
    r.timingMs["total"] = msSince(t0);
    return r;
}

}  // namespace stmlens
