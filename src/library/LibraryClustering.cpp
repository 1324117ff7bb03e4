#include "library/LibraryClustering.h"

#include <map>
#include <optional>
#include <set>

#include "library/DefectLibrary.h"

namespace stmlens {

LibraryClustering clusterWithLibrary(const std::vector<AnalysisResult*>& results,
                                     const std::vector<const DescriptorSet*>& descriptors, ClusteringOptions options,
                                     DefectLibrary* library) {
    LibraryClustering out;
    int dims = 0;
    std::map<std::string, int> described;   // per class: defects with a descriptor in this run
    for (size_t i = 0; i < results.size() && i < descriptors.size(); ++i) {
        if (descriptors[i]->described()) dims = descriptors[i]->dims;
        for (size_t k = 0; k < results[i]->defects.size() && k < descriptors[i]->values.size(); ++k)
            if (!descriptors[i]->values[k].empty()) ++described[results[i]->defects[k].cls];
    }
    if (!library || dims == 0) {
        out.summary = clusterDefects(results, descriptors, options);
        return out;
    }
    out.allComparable = false;
    auto projectionOf = [&](const std::optional<std::string>& json) -> std::optional<Pca> {
        if (!json) return std::nullopt;
        Pca p = Pca::fromJson(*json);
        if (p.inputDims() == dims) return p;
        out.warnings.push_back(library->path() + " was built with other descriptor settings (" +
                               std::to_string(p.inputDims()) + " values, not " + std::to_string(dims) +
                               "): this run's descriptors are not stored");
        return std::nullopt;
    };
    const std::optional<std::string> shared = library->property("pca");
    std::set<std::string> inLibrary;   // classes the library holds a projection for (of any settings)
    if (shared) {
        // A library made with one projection for all classes keeps it.
        options.byClass = false;
        options.projection = projectionOf(shared);
        if (options.projection) out.comparable.insert("");
    } else {
        for (const auto& [cls, n] : described)
            if (const auto json = library->property("pca." + cls)) {
                inLibrary.insert(cls);
                if (!options.byClass) continue;
                if (auto p = projectionOf(json)) {
                    options.classProjections.emplace(cls, std::move(*p));
                    out.comparable.insert(cls);
                }
            }
        if (!options.byClass && !inLibrary.empty())
            out.warnings.push_back(library->path() + " holds descriptors reduced per class; with --mix-classes this "
                                   "run's are not stored");
    }
    out.summary = clusterDefects(results, descriptors, options);
    // Unreduced descriptors (PCA off, or no more values than components) compare as they are.
    const bool reduces = options.components > 0 && dims > options.components;
    if (!reduces && !options.projection && options.classProjections.empty()) {
        out.allComparable = true;
        return out;
    }
    int all = 0;
    for (const auto& [cls, n] : described) all += n;
    if (!options.byClass && !shared && out.summary.pca && !out.comparable.count("")) {
        if (all >= kMinDefectsForLibraryProjection) {
            library->setProperty("pca", out.summary.pca->toJson());
            out.comparable.insert("");
        } else {
            out.warnings.push_back("only " + std::to_string(all) + " described defects: too few to fix the library's "
                                   "descriptor projection (" + std::to_string(kMinDefectsForLibraryProjection) +
                                   " needed), so their descriptors are not stored");
        }
    }
    if (options.byClass)
        for (const auto& [cls, p] : out.summary.classPcas) {
            // The library's own (also one of other settings, which must not be replaced under its descriptors).
            if (options.classProjections.count(cls) || inLibrary.count(cls)) continue;
            const int n = described.count(cls) ? described.at(cls) : 0;
            if (n >= kMinDefectsForLibraryProjection) {
                library->setProperty("pca." + cls, p.toJson());
                out.comparable.insert(cls);
            } else {
                out.warnings.push_back("only " + std::to_string(n) + " " + cls + " defects: too few to fix the library's "
                                       "projection for the class (" + std::to_string(kMinDefectsForLibraryProjection) +
                                       " needed), so their descriptors are not stored yet");
            }
        }
    return out;
}

AnalysisResult forLibrary(const AnalysisResult& result, const LibraryClustering& clustering) {
    AnalysisResult r = result;
    if (clustering.allComparable) return r;
    for (Defect& d : r.defects)
        if (!clustering.comparable.count("") && !clustering.comparable.count(d.cls)) d.descriptor.clear();
    return r;
}

}  // namespace stmlens
