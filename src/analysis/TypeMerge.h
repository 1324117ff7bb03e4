#pragma once
// Joins mean-shift clusters that the defect type network puts in the same fine type.
//
//   TypeMergeOptions o;                                   // across 0.5, within 0.8
//   int joined = mergeClustersByType(labels, probs, classes, o, &summary);
//
// Why: each coarse class is clustered on its own, but some defects change coarse class with the imaging mode
// (a siloxane is bright in one bias polarity and dark in the other), and mean-shift splits one type into
// several modes where the maps differ (filled / empty state, constant current / height). A cluster's type is
// the mean of its members' type probabilities; two clusters join when both means give the same most probable
// type with at least `across` (clusters with no coarse class in common: the class cannot be trusted to keep
// types apart) or `within` (a class in common: mean-shift placed them apart by the maps, so the network must be
// sure).
// Joins are transitive. Clusters without probabilities (no type network) and outliers (-1) never join.
#include <string>
#include <vector>

namespace stmlens {

struct ClusteringSummary;

struct TypeMergeOptions {
    bool enabled = true;
    double across = 0.5;   // clusters of different coarse classes
    double within = 0.8;   // clusters of the same coarse class
};

// labels: per item, cluster id (0..k-1) or -1. probs: per item, the type probabilities (one length for all
// items that have them; empty = none). classes: per item, its coarse class. Relabels the clusters 0..k'-1 in the
// order of their smallest old id. When summary is given, its clusters, sizes and clusterClasses (joined with
// '+' where a cluster spans classes) are rewritten. Returns the number of clusters that disappeared. Throws
// InputError when the lists differ in length, probability lengths differ, or a threshold is outside [0, 1].
int mergeClustersByType(std::vector<int>& labels, const std::vector<std::vector<float>>& probs,
                        const std::vector<std::string>& classes, const TypeMergeOptions& options,
                        ClusteringSummary* summary = nullptr);

// Per cluster 0..clusters-1: the mean of its members' type probabilities, each member's normalised to sum 1
// (negative and non-finite values count 0); empty for a cluster none of whose members has probabilities.
// Labels outside 0..clusters-1 are skipped. Throws InputError when the lists differ in length or the
// probabilities differ in length across items.
std::vector<std::vector<double>> clusterTypeMeans(const std::vector<int>& labels,
                                                  const std::vector<std::vector<float>>& probs, int clusters);

}  // namespace stmlens
