#pragma once
// Small, portable random generator (xoshiro256**), so a seed gives the same scan on every platform
// (std:: distributions are implementation-defined).
#include <cmath>
#include <cstdint>

namespace stmlens::sim {

class Rng {
public:
    explicit Rng(uint64_t seed) {
        uint64_t z = seed;
        for (auto& s : s_) s = splitmix(z);
    }
    uint64_t next() {
        const uint64_t r = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return r;
    }
    double uniform() { return (next() >> 11) * 0x1.0p-53; }               // [0, 1)
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    double logUniform(double a, double b) { return a * std::exp(std::log(b / a) * uniform()); }
    int integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }   // [lo, hi]
    bool chance(double p) { return uniform() < p; }
    double normal() {
        if (haveSpare_) {
            haveSpare_ = false;
            return spare_;
        }
        double u = 0, v = 0, s = 0;
        do {
            u = 2 * uniform() - 1;
            v = 2 * uniform() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        const double m = std::sqrt(-2 * std::log(s) / s);
        spare_ = v * m;
        haveSpare_ = true;
        return u * m;
    }
    double normal(double mean, double sd) { return mean + sd * normal(); }
    // Cheap near-Gaussian (Irwin-Hall of 4 uniforms, unit variance, tails cut at 3.5 sd), for per-pixel noise.
    double fastNormal() {
        const uint64_t r = next();
        const double a = static_cast<double>(r & 0xFFFF) + static_cast<double>((r >> 16) & 0xFFFF) +
                         static_cast<double>((r >> 32) & 0xFFFF) + static_cast<double>(r >> 48);
        return (a / 65536.0 - 2.0) * 1.7320508075688772;
    }
    // A child generator for an independent stream (so adding draws in one stage never shifts another).
    Rng fork() { return Rng(next() ^ 0x9E3779B97F4A7C15ull); }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static uint64_t splitmix(uint64_t& z) {
        z += 0x9E3779B97F4A7C15ull;
        uint64_t r = z;
        r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
        r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
        return r ^ (r >> 31);
    }
    uint64_t s_[4];
    double spare_ = 0;
    bool haveSpare_ = false;
};

}  // namespace stmlens::sim
