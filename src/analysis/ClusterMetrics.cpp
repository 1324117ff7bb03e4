#include "analysis/ClusterMetrics.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/Errors.h"

namespace stmlens {

namespace {
double comb2(double x) { return x * (x - 1) / 2; }

std::vector<int> distinct(std::vector<int> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

int indexOf(const std::vector<int>& sorted, int v) {
    return static_cast<int>(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
}

std::vector<int64_t> rowSums(const ConfusionTable& t) {
    std::vector<int64_t> s(t.classes.size(), 0);
    for (size_t i = 0; i < t.classes.size(); ++i)
        for (int64_t c : t.counts[i]) s[i] += c;
    return s;
}

std::vector<int64_t> colSums(const ConfusionTable& t) {
    std::vector<int64_t> s(t.clusters.size(), 0);
    for (size_t i = 0; i < t.classes.size(); ++i)
        for (size_t j = 0; j < t.clusters.size(); ++j) s[j] += t.counts[i][j];
    return s;
}

double entropy(const std::vector<int64_t>& counts, double n) {
    double h = 0;
    for (int64_t c : counts)
        if (c > 0) h -= (c / n) * std::log(c / n);
    return h;
}
}  // namespace

ConfusionTable confusionTable(const std::vector<int>& truth, const std::vector<int>& predicted) {
    if (truth.size() != predicted.size())
        throw InputError("cluster metrics", "true labels (" + std::to_string(truth.size()) +
                                                ") and predicted labels (" + std::to_string(predicted.size()) +
                                                ") differ in number");
    ConfusionTable t;
    t.classes = distinct(truth);
    t.clusters = distinct(predicted);
    t.counts.assign(t.classes.size(), std::vector<int64_t>(t.clusters.size(), 0));
    for (size_t i = 0; i < truth.size(); ++i) ++t.counts[indexOf(t.classes, truth[i])][indexOf(t.clusters, predicted[i])];
    return t;
}

double adjustedRandIndex(const std::vector<int>& truth, const std::vector<int>& predicted) {
    const ConfusionTable t = confusionTable(truth, predicted);
    const double n = static_cast<double>(truth.size());
    if (n < 2) return 1.0;
    double sumCells = 0, sumRows = 0, sumCols = 0;
    for (const auto& row : t.counts)
        for (int64_t c : row) sumCells += comb2(static_cast<double>(c));
    for (int64_t r : rowSums(t)) sumRows += comb2(static_cast<double>(r));
    for (int64_t c : colSums(t)) sumCols += comb2(static_cast<double>(c));
    const double expected = sumRows * sumCols / comb2(n);
    const double maxIndex = 0.5 * (sumRows + sumCols);
    if (maxIndex == expected) return 1.0;  // both partitions trivial (all-in-one or all-singletons) and equal
    return (sumCells - expected) / (maxIndex - expected);
}

double normalizedMutualInformation(const std::vector<int>& truth, const std::vector<int>& predicted) {
    const ConfusionTable t = confusionTable(truth, predicted);
    const double n = static_cast<double>(truth.size());
    if (n == 0) return 1.0;
    const auto rows = rowSums(t), cols = colSums(t);
    const double hTrue = entropy(rows, n), hPred = entropy(cols, n);
    if (hTrue == 0 && hPred == 0) return 1.0;
    double mi = 0;
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < cols.size(); ++j) {
            const double c = static_cast<double>(t.counts[i][j]);
            if (c > 0) mi += (c / n) * std::log(c * n / (static_cast<double>(rows[i]) * static_cast<double>(cols[j])));
        }
    const double denom = 0.5 * (hTrue + hPred);
    return std::clamp(mi / denom, 0.0, 1.0);
}

double purity(const std::vector<int>& truth, const std::vector<int>& predicted) {
    const ConfusionTable t = confusionTable(truth, predicted);
    if (truth.empty()) return 1.0;
    int64_t majority = 0;
    for (size_t j = 0; j < t.clusters.size(); ++j) {
        int64_t best = 0;
        for (size_t i = 0; i < t.classes.size(); ++i) best = std::max(best, t.counts[i][j]);
        majority += best;
    }
    return static_cast<double>(majority) / static_cast<double>(truth.size());
}

std::vector<int> encodeLabels(const std::vector<std::string>& labels, std::vector<std::string>* names) {
    std::map<std::string, int> code;
    std::vector<std::string> vocab;
    std::vector<int> out;
    out.reserve(labels.size());
    for (const auto& l : labels) {
        auto [it, added] = code.emplace(l, static_cast<int>(vocab.size()));
        if (added) vocab.push_back(l);
        out.push_back(it->second);
    }
    if (names) *names = std::move(vocab);
    return out;
}

std::string formatConfusionTable(const ConfusionTable& t, const std::vector<std::string>& classNames) {
    // Built with append() only: GCC 12 warns falsely (-Wrestrict) on chained string operator+.
    std::string s = "| class \\ cluster |";
    for (int c : t.clusters) s.append(" ").append(c < 0 ? std::string("outlier") : std::to_string(c)).append(" |");
    s.append("\n|---|");
    for (size_t j = 0; j < t.clusters.size(); ++j) s.append("---:|");
    s.append("\n");
    for (size_t i = 0; i < t.classes.size(); ++i) {
        const int cls = t.classes[i];
        const bool named = cls >= 0 && static_cast<size_t>(cls) < classNames.size();
        s.append("| ").append(named ? classNames[cls] : std::to_string(cls)).append(" |");
        for (int64_t c : t.counts[i]) s.append(" ").append(std::to_string(c)).append(" |");
        s.append("\n");
    }
    return s;
}

}  // namespace stmlens
