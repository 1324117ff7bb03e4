#include "analysis/TypeMerge.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "analysis/DefectClustering.h"
#include "core/Errors.h"

namespace stmlens {

namespace {
int root(std::vector<int>& parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}
}  // namespace

int mergeClustersByType(std::vector<int>& labels, const std::vector<std::vector<float>>& probs,
                        const std::vector<std::string>& classes, const TypeMergeOptions& options,
                        ClusteringSummary* summary) {
    if (probs.size() != labels.size() || classes.size() != labels.size())
        throw InputError("defect clustering", "type merge needs one probability list and one class per defect");
    if (!(options.across >= 0 && options.across <= 1) || !(options.within >= 0 && options.within <= 1))
        throw InputError("defect clustering", "type merge thresholds must be in [0, 1]");
    const int k = labels.empty() ? 0 : std::max(-1, *std::max_element(labels.begin(), labels.end())) + 1;
    if (!options.enabled || k < 2) return 0;
    const std::vector<std::vector<double>> mean = clusterTypeMeans(labels, probs, k);
    std::vector<std::set<std::string>> clusterClasses(k);
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] >= 0) clusterClasses[labels[i]].insert(classes[i]);
    std::vector<int> best(k, -1);
    std::vector<double> top(k, 0.0);
    for (int l = 0; l < k; ++l) {
        if (mean[l].empty()) continue;
        best[l] = static_cast<int>(std::max_element(mean[l].begin(), mean[l].end()) - mean[l].begin());
        top[l] = mean[l][best[l]];
    }
    if (std::all_of(best.begin(), best.end(), [](int b) { return b < 0; })) return 0;

    std::vector<int> parent(k);
    std::iota(parent.begin(), parent.end(), 0);
    for (int a = 0; a < k; ++a)
        for (int b = a + 1; b < k; ++b) {
            if (best[a] < 0 || best[a] != best[b]) continue;
            // Clusters with no class in common (always so when each class was clustered on its own) use `across`.
            bool shared = false;
            for (const auto& c : clusterClasses[a]) shared = shared || clusterClasses[b].count(c);
            if (std::min(top[a], top[b]) >= (shared ? options.within : options.across))
                parent[root(parent, a)] = root(parent, b);
        }

    // New ids in the order of each group's smallest old id.
    std::vector<int> newId(k, -1);
    int next = 0;
    for (int l = 0; l < k; ++l) {
        const int r = root(parent, l);
        if (newId[r] < 0) newId[r] = next++;
        newId[l] = newId[r];
    }
    for (int& l : labels)
        if (l >= 0) l = newId[l];
    if (summary) {
        std::vector<int> sizes(next, 0);
        std::vector<std::set<std::string>> cls(next);
        for (size_t i = 0; i < labels.size(); ++i)
            if (labels[i] >= 0) ++sizes[labels[i]], cls[labels[i]].insert(classes[i]);
        summary->clusters = next;
        summary->sizes = sizes;
        if (!summary->clusterClasses.empty()) {
            summary->clusterClasses.assign(next, "");
            for (int l = 0; l < next; ++l)
                for (const auto& c : cls[l])
                    summary->clusterClasses[l] += (summary->clusterClasses[l].empty() ? "" : "+") + c;
        }
    }
    return k - next;
}

std::vector<std::vector<double>> clusterTypeMeans(const std::vector<int>& labels,
                                                  const std::vector<std::vector<float>>& probs, int clusters) {
    if (probs.size() != labels.size())
        throw InputError("defect clustering", "one type probability list per defect is needed");
    size_t types = 0;
    for (const auto& p : probs)
        if (!p.empty()) {
            if (types && p.size() != types)
                throw InputError("defect clustering", "type probabilities differ in length across defects");
            types = p.size();
        }
    std::vector<std::vector<double>> mean(std::max(0, clusters));
    std::vector<int> counted(mean.size(), 0);
    auto value = [](float x) { return std::isfinite(x) ? std::max(0.0f, x) : 0.0f; };
    for (size_t i = 0; i < labels.size(); ++i) {
        const int l = labels[i];
        const auto& p = probs[i];
        if (l < 0 || l >= clusters || p.empty()) continue;
        double sum = 0;
        for (float x : p) sum += value(x);
        if (!(sum > 0)) continue;
        if (mean[l].empty()) mean[l].assign(types, 0.0);
        for (size_t t = 0; t < types; ++t) mean[l][t] += value(p[t]) / sum;
        ++counted[l];
    }
    for (size_t l = 0; l < mean.size(); ++l)
        for (double& x : mean[l]) x /= counted[l];
    return mean;
}

}  // namespace stmlens
