#pragma once
// Everything random about one simulated scan, drawn once from the preset and the seed: surface (terraces,
// defect densities), appearance (tip, bias) and instrument artefacts. Internal to the simulator.
#include <string>

#include "sim/LatticeProfile.h"
#include "sim/Rng.h"
#include "sim/Simulator.h"

namespace stmlens::sim {

struct SceneConfig {
    Preset preset = Preset::Atomic;
    std::string mode = "filled";       // filled | empty | current
    double rotationRad = 0;

    // terraces
    int steps = 0;                     // 0 flat, 1 a single edge through the frame, 2 vicinal staircase
    double terraceWidthNm = 1e4, stepNormalRad = 0, stepOriginNm = 0;
    bool doubleSteps = false;
    double roughSA = 0.2, roughSB = 1.5;
    double stepFacetNm = 0;   // > 0: edges oblique to the rows run as staircases of facets this long on average

    // appearance; tip change swaps app for app2 from row tipChangeRow on
    Appearance app, app2;
    bool tipChange = false;
    int tipChangeRow = 0;

    // defects
    double defectDensity = 0.01;       // point defects per dimer
    double dbHeight = 0.12, dbSigma = 0.3;
    double chargedFraction = 0.3, haloAmp = -0.02, haloSigma = 1.5;
    double vacDepth = 0.08;
    // Constant-height frames show the lattice faintly, so their DBs, siloxanes, dihydrides and missing dimers
    // stand out less than in topography while raised Si and pits stay strong (measured on the cda frames,
    // bench_sim_realism): those keep the topographic height and depth drawn before the current-mode scaling.
    double raisedHeight = 0.12, shallowDepth = 0.08;
    // Siloxane's look depends on bias and tip: a dark centre with a bright rim (filled states), or a round bright
    // blob about a DB wide and without a halo, as in the cda constant-height frames at +1.3 V. One look per scan.
    bool siloxaneBright = false;
    // In the 2022-08-22 cda frames most missing dimers show a bright lobe on the next dimer along the row (46 % of
    // the 302 labelled ones have a positive extreme within 0.35 nm). Height over dbHeight (0: none), and the side.
    double missingDimerLobe = 0;
    int missingDimerLobeSide = 1;
    // Charged centres below the surface (dopants, buried defects): broad shallow dips, a few bumps, no label
    // (the sites above them are lattice). Every cda frame shows 10-20 per 50 x 50 nm.
    double dopantsPerNm2 = 0, dopantAmp = -0.02, dopantSigmaMin = 0.6, dopantSigmaMax = 2.0, dopantBrightShare = 0.2;
    // and a few much broader swells and dips (4-12 nm): deeper dopants, the tip's slow drift in height.
    int swells = 0;
    double swellAmp = 0.02;
    double contaminationPer100nm2 = 0;  // blobs per 100 nm^2
    double contamMinNm = 1, contamMaxNm = 6;
    double contamHeightScale = 1;        // multiplies the residue blobs' heights (surveys: drawn lower)
    int lithoPatches = 0;

    // artefacts
    double warpStrength = 0;
    bool doubleTip = false;            // extra apexes (1, sometimes 2): each sees the surface shifted
    int extraApexes = 0;
    double apexDxNm[2] = {0, 0}, apexDyNm[2] = {0, 0}, apexDeltaNm[2] = {0.05, 0.05};
    double whiteNoise = 0.002, pinkNoise = 0.003, lineJumpAmp = 0, lineJumpRate = 0;
    double spikeRate = 0, spikeAmp = 0.2;
    int glitchLines = 0;
    double tiltX = 0, tiltY = 0, bow = 0, waveAmp = 0, wavePeriodNm = 50;
    double ringAmp = 0, ringPeriodPx = 5, ringDecay = 0.8;
    double lagAlpha = 0, lagGain = 0;  // feedback lag along the fast axis (0 = off): smear and trailing shadow
    double quantStepNm = 0;
    double currentBeta = 12;           // 1/nm, constant-height current ~ exp(beta * z)
    double currentNoise = 0.01;        // relative, per pixel
    bool currentClip = false, current8bit = false;   // display-window export of current frames
    double currentClipLowSigma = 10, currentClipHighSigma = 15;  // display window, robust sigma below / above the median
    double currentLineNoise = 0.0;     // relative, per scan line (AR(1) along the slow axis): the streaks
};

SceneConfig sampleScene(const SimParams& params, Rng& rng);

}  // namespace stmlens::sim
