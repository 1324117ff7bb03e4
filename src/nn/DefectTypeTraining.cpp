#include "nn/DefectTypeTraining.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <numeric>
#include <unordered_map>

#include "core/Errors.h"
#include "core/Level.h"
#include "core/ProgressBar.h"
#include "nn/DefectTypeImpl.h"
#include "sim/Rng.h"

namespace stmlens {

namespace fs = std::filesystem;

namespace {

// Row direction (degrees, counter-clockwise on screen) at a point: perpendicular to the bond of the nearest
// dimer whose two atoms are both listed. NAN when the scan lists no such dimer.
double rowDirectionNear(const sim::SimTruth& t, const std::unordered_map<int, std::pair<int, int>>& dimers, PixelSize px,
                        double x, double y) {
    double best = INFINITY, dir = NAN;
    for (const auto& [id, pair] : dimers) {
        if (pair.second < 0) continue;
        const sim::SimAtom& a = t.atoms[pair.first];
        const sim::SimAtom& b = t.atoms[pair.second];
        const double d = std::hypot(0.5 * (a.x + b.x) - x, 0.5 * (a.y + b.y) - y);
        if (d >= best) continue;
        best = d;
        const double bx = (b.x - a.x) * px.x_nm, by = (b.y - a.y) * px.y_nm;
        // Rows run across the bond; in pixel coordinates a direction at angle a is (cos a, -sin a).
        dir = std::fmod(std::atan2(-bx, -by) * 180.0 / M_PI + 360.0, 180.0);
    }
    return dir;
}

TypedWindows simulatedWindows(const DefectTypeModel& model, int scans, uint64_t firstSeed, double jitterNm,
                              const char* label, bool progress) {
    // Presets where point defects are resolved, in roughly the mix users scan; pixel sizes around the
    // descriptor's sampling.
    static const std::vector<std::pair<sim::Preset, double>> kPresets = {
        {sim::Preset::Atomic, 0.35}, {sim::Preset::Dirty, 0.25}, {sim::Preset::Stepped, 0.15},
        {sim::Preset::Noisy, 0.15},  {sim::Preset::BadTip, 0.10}};
    auto one = [&](int k) {
        sim::Rng rng(firstSeed + static_cast<uint64_t>(k));
        double r = rng.uniform(), acc = 0;
        sim::SimParams p;
        p.preset = kPresets.back().first;
        for (const auto& [preset, share] : kPresets)
            if (r < (acc += share)) {
                p.preset = preset;
                break;
            }
        p.width = p.height = 256;
        p.pixelSize = PixelSize::square(rng.logUniform(0.07, 0.14));
        TypedWindows w;
        appendSimulatedWindows(sim::simulate(p, firstSeed + static_cast<uint64_t>(k)), model, jitterNm, rng.next(), w);
        return w;
    };
    TypedWindows all;
    all.side = model.card().tileSize;
    ProgressBar bar(label, static_cast<size_t>(scans), progress ? -1 : 0);
    // Two workers over interleaved scans; the result is in scan order whatever the timing.
    constexpr int kChunk = 16;
    for (int start = 0; start < scans; start += 2 * kChunk) {
        auto half = [&](int from) {
            std::vector<TypedWindows> v;
            for (int k = from; k < std::min(scans, from + kChunk); ++k) v.push_back(one(k));
            return v;
        };
        auto second = std::async(std::launch::async, half, start + kChunk);
        std::vector<TypedWindows> parts = half(start);
        for (auto& w : second.get()) parts.push_back(std::move(w));
        for (const auto& w : parts) {
            all.windows.insert(all.windows.end(), w.windows.begin(), w.windows.end());
            all.labels.insert(all.labels.end(), w.labels.begin(), w.labels.end());
        }
        bar.set(static_cast<size_t>(std::min(scans, start + 2 * kChunk)));
    }
    bar.finish();
    return all;
}

}  // namespace

namespace {
std::unordered_map<int, std::pair<int, int>> dimerAtoms(const sim::SimTruth& t) {
    std::unordered_map<int, std::pair<int, int>> dimers;
    for (size_t i = 0; i < t.atoms.size(); ++i) {
        const int id = t.atoms[i].dimerId;
        if (id < 0) continue;
        auto it = dimers.find(id);
        if (it == dimers.end()) dimers[id] = {static_cast<int>(i), -1};
        else it->second.second = static_cast<int>(i);
    }
    return dimers;
}
}  // namespace

double simulatedRowDirection(const sim::SimSample& sample, double x, double y) {
    return rowDirectionNear(sample.truth, dimerAtoms(sample.truth), sample.image.pixelSize, x, y);
}

void appendSimulatedWindows(const sim::SimSample& sample, const DefectTypeModel& model, double jitterNm, uint64_t seed,
                            TypedWindows& out) {
    const auto& names = model.card().classes;
    out.side = model.card().tileSize;
    const PixelSize px = sample.image.pixelSize;
    if (!px.known()) throw InputError("defect type windows", "the simulated scan has no pixel size");
    const auto dimers = dimerAtoms(sample.truth);
    Image levelled = sample.image;
    levelScan(levelled);
    const Image scaled = robustlyScaledScan(levelled);
    sim::Rng rng(seed);
    for (const auto& d : sample.truth.defects) {
        if (d.extended) continue;
        const auto it = std::find(names.begin(), names.end(), d.type);
        if (it == names.end()) continue;
        const double dir = rowDirectionNear(sample.truth, dimers, px, d.x, d.y);
        if (!std::isfinite(dir)) continue;
        const double r = jitterNm * std::sqrt(rng.uniform()), a = 2 * M_PI * rng.uniform();
        const std::vector<float> w = normalisedImageWindow(scaled, d.x + r * std::cos(a) / px.x_nm,
                                                           d.y + r * std::sin(a) / px.y_nm, px, dir, model.window());
        out.windows.insert(out.windows.end(), w.begin(), w.end());
        out.labels.push_back(static_cast<int>(it - names.begin()));
    }
}

nlohmann::json evaluateDefectTypes(const DefectTypeModel& model, const TypedWindows& data) {
    const auto& names = model.card().classes;
    const int n = static_cast<int>(data.size()), k = static_cast<int>(names.size());
    std::vector<std::vector<int>> confusion(k, std::vector<int>(k, 0));   // [truth][predicted]
    constexpr int kBatch = 512;
    const size_t area = static_cast<size_t>(data.side) * data.side;
    for (int start = 0; start < n; start += kBatch) {
        const int m = std::min(kBatch, n - start);
        std::vector<float> w(data.windows.begin() + start * area, data.windows.begin() + (start + m) * area);
        const std::vector<float> p = model.predict(w, m);
        for (int i = 0; i < m; ++i) {
            const int best = static_cast<int>(std::max_element(p.begin() + i * k, p.begin() + (i + 1) * k) - (p.begin() + i * k));
            ++confusion[data.labels[start + i]][best];
        }
    }
    nlohmann::json j;
    int total = 0;
    for (int c = 0; c < k; ++c) total += confusion[c][c];
    j["windows"] = n;
    j["accuracy"] = n ? double(total) / n : 0.0;
    j["score"] = j["accuracy"];
    for (int c = 0; c < k; ++c) {
        const int count = std::accumulate(confusion[c].begin(), confusion[c].end(), 0);
        if (!count) continue;
        j["recall"][names[c]] = {{"recall", double(confusion[c][c]) / count}, {"n", count}};
        // Where each type's windows went: which types the network cannot yet tell apart.
        nlohmann::json row = nlohmann::json::object();
        for (int q = 0; q < k; ++q)
            if (confusion[c][q]) row[names[q]] = confusion[c][q];
        j["confusion"][names[c]] = row;
    }
    return j;
}

DefectTypeReport trainDefectTypes(const DefectTypeTrainOptions& o) {
    if (o.outDir.empty()) throw InputError("train types", "no output folder");
    if (o.scans < 10 || o.validationScans < 2 || o.epochs < 1 || o.batch < 2 || !(o.learningRate > 0))
        throw InputError("train types", "needs at least 10 training scans, 2 validation scans, 1 epoch, a batch of 2 "
                                        "and a positive learning rate");
    if (!(o.jitterNm >= 0 && o.jitterNm < 2)) throw InputError("train types", "jitter must be in [0, 2) nm");
    const auto t0 = std::chrono::steady_clock::now();
    auto minutes = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0; };
    if (o.threads > 0) at::set_num_threads(o.threads);
    DefectTypeModel model = DefectTypeModel::create(defectTypeCard(o.window, o.width), o.seed);
    if (!o.name.empty()) model.card().name = o.name;
    const uint64_t base = o.seed * 1000000000ull;
    const TypedWindows train = simulatedWindows(model, o.scans, base, o.jitterNm, "simulating (training)", o.progress);
    const TypedWindows val = simulatedWindows(model, o.validationScans, base + 500000000ull, o.jitterNm,
                                              "simulating (validation)", o.progress);
    if (train.size() < 10 || val.size() < 2) throw InputError("train types", "the simulated scans gave too few defects");
    const int k = model.card().net.outChannels, s = model.card().tileSize;
    // Inverse square-root frequency weights (mean 1): the rare types still count, the common ones still lead.
    std::vector<double> freq(k, 0);
    for (int l : train.labels) freq[l] += 1;
    std::vector<float> weights(k);
    double sum = 0;
    int present = 0;
    for (int c = 0; c < k; ++c)
        if (freq[c] > 0) sum += (weights[c] = static_cast<float>(1 / std::sqrt(freq[c]))), ++present;
    for (auto& w : weights) w = present ? static_cast<float>(w * present / sum) : 1.0f;
    const torch::Tensor classWeight = torch::tensor(weights);
    const torch::Tensor data = torch::from_blob(const_cast<float*>(train.windows.data()),
                                                {static_cast<int64_t>(train.size()), 1, s, s}, torch::kFloat32);
    const torch::Tensor labels = torch::tensor(std::vector<int64_t>(train.labels.begin(), train.labels.end()));

    auto& net = model.impl()->net;
    torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(o.learningRate).weight_decay(1e-4));
    const int64_t n = static_cast<int64_t>(train.size());
    const int stepsPerEpoch = static_cast<int>((n + o.batch - 1) / o.batch), totalSteps = stepsPerEpoch * o.epochs;
    fs::create_directories(o.outDir);
    std::ofstream log(fs::path(o.outDir) / "log.csv");
    log << "epoch,loss,val_accuracy,minutes\n";
    DefectTypeReport report;
    report.trainWindows = train.size();
    report.validationWindows = val.size();
    double best = -1;
    int step = 0;
    torch::manual_seed(o.seed);
    ProgressBar bar("training types", static_cast<size_t>(o.epochs), o.progress ? -1 : 0);
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
        if (o.minutes > 0 && minutes() > o.minutes) break;
        net->train();
        const torch::Tensor order = torch::randperm(n, torch::kLong);
        double lossSum = 0;
        for (int64_t b = 0; b < n; b += o.batch) {
            const torch::Tensor idx = order.slice(0, b, std::min<int64_t>(n, b + o.batch));
            torch::Tensor x = data.index_select(0, idx);
            // Mirror images along and across the rows: the same defect types.
            if (torch::rand({1}).item<float>() < 0.5f) x = x.flip({3});
            if (torch::rand({1}).item<float>() < 0.5f) x = x.flip({2});
            const double lr = o.learningRate * 0.5 * (1 + std::cos(M_PI * step / totalSteps));
            for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
            opt.zero_grad();
            const torch::Tensor loss = torch::nn::functional::cross_entropy(
                net->forward(x), labels.index_select(0, idx),
                torch::nn::functional::CrossEntropyFuncOptions().weight(classWeight).label_smoothing(0.05));
            loss.backward();
            opt.step();
            lossSum += loss.item<double>() * idx.size(0);
            ++step;
        }
        net->eval();
        nlohmann::json m = evaluateDefectTypes(model, val);
        const double acc = m["accuracy"].get<double>();
        log << epoch + 1 << "," << lossSum / n << "," << acc << "," << minutes() << std::endl;
        bar.note("epoch " + std::to_string(epoch + 1) + ": loss " + std::to_string(lossSum / n) + ", validation accuracy " +
                 std::to_string(acc));
        bar.advance();
        report.epochs = epoch + 1;
        if (acc > best) {
            best = acc;
            report.bestMetrics = m;
            ModelCard& card = model.card();
            card.metrics["validation_simulated"] = m;
            card.metrics["validation_simulated"]["epoch"] = epoch + 1;
            card.training = {{"command", o.command},
                             {"seed", o.seed},
                             {"data", "point defects of simulated H-Si(100) 2x1 scans (256 x 256 px at 0.07-0.14 nm/px; "
                                      "presets atomic 35 %, dirty 25 %, stepped 15 %, noisy 15 %, bad tip 10 %), one "
                                      "window per defect at its true position moved by up to " +
                                          std::to_string(o.jitterNm).substr(0, 4) + " nm; flips"},
                             {"training_scans", o.scans},
                             {"validation_scans", o.validationScans},
                             {"training_windows", train.size()},
                             {"validation_windows", val.size()},
                             {"batch", o.batch},
                             {"epochs", o.epochs},
                             {"learning_rate", o.learningRate}};
#ifdef STMLENS_GIT_COMMIT
            card.training["source_commit"] = STMLENS_GIT_COMMIT;
#endif
            model.save(o.outDir);
        }
    }
    bar.finish();
    report.minutes = minutes();
    return report;
}

}  // namespace stmlens
