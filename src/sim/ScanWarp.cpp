#include "sim/ScanWarp.h"

#include <algorithm>
#include <cmath>

namespace stmlens::sim {

ScanWarp ScanWarp::identity(int width, int height, PixelSize pixel) {
    ScanWarp w;
    w.width = width;
    w.height = height;
    w.pixel = pixel;
    return w;
}

ScanWarp ScanWarp::random(int width, int height, PixelSize pixel, double strength, Rng& rng) {
    ScanWarp w = identity(width, height, pixel);
    if (strength <= 0) return w;
    const double W = width, H = height;
    // Drift: a few percent of skew and scale error is common in unattended scans.
    w.skewX = rng.normal(0, 0.015 * strength);
    w.scaleY = rng.normal(0, 0.015 * strength);
    w.quadY = rng.normal(0, 0.01 * strength) * H;
    if (rng.chance(0.5)) {
        w.creepAmp = rng.normal(0, 0.02 * strength) * W;
        w.creepTau = rng.uniform(0.03, 0.2) * H;
    }
    w.hysteresis = rng.normal(0, 0.006 * strength) * W;
    if (rng.chance(0.4)) {
        w.waveAmp = rng.uniform(0, 0.004 * strength) * W;
        w.wavePeriod = rng.uniform(0.3, 1.5) * H;
        w.wavePhase = rng.uniform(0, 2 * M_PI);
    }
    return w;
}

double ScanWarp::dxExact(double x, double y) const {
    double d = skewX * y;
    if (creepAmp != 0) d += creepAmp * std::exp(-y / creepTau);
    if (hysteresis != 0) d += hysteresis * std::sin(M_PI * x / std::max(1, width));
    if (waveAmp != 0) d += waveAmp * std::sin(2 * M_PI * y / wavePeriod + wavePhase);
    return d;
}

double ScanWarp::dyExact(double, double y) const {
    const double H = std::max(1, height);
    return scaleY * y + quadY * (y / H) * (y / H);
}

void ScanWarp::tabulate() {
    tabulated_ = false;
    // Beyond the table the offsets are held constant: truth outside the frame is discarded anyway.
    const int padX = width / 2 + 8, padY = height / 2 + 8;
    colX_.first = -padX;
    rowX_.first = rowY_.first = -padY;
    colX_.v.resize(width + 2 * padX);
    rowX_.v.resize(height + 2 * padY);
    rowY_.v.resize(height + 2 * padY);
    const double base = dxExact(0, 0);
    for (size_t i = 0; i < colX_.v.size(); ++i) colX_.v[i] = dxExact(colX_.first + i, 0) - base;
    for (size_t i = 0; i < rowX_.v.size(); ++i) {
        rowX_.v[i] = dxExact(0, rowX_.first + i);
        rowY_.v[i] = dyExact(0, rowY_.first + i);
    }
    tabulated_ = true;
}

bool ScanWarp::isIdentity() const {
    return skewX == 0 && scaleY == 0 && quadY == 0 && creepAmp == 0 && hysteresis == 0 && waveAmp == 0;
}

void ScanWarp::toImageFrom(double sx, double sy, double& x, double& y, double gx, double gy) const {
    const double bx = sx / pixel.x_nm, by = sy / pixel.y_nm;
    x = bx - gx;
    y = by - gy;
    for (int it = 0; it < 12; ++it) {
        const double nx = bx - dx(x, y), ny = by - dy(x, y);
        const bool done = std::abs(nx - x) < 1e-6 && std::abs(ny - y) < 1e-6;
        x = nx;
        y = ny;
        if (done) break;
    }
}

}  // namespace stmlens::sim
