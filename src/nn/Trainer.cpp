#include "nn/Trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/Errors.h"
#include "io/AtomicFile.h"
#include "nn/ModelImpl.h"

namespace stmlens {

namespace fs = std::filesystem;

namespace {

// Bounded queue filled by generator threads; each sample's seed is drawn from a shared counter, so no seed repeats.
class SampleQueue {
public:
    SampleQueue(const SampleGenerator& gen, uint64_t firstSeed, int threads, size_t capacity, const TrainOptions& o)
        : gen_(gen), next_(firstSeed), capacity_(capacity), options_(o) {
        for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this, i] { run(i); });
    }
    ~SampleQueue() {
        {
            std::lock_guard<std::mutex> lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }
    TrainingSample pop() {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return !q_.empty() || error_; });
        if (error_ && q_.empty()) throw AnalysisError("training data generator failed: " + errorText_);
        TrainingSample s = std::move(q_.front());
        q_.pop_front();
        cv_.notify_all();
        return s;
    }

private:
    void run(int) {
        while (true) {
            const uint64_t seed = next_.fetch_add(1);
            try {
                TrainingSample s = gen_(seed);
                if (options_.augment) {
                    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 17);
                    augment(s, rng, options_.augmentation);
                }
                std::unique_lock<std::mutex> lock(m_);
                cv_.wait(lock, [&] { return q_.size() < capacity_ || stop_; });
                if (stop_) return;
                q_.push_back(std::move(s));
                cv_.notify_all();
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(m_);
                error_ = true;
                errorText_ = e.what();
                cv_.notify_all();
                return;
            }
        }
    }
    SampleGenerator gen_;
    std::atomic<uint64_t> next_;
    size_t capacity_;
    const TrainOptions& options_;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<TrainingSample> q_;
    std::vector<std::thread> workers_;
    bool stop_ = false, error_ = false;
    std::string errorText_;
};

struct Batch {
    torch::Tensor x, y, known, imageClass;
};

Batch makeBatch(std::vector<TrainingSample>& samples) {
    const int n = static_cast<int>(samples.size());
    const int h = samples[0].image.height(), w = samples[0].image.width();
    Batch b;
    b.x = torch::empty({n, 1, h, w});
    b.y = torch::empty({n, h, w}, torch::kLong);
    b.known = torch::ones({n, h, w});
    b.imageClass = torch::full({n}, -1, torch::kLong);
    for (int i = 0; i < n; ++i) {
        auto& s = samples[i];
        if (s.image.width() != w || s.image.height() != h || s.target.width() != w || s.target.height() != h)
            throw AnalysisError("training samples must all have the same tile size");
        std::memcpy(b.x[i][0].data_ptr<float>(), s.image.data(), sizeof(float) * w * h);
        auto yi = b.y[i];
        auto* yp = yi.data_ptr<int64_t>();
        for (int k = 0; k < w * h; ++k) yp[k] = static_cast<int64_t>(std::lround(s.target.data()[k]));
        if (!s.known.empty()) std::memcpy(b.known[i].data_ptr<float>(), s.known.data(), sizeof(float) * w * h);
        b.imageClass[i] = s.imageClass;
    }
    return b;
}

// Class-weighted cross-entropy plus soft Dice over classes; pixels with known == 0 are ignored.
torch::Tensor segmentationLoss(const torch::Tensor& logits, const Batch& b, const torch::Tensor& weights) {
    const int64_t k = logits.size(1);
    auto y = b.y.clamp(0, k - 1);
    auto ce = torch::nn::functional::cross_entropy(
        logits, y, torch::nn::functional::CrossEntropyFuncOptions().weight(weights).reduction(torch::kNone));
    const auto wsum = (weights.index_select(0, y.flatten()).view_as(b.known) * b.known).sum().clamp_min(1e-6);
    auto ceLoss = (ce * b.known).sum() / wsum;
    auto p = torch::softmax(logits, 1);
    auto onehot = torch::one_hot(y, k).permute({0, 3, 1, 2}).to(torch::kFloat32);
    auto m = b.known.unsqueeze(1);
    auto inter = (p * onehot * m).sum({0, 2, 3});
    auto denom = ((p + onehot) * m).sum({0, 2, 3});
    auto dice = 1.0 - ((2.0 * inter + 1.0) / (denom + 1.0)).mean();
    return ceLoss + dice;
}

std::string fmtDuration(double s) {
    char buf[32];
    const int t = static_cast<int>(s);
    std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
    return buf;
}

}  // namespace

std::vector<float> classWeights(const std::vector<TrainingSample>& samples, int classes) {
    std::vector<double> count(classes, 1.0);
    for (const auto& s : samples)
        for (float v : s.target.pixels()) {
            const int c = static_cast<int>(std::lround(v));
            if (c >= 0 && c < classes) count[c] += 1;
        }
    double total = 0;
    for (double c : count) total += c;
    std::vector<float> w(classes);
    double mean = 0;
    for (int c = 0; c < classes; ++c) {
        w[c] = static_cast<float>(1.0 / std::sqrt(count[c] / total));
        mean += w[c];
    }
    mean /= classes;
    // Cap the ratio so a class seen in a handful of pixels does not dominate.
    for (float& x : w) x = static_cast<float>(std::min(x / mean, 10.0));
    return w;
}

TrainReport trainModel(Model& model, const SampleGenerator& gen, const TrainOptions& o, const Evaluator& evaluate) {
    if (o.outDir.empty()) throw InputError("training needs an output directory (--out)");
    if (o.steps <= 0 && o.minutes <= 0) throw InputError("give --steps or --minutes to bound training");
    if (o.batch < 1) throw InputError("batch size must be at least 1");
    fs::create_directories(o.outDir);
    setTorchThreads(o.threads);
    auto& impl = *model.impl();
    auto& net = impl.net;
    impl.inference = nullptr;   // the weights are about to change; predictions use the live network
    impl.bf16 = false;
    const int classes = impl.card.net.outChannels;

    // Fixed validation set from a seed range training never draws from.
    std::vector<TrainingSample> validation;
    const SampleGenerator& valGen = o.validation ? o.validation : gen;
    for (int i = 0; i < o.validationCount; ++i) validation.push_back(valGen(0xFFFF000000000000ull + o.seed * 100000 + i));
    const auto weightsVec = classWeights(validation, classes);
    std::vector<TrainingSample> test;
    if (o.test)
        for (int i = 0; i < o.testCount; ++i) test.push_back(o.test(0xFFFE000000000000ull + o.seed * 100000 + i));
    auto weights = torch::from_blob(const_cast<float*>(weightsVec.data()), {classes}).clone();

    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(o.learningRate));
    const std::string ckptModel = (fs::path(o.outDir) / "checkpoint.pt").string();
    const std::string ckptOptim = (fs::path(o.outDir) / "checkpoint-optim.pt").string();
    const std::string ckptState = (fs::path(o.outDir) / "checkpoint.json").string();
    int step = 0;
    double bestScore = -1e300;
    int sinceBest = 0;
    double elapsedBefore = 0;
    TrainReport report;
    if (o.resume && fs::exists(ckptModel) && fs::exists(ckptState)) {
        torch::load(net, ckptModel);
        torch::load(optimizer, ckptOptim);
        std::ifstream in(ckptState);
        nlohmann::json st;
        in >> st;
        step = st.value("step", 0);
        bestScore = st.value("best_score", -1e300);
        elapsedBefore = st.value("elapsed_s", 0.0);
        report.bestMetrics = st.value("best_metrics", nlohmann::json::object());
        std::fprintf(stderr, "resuming from step %d\n", step);
    }

    const std::string logPath = (fs::path(o.outDir) / "log.csv").string();
    const bool newLog = !(o.resume && fs::exists(logPath));
    std::ofstream log(logPath, newLog ? std::ios::trunc : std::ios::app);
    if (newLog) log << "step,elapsed_s,lr,train_loss,val_score,val_metrics\n";

    SampleQueue queue(gen, o.seed * 1000000000ull + static_cast<uint64_t>(step) * o.batch, o.loaderThreads,
                      static_cast<size_t>(o.batch) * 3, o);
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return elapsedBefore + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const bool tty = o.progress && ::isatty(STDERR_FILENO);
    std::deque<double> recent;
    std::vector<double> first;
    double lastPrint = -1;
    const int startStep = step;

    auto progressFraction = [&] {
        double f = 0;
        if (o.steps > 0) f = std::max(f, static_cast<double>(step) / o.steps);
        if (o.minutes > 0) f = std::max(f, elapsed() / (o.minutes * 60));
        return std::min(1.0, f);
    };

    while (true) {
        const double frac = progressFraction();
        if (frac >= 1.0) break;
        const double lr = o.learningRate * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * frac)));
        for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);

        std::vector<TrainingSample> samples;
        for (int i = 0; i < o.batch; ++i) samples.push_back(queue.pop());
        Batch b = makeBatch(samples);
        net->train();
        optimizer.zero_grad();
        auto out = net->forward(b.x.contiguous(at::MemoryFormat::ChannelsLast));
        auto loss = segmentationLoss(out.pixelLogits, b, weights);
        if (out.imageLogits.defined()) {
            auto valid = b.imageClass >= 0;
            if (valid.any().item<bool>())
                loss = loss + 0.5 * torch::nn::functional::cross_entropy(out.imageLogits.index({valid}),
                                                                          b.imageClass.index({valid}));
        }
        loss.backward();
        optimizer.step();
        ++step;
        const double l = loss.item<double>();
        if (!std::isfinite(l)) throw AnalysisError("training diverged (loss is not finite) at step " + std::to_string(step));
        recent.push_back(l);
        if (recent.size() > 20) recent.pop_front();
        if (first.size() < 20) first.push_back(l);
        double mean = 0;
        for (double v : recent) mean += v;
        mean /= recent.size();

        const bool validateNow = step % o.validateEvery == 0 || progressFraction() >= 1.0;
        if (validateNow) {
            net->eval();
            nlohmann::json metrics = evaluate(model, validation);
            const double score = metrics.value("score", 0.0);
            // CSV: the JSON goes in one quoted field, its quotes doubled.
            std::string quoted;
            for (char ch : metrics.dump()) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            log << step << "," << elapsed() << "," << lr << "," << mean << "," << score << ",\"" << quoted << "\"\n";
            log.flush();
            if (score > bestScore) {
                bestScore = score;
                sinceBest = 0;
                report.bestMetrics = metrics;
                impl.card.metrics[o.metricsKey] = metrics;
                if (!test.empty()) impl.card.metrics[o.testMetricsKey] = evaluate(model, test);
                impl.card.training["steps"] = step;
                impl.card.training["minutes"] = elapsed() / 60;
                model.save(o.outDir);
            } else {
                ++sinceBest;
            }
            torch::save(net, ckptModel);
            torch::save(optimizer, ckptOptim);
            nlohmann::json st = {{"step", step}, {"best_score", bestScore}, {"elapsed_s", elapsed()},
                                 {"best_metrics", report.bestMetrics}};
            writeAtomically(ckptState, [&](const std::string& tmp) { std::ofstream(tmp) << st.dump(2); });
            if (!tty) std::fprintf(stderr, "step %d  loss %.4f  val score %.4f  best %.4f  %s\n", step, mean, score, bestScore, fmtDuration(elapsed()).c_str());
            if (sinceBest >= o.patience) {
                report.stoppedEarly = true;
                break;
            }
        }
        if (tty && elapsed() - lastPrint > 0.5) {
            lastPrint = elapsed();
            const double f = std::max(progressFraction(), 1e-6);
            const double eta = elapsed() * (1 - f) / f;
            const int barW = 30, filled = static_cast<int>(f * barW);
            std::fprintf(stderr, "\r[%s%s] %3.0f%%  step %d  loss %.4f  best %.4f  ETA %s ", std::string(filled, '#').c_str(),
                         std::string(barW - filled, '.').c_str(), f * 100, step, mean,
                         bestScore > -1e299 ? bestScore : 0.0, fmtDuration(eta).c_str());
        }
    }
    if (tty) std::fprintf(stderr, "\n");
    (void)startStep;
    report.steps = step;
    report.minutes = elapsed() / 60;
    for (double v : first) report.firstLoss += v / first.size();
    for (double v : recent) report.lastLoss += v / recent.size();
    return report;
}

}  // namespace stmlens
