#pragma once
// Simulated STM scans of H-Si(100) 2x1 with exact ground truth, for training and testing.
//
//   SimParams p;  p.width = p.height = 256;  p.pixelSize = PixelSize::square(0.1);  p.preset = Preset::Mixed;
//   SimSample s = simulate(p, seed);      // deterministic by seed
//   s.image            topography (nm) or constant-height current (arbitrary units), see image.meta
//   s.truth.labels     PixelClass per pixel (as float), same grid as the image
//   s.truth.atoms      every visible surface atom, in the final (distorted) image grid
//
// Geometry: every geometric distortion (drift, creep, hysteresis) is a map from image pixels to surface
// nanometres; the lattice, the defects and every truth item are evaluated through the same map, so truth
// and image always agree. Physics and conventions: docs/simulator.md and ../shared/docs/physics.md.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/Image.h"

namespace stmlens::sim {

// Situations users meet; Mixed draws one of the others per scan with randomised knobs (for training).
enum class Preset { Atomic, Survey, Stepped, Dirty, BadTip, Noisy, Mixed };
Preset parsePreset(const std::string& name);   // case-insensitive; throws InputError on unknown names
std::string presetName(Preset p);

// Rendering style of the output image.
enum class SimMode { Random, FilledState, EmptyState, ConstantHeight };

struct SimParams {
    int width = 256, height = 256;
    PixelSize pixelSize = PixelSize::square(0.1);
    Preset preset = Preset::Mixed;
    double rotationDeg = NAN;          // dimer-row direction of the first terrace, degrees from +x; NAN = random
    SimMode mode = SimMode::Random;    // Random: chosen per scan (topography mostly, some current images)
    double defectDensity = NAN;        // point defects per surface dimer; NAN = preset's random range
    double noiseScale = NAN;           // multiplies every noise and artefact amplitude; NAN = preset default (1)
    bool artefacts = true;             // false: no instrument artefacts at all (clean renders, for tests)
    bool distortion = true;            // false: no drift/creep/hysteresis warp
    double distortionScale = NAN;      // multiplies the random warp strength; NAN = 1
    bool steps = true;                 // false: a single flat terrace
    bool defects = true;               // false: perfect lattice
    size_t maxListedAtoms = 3000000;   // above this the atom list is left empty (huge coarse scans)
};

// Per-pixel coarse classes used as network targets. Order and names are part of the model files' contract.
enum class PixelClass : uint8_t { Lattice = 0, Bright = 1, Dark = 2, StepEdge = 3, Contamination = 4, BareSi = 5 };
constexpr int kPixelClassCount = 6;
const char* pixelClassName(PixelClass c);

struct SimAtom {
    double x = 0, y = 0;      // final image pixels (centre of top-left pixel = 0,0)
    int dimerId = -1;         // unique per dimer in this scan; the two atoms of a dimer share it
    int terraceId = 0;
    bool hydrogenated = true; // false: dangling bond / bare Si
};

struct SimDefect {
    std::string type;         // fine type: dangling_bond, bare_dimer, missing_dimer, vacancy_cluster, si_vacancy,
                              // single_dihydride, dihydride_pair, patch_1x1, patch_3x1, siloxane, raised_si,
                              // contamination, litho_patch, step_edge
    PixelClass cls = PixelClass::Bright;
    double x = 0, y = 0;      // centroid, image pixels
    int bbox[4] = {0, 0, 0, 0};   // x0, y0, x1, y1 inclusive, image pixels (clipped to the image)
    bool extended = false;
    std::vector<int> sites;   // indices into SimTruth::atoms of the atoms it involves (visible ones)
};

struct SimTruth {
    Image labels;              // PixelClass per pixel as float (0..5)
    Image atomMap;             // Gaussian blobs (height 1) at visible atom sites, or dimer centres when unresolved
    Image resolvedMask;        // 1 where the lattice is resolved in the rendered image
    std::vector<SimAtom> atoms;
    std::vector<SimDefect> defects;
    std::string quality = "good";   // good | unresolved | double_tip | tip_change | heavy_noise | contaminated
    std::vector<std::string> qualityReasons;
    bool atomsResolved = false;     // single atoms (not only dimers/rows) resolvable at this pixel size and blur
    Preset preset = Preset::Mixed;  // the concrete preset used (never Mixed)
    std::string mode;               // filled | empty | current
    double rotationDeg = 0;         // row direction of terrace 0
    // The troughs render brighter than the dimer rows (empty-state inversion, or a tip change that swapped
    // them) over most of the frame's lines: what `--row-contrast inverted` says of a real scan.
    bool rowsInverted = false;
};

struct SimSample {
    Image image;
    SimTruth truth;
};

// Deterministic by seed. Throws InputError on bad params (size, pixel size out of range, NaN knobs...).
SimSample simulate(const SimParams& params, uint64_t seed);

}  // namespace stmlens::sim
