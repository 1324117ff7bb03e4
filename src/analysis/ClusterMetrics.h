#pragma once
// Agreement between a clustering and the true classes, as reported in docs (scikit-learn's definitions).
//
//   double ari = adjustedRandIndex(truth, labels);       // 1 = identical partitions, ~0 = chance
//   double nmi = normalizedMutualInformation(truth, labels);
//   ConfusionTable t = confusionTable(truth, labels);    // t.counts[class][cluster]
//
// Labels are arbitrary ints; an outlier label (-1) is treated as one more cluster.
#include <cstdint>
#include <string>
#include <vector>

namespace stmlens {

struct ConfusionTable {
    std::vector<int> classes;                     // distinct true labels, ascending
    std::vector<int> clusters;                    // distinct predicted labels, ascending
    std::vector<std::vector<int64_t>> counts;     // [class index][cluster index]
};

// Throws InputError when the two label lists differ in length.
ConfusionTable confusionTable(const std::vector<int>& truth, const std::vector<int>& predicted);

// Hubert & Arabie's adjusted Rand index. 1 when both partitions are trivial and equal (e.g. one cluster each).
double adjustedRandIndex(const std::vector<int>& truth, const std::vector<int>& predicted);

// Mutual information over the arithmetic mean of the two entropies; 1 when both entropies are 0.
double normalizedMutualInformation(const std::vector<int>& truth, const std::vector<int>& predicted);

// Fraction of points that belong to the majority true class of their cluster.
double purity(const std::vector<int>& truth, const std::vector<int>& predicted);

// Integer codes for string labels (in order of first appearance); names receives the vocabulary.
std::vector<int> encodeLabels(const std::vector<std::string>& labels, std::vector<std::string>* names = nullptr);

// Markdown table, rows = classes (named by classNames[class] when given), columns = clusters.
std::string formatConfusionTable(const ConfusionTable& table, const std::vector<std::string>& classNames = {});

}  // namespace stmlens
