#include "library/LibraryClustering.h"

#include <map>
#include <optional>

#include "library/DefectLibrary.h"

namespace stmlens {

LibraryClustering clusterWithLibrary(const std::vector<AnalysisResult*>& results,
                                     const std::vector<const DescriptorSet*>& descriptors, ClusteringOptions options,
                                     DefectLibrary* library) {
    LibraryClustering out;
    if (!library) {
        out.summary = clusterDefects(results, descriptors, options);
        return out;
    }
    int dims = 0;
    std::map<std::string, int> described;   // per class: defects with a descriptor in this run
    for (size_t i = 0; i < results.size() && i < descriptors.size(); ++i) {
        if (descriptors[i]->described()) dims = descriptors[i]->dims;
        for (size_t k = 0; k < results[i]->defects.size() && k < descriptors[i]->values.size(); ++k)
            if (!descriptors[i]->values[k].empty()) ++described[results[i]->defects[k].cls];
    }
    auto projectionFrom = [&](const std::string& key) -> std::optional<Pca> {
        auto j = library->property(key);
        if (!j) return std::nullopt;
        Pca p = Pca::fromJson(*j);
        if (p.inputDims() == dims) return p;
        out.warnings.push_back(library->path() + " was built with other descriptor settings (" +
                               std::to_string(p.inputDims()) + " values, not " + std::to_string(dims) +
                               "): this run's descriptors are not stored");
        return std::nullopt;
    };
    if (dims == 0) {
        out.summary = clusterDefects(results, descriptors, options);
        return out;
    }
    out.allComparable = false;
    bool libraryHasPca = false;
    if (library->property("pca")) {
        // A library made with one projection for all classes keeps it.
        libraryHasPca = true;
        options.byClass = false;
        options.projection = projectionFrom("pca");
        if (options.projection) out.comparable.insert("");
    } else if (!options.byClass) {
        bool perClass = false;
        for (const auto& [cls, n] : described) perClass = perClass || library->property("pca." + cls).has_value();
        if (perClass)
            out.warnings.push_back(library->path() + " holds descriptors reduced per class; with --mix-classes this "
                                   "run's are not stored");
    } else {
        for (const auto& [cls, n] : described)
            if (auto p = projectionFrom("pca." + cls)) {
                options.classProjections.emplace(cls, std::move(*p));
                out.comparable.insert(cls);
            }
    }
    // Unreduced descriptors (PCA off, or no more values than components) compare as they are.
    const bool reduces = options.components > 0 && dims > options.components;
    if (!reduces && !options.projection && options.classProjections.empty()) {
        out.summary = clusterDefects(results, descriptors, options);
        out.allComparable = true;
        return out;
    }
    out.summary = clusterDefects(results, descriptors, options);
    int all = 0;
    for (const auto& [cls, n] : described) all += n;
    if (!options.byClass && !libraryHasPca && out.summary.pca && !out.comparable.count("")) {
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
            if (options.classProjections.count(cls) || library->property("pca." + cls)) continue;
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
