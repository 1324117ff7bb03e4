#pragma once
// An instrument writing scans into a watched folder, for the watch test (small) and bench/watch_reliability
// (large): files written at once, slowly in chunks, partially then completed after a pause, or corrupt.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "io/NpyReader.h"
#include "sim/Simulator.h"

namespace stmlens::testing {

struct ScenarioFile {
    enum class Kind { Whole, Slow, Partial, Corrupt };
    std::string name;
    Kind kind = Kind::Whole;
    std::string bytes;
};

inline const char* kindName(ScenarioFile::Kind k) {
    switch (k) {
        case ScenarioFile::Kind::Whole: return "whole";
        case ScenarioFile::Kind::Slow: return "slow";
        case ScenarioFile::Kind::Partial: return "partial";
        case ScenarioFile::Kind::Corrupt: return "corrupt";
    }
    return "?";
}

// n small simulated scans (NPY, 64 x 64 at 0.1 nm); every 10th corrupt, every 7th partial, every 5th slow.
inline std::vector<ScenarioFile> makeScenario(int n, const std::string& scratchDir) {
    std::vector<ScenarioFile> files;
    for (int i = 0; i < n; ++i) {
        ScenarioFile f;
        char name[32];
        std::snprintf(name, sizeof name, "scan_%04d.npy", i);
        f.name = name;
        f.kind = i % 10 == 9 ? ScenarioFile::Kind::Corrupt
                 : i % 7 == 3 ? ScenarioFile::Kind::Partial
                 : i % 5 == 1 ? ScenarioFile::Kind::Slow
                              : ScenarioFile::Kind::Whole;
        if (f.kind == ScenarioFile::Kind::Corrupt) {
            f.bytes = "\x93NUMPY garbage that is no array header at all " + std::to_string(i);
        } else {
            sim::SimParams p;
            p.width = p.height = 64;
            p.preset = sim::Preset::Atomic;
            const sim::SimSample s = sim::simulate(p, 1000 + i);
            const std::string tmp = scratchDir + "/" + f.name;
            writeNpy(tmp, s.image.data(), s.image.width(), s.image.height());
            std::ifstream in(tmp, std::ios::binary);
            f.bytes.assign(std::istreambuf_iterator<char>(in), {});
            std::filesystem::remove(tmp);
        }
        files.push_back(std::move(f));
    }
    return files;
}

// Writes one file into dir the way its kind says. `pause` is the partial file's pause, longer than the watcher's
// stability time so that it sees (and must survive) the half-written file.
inline void writeLikeInstrument(const std::string& dir, const ScenarioFile& f, double pause) {
    const std::string path = dir + "/" + f.name;
    auto sleep = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); };
    std::ofstream out(path, std::ios::binary);
    switch (f.kind) {
        case ScenarioFile::Kind::Whole:
        case ScenarioFile::Kind::Corrupt: out << f.bytes; break;
        case ScenarioFile::Kind::Slow:
            for (size_t at = 0; at < f.bytes.size(); at += f.bytes.size() / 4 + 1) {
                out << f.bytes.substr(at, f.bytes.size() / 4 + 1);
                out.flush();
                sleep(pause / 20);
            }
            break;
        case ScenarioFile::Kind::Partial:
            out << f.bytes.substr(0, f.bytes.size() / 2);
            out.flush();
            sleep(pause);
            out << f.bytes.substr(f.bytes.size() / 2);
            break;
    }
}

}  // namespace stmlens::testing
