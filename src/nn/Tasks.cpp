#include "nn/Tasks.h"

#include <cmath>
#include <map>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "analysis/Peaks.h"
#include "core/Level.h"
#include "core/Resample.h"
#include "nn/Metrics.h"
#include "nn/Preprocess.h"
#include "sim/Simulator.h"

namespace stmlens {

namespace {

const std::vector<std::string> kQualityClasses = {"good", "unresolved", "double_tip", "tip_change", "heavy_noise", "contaminated"};

Image resizeLinear(const Image& img, int w, int h) {
    cv::Mat src(img.height(), img.width(), CV_32F, const_cast<float*>(img.data())), dst;
    cv::resize(src, dst, cv::Size(w, h), 0, 0, w < img.width() ? cv::INTER_AREA : cv::INTER_LINEAR);
    Image out(w, h);
    for (int y = 0; y < h; ++y) std::memcpy(out.row(y), dst.ptr<float>(y), sizeof(float) * w);
    return out;
}

Image channel(const ModelOutput& out, int k, int c) {
    Image img(out.width, out.height);
    const float* p = out.pixelProb.data() + (static_cast<size_t>(k) * out.classes + c) * out.width * out.height;
    std::copy(p, p + img.size(), img.data());
    return img;
}

Image classMask(const Image& labels, int cls) {
    Image m(labels.width(), labels.height());
    for (size_t i = 0; i < m.size(); ++i) m.pixels()[i] = std::lround(labels.pixels()[i]) == cls ? 1.0f : 0.0f;
    return m;
}

// Argmax class per pixel of sample k.
Image argmaxMap(const ModelOutput& out, int k) {
    Image m(out.width, out.height);
    const size_t plane = static_cast<size_t>(out.width) * out.height;
    const float* p = out.pixelProb.data() + static_cast<size_t>(k) * out.classes * plane;
    for (size_t i = 0; i < plane; ++i) {
        int best = 0;
        for (int c = 1; c < out.classes; ++c)
            if (p[c * plane + i] > p[best * plane + i]) best = c;
        m.pixels()[i] = static_cast<float>(best);
    }
    return m;
}

ModelOutput predictOne(const Model& model, const TrainingSample& s) {
    return model.predict(s.image.data(), 1, s.image.height(), s.image.width());
}

}  // namespace

ModelCard defaultCard(const std::string& task) {
    ModelCard c;
    c.task = task;
    c.name = task + "-v1";
    c.net.depth = 3;
    c.net.dilatedBottleneck = true;
    c.tileSize = 512;   // inference tile: larger tiles waste less on overlap; 512^2 still fits in little memory
    c.tileOverlap = 32;
    if (task == "atoms") {
        c.pixelSizeNm = 0.1;
        c.net.width = 8;    // runs on the most pixels (0.1 nm/px): narrow, to keep inference fast
        c.net.outChannels = 2;
        c.classes = {"background", "atom"};
    } else if (task == "defects") {
        c.pixelSizeNm = 0.2;
        c.net.width = 16;
        c.net.outChannels = sim::kPixelClassCount;
        for (int k = 0; k < sim::kPixelClassCount; ++k) c.classes.push_back(sim::pixelClassName(static_cast<sim::PixelClass>(k)));
    } else if (task == "assess") {
        c.pixelSizeNm = 0.2;
        c.net.width = 8;
        c.net.outChannels = 2;
        c.classes = {"unresolved", "resolved"};
        c.net.imageClasses = static_cast<int>(kQualityClasses.size());
        c.imageClasses = kQualityClasses;
    } else {
        throw InputError("unknown task '" + task + "' (expected assess, atoms or defects)");
    }
    return c;
}

SampleGenerator simulatedSamples(const ModelCard& card, int tile, double minScale, double maxScale, double currentShare) {
    if (!(minScale > 0 && maxScale >= minScale && maxScale <= 10))
        throw InputError("--render-scale", "needs 0 < MIN <= MAX <= 10 (factors of the model pixel size)");
    if (!(currentShare >= 0 && currentShare <= 1)) throw InputError("--sim-current", "needs a fraction from 0 to 1");
    const std::string task = card.task;
    const double modelPx = card.pixelSizeNm;
    const double logMin = std::log(minScale), logMax = std::log(maxScale);
    return [task, modelPx, tile, logMin, logMax, currentShare](uint64_t seed) {
        std::mt19937_64 rng(seed ^ 0x5DEECE66Dull);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        // Render at a pixel size near the model's, then resample: the network learns to expect resampled
        // input, as it gets in inference.
        const double renderPx = modelPx * std::exp(logMin + u(rng) * (logMax - logMin));
        const int n = std::max(16, static_cast<int>(std::lround(tile * modelPx / renderPx)));
        sim::SimParams p;
        p.width = p.height = n;
        p.pixelSize = PixelSize::square(renderPx);
        p.preset = sim::Preset::Mixed;
        // Drawn only when asked for, so the default sample stream stays what it was.
        if (currentShare > 0 && u(rng) < currentShare) p.mode = sim::SimMode::ConstantHeight;
        sim::SimSample s = sim::simulate(p, seed);

        TrainingSample t;
        Image img = s.image;
        levelScan(img);
        t.image = resizeLinear(img, tile, tile);
        levelAndStandardize(t.image);
        t.image.pixelSize = PixelSize::square(modelPx);
        if (task == "atoms") {
            // Truth positions for the object-level metric: atoms where single atoms resolve, else dimer centres
            // (as the target map marks them), in tile pixels.
            const double scale = static_cast<double>(tile) / n;
            std::map<int, std::pair<std::pair<double, double>, int>> dimers;
            for (const auto& a : s.truth.atoms) {
                if (s.truth.atomsResolved) {
                    t.points.push_back({(a.x + 0.5) * scale - 0.5, (a.y + 0.5) * scale - 0.5});
                } else {
                    auto& d = dimers[a.dimerId];
                    d.first.first += a.x;
                    d.first.second += a.y;
                    d.second++;
                }
            }
            for (const auto& [id, d] : dimers)
                t.points.push_back({(d.first.first / d.second + 0.5) * scale - 0.5, (d.first.second / d.second + 0.5) * scale - 0.5});
            Image m = resizeLinear(s.truth.atomMap, tile, tile);
            t.target = Image(tile, tile);
            for (size_t i = 0; i < m.size(); ++i) t.target.pixels()[i] = m.pixels()[i] > 0.4f ? 1.0f : 0.0f;
        } else if (task == "defects") {
            t.target = resizeNearest(s.truth.labels, tile, tile);
        } else {
            t.target = resizeNearest(s.truth.resolvedMask, tile, tile);
            const auto it = std::find(kQualityClasses.begin(), kQualityClasses.end(), s.truth.quality);
            t.imageClass = it == kQualityClasses.end() ? -1 : static_cast<int>(it - kQualityClasses.begin());
        }
        return t;
    };
}

Evaluator evaluatorFor(const ModelCard& card) {
    const std::string task = card.task;
    const double px = card.pixelSizeNm;
    const std::vector<std::string> classes = card.classes;
    if (task == "atoms") {
        return [px](const Model& model, const std::vector<TrainingSample>& val) {
            DetectionCounts all;
            const double tolPx = std::max(1.0, 0.1 / px);
            for (const auto& s : val) {
                auto out = predictOne(model, s);
                // The pipeline's own peak finder, so the metric is what users get.
                std::vector<Point2> pred, truth;
                for (const auto& a : findPeaks(channel(out, 0, 1), 0.5, 1.5)) {
                    // Real scans are labelled only near clean sites: peaks elsewhere are not scored.
                    const int xi = std::clamp(static_cast<int>(std::lround(a.x)), 0, s.image.width() - 1);
                    const int yi = std::clamp(static_cast<int>(std::lround(a.y)), 0, s.image.height() - 1);
                    if (s.known.empty() || s.known.at(xi, yi) > 0.5f) pred.push_back({a.x, a.y});
                }
                // Atoms at the tile border or in unresolved areas are not expected (the target is 0 there).
                for (const auto& [x, y] : s.points) {
                    const int xi = static_cast<int>(std::lround(x)), yi = static_cast<int>(std::lround(y));
                    if (xi >= 0 && yi >= 0 && xi < s.target.width() && yi < s.target.height() && s.target.at(xi, yi) > 0.5f)
                        truth.push_back({x, y});
                }
                all += matchPoints(pred, truth, tolPx);
            }
            return nlohmann::json{{"score", all.f1()}, {"atom_f1", all.f1()}, {"atom_precision", all.precision()},
                                  {"atom_recall", all.recall()}, {"tolerance_nm", tolPx * px}, {"samples", val.size()}};
        };
    }
    if (task == "defects") {
        return [px, classes](const Model& model, const std::vector<TrainingSample>& val) {
            const int k = static_cast<int>(classes.size());
            std::vector<DetectionCounts> perClass(k);
            std::vector<double> inter(k, 0), uni(k, 0);
            const double tolPx = 0.5 / px;
            // Point defects are found when their centre is within 0.5 nm; extended ones (which have no
            // meaningful centre) when a predicted region overlaps the true one with IoU >= kRegionIoU.
            constexpr double kRegionIoU = 0.2;
            std::vector<bool> extended(k);
            for (int c = 0; c < k; ++c)
                extended[c] = classes[c] == "step_edge" || classes[c] == "contamination" || classes[c] == "bare_si";
            for (const auto& s : val) {
                auto out = predictOne(model, s);
                Image pred = argmaxMap(out, 0);
                // Pixels without a label (real scans labelled only at some sites) are not scored.
                Image truth = s.target;
                if (!s.known.empty())
                    for (size_t i = 0; i < pred.size(); ++i)
                        if (s.known.pixels()[i] < 0.5f) pred.pixels()[i] = truth.pixels()[i] = -1;
                for (int c = 0; c < k; ++c) {
                    Image pm = classMask(pred, c), tm = classMask(truth, c);
                    for (size_t i = 0; i < pm.size(); ++i) {
                        inter[c] += pm.pixels()[i] * tm.pixels()[i];
                        uni[c] += std::max(pm.pixels()[i], tm.pixels()[i]);
                    }
                    if (c == 0) continue;
                    if (extended[c])
                        perClass[c] += matchRegions(pm, tm, kRegionIoU, 4);
                    else
                        perClass[c] += matchPoints(componentCentroids(pm, 0.5f, 2), componentCentroids(tm, 0.5f, 2), tolPx);
                }
            }
            nlohmann::json j;
            double f1sum = 0, iousum = 0;
            int f1n = 0, ioun = 0;
            for (int c = 0; c < k; ++c) {
                const double iou = uni[c] > 0 ? inter[c] / uni[c] : NAN;
                j["iou"][classes[c]] = uni[c] > 0 ? nlohmann::json(iou) : nlohmann::json(nullptr);
                if (uni[c] > 0) {
                    iousum += iou;
                    ++ioun;
                }
                if (c == 0) continue;
                const auto& d = perClass[c];
                j["f1"][classes[c]] = d.f1();
                j["counts"][classes[c]] = {d.truePositives, d.falsePositives, d.falseNegatives};
                if (d.truePositives + d.falseNegatives > 0) {
                    f1sum += d.f1();
                    ++f1n;
                }
            }
            j["mean_f1"] = f1n ? f1sum / f1n : 0.0;
            j["mean_iou"] = ioun ? iousum / ioun : 0.0;
            j["tolerance_nm"] = 0.5;
            j["extended_region_iou"] = kRegionIoU;
            j["samples"] = val.size();
            j["score"] = 0.5 * (j["mean_f1"].get<double>() + j["mean_iou"].get<double>());
            return j;
        };
    }
    return [](const Model& model, const std::vector<TrainingSample>& val) {
        int correct = 0, labelled = 0;
        double inter = 0, uni = 0;
        for (const auto& s : val) {
            auto out = predictOne(model, s);
            if (s.imageClass >= 0) {
                ++labelled;
                const auto best = std::max_element(out.imageProb.begin(), out.imageProb.end()) - out.imageProb.begin();
                correct += best == s.imageClass;
            }
            Image r = channel(out, 0, 1);
            for (size_t i = 0; i < r.size(); ++i) {
                const float p = r.pixels()[i] > 0.5f ? 1.0f : 0.0f, t = s.target.pixels()[i] > 0.5f ? 1.0f : 0.0f;
                inter += p * t;
                uni += std::max(p, t);
            }
        }
        const double acc = labelled ? double(correct) / labelled : 0.0, iou = uni > 0 ? inter / uni : 1.0;
        return nlohmann::json{{"score", 0.5 * (acc + iou)}, {"image_accuracy", acc}, {"resolved_iou", iou}, {"samples", val.size()}};
    };
}

}  // namespace stmlens
