#pragma once
// Unsupervised classification of the defects of one scan or of a whole run: descriptors from the per-pixel maps
// of the analysis, reduced by PCA, grouped by mean-shift. Cluster ids are shared by every scan of the run.
//
//   AnalysisMaps maps;  AnalysisResult r = pipeline.analyzeFile(path, &maps);   // PipelineOptions::keepMaps
//   DescriptorSet d = describeDefects(r, maps);         // maps may be dropped after this
//   ... for every scan of the run ...
//   ClusteringSummary s = clusterDefects({&r1, &r2}, {&d1, &d2});   // fills Defect::cluster, ::descriptor and
//                                                                    // AnalysisResult::clusters of each scan
//   writeClusterGallery("gallery.png", {&r1, &r2}, {&d1, &d2});
//
// Descriptor channels (in this order, each samples x samples, window turned to the local dimer rows): the
// levelled image (divided by its robust spread, window median removed so terrace heights do not matter), the
// atom probability, each defect class probability, the resolved map. Extended defects (steps, contamination,
// patches) are not clustered by default: a 2.5 nm window does not describe them.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/DefectDescriptor.h"
#include "analysis/MeanShift.h"
#include "analysis/Pca.h"
#include "analysis/Pipeline.h"
#include "analysis/TypeMerge.h"
#include "core/Result.h"
#include "nn/DefectTypeModel.h"

namespace stmlens {

// Channel groups of the descriptor (bit flags), for options and the ablation.
enum DescriptorChannel : unsigned {
    kChannelImage = 1,        // levelled image
    kChannelAtom = 2,         // atom probability
    kChannelDefects = 4,      // every defect class probability
    kChannelResolved = 8,     // resolved-lattice probability
    kChannelsAll = 15,        // every per-pixel map
    kChannelTypes = 16,       // the defect type network's probabilities (when a type model is given)
};

struct DefectDescriptorOptions {
    DescriptorOptions window;           // side (nm) and samples per side
    unsigned channels = kChannelsAll | kChannelTypes;   // DescriptorChannel flags; at least one
    // The defect type network (nn/DefectTypeModel.h): its probabilities, times typeWeight, end the descriptor.
    // Without a model kChannelTypes is ignored.
    const DefectTypeModel* typeModel = nullptr;
    float typeWeight = 6.0f;
    // Probabilities raised to this power and renormalised before the weight: above 1 they gather at their most
    // probable type, so mean-shift finds one mode per type instead of a trail between two.
    float typePower = 1.0f;
    // Each defect's type probabilities also scaled by how sure the network is of it (1 - entropy / log k): where
    // it hesitates (most real defects), the maps decide.
    bool typeConfidence = false;
    bool includeExtended = false;       // also describe (and cluster) extended defects
    // Weight of the image channel relative to the probability channels (0..1): the image, in robust-spread
    // units, is clipped to +-imageClip and multiplied by imageWeight / imageClip.
    float imageWeight = 1.0f;
    float imageClip = 3.0f;
    // Average each window with its mirror images along and across the rows: a defect on the left or right
    // atom of a dimer, or seen with the rows' sign flipped, is the same defect.
    bool symmetric = true;
};

// Raw (unreduced) descriptors of the defects of one scan, in the order of AnalysisResult::defects.
struct DescriptorSet {
    int dims = 0;                                // values per descriptor
    int patchSide = 0;                           // samples per side of a patch
    std::vector<std::vector<float>> values;      // per defect; empty for a defect that is not described
    std::vector<std::vector<float>> patches;     // per defect: the image channel window (for galleries), or empty
    // The defect type network's probabilities per defect (as it gives them, before weight and power), empty
    // when there is no type network or the defect is not described; typeNames names them.
    std::vector<std::vector<float>> typeProbs;
    std::vector<std::string> typeNames;
    size_t described() const;                    // defects with a descriptor
};

// Throws InputError when the maps are missing or not on the result's grid, the pixel size is unknown or the
// options are out of range. A scan without defects gives an empty set.
DescriptorSet describeDefects(const AnalysisResult& result, const AnalysisMaps& maps,
                              const DefectDescriptorOptions& options = {});

// Each described defect's type network probabilities into its Defect::typeScores (by type name).
void copyTypeScores(const DescriptorSet& descriptors, AnalysisResult& result);

struct ClusteringOptions {
    MeanShiftOptions meanShift = defaultMeanShift();   // bandwidth/quantile, kernel, min cluster size, outliers
    int components = 16;                // PCA dimensions (0 = no reduction); fitted on the run
    std::optional<Pca> projection;      // a given projection (e.g. the library's) instead of fitting one
    // Cluster each coarse class (bright, dark, ...) on its own, with its own projection: the network has told
    // them apart already, and one bandwidth for all mixes the rarer types of one class into another's clusters
    // (bench_cluster_quality). Cluster ids stay unique over the run.
    bool byClass = true;
    std::map<std::string, Pca> classProjections;   // byClass: given projections per class (the library's)
    // After mean-shift, clusters the type network puts in the same fine type join (analysis/TypeMerge.h).
    TypeMergeOptions typeMerge;
    int examples = 8;                   // example defect ids per cluster and scan
    // Quantile 0.05 rather than scikit-learn's 0.3: larger values merge the rarer defect types (bench_cluster_quality).
    static MeanShiftOptions defaultMeanShift() {
        MeanShiftOptions m;
        m.bandwidthQuantile = 0.05;
        return m;
    }
};

struct ClusteringSummary {
    int defects = 0;                    // defects clustered (with a descriptor)
    int clusters = 0;
    int outliers = 0;                   // label -1
    double bandwidth = 0;
    int dims = 0;                       // dimensions clustered (after PCA)
    std::optional<Pca> pca;             // the projection used, if any (to store with a library); not byClass
    std::vector<int> sizes;             // per cluster, over the run
    std::map<std::string, Pca> classPcas;            // byClass: the projection used per class
    std::map<std::string, double> classBandwidths;   // byClass: the bandwidth per class
    std::vector<std::string> clusterClasses;         // byClass: the class of each cluster id ("bright+dark" when
                                                     // clusters of several classes were joined by type)
    int joinedByType = 0;                            // clusters joined into others by typeMerge
};

// Clusters the described defects of every scan together. results[i] and descriptors[i] belong to the same
// scan. Sets Defect::cluster (-1 = outlier or not described) and Defect::descriptor (the reduced descriptor)
// and replaces AnalysisResult::clusters with the clusters present in that scan (size = members in that scan,
// centroid = run-level mean reduced descriptor, examples = that scan's defect ids). Throws InputError when the
// lists differ in length, a set does not match its result, or descriptors differ in length across scans.
ClusteringSummary clusterDefects(const std::vector<AnalysisResult*>& results,
                                 const std::vector<const DescriptorSet*>& descriptors,
                                 const ClusteringOptions& options = {});

// The same on plain vectors (n x dims, row-major): labels and reduced features, for benchmarks.
struct DescriptorClustering {
    std::vector<int> labels;
    std::vector<float> reduced;   // n x summary.dims
    ClusteringSummary summary;
};
DescriptorClustering clusterDescriptors(const std::vector<float>& values, int n, int dims,
                                        const ClusteringOptions& options = {});

// The same in groups: with options.byClass, descriptor i belongs to the group classes[i] and each group is
// reduced (classProjections[class] when given) and clustered on its own; without, all form one group (reduced
// with options.projection when given). Cluster ids are unique over the groups (each group's clusters numbered
// after the previous ones'), and the reduced descriptors have one length (a group with fewer principal axes is
// padded with zeros; a lone descriptor sits at its group's centre). What clusterDefects and
// `stmlens library cluster` use.
DescriptorClustering clusterDescriptorGroups(const std::vector<float>& values, int n, int dims,
                                             const std::vector<std::string>& classes,
                                             const ClusteringOptions& options = {});

struct GalleryOptions {
    int tilePx = 64;             // a patch is drawn this many pixels wide
    int examples = 8;            // example patches per cluster
    int maxClusters = 40;        // rows; the smallest clusters are left out beyond this
    bool outliers = true;        // a last row for cluster -1
};

// PNG, one row per cluster: its id and count, the mean image patch of its members, then up to `examples`
// member patches (spread over the scans). Written atomically. Throws InputError when the sets lack patches.
std::vector<uint8_t> renderClusterGalleryPng(const std::vector<const AnalysisResult*>& results,
                                             const std::vector<const DescriptorSet*>& descriptors,
                                             const GalleryOptions& options = {});
void writeClusterGallery(const std::string& path, const std::vector<const AnalysisResult*>& results,
                         const std::vector<const DescriptorSet*>& descriptors, const GalleryOptions& options = {});

}  // namespace stmlens
