#include "analysis/DefectClustering.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "core/Median.h"
#include "io/AtomicFile.h"

namespace stmlens {

namespace {

void checkGrid(const Image& img, const AnalysisResult& r, const char* name) {
    if (img.empty()) throw InputError("defect clustering", std::string("the analysis maps lack ") + name +
                                                               " (run the pipeline with keepMaps)");
    if (img.width() != r.width || img.height() != r.height)
        throw InputError("defect clustering", std::string("map ") + name + " is not on the scan's grid");
}

float windowMedian(const std::vector<float>& v, size_t begin, size_t count) {
    std::vector<float> w(v.begin() + begin, v.begin() + begin + count);
    return medianInPlace(w);
}

// In place, per s x s block: mean of the block and its flips along x, along y and both.
void symmetrise(std::vector<float>& v, int s) {
    const size_t area = static_cast<size_t>(s) * s;
    std::vector<float> b(area);
    for (size_t off = 0; off + area <= v.size(); off += area) {
        for (int j = 0; j < s; ++j)
            for (int i = 0; i < s; ++i) {
                auto at = [&](int x, int y) { return v[off + static_cast<size_t>(y) * s + x]; };
                b[static_cast<size_t>(j) * s + i] =
                    0.25f * (at(i, j) + at(s - 1 - i, j) + at(i, s - 1 - j) + at(s - 1 - i, s - 1 - j));
            }
        std::copy(b.begin(), b.end(), v.begin() + off);
    }
}

}  // namespace

size_t DescriptorSet::described() const {
    size_t n = 0;
    for (const auto& v : values) n += !v.empty();
    return n;
}

void copyTypeScores(const DescriptorSet& descriptors, AnalysisResult& result) {
    for (size_t k = 0; k < descriptors.typeProbs.size() && k < result.defects.size(); ++k)
        for (size_t t = 0; t < descriptors.typeProbs[k].size() && t < descriptors.typeNames.size(); ++t)
            result.defects[k].typeScores[descriptors.typeNames[t]] = descriptors.typeProbs[k][t];
}

DescriptorSet describeDefects(const AnalysisResult& result, const AnalysisMaps& maps,
                              const DefectDescriptorOptions& options) {
    const bool types = (options.channels & kChannelTypes) && options.typeModel;
    if ((options.channels & kChannelsAll) == 0 && !types) throw InputError("defect clustering", "no descriptor channels chosen");
    if (!(options.typeWeight >= 0 && options.typeWeight <= 100)) throw InputError("defect clustering", "type weight must be in [0, 100]");
    if (!(options.typePower >= 1 && options.typePower <= 64)) throw InputError("defect clustering", "type power must be in [1, 64]");
    if (!(options.imageClip > 0 && options.imageClip <= 100) || !(options.imageWeight >= 0 && options.imageWeight <= 100))
        throw InputError("defect clustering", "image clip must be in (0, 100] and image weight in [0, 100]");
    DescriptorSet set;
    const int s = options.window.samples;
    set.patchSide = s;
    set.values.resize(result.defects.size());
    set.patches.resize(result.defects.size());
    set.typeProbs.resize(result.defects.size());
    if (result.defects.empty()) return set;
    if (!result.pixelSize.known()) throw InputError("defect clustering", "the pixel size is unknown");

    checkGrid(maps.levelled, result, "the levelled scan");
    const Image scaled = robustlyScaledScan(maps.levelled);
    std::vector<const Image*> stack;
    if (options.channels & kChannelImage) stack.push_back(&scaled);
    // The atom network does not run on unusable scans: no atoms anywhere, a zero channel.
    const Image noAtoms = maps.atomProb.empty() ? Image(result.width, result.height, 0.0f) : Image();
    if (options.channels & kChannelAtom) {
        const Image& atoms = maps.atomProb.empty() ? noAtoms : maps.atomProb;
        checkGrid(atoms, result, "the atom probability");
        stack.push_back(&atoms);
    }
    if (options.channels & kChannelDefects) {
        if (maps.defectProb.empty()) throw InputError("defect clustering", "the analysis maps lack defect probabilities");
        for (const auto& p : maps.defectProb) {
            checkGrid(p, result, "a defect probability");
            stack.push_back(&p);
        }
    }
    if (options.channels & kChannelResolved) {
        checkGrid(maps.resolved, result, "the resolved map");
        stack.push_back(&maps.resolved);
    }
    const bool localRows = !maps.rowDirection.empty() && maps.rowDirection.width() == result.width &&
                           maps.rowDirection.height() == result.height;
    const double fallback = result.lattice.found ? result.lattice.rowDirectionDeg : 0.0;
    const std::vector<const Image*> imageOnly{&scaled};
    const size_t area = static_cast<size_t>(s) * s;

    const int typeCount = types ? options.typeModel->card().net.outChannels : 0;
    set.dims = static_cast<int>(stack.size() * area) + typeCount;
    std::vector<float> typeWindows;   // the described defects' windows for the type network, in order
    std::vector<size_t> typed;
    for (size_t i = 0; i < result.defects.size(); ++i) {
        const Defect& d = result.defects[i];
        if (d.extended && !options.includeExtended) continue;
        double dir = fallback;
        if (localRows) {
            const int xi = std::clamp(static_cast<int>(std::lround(d.x)), 0, result.width - 1);
            const int yi = std::clamp(static_cast<int>(std::lround(d.y)), 0, result.height - 1);
            const float local = maps.rowDirection.at(xi, yi);
            if (std::isfinite(local) && local >= 0) dir = local;
        }
        std::vector<float> v = stack.empty() ? std::vector<float>()
                                             : defectDescriptor(stack, d.x, d.y, result.pixelSize, dir, options.window);
        if (types) {
            const auto w = normalisedImageWindow(scaled, d.x, d.y, result.pixelSize, dir, options.typeModel->window());
            typeWindows.insert(typeWindows.end(), w.begin(), w.end());
            typed.push_back(i);
        }
        std::vector<float> patch = defectDescriptor(imageOnly, d.x, d.y, result.pixelSize, dir, options.window);
        // Heights are relative to the window: a defect on a higher terrace is the same defect.
        const float m = windowMedian(patch, 0, area);
        for (float& x : patch) x -= m;
        if (options.channels & kChannelImage)
            for (size_t k = 0; k < area; ++k) v[k] = std::clamp(v[k] - m, -options.imageClip, options.imageClip) * (options.imageWeight / options.imageClip);
        if (options.symmetric) symmetrise(v, s);
        for (float& x : v)
            if (!std::isfinite(x)) x = 0;
        set.values[i] = std::move(v);
        set.patches[i] = std::move(patch);
    }
    if (types && !typed.empty()) {
        const std::vector<float> p = options.typeModel->predict(typeWindows, static_cast<int>(typed.size()));
        set.typeNames = options.typeModel->card().classes;
        for (size_t t = 0; t < typed.size(); ++t) {
            set.typeProbs[typed[t]].assign(p.begin() + t * typeCount, p.begin() + (t + 1) * typeCount);
            std::vector<double> q(typeCount);
            double sum = 0;
            for (int c = 0; c < typeCount; ++c) sum += q[c] = std::pow(std::max(0.0f, p[t * typeCount + c]), options.typePower);
            double sure = 1;
            if (options.typeConfidence && typeCount > 1) {
                double h = 0;
                for (int c = 0; c < typeCount; ++c) {
                    const double pc = std::max(0.0f, p[t * typeCount + c]);
                    if (pc > 0) h -= pc * std::log(pc);
                }
                sure = std::clamp(1 - h / std::log(static_cast<double>(typeCount)), 0.0, 1.0);
            }
            for (int c = 0; c < typeCount; ++c)
                set.values[typed[t]].push_back(
                    static_cast<float>(options.typeWeight * sure * (sum > 0 ? q[c] / sum : 1.0 / typeCount)));
        }
    }
    return set;
}

DescriptorClustering clusterDescriptors(const std::vector<float>& values, int n, int dims,
                                        const ClusteringOptions& options) {
    if (n < 0 || dims < 0 || values.size() != static_cast<size_t>(n) * dims)
        throw InputError("defect clustering", "descriptor table size does not match n x dims");
    DescriptorClustering out;
    out.summary.defects = n;
    if (n == 0) return out;
    std::vector<float> features = values;
    int d = dims;
    if (options.projection) {
        if (options.projection->inputDims() != dims)
            throw InputError("defect clustering", "the given projection expects " +
                                                      std::to_string(options.projection->inputDims()) +
                                                      " values per descriptor, not " + std::to_string(dims));
        features = options.projection->transform(features, n);
        d = options.projection->components();
        out.summary.pca = options.projection;
    } else if (options.components > 0 && dims > options.components && n > 1) {
        Pca pca = Pca::fit(features, n, dims, options.components);
        features = pca.transform(features, n);
        d = pca.components();
        out.summary.pca = std::move(pca);
    }
    const MeanShiftResult ms = meanShift(features, n, d, options.meanShift);
    out.labels = ms.labels;
    out.reduced = std::move(features);
    out.summary.dims = d;
    out.summary.bandwidth = ms.bandwidth;
    out.summary.clusters = static_cast<int>(ms.sizes.size());
    out.summary.sizes = ms.sizes;
    for (int l : ms.labels) out.summary.outliers += l < 0;
    return out;
}

DescriptorClustering clusterDescriptorGroups(const std::vector<float>& values, int n, int dims,
                                             const std::vector<std::string>& classes,
                                             const ClusteringOptions& options) {
    if (n < 0 || dims < 0 || values.size() != static_cast<size_t>(n) * dims || classes.size() != static_cast<size_t>(n))
        throw InputError("defect clustering", "descriptor table size does not match n x dims and one class each");
    std::map<std::string, std::vector<int>> groups;
    for (int i = 0; i < n; ++i) groups[options.byClass ? classes[i] : std::string()].push_back(i);
    // One descriptor length for the run: the reduction's, or the longest given projection's.
    int target = options.components > 0 && dims > options.components ? options.components : dims;
    if (!options.byClass && options.projection) target = options.projection->components();
    if (options.byClass)
        for (const auto& [cls, p] : options.classProjections)
            if (groups.count(cls)) target = std::max(target, p.components());
    const size_t dd = static_cast<size_t>(dims), to = static_cast<size_t>(target);
    DescriptorClustering out;
    out.summary.defects = n;
    out.summary.dims = target;
    out.labels.assign(static_cast<size_t>(n), -1);
    out.reduced.assign(static_cast<size_t>(n) * to, 0.0f);
    size_t largest = 0;
    for (const auto& [cls, members] : groups) {
        std::vector<float> sub;
        sub.reserve(members.size() * dd);
        for (int i : members) sub.insert(sub.end(), values.begin() + i * dd, values.begin() + (i + 1) * dd);
        ClusteringOptions go = options;
        if (options.byClass) {
            go.projection.reset();
            if (auto p = options.classProjections.find(cls); p != options.classProjections.end()) go.projection = p->second;
        }
        const DescriptorClustering c = clusterDescriptors(sub, static_cast<int>(members.size()), dims, go);
        // A group with fewer principal axes is padded with zeros, which changes no distance; a lone descriptor,
        // never reduced, stays at zero (its group's centre).
        const size_t from = static_cast<size_t>(c.summary.dims);
        const int offset = out.summary.clusters;
        for (size_t m = 0; m < members.size(); ++m) {
            const int l = c.labels[m];
            out.labels[members[m]] = l < 0 ? -1 : l + offset;
            if (from <= to) std::copy_n(c.reduced.begin() + m * from, from, out.reduced.begin() + members[m] * to);
        }
        out.summary.clusters += c.summary.clusters;
        out.summary.outliers += c.summary.outliers;
        out.summary.sizes.insert(out.summary.sizes.end(), c.summary.sizes.begin(), c.summary.sizes.end());
        if (options.byClass) {
            out.summary.clusterClasses.insert(out.summary.clusterClasses.end(), c.summary.clusters, cls);
            if (c.summary.pca) out.summary.classPcas.emplace(cls, *c.summary.pca);
            out.summary.classBandwidths[cls] = c.summary.bandwidth;
            // The largest group's bandwidth stands for the run in one-line summaries.
            if (members.size() > largest) largest = members.size(), out.summary.bandwidth = c.summary.bandwidth;
        } else {
            out.summary.pca = c.summary.pca;
            out.summary.bandwidth = c.summary.bandwidth;
        }
    }
    return out;
}

ClusteringSummary clusterDefects(const std::vector<AnalysisResult*>& results,
                                 const std::vector<const DescriptorSet*>& descriptors,
                                 const ClusteringOptions& options) {
    if (results.size() != descriptors.size())
        throw InputError("defect clustering", "one descriptor set per scan is needed");
    // Gather every described defect of the run into one table.
    struct Ref {
        size_t scan, defect;
    };
    std::vector<Ref> refs;
    std::vector<float> table;
    int dims = -1;
    for (size_t s = 0; s < results.size(); ++s) {
        if (!results[s] || !descriptors[s]) throw InputError("defect clustering", "null scan or descriptor set");
        AnalysisResult& r = *results[s];
        const DescriptorSet& set = *descriptors[s];
        if (set.values.size() != r.defects.size())
            throw InputError(r.path.empty() ? "defect clustering" : r.path,
                             "descriptor set does not match the scan's defects");
        for (auto& d : r.defects) {
            d.cluster = -1;
            d.descriptor.clear();
        }
        r.clusters.clear();
        for (size_t i = 0; i < set.values.size(); ++i) {
            const auto& v = set.values[i];
            if (v.empty()) continue;
            if (dims < 0) dims = static_cast<int>(v.size());
            if (static_cast<int>(v.size()) != dims)
                throw InputError("defect clustering", "descriptors differ in length across scans (different options?)");
            table.insert(table.end(), v.begin(), v.end());
            refs.push_back({s, i});
        }
    }
    const int n = static_cast<int>(refs.size());
    std::vector<std::string> classes;
    classes.reserve(refs.size());
    for (const Ref& f : refs) classes.push_back(results[f.scan]->defects[f.defect].cls);
    DescriptorClustering c = clusterDescriptorGroups(table, n, std::max(dims, 0), classes, options);
    table.clear();
    table.shrink_to_fit();
    std::vector<std::vector<float>> probs(refs.size());
    for (size_t i = 0; i < refs.size(); ++i) {
        const DescriptorSet& set = *descriptors[refs[i].scan];
        if (refs[i].defect < set.typeProbs.size()) probs[i] = set.typeProbs[refs[i].defect];
    }
    c.summary.joinedByType = mergeClustersByType(c.labels, probs, classes, options.typeMerge, &c.summary);
    const int k = c.summary.clusters, rd = c.summary.dims;

    // Run-level mean reduced descriptor per cluster.
    std::vector<std::vector<double>> sum(k, std::vector<double>(rd, 0.0));
    std::vector<int> count(k, 0);
    for (int i = 0; i < n; ++i) {
        const int l = c.labels[i];
        Defect& d = results[refs[i].scan]->defects[refs[i].defect];
        d.cluster = l;
        d.descriptor.assign(c.reduced.begin() + static_cast<size_t>(i) * rd, c.reduced.begin() + static_cast<size_t>(i + 1) * rd);
        if (l < 0) continue;
        ++count[l];
        for (int j = 0; j < rd; ++j) sum[l][j] += d.descriptor[j];
    }
    std::vector<std::vector<float>> mean(k, std::vector<float>(rd, 0.0f));
    for (int l = 0; l < k; ++l)
        for (int j = 0; j < rd; ++j) mean[l][j] = count[l] ? static_cast<float>(sum[l][j] / count[l]) : 0.0f;
    // Run-level mean type probabilities per cluster, named by the type network.
    std::vector<std::string> typeNames;
    for (const DescriptorSet* set : descriptors)
        if (set->typeNames.size() > typeNames.size()) typeNames = set->typeNames;
    const std::vector<std::vector<double>> typeMeans = clusterTypeMeans(c.labels, probs, k);

    for (AnalysisResult* r : results) {
        std::map<int, Cluster> present;
        for (const auto& d : r->defects) {
            if (d.cluster < 0) continue;
            Cluster& cl = present[d.cluster];
            cl.id = d.cluster;
            ++cl.size;
            if (static_cast<int>(cl.exampleDefects.size()) < options.examples) cl.exampleDefects.push_back(d.id);
        }
        for (auto& [id, cl] : present) {
            cl.centroidFeature = mean[id];
            if (typeMeans[id].size() == typeNames.size())
                for (size_t t = 0; t < typeNames.size(); ++t) cl.typeScores[typeNames[t]] = typeMeans[id][t];
            r->clusters.push_back(std::move(cl));
        }
    }
    return c.summary;
}

std::vector<uint8_t> renderClusterGalleryPng(const std::vector<const AnalysisResult*>& results,
                                             const std::vector<const DescriptorSet*>& descriptors,
                                             const GalleryOptions& options) {
    const std::string path = "cluster gallery";   // names the object in errors
    if (results.size() != descriptors.size()) throw InputError(path, "one descriptor set per scan is needed");
    if (options.tilePx < 8 || options.examples < 0) throw InputError(path, "gallery tile size or examples out of range");
    // Members per cluster in scan order; examples are spread over them, so they come from several scans.
    std::map<int, std::vector<const std::vector<float>*>> members;
    int side = 0;
    for (size_t s = 0; s < results.size(); ++s) {
        const auto& r = *results[s];
        const auto& set = *descriptors[s];
        if (set.patches.size() != r.defects.size()) throw InputError(path, "descriptor set does not match its scan");
        for (size_t i = 0; i < r.defects.size(); ++i) {
            if (set.patches[i].empty()) continue;
            if (r.defects[i].cluster < 0 && !options.outliers) continue;
            side = set.patchSide;
            members[r.defects[i].cluster].push_back(&set.patches[i]);
        }
    }
    std::vector<std::pair<int, size_t>> rows;   // (cluster, count), largest first, outliers last
    for (const auto& [id, m] : members)
        if (id >= 0) rows.emplace_back(id, m.size());
    std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second > b.second; });
    if (static_cast<int>(rows.size()) > options.maxClusters) rows.resize(options.maxClusters);
    if (members.count(-1)) rows.emplace_back(-1, members[-1].size());

    // The type network's suggestion per cluster ("siloxane 0.83"), from the run-level means.
    std::map<int, std::string> likelyType;
    for (const AnalysisResult* r : results)
        for (const auto& cl : r->clusters) {
            if (cl.typeScores.empty() || likelyType.count(cl.id)) continue;
            const auto best = std::max_element(cl.typeScores.begin(), cl.typeScores.end(),
                                               [](const auto& a, const auto& b) { return a.second < b.second; });
            char buf[96];
            std::snprintf(buf, sizeof buf, "%s %.2f", best->first.c_str(), best->second);
            likelyType[cl.id] = buf;
        }
    const int t = options.tilePx, gap = 4, label = 150;
    const int cols = 1 + options.examples;
    const int width = label + cols * (t + gap) + gap;
    const int height = std::max<int>(1, static_cast<int>(rows.size())) * (t + gap) + gap + 20;
    cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(canvas, "cluster (count) | mean | examples", {gap, 14}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0}, 1,
                cv::LINE_AA);
    if (rows.empty())
        cv::putText(canvas, "no clustered defects", {gap, 20 + t / 2}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1,
                    cv::LINE_AA);

    // One grey scale for every patch (robust, over all members), so brightness compares across clusters.
    std::vector<float> all;
    for (const auto& [id, m] : members)
        for (size_t i = 0; i < m.size(); i += std::max<size_t>(1, m.size() / 50))
            all.insert(all.end(), m[i]->begin(), m[i]->end());
    float lo = -3, hi = 3;
    if (!all.empty()) {
        std::sort(all.begin(), all.end());
        lo = all[all.size() / 100];
        hi = all[all.size() - 1 - all.size() / 100];
        if (!(hi > lo)) hi = lo + 1;
    }
    auto draw = [&](const std::vector<float>& patch, int x, int y) {
        cv::Mat p(side, side, CV_8UC1);
        for (int k = 0; k < side * side; ++k)
            p.data[k] = static_cast<uint8_t>(std::clamp((patch[k] - lo) / (hi - lo), 0.0f, 1.0f) * 255.0f + 0.5f);
        cv::Mat big, rgb;
        cv::resize(p, big, {t, t}, 0, 0, cv::INTER_CUBIC);
        cv::cvtColor(big, rgb, cv::COLOR_GRAY2BGR);
        rgb.copyTo(canvas(cv::Rect(x, y, t, t)));
    };
    for (size_t row = 0; row < rows.size(); ++row) {
        const auto [id, cnt] = rows[row];
        const auto& m = members[id];
        const int y = 20 + gap + static_cast<int>(row) * (t + gap);
        const std::string text = (id < 0 ? std::string("outliers") : "cluster " + std::to_string(id)) + " (" +
                                 std::to_string(cnt) + ")";
        cv::putText(canvas, text, {gap, y + t / 2 + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
        if (const auto it = likelyType.find(id); it != likelyType.end())
            cv::putText(canvas, it->second, {gap, y + t / 2 + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.35, {90, 90, 90}, 1,
                        cv::LINE_AA);
        std::vector<float> mean(static_cast<size_t>(side) * side, 0.0f);
        for (const auto* p : m)
            for (size_t k = 0; k < mean.size(); ++k) mean[k] += (*p)[k] / static_cast<float>(m.size());
        draw(mean, label + gap, y);
        cv::rectangle(canvas, cv::Rect(label + gap - 1, y - 1, t + 2, t + 2), {0, 0, 200}, 1);
        const size_t shown = std::min<size_t>(m.size(), options.examples);
        for (size_t e = 0; e < shown; ++e) {
            const size_t idx = shown == m.size() ? e : e * m.size() / shown;   // spread over the members
            draw(*m[idx], label + gap + static_cast<int>(e + 1) * (t + gap), y);
        }
    }
    std::vector<uchar> png;
    if (!cv::imencode(".png", canvas, png, {cv::IMWRITE_PNG_COMPRESSION, 9})) throw InputError(path, "cannot encode the gallery PNG");
    return png;
}

void writeClusterGallery(const std::string& path, const std::vector<const AnalysisResult*>& results,
                         const std::vector<const DescriptorSet*>& descriptors, const GalleryOptions& options) {
    std::vector<uint8_t> png;
    try {
        png = renderClusterGalleryPng(results, descriptors, options);
    } catch (const InputError& e) {
        throw InputError(path, e.what());
    }
    writeBytesAtomically(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()), "gallery");
}

}  // namespace stmlens
