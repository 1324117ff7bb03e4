#pragma once
// Clustering a run whose defects go into a defect library. Stored descriptors are reduced (PCA), so they are
// comparable only when reduced with one projection per class: the library's where it has one. A projection
// fitted on this run is kept in the library only when enough defects of its class took part; one fitted on a
// handful (the first scan of a watched folder) would reduce every later scan's defects to a few noisy axes.
//
//   LibraryClustering c = clusterWithLibrary(results, sets, options, &library);
//   library.addScan(forLibrary(*results[0], c), sha);   // descriptors the library cannot compare are left out
#include <set>
#include <string>
#include <vector>

#include "analysis/DefectClustering.h"

namespace stmlens {

class DefectLibrary;

// Defects of one class a run needs for its fitted projection to become the library's.
constexpr int kMinDefectsForLibraryProjection = 32;

struct LibraryClustering {
    ClusteringSummary summary;
    bool allComparable = true;            // no library, or every class's descriptors reduced as the library's
    std::set<std::string> comparable;     // otherwise: the classes whose descriptors are ("" = one for all classes)
    std::vector<std::string> warnings;    // for the user: projections not comparable, or not kept yet
};

// clusterDefects with the library's projections (library may be null: then exactly clusterDefects); new
// projections fitted on enough defects are stored in the library. Throws what clusterDefects throws.
LibraryClustering clusterWithLibrary(const std::vector<AnalysisResult*>& results,
                                     const std::vector<const DescriptorSet*>& descriptors, ClusteringOptions options,
                                     DefectLibrary* library);

// The result as the library should receive it: descriptors of classes whose reduction the library cannot
// compare are dropped (the defects, their classes and type scores are kept).
AnalysisResult forLibrary(const AnalysisResult& result, const LibraryClustering& clustering);

}  // namespace stmlens
