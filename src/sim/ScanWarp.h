#pragma once
// Geometric distortion of a scan: the map from final image pixels to surface nanometres.
// Models thermal drift (skew, slow-axis scale), piezo creep at the start of the frame, fast-axis hysteresis
// (sinusoidal non-linearity) and slow waviness. Every truth item goes through toImage(), the lattice through
// toSurface(), so truth and image move together.
#include <vector>

#include "core/PixelSize.h"
#include "sim/Rng.h"

namespace stmlens::sim {

struct ScanWarp {
    int width = 0, height = 0;
    PixelSize pixel;
    // offsets in pixels, see dx()/dy()
    double skewX = 0;          // x shift per row (drift along the fast axis while the slow axis advances)
    double scaleY = 0;         // relative slow-axis scale error (drift along the slow axis)
    double quadY = 0;          // slow-axis non-linearity, pixels at the bottom row
    double creepAmp = 0;       // x offset at the first line, decaying with creepTau rows (piezo creep)
    double creepTau = 50;
    double hysteresis = 0;     // fast-axis non-linearity: peak x shift in pixels, mid-line
    double waveAmp = 0;        // slow waviness of x along y, pixels
    double wavePeriod = 1000;  // rows
    double wavePhase = 0;

    static ScanWarp identity(int width, int height, PixelSize pixel);
    // Random distortion of the given strength (0 = none, 1 = typical, 3 = bad).
    static ScanWarp random(int width, int height, PixelSize pixel, double strength, Rng& rng);

    double dx(double x, double y) const { return tabulated_ ? lookup(colX_, x) + lookup(rowX_, y) : dxExact(x, y); }
    double dy(double x, double y) const { return tabulated_ ? lookup(rowY_, y) : dyExact(x, y); }
    double dxExact(double x, double y) const;
    double dyExact(double x, double y) const;
    // Samples the (separable, smooth) offsets once per pixel so dx/dy cost a table look-up; call after setting
    // the parameters. Linear interpolation error is far below 1e-3 px for any distortion random() makes.
    void tabulate();
    void toSurface(double x, double y, double& sx, double& sy) const {
        sx = (x + dx(x, y)) * pixel.x_nm;
        sy = (y + dy(x, y)) * pixel.y_nm;
    }
    // Inverse by fixed-point iteration (the offsets vary slowly, so it converges in a few steps).
    void toImage(double sx, double sy, double& x, double& y) const { toImageFrom(sx, sy, x, y, 0, 0); }
    // Same, starting the iteration from the offsets (gx, gy) of a nearby point (fewer iterations).
    void toImageFrom(double sx, double sy, double& x, double& y, double gx, double gy) const;
    bool isIdentity() const;

private:
    struct Table {
        double first = 0;
        std::vector<double> v;
    };
    double lookup(const Table& t, double at) const {
        const double f = at - t.first;
        if (f <= 0) return t.v.front();
        const size_t i = static_cast<size_t>(f);
        if (i + 1 >= t.v.size()) return t.v.back();
        return t.v[i] + (t.v[i + 1] - t.v[i]) * (f - i);
    }
    bool tabulated_ = false;
    Table colX_, rowX_, rowY_;
};

}  // namespace stmlens::sim
