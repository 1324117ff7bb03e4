#include "nn/Model.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <opencv2/core.hpp>

#include "core/Errors.h"
#include "core/Tiling.h"
#include "io/AtomicFile.h"
#include "nn/CheckedWeights.h"
#include "nn/ModelImpl.h"
#include "nn/Preprocess.h"

namespace stmlens {

namespace fs = std::filesystem;

void setTorchThreads(int threads) {
    if (threads > 0) at::set_num_threads(threads);
}

Precision parsePrecision(const std::string& name, const std::string& where) {
    if (name == "auto") return Precision::Auto;
    if (name == "fp32") return Precision::Float32;
    if (name == "bf16") return Precision::BFloat16;
    throw InputError(where, "unknown precision '" + name + "' (auto, fp32 or bf16)");
}

bool cpuHasFastBFloat16() {
    // oneDNN runs bf16 convolutions natively with AMX or AVX512-BF16; elsewhere it emulates them, slower than fp32.
    static const bool has = [] {
        std::ifstream f("/proc/cpuinfo");
        std::string line;
        while (std::getline(f, line))
            if (line.rfind("flags", 0) == 0) return line.find(" amx_bf16") != std::string::npos || line.find(" avx512_bf16") != std::string::npos;
        return false;
    }();
    return has;
}

Precision Model::setPrecision(Precision p) {
    const bool bf16 = p == Precision::BFloat16 || (p == Precision::Auto && cpuHasFastBFloat16());
    if (impl_->inference && impl_->bf16 == bf16) return precision();   // already built in that arithmetic
    impl_->net->eval();
    // Always from the fp32 network: a copy once rounded to bf16 would not give the fp32 outputs back.
    impl_->inference = nn::foldBatchNorm(impl_->net);
    if (bf16) {
        impl_->inference->to(torch::kBFloat16);
        nn::toChannelsLast(impl_->inference);
    }
    impl_->bf16 = bf16;
    return precision();
}

Precision Model::precision() const { return impl_->bf16 ? Precision::BFloat16 : Precision::Float32; }

Model Model::create(const ModelCard& card, uint64_t seed) {
    card.validate(card.name.empty() ? "model card" : card.name);
    if (card.net.kind != "unet") throw InputError(card.name, "not a segmentation network (use DefectTypeModel for 'types')");
    torch::manual_seed(seed);
    Model m;
    m.impl_ = std::make_shared<Impl>(card);
    return m;
}

Model Model::load(const std::string& dir, const std::string& expectedTask) {
    const std::string cardPath = (fs::path(dir) / "card.json").string();
    const std::string weightsPath = (fs::path(dir) / "weights.pt").string();
    if (!fs::is_directory(dir)) throw InputError(dir, "model directory not found");
    ModelCard card = ModelCard::load(cardPath);
    if (!expectedTask.empty() && card.task != expectedTask)
        throw InputError(cardPath, "model is for task '" + card.task + "', expected '" + expectedTask + "'");
    if (card.net.kind != "unet") throw InputError(cardPath, "model is a defect type classifier, not a segmentation network");
    if (!fs::exists(weightsPath)) throw InputError(weightsPath, "model weights missing");
    Model m;
    m.impl_ = std::make_shared<Impl>(card);
    nn::loadCheckedWeights(m.impl_->net, weightsPath);
    nn::toChannelsLast(m.impl_->net);   // torch::load brought the saved (NCHW) layout back
    m.setPrecision(Precision::Float32);
    return m;
}

void Model::save(const std::string& dir) const {
    fs::create_directories(dir);
    writeAtomically((fs::path(dir) / "weights.pt").string(),
                    [&](const std::string& tmp) { torch::save(impl_->net, tmp); });
    impl_->card.save((fs::path(dir) / "card.json").string());
}

const ModelCard& Model::card() const { return impl_->card; }
ModelCard& Model::card() { return impl_->card; }

size_t Model::parameterCount() const {
    size_t n = 0;
    for (const auto& p : impl_->net->parameters()) n += static_cast<size_t>(p.numel());
    return n;
}

ModelOutput Model::predict(const float* tiles, int n, int height, int width) const {
    c10::InferenceMode guard;
    impl_->net->eval();
    nn::UNet& net = impl_->inference ? impl_->inference : impl_->net;
    const bool bf16 = impl_->inference && impl_->bf16;
    auto x = torch::from_blob(const_cast<float*>(tiles), {n, 1, height, width}, torch::kFloat32)
                 .contiguous(at::MemoryFormat::ChannelsLast);
    if (bf16) x = x.to(torch::kBFloat16);
    auto out = net->forward(x);
    if (bf16) {
        out.pixelLogits = out.pixelLogits.to(torch::kFloat32);
        if (out.imageLogits.defined()) out.imageLogits = out.imageLogits.to(torch::kFloat32);
    }
    ModelOutput r;
    r.n = n;
    r.classes = static_cast<int>(out.pixelLogits.size(1));
    r.height = height;
    r.width = width;
    auto p = torch::softmax(out.pixelLogits, 1).contiguous();
    r.pixelProb.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    if (out.imageLogits.defined()) {
        auto q = torch::softmax(out.imageLogits, 1).contiguous();
        r.imageProb.assign(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
    }
    return r;
}

std::vector<Image> Model::predictTiled(const Image& img, std::vector<float>* imageProb) const {
    const ModelCard& c = impl_->card;
    const int multiple = c.net.stride();
    auto roundUp = [&](int v) { return (v + multiple - 1) / multiple * multiple; };
    // Pad (mirror) to a multiple of the network's stride and at least one tile where the image is smaller.
    const int pw = std::max(roundUp(img.width()), std::min(c.tileSize, roundUp(img.width())));
    const int ph = std::max(roundUp(img.height()), std::min(c.tileSize, roundUp(img.height())));
    cv::Mat src(img.height(), img.width(), CV_32F, const_cast<float*>(img.data())), padded;
    cv::copyMakeBorder(src, padded, 0, ph - img.height(), 0, pw - img.width(), cv::BORDER_REFLECT_101);
    // Tiles of at most tileSize (the whole padded side where the image is smaller), spread evenly so that
    // little is computed twice.
    const int maxW = std::min(c.tileSize, pw), maxH = std::min(c.tileSize, ph);
    const int overlap = std::min(c.tileOverlap, std::min(maxW, maxH) / 2);
    const int tw = balancedTileSide(pw, maxW, overlap, multiple), th = balancedTileSide(ph, maxH, overlap, multiple);
    const std::vector<Rect> tiles = tileGrid(pw, ph, tw, th, overlap);
    TileBlender blend(pw, ph, c.net.outChannels, overlap);
    const int batch = 4;
    const bool perTile = c.normalizesPerTile();
    std::vector<float> buf;
    std::vector<double> imageSum(c.net.imageClasses, 0.0);
    // Batches as even as the tile count allows (25 tiles: 4,4,4,4,3,3,3, not 4 x 6 + 1): ATen runs a lone tile
    // through its reference convolution, which at times cost more than a whole batch (docs/benchmarks.md).
    const size_t batches = (tiles.size() + batch - 1) / batch;
    for (size_t b = 0, i = 0; b < batches; ++b) {
        const size_t end = (b + 1) * tiles.size() / batches;
        const int n = static_cast<int>(end - i);
        buf.resize(static_cast<size_t>(n) * th * tw);
        for (int k = 0; k < n; ++k) {
            const Rect& r = tiles[i + k];
            float* dst = &buf[static_cast<size_t>(k) * th * tw];
            if (perTile) {   // levelled and standardised as a tile of its own, then into the batch
                Image t(tw, th);
                for (int y = 0; y < th; ++y) std::memcpy(t.row(y), padded.ptr<float>(r.y + y) + r.x, sizeof(float) * tw);
                levelAndStandardize(t);
                std::memcpy(dst, t.data(), sizeof(float) * tw * th);
            } else {
                for (int y = 0; y < th; ++y) std::memcpy(dst + static_cast<size_t>(y) * tw, padded.ptr<float>(r.y + y) + r.x, sizeof(float) * tw);
            }
        }
        ModelOutput out = predict(buf.data(), n, th, tw);
        const size_t per = static_cast<size_t>(out.classes) * th * tw;
        for (int k = 0; k < n; ++k) {
            blend.add(tiles[i + k], out.pixelProb.data() + k * per);
            for (int q = 0; q < c.net.imageClasses; ++q) imageSum[q] += out.imageProb[k * c.net.imageClasses + q];
        }
        i = end;
    }
    padded.release();
    std::vector<Image> result = blend.finishCropped(img.width(), img.height());
    for (Image& m : result) m.pixelSize = img.pixelSize;
    if (imageProb) {
        imageProb->assign(c.net.imageClasses, 0.0f);
        for (int q = 0; q < c.net.imageClasses; ++q) (*imageProb)[q] = static_cast<float>(imageSum[q] / tiles.size());
    }
    return result;
}

void Model::setMirrorAverage(bool on) { impl_->mirrorAverage = on; }
bool Model::mirrorAverage() const { return impl_->mirrorAverage; }

std::vector<Image> Model::predictImage(const Image& img, std::vector<float>* imageProb) const {
    if (!impl_->mirrorAverage) return predictTiled(img, imageProb);
    std::vector<Image> mean = predictTiled(img, imageProb);
    std::vector<float> imageSum = imageProb ? *imageProb : std::vector<float>{}, oneImage;
    const cv::Mat src(img.height(), img.width(), CV_32F, const_cast<float*>(img.data()));
    for (int flip : {0, 1, -1}) {   // OpenCV: 0 mirrors along y, 1 along x, -1 both
        Image mirrored(img.width(), img.height());
        mirrored.pixelSize = img.pixelSize;
        cv::Mat dst(img.height(), img.width(), CV_32F, mirrored.data());
        cv::flip(src, dst, flip);
        std::vector<Image> out = predictTiled(mirrored, imageProb ? &oneImage : nullptr);
        for (size_t k = 0; k < out.size(); ++k) {
            cv::Mat o(out[k].height(), out[k].width(), CV_32F, out[k].data()), back;
            cv::flip(o, back, flip);
            cv::Mat m(mean[k].height(), mean[k].width(), CV_32F, mean[k].data());
            m += back;
        }
        for (size_t q = 0; q < oneImage.size() && q < imageSum.size(); ++q) imageSum[q] += oneImage[q];
    }
    for (Image& m : mean)
        for (float& v : m.pixels()) v *= 0.25f;
    if (imageProb) {
        for (float& v : imageSum) v *= 0.25f;
        *imageProb = std::move(imageSum);
    }
    return mean;
}

}  // namespace stmlens
