#pragma once
// Principal component projection of feature vectors, kept as JSON so a defect library can reuse it.
//
//   Pca pca = Pca::fit(values, n, dims, 16);           // values: n x dims, row-major
//   std::vector<float> reduced = pca.transform(values, n);   // n x pca.components()
//   std::string json = pca.toJson();  Pca again = Pca::fromJson(json);
#include <string>
#include <vector>

namespace stmlens {

class Pca {
public:
    // components is capped at min(n, dims). Throws InputError for NaN/Inf, a size mismatch or n = 0.
    static Pca fit(const std::vector<float>& values, int n, int dims, int components);

    int inputDims() const { return static_cast<int>(mean_.size()); }
    int components() const { return static_cast<int>(eigenvalues_.size()); }
    const std::vector<double>& eigenvalues() const { return eigenvalues_; }   // variance along each component
    double explainedVarianceRatio() const;                                  // kept / total variance

    // n x inputDims() -> n x components(). Throws InputError when the dimensions do not match.
    std::vector<float> transform(const std::vector<float>& values, int n) const;

    std::string toJson() const;                                   // {"schema": "stmlens.pca/1", ...}
    static Pca fromJson(const std::string& json);                 // InputError when malformed
    void save(const std::string& path) const;                     // written atomically
    static Pca load(const std::string& path);

private:
    std::vector<double> mean_;
    std::vector<std::vector<double>> basis_;   // components x inputDims, unit rows
    std::vector<double> eigenvalues_;
    double totalVariance_ = 0;
};

}  // namespace stmlens
