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
    size_t types = 0;
    for (const auto& p : probs)
        if (!p.empty()) {
            if (types && p.size() != types)
                throw InputError("defect clustering", "type probabilities differ in length across defects");
            types = p.size();
        }
    if (types == 0) return 0;

    // Mean probabilities (each member's normalised to sum 1) and the classes of each cluster.
    std::vector<std::vector<double>> mean(k, std::vector<double>(types, 0.0));
    std::vector<int> counted(k, 0);
    std::vector<std::set<std::string>> clusterClasses(k);
    for (size_t i = 0; i < labels.size(); ++i) {
        const int l = labels[i];
        if (l < 0) continue;
        clusterClasses[l].insert(classes[i]);
        const auto& p = probs[i];
        if (p.empty()) continue;
        double sum = 0;
        for (float x : p) sum += std::isfinite(x) ? std::max(0.0f, x) : 0.0f;
        if (!(sum > 0)) continue;
        for (size_t t = 0; t < types; ++t) mean[l][t] += (std::isfinite(p[t]) ? std::max(0.0f, p[t]) : 0.0f) / sum;
        ++counted[l];
    }
    std::vector<int> best(k, -1);
    std::vector<double> top(k, 0.0);
    for (int l = 0; l < k; ++l) {
        if (!counted[l]) continue;
        for (double& x : mean[l]) x /= counted[l];
        best[l] = static_cast<int>(std::max_element(mean[l].begin(), mean[l].end()) - mean[l].begin());
        top[l] = mean[l][best[l]];
    }

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

}  // namespace stmlens
