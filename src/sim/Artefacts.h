#pragma once
// Instrument artefacts applied to a rendered frame in scan order (row-major, row 0 scanned first).
// Amplitudes are in the image's height units (nm). Internal to the simulator.
#include "core/Image.h"
#include "sim/Rng.h"
#include "sim/SceneConfig.h"

namespace stmlens::sim {

// Plane tilt, bow (slow-axis creep) and long-wavelength waviness.
void addBackground(Image& img, const SceneConfig& cfg, Rng& rng);
// Feedback ringing: a damped oscillation along the fast axis after every height jump.
void addRinging(Image& img, const SceneConfig& cfg);
// Feedback lag: the z signal follows the surface with a first-order delay along the fast axis, so features
// smear in the scan direction (ringing, below, adds the overshoot).
void addFeedbackLag(Image& img, const SceneConfig& cfg);
// White noise, 1/f noise in scan order (its slow part gives line-to-line streaks), line offset jumps,
// spikes and glitch lines. Returns the RMS of the noise added (nm), for the quality label.
double addScanNoise(Image& img, const SceneConfig& cfg, Rng& rng);
// Rounds values to the DAC step.
void quantise(Image& img, double step);

}  // namespace stmlens::sim
