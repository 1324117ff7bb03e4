#include "analysis/Pca.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <sstream>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

Pca Pca::fit(const std::vector<float>& values, int n, int dims, int components) {
    if (n <= 0 || dims <= 0) throw InputError("pca", "nothing to fit (no feature vectors)");
    if (values.size() != static_cast<size_t>(n) * static_cast<size_t>(dims))
        throw InputError("pca", "expected " + std::to_string(n) + " x " + std::to_string(dims) + " values");
    for (size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i]))
            throw InputError("pca", "feature " + std::to_string(i % dims) + " of vector " + std::to_string(i / dims) +
                                        " is not a finite number");
    if (components < 1) throw InputError("pca", "need at least one component");
    const int k = std::min({components, n, dims});
    cv::Mat data(n, dims, CV_64F);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < dims; ++j) data.at<double>(i, j) = values[static_cast<size_t>(i) * dims + j];
    cv::PCA pca(data, cv::noArray(), cv::PCA::DATA_AS_ROW, k);
    Pca out;
    out.mean_.assign(pca.mean.ptr<double>(), pca.mean.ptr<double>() + dims);
    for (int c = 0; c < pca.eigenvectors.rows; ++c)
        out.basis_.emplace_back(pca.eigenvectors.ptr<double>(c), pca.eigenvectors.ptr<double>(c) + dims);
    for (int c = 0; c < pca.eigenvalues.rows; ++c) out.eigenvalues_.push_back(pca.eigenvalues.at<double>(c));
    // Total variance (for the explained ratio), with cv::PCA's normalisation (divide by n).
    for (int j = 0; j < dims; ++j) {
        double s = 0;
        for (int i = 0; i < n; ++i) {
            const double t = data.at<double>(i, j) - out.mean_[j];
            s += t * t;
        }
        out.totalVariance_ += s / n;
    }
    return out;
}

double Pca::explainedVarianceRatio() const {
    if (!(totalVariance_ > 0)) return 1.0;
    double kept = 0;
    for (double e : eigenvalues_) kept += e;
    return std::min(1.0, kept / totalVariance_);
}

std::vector<float> Pca::transform(const std::vector<float>& values, int n) const {
    const size_t d = mean_.size(), k = basis_.size();
    if (n < 0 || values.size() != static_cast<size_t>(n) * d)
        throw InputError("pca", "the projection expects vectors of " + std::to_string(d) + " values, got " +
                                    std::to_string(n > 0 ? values.size() / n : values.size()));
    std::vector<float> out(static_cast<size_t>(n) * k);
    for (int i = 0; i < n; ++i) {
        const float* v = &values[static_cast<size_t>(i) * d];
        for (size_t c = 0; c < k; ++c) {
            double s = 0;
            for (size_t j = 0; j < d; ++j) s += (v[j] - mean_[j]) * basis_[c][j];
            out[static_cast<size_t>(i) * k + c] = static_cast<float>(s);
        }
    }
    return out;
}

std::string Pca::toJson() const {
    nlohmann::json j;
    j["schema"] = "stmlens.pca/1";
    j["mean"] = mean_;
    j["components"] = basis_;
    j["eigenvalues"] = eigenvalues_;
    j["totalVariance"] = totalVariance_;
    return j.dump();
}

Pca Pca::fromJson(const std::string& text) {
    Pca p;
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.value("schema", "") != "stmlens.pca/1") throw InputError("pca", "not a stmlens.pca/1 projection");
        p.mean_ = j.at("mean").get<std::vector<double>>();
        p.basis_ = j.at("components").get<std::vector<std::vector<double>>>();
        p.eigenvalues_ = j.at("eigenvalues").get<std::vector<double>>();
        p.totalVariance_ = j.value("totalVariance", 0.0);
    } catch (const nlohmann::json::exception& e) {
        throw InputError("pca", std::string("malformed projection: ") + e.what());
    }
    if (p.mean_.empty() || p.basis_.size() != p.eigenvalues_.size())
        throw InputError("pca", "malformed projection: inconsistent sizes");
    for (const auto& row : p.basis_)
        if (row.size() != p.mean_.size()) throw InputError("pca", "malformed projection: inconsistent sizes");
    return p;
}

void Pca::save(const std::string& path) const {
    writeAtomically(path, [&](const std::string& tmp) {
        std::ofstream f(tmp);
        f << toJson() << "\n";
        f.close();
        if (!f) throw InputError(path, "cannot write");
    });
}

Pca Pca::load(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw InputError(path, "cannot open");
    std::stringstream s;
    s << f.rdbuf();
    try {
        return fromJson(s.str());
    } catch (const InputError& e) {
        throw InputError(path, e.what());
    }
}

}  // namespace stmlens
