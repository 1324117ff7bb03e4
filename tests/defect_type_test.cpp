// The defect type network: card, save/load, mirror-averaged probabilities, simulated training windows, a few
// training steps, and its channel in the clustering descriptor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <sys/wait.h>

#include "TestTempDir.h"
#include "analysis/DefectClustering.h"
#include "analysis/Pipeline.h"
#include "core/Errors.h"
#include "nn/DefectTypeTraining.h"
#include "nn/Model.h"
#include "nn/Tasks.h"
#include "sim/Simulator.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {

std::vector<float> randomWindows(int n, int side, unsigned seed) {
    std::vector<float> w(static_cast<size_t>(n) * side * side);
    uint32_t x = seed;
    for (float& v : w) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<float>(x >> 8) / static_cast<float>(1u << 24) * 2 - 1;
    }
    return w;
}

sim::SimSample flatScan(uint64_t seed, double rotationDeg) {
    sim::SimParams p;
    p.width = p.height = 160;
    p.pixelSize = PixelSize::square(0.1);
    p.preset = sim::Preset::Atomic;
    p.defectDensity = 0.04;
    p.steps = false;
    p.distortion = false;
    p.rotationDeg = rotationDeg;
    return sim::simulate(p, seed);
}

}  // namespace

TEST(DefectType, CardDescribesTheWindow) {
    const ModelCard c = defectTypeCard({2.5, 32});
    EXPECT_EQ(c.task, "types");
    EXPECT_EQ(c.net.kind, "patch_cnn");
    EXPECT_EQ(c.classes, defectTypeNames());
    EXPECT_NEAR(c.pixelSizeNm * c.tileSize, 2.5, 1e-12);
    EXPECT_THROW(defectTypeCard({2.5, 30}), InputError);   // not a multiple of 8
    EXPECT_THROW(defectTypeCard({0.1, 32}), InputError);
    ModelCard wrong = c;
    wrong.task = "defects";   // a segmentation task with the classifier's architecture
    EXPECT_THROW(wrong.validate("card"), InputError);
    ModelCard unet = defaultCard("defects");
    unet.task = "types";
    EXPECT_THROW(unet.validate("card"), InputError);
}

TEST(DefectType, SaveLoadKeepsPredictionsAndLoadersRefuseTheOtherKind) {
    const fs::path dir = tempDir("types-model");
    DefectTypeModel m = DefectTypeModel::create(defectTypeCard({2.5, 32}, 8), 3);
    m.save((dir / "types").string());
    const DefectTypeModel back = DefectTypeModel::load((dir / "types").string());
    const int n = 5, k = static_cast<int>(defectTypeNames().size());
    const std::vector<float> w = randomWindows(n, 32, 7);
    const std::vector<float> a = m.predict(w, n), b = back.predict(w, n);
    ASSERT_EQ(a.size(), static_cast<size_t>(n * k));
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(std::accumulate(a.begin() + i * k, a.begin() + (i + 1) * k, 0.0), 1.0, 1e-4);
    // Wrong sizes and the other loader.
    EXPECT_THROW(m.predict(w, n + 1), InputError);
    EXPECT_THROW(Model::load((dir / "types").string(), ""), InputError);
    Model::create(defaultCard("defects"), 1).save((dir / "defects").string());
    EXPECT_THROW(DefectTypeModel::load((dir / "defects").string()), InputError);
    EXPECT_THROW(DefectTypeModel::load((dir / "missing").string()), InputError);
    // Weights of a wider network under this card: refused, not loaded into the wrong shapes.
    DefectTypeModel::create(defectTypeCard({2.5, 32}, 16), 3).save((dir / "wide").string());
    fs::copy_file(dir / "types" / "card.json", dir / "wide" / "card.json", fs::copy_options::overwrite_existing);
    EXPECT_THROW(DefectTypeModel::load((dir / "wide").string()), InputError);
    fs::remove_all(dir);
}

TEST(DefectType, ProbabilitiesDoNotDependOnMirroring) {
    const DefectTypeModel m = DefectTypeModel::create(defectTypeCard({2.5, 32}, 8), 5);
    const int s = 32;
    const std::vector<float> w = randomWindows(1, s, 11);
    std::vector<float> flipped(w.size());
    for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x) flipped[y * s + x] = w[(s - 1 - y) * s + (s - 1 - x)];
    const std::vector<float> a = m.predict(w, 1), b = m.predict(flipped, 1);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
}

TEST(DefectType, ManyWindowsGiveWhatEachGivesAlone) {
    // Predictions go in batches (memory); a window's probabilities must not depend on its batch or place.
    const DefectTypeModel m = DefectTypeModel::create(defectTypeCard({2.5, 32}, 8), 6);
    const int n = 300, s = 32, k = static_cast<int>(defectTypeNames().size());
    const std::vector<float> w = randomWindows(n, s, 13);
    const std::vector<float> all = m.predict(w, n);
    ASSERT_EQ(all.size(), static_cast<size_t>(n) * k);
    for (int i : {0, 31, 32, 127, 128, 299}) {
        const std::vector<float> one(w.begin() + static_cast<size_t>(i) * s * s, w.begin() + static_cast<size_t>(i + 1) * s * s);
        const std::vector<float> p = m.predict(one, 1);
        for (int c = 0; c < k; ++c) EXPECT_NEAR(all[static_cast<size_t>(i) * k + c], p[c], 1e-5) << i;
    }
}

TEST(DefectType, RowDirectionFromTheSimulatedDimers) {
    for (double rot : {0.0, 17.0, 90.0, 133.0}) {
        const sim::SimSample s = flatScan(21, rot);
        const double expected = std::fmod(360.0 - s.truth.rotationDeg, 180.0);
        const double got = simulatedRowDirection(s, 80, 80);
        ASSERT_TRUE(std::isfinite(got));
        double diff = std::fabs(got - expected);
        diff = std::min(diff, 180 - diff);
        EXPECT_LT(diff, 2.0) << "rotation " << rot;
    }
}

TEST(DefectType, OneWindowPerKnownPointDefect) {
    const sim::SimSample s = flatScan(4, 30);
    const DefectTypeModel m = DefectTypeModel::create(defectTypeCard({2.5, 32}, 8), 1);
    TypedWindows w;
    appendSimulatedWindows(s, m, 0.25, 9, w);
    size_t point = 0;
    for (const auto& d : s.truth.defects)
        point += !d.extended && std::count(defectTypeNames().begin(), defectTypeNames().end(), d.type);
    ASSERT_GT(point, 0u);
    EXPECT_EQ(w.size(), point);
    EXPECT_EQ(w.windows.size(), point * 32 * 32);
    for (float v : w.windows) ASSERT_TRUE(v >= -1.0f && v <= 1.0f);
    // Deterministic by seed.
    TypedWindows again;
    appendSimulatedWindows(s, m, 0.25, 9, again);
    EXPECT_EQ(w.windows, again.windows);
    EXPECT_EQ(w.labels, again.labels);
}

TEST(DefectType, ShortTrainingWritesALoadableModelWithItsCard) {
    const fs::path dir = tempDir("types-train");
    DefectTypeTrainOptions o;
    o.outDir = dir.string();
    o.scans = 12;
    o.validationScans = 4;
    o.epochs = 2;
    o.batch = 32;
    o.width = 4;
    o.progress = false;
    o.command = "test";
    const DefectTypeReport r = trainDefectTypes(o);
    EXPECT_EQ(r.epochs, 2);
    EXPECT_GT(r.trainWindows, 20u);
    const DefectTypeModel m = DefectTypeModel::load(dir.string());
    EXPECT_TRUE(m.card().metrics.contains("validation_simulated"));
    EXPECT_EQ(m.card().training.value("command", ""), "test");
    EXPECT_TRUE(fs::exists(dir / "log.csv"));
    o.scans = 3;
    EXPECT_THROW(trainDefectTypes(o), InputError);
    fs::remove_all(dir);
}

TEST(DefectType, DescriptorEndsWithTheWeightedTypeProbabilities) {
    const sim::SimSample s = flatScan(8, 0);
    AnalysisResult r;
    r.width = s.image.width();
    r.height = s.image.height();
    r.pixelSize = s.image.pixelSize;
    r.lattice.found = true;
    r.lattice.rowDirectionDeg = std::fmod(360.0 - s.truth.rotationDeg, 180.0);
    for (const auto& t : s.truth.defects) {
        Defect d;
        d.id = static_cast<int>(r.defects.size());
        d.x = t.x;
        d.y = t.y;
        d.cls = sim::pixelClassName(t.cls);
        d.extended = t.extended;
        r.defects.push_back(d);
    }
    ASSERT_FALSE(r.defects.empty());
    AnalysisMaps maps;
    maps.levelled = s.image;
    const DefectTypeModel m = DefectTypeModel::create(defectTypeCard({2.5, 32}, 8), 2);
    DefectDescriptorOptions o;
    o.channels = kChannelImage | kChannelTypes;
    o.typeModel = &m;
    o.typeWeight = 2;
    const int k = static_cast<int>(defectTypeNames().size());
    const DescriptorSet d = describeDefects(r, maps, o);
    EXPECT_EQ(d.dims, 16 * 16 + k);
    for (const auto& v : d.values) {
        if (v.empty()) continue;
        ASSERT_EQ(v.size(), static_cast<size_t>(d.dims));
        EXPECT_NEAR(std::accumulate(v.end() - k, v.end(), 0.0), 2.0, 1e-3);
    }
    o.channels = kChannelTypes;   // the type network alone
    const DescriptorSet plain = describeDefects(r, maps, o);
    EXPECT_EQ(plain.dims, k);
    // A power above 1 keeps the sum and the most probable type, and gives that type a larger share.
    o.typePower = 3;
    const DescriptorSet sharp = describeDefects(r, maps, o);
    for (size_t i = 0; i < plain.values.size(); ++i) {
        const auto& a = plain.values[i];
        const auto& b = sharp.values[i];
        if (a.empty()) continue;
        ASSERT_EQ(b.size(), a.size());
        EXPECT_NEAR(std::accumulate(b.begin(), b.end(), 0.0), 2.0, 1e-3);
        const auto top = std::max_element(a.begin(), a.end()) - a.begin();
        EXPECT_EQ(std::max_element(b.begin(), b.end()) - b.begin(), top);
        EXPECT_GE(b[top], a[top] - 1e-5);
    }
    // Scaled by the network's certainty: the same direction, a sum between 0 and the weight.
    o.typePower = 1;
    o.typeConfidence = true;
    const DescriptorSet sure = describeDefects(r, maps, o);
    for (size_t i = 0; i < plain.values.size(); ++i) {
        const auto& a = plain.values[i];
        const auto& b = sure.values[i];
        if (a.empty()) continue;
        const double sum = std::accumulate(b.begin(), b.end(), 0.0);
        EXPECT_GE(sum, 0.0);
        EXPECT_LE(sum, 2.0 + 1e-4);
        for (size_t c = 0; c < a.size(); ++c) EXPECT_NEAR(b[c], a[c] * sum / 2.0, 1e-4);
    }
    o.typeConfidence = false;
    o.typePower = 0.5f;   // would flatten them: refused
    EXPECT_THROW(describeDefects(r, maps, o), InputError);
    o.typePower = 1;
    o.typeModel = nullptr;        // nothing left to describe with
    EXPECT_THROW(describeDefects(r, maps, o), InputError);
}

TEST(DefectType, ShippedNetworkTellsSimulatedTypesApart) {
    // models/types, on simulated scans of seeds it was not trained on (training used seeds from 1e9 on).
    const DefectTypeModel m = DefectTypeModel::load(defaultModelsDir() + "/types");
    EXPECT_EQ(m.card().classes, defectTypeNames());
    TypedWindows w;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        sim::SimParams p;
        p.width = p.height = 256;
        p.pixelSize = PixelSize::square(0.1);
        p.preset = sim::Preset::Atomic;
        appendSimulatedWindows(sim::simulate(p, seed), m, 0.1, seed, w);
    }
    ASSERT_GT(w.size(), 40u);
    const nlohmann::json j = evaluateDefectTypes(m, w);
    // Chance is about 1 / 9 (the types present); the card's validation accuracy is 0.875 over all presets.
    EXPECT_GT(j["accuracy"].get<double>(), 0.7) << j.dump();
    // The confusion table holds every window once, its diagonal the recall.
    int total = 0;
    for (const auto& [truth, row] : j["confusion"].items()) {
        int n = 0;
        for (const auto& [pred, c] : row.items()) n += c.get<int>();
        EXPECT_EQ(n, j["recall"][truth]["n"].get<int>()) << truth;
        EXPECT_NEAR(row.value(truth, 0) / double(n), j["recall"][truth]["recall"].get<double>(), 1e-12) << truth;
        total += n;
    }
    EXPECT_EQ(total, static_cast<int>(w.size()));
    // The Pipeline hands it to the descriptor when the models folder has it.
    PipelineOptions po;
    Pipeline pipeline(po);
    ASSERT_NE(pipeline.typeModel(), nullptr);
    EXPECT_EQ(pipeline.modelNames().at("types"), m.card().name);
}

TEST(DefectType, TrainCommandWritesTheModelAndRefusesBadOptions) {
    const fs::path dir = tempDir("types-cli");
    auto run = [](const std::string& args) {
        const int rc = std::system((std::string(STMLENS_CLI) + " " + args + " > /dev/null 2>&1").c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    const std::string out = (dir / "types").string();
    ASSERT_EQ(run("train types --out " + out + " --scans 10 --validation-scans 2 --epochs 1 --width 4 --window 3.2 --samples 40 "
                  "--name types-v9"), 0);
    const DefectTypeModel m = DefectTypeModel::load(out);
    EXPECT_EQ(m.card().name, "types-v9");   // the card's command, with --name, gives the card as shipped
    EXPECT_NE(m.card().training.value("command", "").find("--name types-v9"), std::string::npos);
    EXPECT_EQ(m.window().samples, 40);
    EXPECT_NEAR(m.window().windowNm, 3.2, 1e-9);
    EXPECT_NE(m.card().training.value("command", "").find("--window 3.2 --samples 40"), std::string::npos);
    EXPECT_NE(run("train types --out " + out + " --samples 30 --scans 10 --epochs 1"), 0);    // not a multiple of 8
    EXPECT_NE(run("train types --out " + out + " --init models/types --scans 10 --epochs 1"), 0);   // no fine-tuning
    fs::remove_all(dir);
}
