#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "TestTempDir.h"
#include "core/Errors.h"
#include "nn/Model.h"
#include "nn/Preprocess.h"
#include "nn/Tasks.h"
#include "nn/Trainer.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {

ModelCard tinyCard() {
    ModelCard c;
    c.name = "tiny";
    c.task = "defects";
    c.net.depth = 2;
    c.net.width = 4;
    c.net.outChannels = 2;
    c.classes = {"background", "spot"};
    c.pixelSizeNm = 0.1;
    c.tileSize = 32;
    c.tileOverlap = 8;
    return c;
}

// Bright discs on noise; the target marks the discs. Learnable in a few steps.
TrainingSample discs(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    std::normal_distribution<float> n(0, 0.3f);
    TrainingSample s;
    s.image = Image(32, 32);
    s.target = Image(32, 32);
    for (float& v : s.image.pixels()) v = n(rng);
    for (int k = 0; k < 3; ++k) {
        const float cx = 4 + 24 * u(rng), cy = 4 + 24 * u(rng);
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < 9) {
                    s.image.at(x, y) += 2.0f;
                    s.target.at(x, y) = 1;
                }
    }
    return s;
}

// A short run on the disc task: 60 steps, fixed lr, no augmentation, into a fresh folder.
TrainOptions tinyTraining(const std::string& name, int validateEvery) {
    TrainOptions o;
    o.outDir = tempDir(name).string();
    o.steps = 60;
    o.batch = 4;
    o.learningRate = 1e-2;
    o.validationCount = 4;
    o.validateEvery = validateEvery;
    o.progress = false;
    o.augment = false;
    return o;
}

}  // namespace

TEST(Model, TinyNetworkLossFalls) {
    Model m = Model::create(tinyCard(), 3);
    TrainOptions o = tinyTraining("train", 20);
    auto evalFn = [](const Model&, const std::vector<TrainingSample>&) { return nlohmann::json{{"score", 0.0}}; };
    TrainReport r = trainModel(m, discs, o, evalFn);
    EXPECT_EQ(r.steps, 60);
    EXPECT_LT(r.lastLoss, 0.8 * r.firstLoss) << "first " << r.firstLoss << " last " << r.lastLoss;
    EXPECT_TRUE(fs::exists(fs::path(o.outDir) / "weights.pt"));
    EXPECT_TRUE(fs::exists(fs::path(o.outDir) / "log.csv"));
    // Resume continues from the checkpoint rather than from scratch.
    o.resume = true;
    o.steps = 80;
    TrainReport r2 = trainModel(m, discs, o, evalFn);
    EXPECT_EQ(r2.steps, 80);
    fs::remove_all(o.outDir);
}

TEST(Model, TestSamplesAreScoredWithEachBestButNeverChooseIt) {
    Model m = Model::create(tinyCard(), 3);
    TrainOptions o = tinyTraining("test-split", 20);
    // Validation samples carry seeds from one range, test samples from another: the evaluator tells them apart
    // by their first pixel, and scores validation by step (rising) and test as falling, so that a trainer that
    // let the test set choose would keep the first checkpoint.
    auto tagged = [](float tag) { return [tag](uint64_t seed) { TrainingSample s = discs(seed); s.image.at(0, 0) = tag; return s; }; };
    o.validation = tagged(100.0f);
    o.test = tagged(-100.0f);
    o.testCount = 3;
    int calls = 0, testCalls = 0;
    auto evalFn = [&](const Model&, const std::vector<TrainingSample>& v) {
        const bool isTest = v.front().image.at(0, 0) < 0;
        ++(isTest ? testCalls : calls);
        return nlohmann::json{{"score", isTest ? -double(testCalls) : double(calls)}, {"n", v.size()}};
    };
    TrainReport r = trainModel(m, discs, o, evalFn);
    EXPECT_EQ(calls, 3);                 // steps 20, 40, 60
    EXPECT_EQ(testCalls, 3);             // each validation was a new best
    EXPECT_EQ(r.bestMetrics["score"], 3.0);
    const ModelCard card = Model::load(o.outDir, "defects").card();
    ASSERT_TRUE(card.metrics.contains("test_real"));
    EXPECT_EQ(card.metrics["test_real"]["n"], 3);
    EXPECT_EQ(card.metrics["test_real"]["score"], -3.0);   // the test scores of the checkpoint kept, the last
    EXPECT_EQ(card.training["steps"], 60);
    fs::remove_all(o.outDir);
}

TEST(Model, SaveLoadGivesIdenticalOutputs) {
    Model m = Model::create(tinyCard(), 7);
    auto dir = tempDir("saveload");
    m.save(dir.string());
    Model l = Model::load(dir.string(), "defects");
    auto s = discs(11);
    auto a = m.predict(s.image.data(), 1, 32, 32);
    auto b = l.predict(s.image.data(), 1, 32, 32);
    ASSERT_EQ(a.pixelProb.size(), b.pixelProb.size());
    // Equal up to float rounding: the loaded model predicts with BatchNorm folded into its convolutions.
    for (size_t i = 0; i < a.pixelProb.size(); ++i) ASSERT_NEAR(a.pixelProb[i], b.pixelProb[i], 1e-5f);
    // Saving the loaded model writes the original (unfolded) weights: a second round trip gives the same.
    auto dir2 = tempDir("saveload2");
    l.save(dir2.string());
    auto c = Model::load(dir2.string(), "defects").predict(s.image.data(), 1, 32, 32);
    for (size_t i = 0; i < b.pixelProb.size(); ++i) ASSERT_EQ(b.pixelProb[i], c.pixelProb[i]);
    fs::remove_all(dir2);
    fs::remove_all(dir);
}

// bf16 inference (AMX / AVX512-BF16 where the CPU has them, emulated elsewhere) stays close to fp32, and switching
// back gives the fp32 outputs exactly: the bf16 copy is made from the fp32 weights, never the other way round.
TEST(Model, Bf16InferenceIsCloseToFp32AndReversible) {
    Model m = Model::create(tinyCard(), 7);
    auto dir = tempDir("bf16");
    m.save(dir.string());
    Model l = Model::load(dir.string(), "defects");
    EXPECT_EQ(l.precision(), Precision::Float32);
    auto s = discs(11);
    auto a = l.predict(s.image.data(), 1, 32, 32);
    EXPECT_EQ(l.setPrecision(Precision::BFloat16), Precision::BFloat16);
    auto b = l.predict(s.image.data(), 1, 32, 32);
    ASSERT_EQ(a.pixelProb.size(), b.pixelProb.size());
    double worst = 0;
    for (size_t i = 0; i < a.pixelProb.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(a.pixelProb[i] - b.pixelProb[i])));
    EXPECT_LT(worst, 0.03);
    EXPECT_EQ(l.setPrecision(Precision::Float32), Precision::Float32);
    auto c = l.predict(s.image.data(), 1, 32, 32);
    for (size_t i = 0; i < a.pixelProb.size(); ++i) ASSERT_EQ(a.pixelProb[i], c.pixelProb[i]);
    EXPECT_EQ(l.setPrecision(Precision::Auto), cpuHasFastBFloat16() ? Precision::BFloat16 : Precision::Float32);
    EXPECT_EQ(parsePrecision("bf16"), Precision::BFloat16);
    EXPECT_THROW(parsePrecision("fp16"), InputError);
    fs::remove_all(dir);
}

TEST(Model, MismatchedCardIsRefused) {
    Model m = Model::create(tinyCard(), 7);
    auto dir = tempDir("mismatch");
    m.save(dir.string());
    EXPECT_THROW(Model::load(dir.string(), "atoms"), InputError);  // wrong task
    // A card that claims a wider network than the weights hold.
    ModelCard wide = tinyCard();
    wide.net.width = 8;
    wide.save((dir / "card.json").string());
    EXPECT_THROW(Model::load(dir.string(), "defects"), InputError);
    // A card whose class list disagrees with its output count.
    ModelCard bad = tinyCard();
    bad.classes = {"only-one"};
    EXPECT_THROW(bad.validate("card"), InputError);
    std::ofstream(dir / "card.json") << "{ not json";
    EXPECT_THROW(Model::load(dir.string(), "defects"), InputError);
    EXPECT_THROW(Model::load((dir / "nope").string(), "defects"), InputError);
    fs::remove_all(dir);
}

TEST(Model, PredictImageCoversOddSizesAndMatchesTiles) {
    Model m = Model::create(tinyCard(), 5);
    Image img(75, 41);
    for (int y = 0; y < 41; ++y)
        for (int x = 0; x < 75; ++x) img.at(x, y) = std::sin(0.3f * x) * std::cos(0.2f * y);
    auto maps = m.predictImage(img);
    ASSERT_EQ(maps.size(), 2u);
    EXPECT_EQ(maps[0].width(), 75);
    EXPECT_EQ(maps[0].height(), 41);
    for (int y = 0; y < 41; ++y)
        for (int x = 0; x < 75; ++x) ASSERT_NEAR(maps[0].at(x, y) + maps[1].at(x, y), 1.0f, 1e-4f);
}

// Class maps go back to the scan grid by separable bilinear taps, quantised as OpenCV quantises them: the result
// must be what a bilinear cv::remap of the full coordinate grid gives, bit for bit, for enlarging, shrinking and
// unequal axes, borders included.
TEST(Preprocess, MapToScanGridEqualsBilinearRemap) {
    const int sw = 61, sh = 47;
    cv::Mat src(sh, sw, CV_32F);
    cv::randu(src, -1.0, 1.0);
    Image m(sw, sh);
    for (int y = 0; y < sh; ++y)
        for (int x = 0; x < sw; ++x) m.at(x, y) = src.at<float>(y, x);
    for (auto [sx, sy] : {std::pair{2.0, 2.0}, {2.0619, 2.1031}, {1.37, 1.0}, {0.5, 0.51}, {3.3, 3.3}}) {
        ResampleMap map;
        map.scaleX = 1.0 / sx;
        map.scaleY = 1.0 / sy;
        const int w = static_cast<int>(sw * sx), h = static_cast<int>(sh * sy);
        cv::Mat mx(h, w, CV_32F), my(h, w, CV_32F), expected;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                mx.at<float>(y, x) = static_cast<float>(map.toOutputX(x));
                my.at<float>(y, x) = static_cast<float>(map.toOutputY(y));
            }
        cv::remap(src, expected, mx, my, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        const auto out = mapToScanGrid(std::vector<Image>{m, m}, map, w, h);
        ASSERT_EQ(out.size(), 2u);
        ASSERT_EQ(out[1].width(), w);
        ASSERT_EQ(out[1].height(), h);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) ASSERT_EQ(out[1].at(x, y), expected.at<float>(y, x)) << sx << " " << x << "," << y;
    }
    EXPECT_THROW(mapToScanGrid(std::vector<Image>{Image(4, 4), Image(5, 4)}, ResampleMap{}, 4, 4), InputError);
}

// The mirror average is exactly mirror-equivariant, whatever the padding and tiling: averaged over the image
// and its mirrors, the mirrored image gives the mirrored maps. It stays a probability per pixel.
TEST(Model, MirrorAveragedPredictionIsMirrorEquivariant) {
    Model m = Model::create(tinyCard(), 5);
    Image img(75, 41), flipped(75, 41);
    for (int y = 0; y < 41; ++y)
        for (int x = 0; x < 75; ++x) img.at(x, y) = std::sin(0.3f * x + 0.1f * y * y) * std::cos(0.2f * y) + 0.01f * x;
    for (int y = 0; y < 41; ++y)
        for (int x = 0; x < 75; ++x) flipped.at(x, y) = img.at(74 - x, y);
    const auto single = m.predictImage(flipped);
    m.setMirrorAverage(true);
    const auto a = m.predictImage(img), b = m.predictImage(flipped);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(a[1].width(), 75);
    EXPECT_EQ(a[1].height(), 41);
    double singleOff = 0;
    for (int y = 0; y < 41; ++y)
        for (int x = 0; x < 75; ++x) {
            ASSERT_NEAR(b[1].at(x, y), a[1].at(74 - x, y), 1e-5f);
            ASSERT_NEAR(a[0].at(x, y) + a[1].at(x, y), 1.0f, 1e-4f);
            singleOff = std::max(singleOff, std::abs(double(single[1].at(x, y)) - a[1].at(74 - x, y)));
        }
    EXPECT_GT(singleOff, 1e-4);   // a single prediction is not equivariant: the average is not a copy of it
}

// A per-tile card standardises every tile on its own: a tile's output does not depend on what the other tiles
// hold (here a terrace 1000 units higher), as training tiles never see their neighbours.
TEST(Model, PerTileNormalizationMakesTilesIndependent) {
    ModelCard card = tinyCard();
    card.tileOverlap = 0;
    ASSERT_TRUE(card.normalizesPerTile());   // the default for new cards
    Image left(32, 32), both(64, 32);
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 64; ++x) {
            const float v = std::sin(0.7f * x) * std::cos(0.4f * y);
            if (x < 32) left.at(x, y) = v;
            both.at(x, y) = x < 32 ? v : 1000.0f + 3.0f * v;
        }
    Model perTile = Model::create(card, 3);
    const auto alone = perTile.predictImage(left), joined = perTile.predictImage(both);
    double maxDiff = 0;
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) maxDiff = std::max(maxDiff, std::abs(double(alone[1].at(x, y)) - joined[1].at(x, y)));
    EXPECT_LT(maxDiff, 1e-4);

    // ... and is exactly a whole-image model (which takes its input as given) fed the tile standardised.
    card.normalization = ModelCard::kWholeImage;
    Model whole = Model::create(card, 3);
    Image standardized = left;
    levelAndStandardize(standardized);
    const auto direct = whole.predictImage(standardized), raw = whole.predictImage(left);
    double maxStd = 0, maxRaw = 0;
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
            maxStd = std::max(maxStd, std::abs(double(direct[1].at(x, y)) - alone[1].at(x, y)));
            maxRaw = std::max(maxRaw, std::abs(double(raw[1].at(x, y)) - alone[1].at(x, y)));
        }
    EXPECT_LT(maxStd, 1e-4);
    EXPECT_GT(maxRaw, 1e-3);

    card.normalization = "per-scanline";
    EXPECT_THROW(card.validate("card"), InputError);
}

TEST(Model, StridedStemNetworkTrainsSavesAndPredictsAnySize) {
    ModelCard c = tinyCard();
    c.net.stemStride = 2;
    EXPECT_EQ(c.net.stride(), 8);
    Model m = Model::create(c, 9);
    // Learns: the loss falls in a few steps as for the plain U-Net.
    TrainOptions o = tinyTraining("stem", 30);
    auto evalFn = [](const Model&, const std::vector<TrainingSample>&) { return nlohmann::json{{"score", 0.0}}; };
    TrainReport r = trainModel(m, discs, o, evalFn);
    EXPECT_LT(r.lastLoss, 0.8 * r.firstLoss) << "first " << r.firstLoss << " last " << r.lastLoss;
    // The card records the stem; a reload reproduces the outputs exactly.
    const auto saved = tempDir("stem-saved");
    m.save(saved.string());
    Model l = Model::load(saved.string(), "defects");
    EXPECT_EQ(l.card().net.stemStride, 2);
    auto s = discs(12);
    auto a = m.predict(s.image.data(), 1, 32, 32), b = l.predict(s.image.data(), 1, 32, 32);
    ASSERT_EQ(a.pixelProb.size(), b.pixelProb.size());
    for (size_t i = 0; i < a.pixelProb.size(); ++i) ASSERT_NEAR(a.pixelProb[i], b.pixelProb[i], 1e-5f);
    // Output at the input's full resolution, for sizes that are not a multiple of the stride.
    Image img(53, 37);
    for (int y = 0; y < 37; ++y)
        for (int x = 0; x < 53; ++x) img.at(x, y) = std::sin(0.4f * x) + std::cos(0.3f * y);
    auto maps = l.predictImage(img);
    ASSERT_EQ(maps.size(), 2u);
    EXPECT_EQ(maps[1].width(), 53);
    EXPECT_EQ(maps[1].height(), 37);
    // A stem stride the code does not know is refused.
    c.net.stemStride = 3;
    EXPECT_THROW(c.validate("card"), InputError);
    // The tile size must be a multiple of the whole stride (stem x 2^depth).
    c.net.stemStride = 2;
    c.tileSize = 36;
    EXPECT_THROW(c.validate("card"), InputError);
    fs::remove_all(o.outDir);
    fs::remove_all(saved);
}

TEST(Augment, KeepsLabelsAlignedWithImage) {
    // Target = 1 exactly where the image is bright; after augmentation that must still hold (noise off).
    AugmentOptions o;
    o.noise = 0;
    o.blur = 0;
    o.lineJitter = 0;
    o.background = 0;
    o.gamma = 0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        TrainingSample s = discs(seed);
        for (float& v : s.image.pixels()) v = 0;
        for (size_t i = 0; i < s.image.size(); ++i) s.image.pixels()[i] = s.target.pixels()[i] * 5.0f;
        std::mt19937_64 rng(seed);
        augment(s, rng, o);
        int agree = 0;
        for (size_t i = 0; i < s.image.size(); ++i) agree += (s.image.pixels()[i] > 2.5f) == (s.target.pixels()[i] > 0.5f);
        EXPECT_GT(agree, static_cast<int>(0.98 * s.image.size())) << "seed " << seed;
    }
}

// A sample rendered 4x coarser than the model's pixel size and enlarged is piecewise linear along the lines: its
// second differences vanish between the coarse samples. One rendered finer and reduced has no such structure.
TEST(SimulatedSamples, RenderScaleSetsTheSourcePixelSize) {
    const ModelCard card = defaultCard("atoms");
    auto flatFraction = [&](double scale) {
        SampleGenerator gen = simulatedSamples(card, 64, scale, scale);
        size_t flat = 0, total = 0;
        for (uint64_t seed = 1; seed <= 4; ++seed) {
            TrainingSample s = gen(seed);
            EXPECT_EQ(s.image.width(), 64);
            EXPECT_DOUBLE_EQ(s.image.pixelSize.x_nm, card.pixelSizeNm);
            EXPECT_FALSE(s.points.empty());
            for (int y = 0; y < 64; ++y)
                for (int x = 1; x < 63; ++x, ++total)
                    flat += std::abs(s.image.at(x + 1, y) - 2 * s.image.at(x, y) + s.image.at(x - 1, y)) < 1e-3f;
        }
        return static_cast<double>(flat) / total;
    };
    const double coarse = flatFraction(4.0), fine = flatFraction(0.7);
    EXPECT_GT(coarse, 0.3);
    EXPECT_LT(fine, 0.05);
    EXPECT_THROW(simulatedSamples(card, 64, 1.4, 0.7), InputError);
    EXPECT_THROW(simulatedSamples(card, 64, 0.0, 1.0), InputError);
}

// --sim-current forces constant-height frames on a share of the samples and leaves the default stream alone.
TEST(SimulatedSamples, CurrentShareChangesOnlyWhenAskedFor) {
    const ModelCard card = defaultCard("defects");
    SampleGenerator plain = simulatedSamples(card, 64), none = simulatedSamples(card, 64, 0.7, 1.4, 0.0),
                    all = simulatedSamples(card, 64, 0.7, 1.4, 1.0);
    int changed = 0;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
        const TrainingSample a = plain(seed), b = none(seed), c = all(seed);
        EXPECT_EQ(a.image.pixels(), b.image.pixels()) << "seed " << seed;
        changed += a.image.pixels() != c.image.pixels();
    }
    // About a fifth of the presets' own draws are constant-height already and come out the same.
    EXPECT_GE(changed, 4);
    EXPECT_THROW(simulatedSamples(card, 64, 0.7, 1.4, 1.5), InputError);
    EXPECT_THROW(simulatedSamples(card, 64, 0.7, 1.4, -0.1), InputError);
}
