// stmlens train assess|atoms|defects --out models/NAME [--minutes M] [--steps N] ...
// stmlens train types --out models/types [--scans N] [--epochs E] ...   (the defect type network)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "Commands.h"
#include "core/Errors.h"
#include "nn/DefectTypeTraining.h"
#include "nn/LabelledScans.h"
#include "nn/Tasks.h"

namespace stmlens::cli {

namespace {
struct TrainCliOptions {
    std::string task, out, init, data, labelsConfig, name;
    double holdout = 0.3;
    double test = 0;
    double mixSimulated = 0.5;
    double simCurrent = 0;
    double minutes = 0;
    int width = 0, stem = 0, steps = 0, batch = 8, tile = 128, threads = 2, loaders = 1, validation = 32, every = 100, patience = 8;
    double lr = 2e-3;
    std::vector<double> renderScale{0.7, 1.4};
    uint64_t seed = 1;
    bool resume = false;
    int scans = 3000, validationScans = 300, epochs = 30;   // types
    double jitter = 0.25;
    double windowNm = 2.5;
    int samples = 32;
};
}  // namespace

Runner addTrainCommand(CLI::App& app) {
    auto o = std::make_shared<TrainCliOptions>();
    auto* cmd = app.add_subcommand("train", "Train a network on simulated H-Si(100) scans (or fine-tune one with --init)");
    cmd->add_option("task", o->task, "assess | atoms | defects | types (the defect type network of the clustering)")
        ->required()->check(CLI::IsMember({"assess", "atoms", "defects", "types"}));
    cmd->add_option("--out", o->out, "Output model directory (weights.pt, card.json, log.csv, checkpoints)")->required();
    cmd->add_option("--name", o->name, "Model name for the card (default: TASK-v1 for a new network, the --init "
                                       "model's name when fine-tuning), so a shipped card is reproduced as it is");
    cmd->add_option("--minutes", o->minutes, "Stop after this many minutes of training");
    cmd->add_option("--steps", o->steps, "Stop after this many optimiser steps");
    cmd->add_option("--batch", o->batch, "Tiles per step (types: windows per step, 128 unless given)")->capture_default_str();
    cmd->add_option("--scans", o->scans, "types: simulated training scans (each gives its point defects' windows)")
        ->capture_default_str()->check(CLI::Range(10, 1000000));
    cmd->add_option("--validation-scans", o->validationScans, "types: simulated validation scans")
        ->capture_default_str()->check(CLI::Range(2, 100000));
    cmd->add_option("--epochs", o->epochs, "types: passes over the training windows")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_option("--window", o->windowNm, "types: side of the defect window in nm")->capture_default_str()->check(CLI::Range(0.6, 19.0));
    cmd->add_option("--samples", o->samples, "types: samples per window side (16-64, a multiple of 8)")->capture_default_str();
    cmd->add_option("--jitter", o->jitter, "types: windows are taken up to this far (nm) from the true defect position, "
                                           "as detections are")->capture_default_str()->check(CLI::Range(0.0, 1.5));
    cmd->add_option("--tile", o->tile, "Training tile size in model pixels")->capture_default_str();
    cmd->add_option("--lr", o->lr, "Peak learning rate (cosine schedule)")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed: initial weights and the sample stream")->capture_default_str();
    cmd->add_option("--threads", o->threads, "LibTorch threads")->capture_default_str();
    cmd->add_option("--loader-threads", o->loaders, "Simulator threads feeding training")->capture_default_str();
    cmd->add_option("--validation", o->validation, "Fixed validation samples")->capture_default_str();
    cmd->add_option("--validate-every", o->every, "Steps between validations")->capture_default_str();
    cmd->add_option("--patience", o->patience, "Validations without improvement before stopping")->capture_default_str();
    cmd->add_option("--width", o->width, "Channels of the network's first level (default per task: assess 8, atoms 8, "
                                         "defects 16); cost grows with its square")->check(CLI::Range(2, 128));
    cmd->add_option("--stem", o->stem, "Stem stride of a new network: 2 runs the U-Net at half resolution behind a "
                                       "strided convolution (about 3x cheaper), 1 a plain U-Net (default per task)")
        ->check(CLI::IsMember({1, 2}));
    cmd->add_option("--render-scale", o->renderScale, "MIN,MAX: simulated scans are rendered at a pixel size drawn "
                                                       "from this range times the model's, then resampled to it")
        ->expected(2)->delimiter(',')->capture_default_str();
    cmd->add_option("--sim-current", o->simCurrent, "Fraction of simulated samples rendered as constant-height current "
                                                    "frames; the rest keep the presets' mix (about a fifth of it "
                                                    "constant-height)")
        ->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--init", o->init, "Start from this model directory (fine-tuning) instead of random weights");
    cmd->add_flag("--resume", o->resume, "Continue from the checkpoint in --out");
    cmd->add_option("--data", o->data, "Fine-tune on real labelled scans in this folder (with --init)");
    cmd->add_option("--labels-config", o->labelsConfig, "Label config JSON for --data (default: DATA/labels.json; see configs/cda-labels.json)");
    cmd->add_option("--mix-simulated", o->mixSimulated, "With --data: fraction of training samples still drawn from the "
                                                          "simulator, so the network keeps what it learnt there")
        ->capture_default_str()->check(CLI::Range(0.0, 0.95));
    cmd->add_option("--holdout", o->holdout, "Fraction of labelled scans kept for validation")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    cmd->add_option("--test", o->test, "Fraction of the held-out scans kept for testing only: never trained on and never "
                                       "used to pick the checkpoint; the card records their scores (metrics.test_real)")
        ->capture_default_str()->check(CLI::Range(0.0, 0.9));
    return [o, cmd, &app]() {
        if (o->task == "types") {
            if (!o->init.empty() || !o->data.empty() || o->resume || o->steps > 0)
                throw InputError("train types", "takes no --init, --data, --resume or --steps (it trains from simulated "
                                                "scans in --epochs passes)");
            DefectTypeTrainOptions t;
            t.outDir = o->out;
            t.name = o->name;
            t.scans = o->scans;
            t.validationScans = o->validationScans;
            t.epochs = o->epochs;
            t.minutes = o->minutes;
            t.batch = cmd->get_option("--batch")->count() ? o->batch : 128;
            t.learningRate = o->lr;
            t.seed = o->seed;
            t.threads = o->threads;
            if (o->width > 0) t.width = o->width;
            t.jitterNm = o->jitter;
            t.window = {o->windowNm, o->samples};
            std::ostringstream c;
            c << "stmlens train types --out " << o->out << " --scans " << t.scans << " --validation-scans "
              << t.validationScans << " --epochs " << t.epochs << " --batch " << t.batch << " --lr " << t.learningRate
              << " --seed " << t.seed << " --width " << t.width << " --jitter " << t.jitterNm;
            if (o->windowNm != TrainCliOptions{}.windowNm || o->samples != TrainCliOptions{}.samples)
                c << " --window " << o->windowNm << " --samples " << o->samples;
            if (t.minutes > 0) c << " --minutes " << t.minutes;
            if (!o->name.empty()) c << " --name " << o->name;
            t.command = c.str();
            const DefectTypeReport r = trainDefectTypes(t);
            std::fprintf(stderr, "types: %zu training windows, %zu validation windows, %d epochs in %.1f min, best "
                                 "validation accuracy %.3f -> %s\n", r.trainWindows, r.validationWindows, r.epochs,
                         r.minutes, r.bestMetrics.value("accuracy", 0.0), o->out.c_str());
            return 0;
        }
        if (o->minutes <= 0 && o->steps <= 0) throw InputError("give --minutes or --steps to bound training");
        if (o->tile < 32) throw InputError("--tile must be at least 32");
        if (o->task == "assess" && o->test > 0)
            throw InputError("--test", "the assessment keeps its simulated validation set, so there is nothing to test apart");
        if (o->data.empty() && o->test > 0) throw InputError("--test", "needs --data: it keeps some of the labelled scans apart");
        std::ostringstream cmdline;
        cmdline << "stmlens train " << o->task << " --out " << o->out;
        if (o->minutes > 0) cmdline << " --minutes " << o->minutes;
        if (o->steps > 0) cmdline << " --steps " << o->steps;
        if (o->width > 0) cmdline << " --width " << o->width;
        if (o->stem > 0) cmdline << " --stem " << o->stem;
        cmdline << " --batch " << o->batch << " --tile " << o->tile << " --lr " << o->lr << " --seed " << o->seed;
        // Options that change the result when not at their defaults, so the card's command reproduces the run.
        const TrainCliOptions defaults;
        if (o->patience != defaults.patience) cmdline << " --patience " << o->patience;
        if (o->validation != defaults.validation) cmdline << " --validation " << o->validation;
        if (o->every != defaults.every) cmdline << " --validate-every " << o->every;
        if (o->threads != defaults.threads) cmdline << " --threads " << o->threads;
        if (o->renderScale != defaults.renderScale)
            cmdline << " --render-scale " << o->renderScale[0] << "," << o->renderScale[1];
        if (o->simCurrent != defaults.simCurrent) cmdline << " --sim-current " << o->simCurrent;
        if (!o->init.empty()) cmdline << " --init " << o->init;
        if (!o->name.empty()) cmdline << " --name " << o->name;
        if (!o->data.empty()) {
            cmdline << " --data " << o->data << " --labels-config " << o->labelsConfig << " --holdout " << o->holdout
                    << " --mix-simulated " << o->mixSimulated;
            if (o->test > 0) cmdline << " --test " << o->test;
        }
        (void)app;

        if ((o->width > 0 || o->stem > 0) && !o->init.empty())
            throw InputError("--width and --stem set up a new network; with --init the network's own architecture is kept");
        ModelCard fresh = defaultCard(o->task);
        if (o->width > 0) fresh.net.width = o->width;
        if (o->stem > 0) fresh.net.stemStride = o->stem;
        Model model = o->init.empty() ? Model::create(fresh, o->seed) : Model::load(o->init, o->task);
        ModelCard& card = model.card();
        if (!o->name.empty()) card.name = o->name;
        if (o->tile % card.net.stride() != 0)
            throw InputError("--tile must be a multiple of " + std::to_string(card.net.stride()) + " for this network");
        card.training["command"] = cmdline.str();
        // Test scores belong to the run that kept those frames apart, not to a model fine-tuned from it.
        if (card.metrics.is_object()) card.metrics.erase("test_real");
        // Training tiles are standardised one by one, so inference standardises tiles of about the same size one
        // by one (also when an older whole-image model is fine-tuned): 32 px more than the training tile with a
        // 16 px overlap measured as accurate as the training tile itself with a quarter overlap, and 25 % faster.
        card.normalization = ModelCard::kPerTile;
        const int stride = card.net.stride();
        card.tileSize = (o->tile + 32 + stride - 1) / stride * stride;
        card.tileOverlap = 16;
        card.training["seed"] = o->seed;
        std::ostringstream scale;
        scale << o->renderScale[0] << "-" << o->renderScale[1];
        card.training["data"] = "simulated H-Si(100) 2x1 scans (stmlens simulate, preset Mixed), rendered at " + scale.str() +
                                "x the model pixel size and resampled; augmentation: flips, 90-degree turns, zoom, blur, "
                                "gamma, plane, scan-line jitter, noise";
        if (o->simCurrent > 0)
            card.training["data"] = card.training["data"].get<std::string>() + "; a fraction " + std::to_string(o->simCurrent) +
                                    " of them forced to constant-height current frames";
        card.training["batch"] = o->batch;
        card.training["tile"] = o->tile;
#ifdef STMLENS_GIT_COMMIT
        card.training["source_commit"] = STMLENS_GIT_COMMIT;
#endif
        std::fprintf(stderr, "training %s: %zu parameters, %g nm/px, tile %d, batch %d\n", card.name.c_str(),
                     model.parameterCount(), card.pixelSizeNm, o->tile, o->batch);
        TrainOptions t;
        t.outDir = o->out;
        t.steps = o->steps;
        t.minutes = o->minutes;
        t.batch = o->batch;
        t.learningRate = o->lr;
        t.seed = o->seed;
        t.threads = o->threads;
        t.loaderThreads = o->loaders;
        t.validationCount = o->validation;
        t.validateEvery = o->every;
        t.patience = o->patience;
        t.resume = o->resume;
        t.command = cmdline.str();
        SampleGenerator generator = simulatedSamples(card, o->tile, o->renderScale[0], o->renderScale[1], o->simCurrent);
        if (!o->data.empty()) {
            if (o->labelsConfig.empty()) o->labelsConfig = (std::filesystem::path(o->data) / "labels.json").string();
            // The atom finder learns from the lattice sites; the defect classes only mark where not to look.
            const bool atoms = o->task == "atoms";
            auto scans = loadLabelledScans(o->data, LabelConfig::load(o->labelsConfig),
                                           atoms ? defaultCard("defects").classes : card.classes);
            const size_t nVal = std::max<size_t>(1, static_cast<size_t>(scans.size() * o->holdout + 0.5));
            if (scans.size() < 2) throw InputError(o->data, "need at least two labelled scans (one is held out for validation)");
            std::vector<LabelledScan> train(scans.begin(), scans.end() - static_cast<long>(nVal));
            std::vector<LabelledScan> held(scans.end() - static_cast<long>(nVal), scans.end());
            auto names = [](const std::vector<LabelledScan>& v) {
                std::string n;
                for (const auto& s : v) n += (n.empty() ? "" : ", ") + std::filesystem::path(s.path).filename().string();
                return n;
            };
            const std::string heldNames = names(held);
            // Test scans are spread evenly over the held-out ones (every other one at 0.5), so that validation and
            // test see the same mix of sessions.
            std::vector<LabelledScan> testScans;
            if (o->test > 0) {
                std::vector<LabelledScan> val;
                for (size_t i = 0; i < held.size(); ++i) {
                    const bool isTest = std::floor((i + 1) * o->test) > std::floor(i * o->test);
                    (isTest ? testScans : val).push_back(std::move(held[i]));
                }
                if (testScans.empty() || val.empty())
                    throw InputError("--test", "keeps " + std::to_string(testScans.size()) + " of the " + std::to_string(nVal) +
                                                   " held-out scans for testing; it needs at least one for testing and one for validation");
                held = std::move(val);
            }
            std::fprintf(stderr, "fine-tuning on %zu labelled scans, validating on %zu held out (%s)\n", train.size(), held.size(), names(held).c_str());
            if (!testScans.empty()) std::fprintf(stderr, "testing on %zu more (%s)\n", testScans.size(), names(testScans).c_str());
            // held_out: every scan not trained on (validation and test); validation picks the checkpoint.
            card.training["fine_tune"] = {{"data", o->data}, {"config", o->labelsConfig}, {"train_scans", train.size()},
                                          {"held_out", heldNames}};
            if (!testScans.empty()) {
                card.training["fine_tune"]["validation"] = names(held);
                card.training["fine_tune"]["test"] = names(testScans);
            }
            card.training["data"] = "real labelled scans in " + o->data + " (labels mapped by " + o->labelsConfig +
                                    "), random tiles at the model pixel size, same augmentation; started from " + o->init;
            t.metricsKey = "validation_real_held_out";
            // The starting model's simulated validation stays, named for what it is.
            if (card.metrics.contains("validation_simulated")) {
                card.metrics["before_fine_tune_validation_simulated"] = card.metrics["validation_simulated"];
                card.metrics.erase("validation_simulated");
            }
            const bool assess = o->task == "assess";
            const auto goodIt = std::find(card.imageClasses.begin(), card.imageClasses.end(), "good");
            if (assess && goodIt == card.imageClasses.end())
                throw InputError("--data", "the assessment model has no image class 'good' to give the labelled frames");
            const int good = static_cast<int>(goodIt - card.imageClasses.begin());
            SampleGenerator real = atoms    ? labelledAtomSamples(std::move(train), card.pixelSizeNm, o->tile)
                                   : assess ? labelledAssessSamples(std::move(train), card.pixelSizeNm, o->tile, good)
                                            : labelledSamples(std::move(train), card.pixelSizeNm, o->tile);
            // Mix in simulated samples (chosen by the seed, so the stream stays deterministic).
            const double mix = o->mixSimulated;
            generator = [sim = generator, real, mix](uint64_t seed) {
                const uint64_t h = (seed * 0x9E3779B97F4A7C15ull) >> 40;
                return static_cast<double>(h % 1000) < mix * 1000 ? sim(seed) : real(seed);
            };
            card.training["fine_tune"]["mix_simulated"] = mix;
            card.training["data"] = card.training["data"].get<std::string>() + "; a fraction " + std::to_string(mix) +
                                    " of the samples still simulated (as in pre-training)";
            // Real frames for the assessment are all good and resolved: a validation on them alone would pick
            // the most lenient checkpoint, so the assessment keeps its simulated validation set.
            if (assess) {
                t.metricsKey = "validation_simulated";
            } else {
                auto heldSamples = [&](std::vector<LabelledScan> v) {
                    return atoms ? labelledAtomSamples(std::move(v), card.pixelSizeNm, o->tile)
                                 : labelledSamples(std::move(v), card.pixelSizeNm, o->tile);
                };
                t.validation = heldSamples(std::move(held));
                if (!testScans.empty()) {
                    t.test = heldSamples(std::move(testScans));
                    t.testCount = o->validation;
                }
            }
        }
        TrainReport r = trainModel(model, generator, t, evaluatorFor(card));
        std::printf("trained %d steps in %.1f min; loss %.4f -> %.4f; best validation %s\nmodel written to %s\n", r.steps,
                    r.minutes, r.firstLoss, r.lastLoss, r.bestMetrics.dump().c_str(), o->out.c_str());
        return 0;
    };
}

}  // namespace stmlens::cli
