#include "sim/Artefacts.h"

#include <algorithm>
#include <cmath>

namespace stmlens::sim {

void addBackground(Image& img, const SceneConfig& cfg, Rng& rng) {
    const double px = img.pixelSize.x_nm, py = img.pixelSize.y_nm;
    const double H = img.height() * py;
    const double phase = rng.uniform(0, 2 * M_PI), ang = rng.uniform(0, M_PI);
    const double kx = std::cos(ang) * 2 * M_PI / cfg.wavePeriodNm, ky = std::sin(ang) * 2 * M_PI / cfg.wavePeriodNm;
    // sin(kx X + ky Y + phase) = sin(a) cos(b) + cos(a) sin(b): one table per axis.
    std::vector<double> sa(img.width()), ca(img.width());
    for (int x = 0; x < img.width(); ++x) {
        sa[x] = std::sin(kx * x * px + phase);
        ca[x] = std::cos(kx * x * px + phase);
    }
    for (int y = 0; y < img.height(); ++y) {
        float* r = img.row(y);
        const double Y = y * py, t = Y / std::max(H, 1e-9);
        const double rowBase = cfg.tiltY * Y + cfg.bow * t * t * H / 10;
        const double cb = cfg.waveAmp * std::cos(ky * Y), sb = cfg.waveAmp * std::sin(ky * Y);
        for (int x = 0; x < img.width(); ++x)
            r[x] += static_cast<float>(rowBase + cfg.tiltX * x * px + sa[x] * cb + ca[x] * sb);
    }
}

void addRinging(Image& img, const SceneConfig& cfg) {
    if (cfg.ringAmp <= 0) return;
    const double w = 2 * M_PI / cfg.ringPeriodPx, rho = cfg.ringDecay;
    const double a1 = 2 * rho * std::cos(w), a2 = -rho * rho;
    std::vector<float> line(img.width());
    for (int y = 0; y < img.height(); ++y) {
        float* r = img.row(y);
        double s1 = 0, s2 = 0;
        for (int x = 0; x < img.width(); ++x) line[x] = r[x];
        for (int x = 1; x < img.width(); ++x) {
            const double jump = line[x] - line[x - 1];
            const double s = a1 * s1 + a2 * s2 + cfg.ringAmp * jump;
            s2 = s1;
            s1 = s;
            r[x] += static_cast<float>(s - cfg.ringAmp * jump);   // the oscillation only, not the jump itself
        }
    }
}

void addFeedbackLag(Image& img, const SceneConfig& cfg) {
    if (cfg.lagAlpha <= 0) return;
    const double a = cfg.lagAlpha, k = cfg.lagGain;
    for (int y = 0; y < img.height(); ++y) {
        float* r = img.row(y);
        double lag = r[0];
        for (int x = 0; x < img.width(); ++x) {
            const double z = r[x];
            lag += a * (z - lag);
            r[x] = static_cast<float>(lag + k * (z - lag));   // k: how much of the true surface is tracked
        }
    }
}

double addScanNoise(Image& img, const SceneConfig& cfg, Rng& rng) {
    const int W = img.width(), H = img.height();
    // 1/f noise as a sum of AR(1) processes with octave-spaced time constants (equal power per octave).
    // Slow octaves are updated only every tau/4 samples (with the matching coefficient) to keep it cheap.
    constexpr int kOctaves = 10;
    double state[kOctaves] = {}, coef[kOctaves], gain[kOctaves];
    int every[kOctaves], countdown[kOctaves];
    const double perOctave = cfg.pinkNoise / std::sqrt(double(kOctaves));
    for (int k = 0; k < kOctaves; ++k) {
        const double tau = 2.0 * std::pow(2.0, k * 1.15);   // pixels of scan time
        every[k] = std::max(1, static_cast<int>(tau / 4));
        countdown[k] = 0;
        coef[k] = std::exp(-every[k] / tau);
        gain[k] = std::sqrt(1 - coef[k] * coef[k]) * perOctave * std::sqrt(3.0);   // uniform drivers, unit variance
        state[k] = rng.normal() * perOctave;
    }
    double sumSq = 0;
    double lineOffset = 0;
    for (int y = 0; y < H; ++y) {
        if (cfg.lineJumpRate > 0 && rng.chance(cfg.lineJumpRate)) lineOffset += rng.normal(0, cfg.lineJumpAmp);
        if (cfg.lineJumpRate > 0 && rng.chance(cfg.lineJumpRate)) lineOffset = 0;   // jumps back
        // Per-line offset noise: the feedback re-settles at the start of each line.
        const double lineNoise = lineOffset + rng.normal(0, 0.5 * cfg.pinkNoise);
        float* r = img.row(y);
        for (int x = 0; x < W; ++x) {
            double pink = 0;
            for (int k = 0; k < kOctaves; ++k) {
                if (--countdown[k] <= 0) {
                    countdown[k] = every[k];
                    state[k] = coef[k] * state[k] + gain[k] * (2 * rng.uniform() - 1);
                }
                pink += state[k];
            }
            const double n = pink + lineNoise + (cfg.whiteNoise > 0 ? cfg.whiteNoise * rng.fastNormal() : 0.0);
            sumSq += n * n;
            r[x] += static_cast<float>(n);
        }
    }
    // Spikes: a few pixels along the fast axis.
    if (cfg.spikeRate > 0) {
        const long long n = static_cast<long long>(cfg.spikeRate * W * H + rng.uniform());
        for (long long k = 0; k < n; ++k) {
            const int x = rng.integer(0, W - 1), y = rng.integer(0, H - 1), len = rng.integer(1, 3);
            const double a = (rng.chance(0.7) ? 1 : -1) * cfg.spikeAmp * rng.uniform(0.5, 1.5);
            for (int i = 0; i < len && x + i < W; ++i) img.at(x + i, y) += static_cast<float>(a);
        }
    }
    // Glitch lines: part of a line shifted sideways and offset, or a burst of noise.
    for (int g = 0; g < cfg.glitchLines; ++g) {
        const int y = rng.integer(0, H - 1);
        const int x0 = rng.integer(0, W - 1), x1 = std::min(W, x0 + rng.integer(W / 8 + 1, W));
        const double off = rng.normal(0, 0.1), amp = rng.uniform(0.0, 0.1);
        const int shift = rng.integer(-W / 20 - 1, W / 20 + 1);
        std::vector<float> line(img.row(y), img.row(y) + W);
        for (int x = x0; x < x1; ++x) {
            const int sx = std::clamp(x + shift, 0, W - 1);
            img.at(x, y) = static_cast<float>(line[sx] + off + amp * rng.normal());
        }
    }
    return std::sqrt(sumSq / std::max<double>(1, double(W) * H));
}

void quantise(Image& img, double step) {
    if (step <= 0) return;
    for (auto& v : img.pixels()) v = static_cast<float>(step * std::round(v / step));
}

}  // namespace stmlens::sim
