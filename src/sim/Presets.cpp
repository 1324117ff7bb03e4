// Presets: the situations users meet, as distributions over SceneConfig.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/Errors.h"
#include "sim/SceneConfig.h"
#include "sim/Terraces.h"

namespace stmlens::sim {

namespace {
const std::pair<const char*, Preset> kPresets[] = {
    {"atomic", Preset::Atomic}, {"survey", Preset::Survey}, {"stepped", Preset::Stepped}, {"dirty", Preset::Dirty},
    {"badtip", Preset::BadTip}, {"noisy", Preset::Noisy},   {"mixed", Preset::Mixed},
};

Preset drawPreset(Rng& rng) {
    const double r = rng.uniform();
    if (r < 0.30) return Preset::Atomic;
    if (r < 0.55) return Preset::Survey;
    if (r < 0.70) return Preset::Stepped;
    if (r < 0.80) return Preset::Dirty;
    if (r < 0.90) return Preset::BadTip;
    return Preset::Noisy;
}
}  // namespace

Preset parsePreset(const std::string& name) {
    std::string n;
    for (char c : name)
        if (c != '_' && c != '-') n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& [key, p] : kPresets)
        if (n == key) return p;
    throw InputError("--preset", "unknown preset '" + name +
                                     "' (atomic, survey, stepped, dirty, badtip, noisy, mixed)");
}

std::string presetName(Preset p) {
    for (const auto& [key, q] : kPresets)
        if (p == q) return key;
    return "mixed";
}

const char* pixelClassName(PixelClass c) {
    switch (c) {
        case PixelClass::Lattice: return "lattice";
        case PixelClass::Bright: return "bright";
        case PixelClass::Dark: return "dark";
        case PixelClass::StepEdge: return "step_edge";
        case PixelClass::Contamination: return "contamination";
        case PixelClass::BareSi: return "bare_si";
    }
    return "lattice";
}

// Share of constant-height frames with dark trough pits, and their depth relative to the atoms: chosen so that
// the simulated frames span the row-dimer values of the cda frames (-0.9 to +0.2) as well as the usual +1.
constexpr double kTroughPitShare = 0.6, kTroughPitMin = 2.0, kTroughPitMax = 4.0;
constexpr double kFaintRowShare = 0.4, kFaintRowMin = 0.03, kFaintRowMax = 0.12;
// Survey point defects against the small frames' (drawn per scan; bench_sim_realism, simulator.md "Stop 35").
constexpr double kSurveyBrightScaleMin = 0.5, kSurveyBrightScaleMax = 0.8;
constexpr double kSurveyDarkScaleMin = 0.6, kSurveyDarkScaleMax = 0.9;
constexpr double kSurveyDensityScale = 2.0;

namespace {

// Where a step edge runs, drawn in this order: its normal (half the time near the row direction), the edge
// through a point in the middle half of the frame, the roughness of its S_A and S_B parts.
struct StepEdgeDraw {
    double normalRad, originNm, roughSA, roughSB;
    void applyTo(SceneConfig& c) const {
        c.stepNormalRad = normalRad;
        c.stepOriginNm = originNm;
        c.roughSA = roughSA;
        c.roughSB = roughSB;
    }
};

StepEdgeDraw drawStepEdge(Rng& rng, double rotationRad, double wNm, double hNm) {
    StepEdgeDraw e;
    e.normalRad = rng.chance(0.5) ? rotationRad + rng.normal(0, 0.3) : rng.uniform(0, 2 * M_PI);
    const double cx = wNm * rng.uniform(0.25, 0.75), cy = hNm * rng.uniform(0.25, 0.75);
    e.originNm = cx * std::cos(e.normalRad) + cy * std::sin(e.normalRad);
    e.roughSA = rng.uniform(0.05, 0.4);
    e.roughSB = rng.uniform(0.3, 1.2);
    return e;
}

}  // namespace

SceneConfig sampleScene(const SimParams& params, Rng& rng) {
    SceneConfig c;
    c.preset = params.preset == Preset::Mixed ? drawPreset(rng) : params.preset;
    const Preset P = c.preset;
    const double px = std::sqrt(params.pixelSize.x_nm * params.pixelSize.y_nm);
    const double wNm = params.width * params.pixelSize.x_nm, hNm = params.height * params.pixelSize.y_nm;
    const double extent = std::max(wNm, hNm);
    const double ns = std::isnan(params.noiseScale) ? 1.0 : params.noiseScale;

    // Orientation: instruments are usually aligned with the rows, but not always.
    if (!std::isnan(params.rotationDeg))
        c.rotationRad = params.rotationDeg * M_PI / 180;
    else if (rng.chance(0.5))
        c.rotationRad = (rng.chance(0.5) ? 0.0 : M_PI / 2) + rng.normal(0, 0.03);
    else
        c.rotationRad = rng.uniform(0, M_PI);

    switch (params.mode) {
        case SimMode::FilledState: c.mode = "filled"; break;
        case SimMode::EmptyState: c.mode = "empty"; break;
        case SimMode::ConstantHeight: c.mode = "current"; break;
        case SimMode::Random: {
            const double r = rng.uniform();
            const double pCurrent = P == Preset::Atomic ? 0.35 : 0.15;
            c.mode = r < pCurrent ? "current" : (r < pCurrent + 0.2 ? "empty" : "filled");
        }
    }

    // Appearance.
    Appearance& a = c.app;
    a.atomSigma = rng.uniform(0.07, 0.11);
    const double tip = P == Preset::BadTip && rng.chance(0.6) ? rng.uniform(0.15, 0.5) : rng.logUniform(0.01, 0.09);
    const double boxVar = rng.uniform(0.3, 1.0) * px * px / 12;   // pixel integration (feedback bandwidth)
    a.blurSigma = std::sqrt(tip * tip + boxVar);
    // Real frames (the cda constant-height scans, 1.3 V) mostly show bright rows split by narrow dark troughs;
    // the inverted empty-state contrast (dark rows, bright troughs) happens but is the exception. A network that
    // sees inversion too often learns that a narrow dark line may be a row and puts dimers in the troughs.
    const bool inverted = c.mode == "empty" && rng.chance(0.3);
    const bool darkTrough = !inverted && rng.chance(c.mode == "filled" ? 0.4 : 0.7);
    if (c.mode == "empty") {
        // Inverted, the empty-state image is dominated by the valley states of the Si-Si antibonds, not by the
        // dimers: the rows and their atoms go dark together (low-temperature H-Si(100) images). Until stop 26
        // the atoms stayed bright on the dark rows, so a negated frame had its dimers as dips.
        a.atomAmp = rng.uniform(0.004, 0.02) * (inverted ? -1 : 1);
        a.rowAmp = inverted ? rng.uniform(-0.015, 0.0) : rng.uniform(0.005, 0.025);
        a.troughAmp = inverted ? rng.uniform(0.01, 0.04) : 0.0;
    } else {
        a.atomAmp = rng.uniform(0.008, 0.04);
        a.rowAmp = rng.uniform(0.015, 0.06);
        a.troughAmp = 0;
    }
    a.rowSigma = rng.uniform(0.15, 0.24);
    a.troughSigma = rng.uniform(0.1, 0.16);
    if (darkTrough) {
        a.troughAmp = -a.rowAmp * rng.uniform(0.3, 1.2);
        a.troughSigma = rng.uniform(0.06, 0.11);
    }
    c.app2 = a;

    // Steps.
    const double pStep = P == Preset::Stepped ? 1.0 : P == Preset::Survey ? 0.6 : P == Preset::Atomic ? 0.2 : 0.3;
    // Constant-height frames get their steps below (drawn last, so the other draws of a seed stay as they were).
    if (rng.chance(pStep) && params.steps && c.mode != "current") {
        if (P == Preset::Stepped || (P == Preset::Survey && rng.chance(0.5))) {
            c.steps = 2;
            c.terraceWidthNm = std::max(3.0, rng.logUniform(0.06, 0.35) * extent);
            c.terraceWidthNm = std::clamp(c.terraceWidthNm, 3.0, 80.0);
            c.doubleSteps = rng.chance(0.15);
        } else {
            c.steps = 1;
            c.terraceWidthNm = 50 * extent;
        }
        drawStepEdge(rng, c.rotationRad, wNm, hNm).applyTo(c);
    }

    // Defects: real surfaces show a few % of sites defective; our densities are per dimer. The ntm/fsl surveys
    // carry more point defects than the small frames (1.95 % of their pixels above +3 robust sigma; 1.3 % simulated
    // with 0.004-0.06), and fewer of the tall residue blobs and bare-Si patches that gave simulated surveys a
    // kurtosis of 26 against their 5 (bench_sim_realism; see simulator.md).
    double dens = P == Preset::Dirty    ? rng.logUniform(0.01, 0.06)
                  : P == Preset::Survey ? rng.logUniform(0.01, 0.12)
                                        : rng.logUniform(0.002, 0.03);
    if (!std::isnan(params.defectDensity)) dens = params.defectDensity;
    c.defectDensity = params.defects ? dens : 0.0;
    c.dbHeight = rng.uniform(0.06, 0.2);
    c.dbSigma = rng.uniform(0.2, 0.36);
    c.chargedFraction = rng.chance(0.5) ? rng.uniform(0.0, 0.9) : 0.0;
    c.haloAmp = rng.chance(0.8) ? -rng.uniform(0.005, 0.03) : rng.uniform(0.003, 0.015);
    c.haloSigma = rng.uniform(0.8, 2.0);
    c.vacDepth = rng.uniform(0.04, 0.12);
    if (params.defects) {
        switch (P) {
            case Preset::Dirty:
                c.contaminationPer100nm2 = rng.logUniform(0.2, 3.0);
                c.contamMinNm = 1.5;
                c.contamMaxNm = std::clamp(extent / 4, 3.0, 20.0);
                break;
            case Preset::Survey:
                c.contaminationPer100nm2 = rng.chance(0.45) ? rng.logUniform(0.003, 0.1) : 0;
                c.contamMinNm = 1;
                c.contamMaxNm = std::clamp(extent / 8, 2.0, 20.0);
                c.lithoPatches = rng.chance(0.15) ? rng.integer(1, 4) : 0;
                break;
            default:
                c.contaminationPer100nm2 = rng.chance(0.35) ? rng.logUniform(0.005, 0.15) : 0;
                c.contamMinNm = 1;
                c.contamMaxNm = std::clamp(extent / 6, 1.5, 10.0);
                c.lithoPatches = rng.chance(0.1) ? 1 : 0;
        }
    }

    c.raisedHeight = c.dbHeight;
    c.shallowDepth = c.vacDepth;
    if (c.mode == "current") {   // gentle, streaky constant-height frames (cf. the cda scans)
        c.contaminationPer100nm2 *= 0.2;
        c.contamMaxNm = std::min(c.contamMaxNm, 4.0);
        const double rowScale = rng.uniform(0.08, 0.35);
        c.app.rowAmp *= rowScale;
        c.app.troughAmp *= rowScale;
        c.app.atomAmp *= rng.uniform(0.5, 1.2);   // dimers stay distinct along the rows (cda 0819 frames)
        c.app2 = c.app;
        // charged DBs with dark screening halos are common on doped samples at low temperature
        c.chargedFraction = std::max(c.chargedFraction, rng.uniform(0.2, 0.9));
        c.haloAmp = -std::abs(c.haloAmp) * rng.uniform(1.0, 2.5);
        c.haloSigma = rng.uniform(1.0, 2.5);
        c.dbSigma = rng.uniform(0.14, 0.24);
        // Pits lose most of the current: black. With 1.5-3x the cda etch pits and vacancies stood twice as far
        // below the frame's spread as the simulated ones (bench_sim_realism, defect looks).
        c.vacDepth *= rng.uniform(3.0, 6.0);
    }

    // Artefacts. Every draw happens whatever the switches say, so switching one off leaves the rest of the
    // scene as it was (tests compare a scan with and without distortion).
    const double warp = rng.logUniform(0.2, P == Preset::Noisy ? 3.0 : 1.5);
    c.warpStrength = params.distortion ? warp * (std::isnan(params.distortionScale) ? 1.0 : params.distortionScale) : 0.0;
    const bool noisy = P == Preset::Noisy;
    // Surveys: a flatter spectrum than simulated (slope -1.7 against -2.65) and weaker row peaks say more fine noise.
    c.whiteNoise = ns * (noisy                 ? rng.logUniform(0.006, 0.03)
                         : P == Preset::Survey ? rng.logUniform(0.002, 0.012)
                                               : rng.logUniform(0.0007, 0.006));
    c.pinkNoise = ns * (noisy ? rng.logUniform(0.005, 0.03) : rng.logUniform(0.0005, 0.004));
    c.lineJumpRate = rng.chance(0.5) ? rng.logUniform(0.002, noisy ? 0.1 : 0.03) : 0;
    c.lineJumpAmp = ns * rng.logUniform(0.005, noisy ? 0.08 : 0.03);
    c.spikeRate = rng.chance(0.5) ? rng.logUniform(1e-5, noisy ? 1e-3 : 2e-4) : 0;
    c.spikeAmp = rng.uniform(0.05, 0.5);
    c.glitchLines = rng.chance(noisy ? 0.8 : 0.2) ? rng.integer(1, noisy ? 6 : 2) : 0;
    c.tiltX = rng.normal(0, 0.01);
    c.tiltY = rng.normal(0, 0.01);
    c.bow = rng.chance(0.5) ? rng.normal(0, 0.1) : 0;
    if (rng.chance(0.3)) {
        c.waveAmp = ns * rng.logUniform(0.002, 0.02);
        c.wavePeriodNm = rng.uniform(0.3, 1.0) * extent;
    }
    if (rng.chance(0.3)) {
        c.ringAmp = rng.uniform(0.05, 0.35);
        c.ringPeriodPx = rng.uniform(3, 12);
        c.ringDecay = rng.uniform(0.75, 0.93);
    }
    if (rng.chance(0.4)) {
        c.lagAlpha = rng.uniform(0.25, 0.9);
        c.lagGain = rng.uniform(0.0, 0.8);
    }
    if (rng.chance(0.3)) c.quantStepNm = rng.logUniform(1e-5, 2e-3);
    c.currentBeta = rng.uniform(2, 6);
    c.currentNoise = ns * rng.logUniform(0.003, noisy ? 0.1 : 0.03);
    c.currentLineNoise = ns * rng.logUniform(0.003, noisy ? 0.15 : 0.04);
    c.currentClip = rng.chance(0.6);
    c.current8bit = rng.chance(0.5);
    c.currentClipLowSigma = rng.uniform(5.0, 20.0);   // the display window, in robust sigma of the frame
    c.currentClipHighSigma = rng.uniform(8.0, 20.0);

    const double pDouble = P == Preset::BadTip ? 0.5 : 0.04;
    if (rng.chance(pDouble)) {
        c.doubleTip = true;
        c.extraApexes = rng.chance(0.25) ? 2 : 1;
        for (int k = 0; k < c.extraApexes; ++k) {
            const double d = rng.uniform(0.4, 3.0), ang = rng.uniform(0, 2 * M_PI);
            c.apexDxNm[k] = d * std::cos(ang);
            c.apexDyNm[k] = d * std::sin(ang);
            c.apexDeltaNm[k] = rng.uniform(0.0, 0.08);
        }
    }
    const double pChange = P == Preset::BadTip ? 0.5 : 0.04;
    if (rng.chance(pChange) && params.height >= 8) {
        c.tipChange = true;
        c.tipChangeRow = rng.integer(params.height / 8, params.height * 7 / 8);
        Appearance& b = c.app2;
        const double t2 = rng.chance(0.6) ? rng.uniform(0.15, 0.5) : rng.logUniform(0.01, 0.1);
        b.blurSigma = std::sqrt(t2 * t2 + boxVar);
        b.gain = rng.uniform(0.4, 1.6);
        b.offset = rng.normal(0, 0.15);
        if (rng.chance(0.3)) {   // contrast inversion with the new apex: rows and atoms go dark together
            std::swap(b.rowAmp, b.troughAmp);
            b.atomAmp = -b.atomAmp;
        }
    }
    if (!params.artefacts) {
        const SceneConfig drawn = c;
        c.whiteNoise = c.pinkNoise = c.currentNoise = c.currentLineNoise = 0;
        c.lineJumpRate = c.spikeRate = 0;
        c.glitchLines = 0;
        c.tiltX = c.tiltY = c.bow = c.waveAmp = 0;
        c.ringAmp = 0;
        c.lagAlpha = c.lagGain = 0;
        c.quantStepNm = 0;
        c.doubleTip = c.tipChange = false;
        c.app2 = c.app;
        c.currentBeta = drawn.currentBeta;
    }
    // Drawn last so that adding it left every earlier draw of a seed as it was.
    c.siloxaneBright = rng.chance(c.mode == "current" ? 0.85 : c.mode == "empty" ? 0.6 : 0.15);
    // DBs of the cda frames stand ~4 robust sigma above the lattice, not the ~12 of topographic heights
    // (0.22-0.36 until stop 21 gave +2.3 once the subsurface charges and steps had widened the frames' spread).
    if (c.mode == "current") {
        c.dbHeight *= rng.uniform(0.45, 0.8);
        c.shallowDepth *= rng.uniform(0.5, 0.7);
        // Drawn last too. In part of the constant-height frames the dimer contrast sits in the troughs (dark pits
        // between neighbouring dimers), as in the cda 2022-08-19 frames (bench_sim_realism, row-dimer column).
        if (rng.chance(kTroughPitShare)) {
            c.app.troughPitAmp = -c.app.atomAmp * rng.uniform(kTroughPitMin, kTroughPitMax);
            c.app.troughPitSigma = rng.uniform(0.08, 0.14);
            c.app.troughPitWidth = rng.uniform(0.12, 0.25);
            c.app2.troughPitAmp = c.app.troughPitAmp;
            c.app2.troughPitSigma = c.app.troughPitSigma;
            c.app2.troughPitWidth = c.app.troughPitWidth;
        }
        // Constant-height frames cross steps too: 4 of the 5 exported 2022-08-22 cda frames show one or two rough
        // edges, the lower terrace dark (0.136 nm further from the tip: exp(beta z) gives it a fraction of the
        // current). Single-layer steps only.
        const bool step = rng.chance(0.4);
        const bool two = rng.chance(0.3);
        const double width = rng.uniform(0.3, 0.6) * extent;
        const StepEdgeDraw edge = drawStepEdge(rng, c.rotationRad, wNm, hNm);   // drawn even when no step is kept
        // Subsurface charged centres: the real frames carry far more smooth contrast at scales above 2 nm than
        // the lattice (65-82 % of the 08-19 frames' variance, 5-15 % in the lattice peaks) and 16 dark spots per
        // frame on average; the dips and swells below bring the simulated spot count there (simulator.md).
        c.dopantsPerNm2 = params.defects ? rng.logUniform(0.003, 0.012) : 0.0;
        c.dopantAmp = -rng.uniform(0.04, 0.12);
        c.dopantSigmaMin = rng.uniform(0.7, 1.2);
        c.dopantSigmaMax = c.dopantSigmaMin * rng.uniform(1.5, 3.0);
        c.dopantBrightShare = rng.uniform(0.0, 0.35);
        c.swells = rng.integer(1, 8);
        c.swellAmp = rng.uniform(0.005, 0.02);
        if (step && params.steps) {
            // Their exports show every terrace (the lower one dark grey, its defects still visible), not a window
            // around one terrace's current that would clip the other flat.
            c.currentClip = false;
            c.steps = two ? 2 : 1;
            c.terraceWidthNm = two ? std::max(3.0, width) : 50 * extent;
            c.doubleSteps = false;
            edge.applyTo(c);
        }
        // Drawn last: a bright lobe beside the missing dimers of part of the constant-height frames.
        if (rng.chance(0.6)) c.missingDimerLobe = rng.uniform(0.5, 1.0);
        c.missingDimerLobeSide = rng.chance(0.5) ? 1 : -1;
        // Drawn last: the 2022-08-22 look. Those cda frames show a faint grid of rows and dimers (row peak 2.1-2.5
        // against 4.1-4.3 in the 08-19 frames, the dimer peak as strong as the row's, no dimer contrast in the
        // troughs) and fewer line offsets; they are 21 of the 46 labelled frames.
        if (rng.chance(kFaintRowShare)) {
            const double rows = rng.uniform(kFaintRowMin, kFaintRowMax), atoms = rng.uniform(0.25, 0.5);
            for (Appearance* app : {&c.app, &c.app2}) {
                app->rowAmp *= rows;
                app->troughAmp *= rows;
                app->atomAmp *= atoms;
                app->troughPitAmp = 0;
            }
            // The noise fades less than the lattice: the grid stays just visible, the defects and halos stand
            // out more.
            const double noise = std::sqrt(atoms);
            c.currentNoise *= noise;
            c.whiteNoise *= noise;
            c.pinkNoise *= noise;
            c.currentLineNoise *= noise * rng.uniform(0.4, 1.0);
        }
        // Drawn last: the cda frames' step edges run as staircases of short facets along the two row directions
        // (2022-08-22 frames 0010, 0020, 0041), not as lines wandering across the rows.
        if (rng.chance(0.7)) c.stepFacetNm = rng.uniform(0.8, 3.0);
    }
    // Drawn last: survey defects at the contrast of the real surveys. In the ntm/fsl files at 0.195 nm/px the
    // brightest 0.05 % of pixels stand 6-10 robust sigma above the lattice and the darkest 2-9 below; the surveys
    // drawn with the small frames' heights reached 11 / -6 on average and up to 34 / -15 (saturated white disks and
    // black squares by eye). Twice as many keep about as many pixels beyond 3 sigma as before (bench_sim_realism).
    if (P == Preset::Survey) {
        const double bright = rng.uniform(kSurveyBrightScaleMin, kSurveyBrightScaleMax);
        const double dark = rng.uniform(kSurveyDarkScaleMin, kSurveyDarkScaleMax);
        c.dbHeight *= bright;
        c.raisedHeight *= bright;
        c.contamHeightScale = bright;
        c.vacDepth *= dark;
        c.shallowDepth *= dark;
        if (std::isnan(params.defectDensity)) c.defectDensity *= kSurveyDensityScale;
    }
    return c;
}

}  // namespace stmlens::sim
