#include "nn/LabelledScans.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "io/ScanReader.h"
#include "nn/Preprocess.h"

namespace stmlens {

namespace fs = std::filesystem;

LabelConfig LabelConfig::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError(path, "cannot open label config");
    nlohmann::json j;
    try {
        in >> j;
        LabelConfig c;
        c.scanSuffix = j.value("scan_suffix", c.scanSuffix);
        c.labelSuffix = j.value("label_suffix", c.labelSuffix);
        c.namePrefix = j.value("name_prefix", "");
        if (j.contains("pixel_size_nm")) {
            auto p = j.at("pixel_size_nm").get<std::vector<double>>();
            if (p.size() != 2 || !(p[0] > 0) || !(p[1] > 0)) throw InputError(path, "pixel_size_nm must be [x, y] > 0");
            c.pixelSize = {p[0], p[1]};
        }
        c.siteLabels = j.value("site_labels", true);
        c.siteRadiusNm = j.value("site_radius_nm", 0.3);
        c.latticeLabel = j.value("lattice_label", 1);
        for (const auto& [k, v] : j.at("classes").items()) c.classes[std::stoi(k)] = {v.at(0).get<std::string>(), v.at(1).get<std::string>()};
        if (j.contains("overlay_palette")) {
            for (const auto& [k, v] : j.at("overlay_palette").items()) {
                const auto rgb = v.get<std::vector<int>>();
                if (rgb.size() != 3 || *std::min_element(rgb.begin(), rgb.end()) < 0 || *std::max_element(rgb.begin(), rgb.end()) > 255)
                    throw InputError(path, "overlay_palette colours must be [R, G, B] in 0-255");
                c.overlayPalette[std::stoi(k)] = {rgb[0], rgb[1], rgb[2]};
            }
            if (!c.pixelSize.known()) throw InputError(path, "an overlay config needs pixel_size_nm (image files carry none)");
        }
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw InputError(path, std::string("malformed label config: ") + e.what());
    } catch (const std::invalid_argument&) {
        throw InputError(path, "label config class ids must be integers");
    }
}

namespace {

// Union-find grouping of same-class sites closer than `linkPx`.
std::vector<LabelledObject> groupSites(const std::vector<LabelledObject>& sites, double linkPx) {
    const int n = static_cast<int>(sites.size());
    std::vector<int> parent(n);
    std::iota(parent.begin(), parent.end(), 0);
    std::function<int(int)> find = [&](int a) { return parent[a] == a ? a : parent[a] = find(parent[a]); };
    for (int a = 0; a < n; ++a)
        for (int b = a + 1; b < n; ++b)
            if (sites[a].fineClass == sites[b].fineClass && std::hypot(sites[a].x - sites[b].x, sites[a].y - sites[b].y) <= linkPx)
                parent[find(a)] = find(b);
    std::map<int, LabelledObject> groups;
    for (int a = 0; a < n; ++a) {
        auto& g = groups[find(a)];
        g.fineClass = sites[a].fineClass;
        g.coarseClass = sites[a].coarseClass;
        g.x += sites[a].x;
        g.y += sites[a].y;
        g.sites++;
        g.points.push_back({sites[a].x, sites[a].y});
    }
    std::vector<LabelledObject> out;
    for (auto& [k, g] : groups) {
        g.x /= g.sites;
        g.y /= g.sites;
        out.push_back(g);
    }
    return out;
}

}  // namespace

std::vector<LabelledScan> loadLabelledScans(const std::string& dir, const LabelConfig& cfg,
                                            const std::vector<std::string>& modelClasses) {
    if (!fs::is_directory(dir)) throw InputError(dir, "labelled data folder not found");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.size() > cfg.scanSuffix.size() && name.ends_with(cfg.scanSuffix) && name.starts_with(cfg.namePrefix))
            names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    std::vector<LabelledScan> out;
    for (const auto& name : names) {
        const std::string base = name.substr(0, name.size() - cfg.scanSuffix.size());
        const fs::path labelPath = fs::path(dir) / (base + cfg.labelSuffix);
        const bool overlay = !cfg.overlayPalette.empty();
        if (!overlay && !fs::exists(labelPath)) continue;
        LabelledScan ls;
        ls.path = (fs::path(dir) / name).string();
        Image labels;
        if (overlay) {
            LatticeOverlay o = readLatticeOverlay(ls.path, cfg.overlayPalette);
            ls.scan = std::move(o.image);
            ls.scan.pixelSize = cfg.pixelSize;
            labels = std::move(o.labels);
        } else {
            ReadOptions ro;
            if (cfg.pixelSize.known()) ro.pixelSize = cfg.pixelSize;
            ls.scan = readScanFile(ls.path, ro).channels.front();
            if (!ls.scan.pixelSize.known()) throw InputError(ls.path, "no pixel size (set pixel_size_nm in the label config)");
            labels = readScanFile(labelPath.string(), {}).channels.front();
            if (labels.width() != ls.scan.width() || labels.height() != ls.scan.height())
                throw InputError(labelPath.string(), "label map size differs from its scan");
        }
        const int w = ls.scan.width(), h = ls.scan.height();
        ls.target = Image(w, h, 0.0f);
        ls.known = Image(w, h, cfg.siteLabels ? 0.0f : 1.0f);
        auto modelIndex = [&](const std::string& cls) {
            auto it = std::find(modelClasses.begin(), modelClasses.end(), cls);
            return it == modelClasses.end() ? -1 : static_cast<int>(it - modelClasses.begin());
        };
        std::vector<LabelledObject> defectSites;
        const double rx = cfg.siteRadiusNm / ls.scan.pixelSize.x_nm, ry = cfg.siteRadiusNm / ls.scan.pixelSize.y_nm;
        cv::Mat known(h, w, CV_8U, cv::Scalar(0));
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const int id = static_cast<int>(std::lround(labels.at(x, y)));
                if (id == 0) continue;
                auto it = cfg.classes.find(id);
                if (it == cfg.classes.end()) continue;
                const auto& [fine, coarse] = it->second;
                LabelledObject site{static_cast<double>(x), static_cast<double>(y), fine, coarse, 1, {}};
                if (!cfg.siteLabels) {
                    const int m = modelIndex(coarse);
                    if (coarse == "ignore" || m < 0) ls.known.at(x, y) = 0;
                    else ls.target.at(x, y) = static_cast<float>(m);
                    continue;
                }
                // Sites are known, and the region around them (the labelled area) is lattice unless a defect says otherwise.
                cv::ellipse(known, cv::Point(x, y), cv::Size(static_cast<int>(3 * rx), static_cast<int>(3 * ry)), 0, 0, 360, cv::Scalar(1), -1);
                if (id == cfg.latticeLabel) ls.latticeSites.push_back(site);
                else defectSites.push_back(site);
            }
        if (cfg.siteLabels) {
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) ls.known.at(x, y) = known.at<uint8_t>(y, x);
            cv::Mat tgt(h, w, CV_32F, ls.target.data()), kn(h, w, CV_32F, ls.known.data());
            for (const auto& s : defectSites) {
                const int m = modelIndex(s.coarseClass);
                const cv::Size axes(std::max(1, static_cast<int>(std::lround(rx))), std::max(1, static_cast<int>(std::lround(ry))));
                if (s.coarseClass == "ignore" || m < 0) cv::ellipse(kn, cv::Point(s.x, s.y), axes, 0, 0, 360, cv::Scalar(0), -1);
                else cv::ellipse(tgt, cv::Point(s.x, s.y), axes, 0, 0, 360, cv::Scalar(m), -1);
            }
            std::vector<LabelledObject> counted;
            for (const auto& s : defectSites)
                if (s.coarseClass != "ignore") counted.push_back(s);
            ls.objects = groupSites(counted, 0.6 / std::min(ls.scan.pixelSize.x_nm, ls.scan.pixelSize.y_nm));
        }
        out.push_back(std::move(ls));
    }
    if (out.empty()) throw InputError(dir, "no scan/label pairs found (suffixes '" + cfg.scanSuffix + "' / '" + cfg.labelSuffix + "')");
    return out;
}

namespace {

// A labelled scan at the model's pixel size, as the tile samplers draw from it.
struct PreparedLabels {
    Image image, target, known;
    std::vector<std::pair<double, double>> sites;   // model pixels: each tile's object points (atom finder)
};

// The scan levelled, resampled and standardised as in inference; target and known still empty.
PreparedLabels prepareLabelledScan(const LabelledScan& s, double modelPx, int tile, ResampleMap& map) {
    PreparedInput in = prepareForModel(s.scan, modelPx);
    PreparedLabels p;
    p.image = in.resampled.image;
    map = in.resampled.map;
    if (p.image.width() < tile || p.image.height() < tile)
        throw InputError(s.path, "scan smaller than a training tile at the model's pixel size");
    return p;
}

// Random tiles, preferring tiles with labelled pixels; sites inside a tile become its points.
SampleGenerator randomLabelledTiles(std::shared_ptr<const std::vector<PreparedLabels>> prepared, int tile) {
    return [prepared, tile](uint64_t seed) {
        std::mt19937_64 rng(seed);
        const auto& p = (*prepared)[rng() % prepared->size()];
        Rect r;
        for (int attempt = 0; attempt < 20; ++attempt) {
            r = {static_cast<int>(rng() % (p.image.width() - tile + 1)), static_cast<int>(rng() % (p.image.height() - tile + 1)), tile, tile};
            double k = 0;
            for (int y = r.y; y < r.y + tile; y += 4)
                for (int x = r.x; x < r.x + tile; x += 4) k += p.known.at(x, y);
            if (k > 0.2 * (tile / 4) * (tile / 4)) break;
        }
        TrainingSample s;
        s.image = crop(p.image, r);
        levelAndStandardize(s.image);   // each tile on its own, as simulated tiles are and per-tile cards infer
        s.target = crop(p.target, r);
        s.known = crop(p.known, r);
        for (const auto& [u, v] : p.sites)
            if (u >= r.x && v >= r.y && u < r.x + tile && v < r.y + tile) s.points.emplace_back(u - r.x, v - r.y);
        return s;
    };
}

}  // namespace

SampleGenerator labelledSamples(std::vector<LabelledScan> scans, double modelPx, int tile) {
    auto prepared = std::make_shared<std::vector<PreparedLabels>>();
    for (const auto& s : scans) {
        ResampleMap map;
        PreparedLabels p = prepareLabelledScan(s, modelPx, tile, map);
        p.target = resizeNearest(s.target, p.image.width(), p.image.height());
        p.known = resizeNearest(s.known, p.image.width(), p.image.height());
        prepared->push_back(std::move(p));
    }
    return randomLabelledTiles(prepared, tile);
}

SampleGenerator labelledAtomSamples(std::vector<LabelledScan> scans, double modelPx, int tile) {
    auto prepared = std::make_shared<std::vector<PreparedLabels>>();
    for (const auto& s : scans) {
        ResampleMap map;
        PreparedLabels p = prepareLabelledScan(s, modelPx, tile, map);
        const int w = p.image.width(), h = p.image.height();
        cv::Mat target(h, w, CV_32F, cv::Scalar(0)), known(h, w, CV_32F, cv::Scalar(0));
        const int near = std::max(1, static_cast<int>(std::lround(0.3 / modelPx)));
        for (const auto& site : s.latticeSites) {
            const double u = map.toOutputX(site.x), v = map.toOutputY(site.y);
            p.sites.emplace_back(u, v);
            const cv::Point c(static_cast<int>(std::lround(u)), static_cast<int>(std::lround(v)));
            cv::circle(known, c, near, cv::Scalar(1), -1);
            cv::circle(target, c, 1, cv::Scalar(1), -1);
        }
        // Around defect sites (any defect class in the labels) and outside the labelled area nothing is known.
        const Image defects = resizeNearest(s.target, w, h), labelled = resizeNearest(s.known, w, h);
        p.target = Image(w, h);
        p.known = Image(w, h);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                p.target.at(x, y) = target.at<float>(y, x);
                p.known.at(x, y) = known.at<float>(y, x) > 0 && defects.at(x, y) < 0.5f && labelled.at(x, y) > 0.5f ? 1.0f : 0.0f;
            }
        prepared->push_back(std::move(p));
    }
    return randomLabelledTiles(prepared, tile);
}

SampleGenerator labelledAssessSamples(std::vector<LabelledScan> scans, double modelPx, int tile, int goodClass) {
    auto prepared = std::make_shared<std::vector<PreparedLabels>>();
    for (const auto& s : scans) {
        ResampleMap map;
        PreparedLabels p = prepareLabelledScan(s, modelPx, tile, map);
        p.known = resizeNearest(s.known, p.image.width(), p.image.height());
        p.target = p.known;   // class 1 = resolved wherever the lattice is labelled
        prepared->push_back(std::move(p));
    }
    SampleGenerator tiles = randomLabelledTiles(prepared, tile);
    return [tiles, goodClass](uint64_t seed) {
        TrainingSample s = tiles(seed);
        s.points.clear();
        s.imageClass = goodClass;
        return s;
    };
}

}  // namespace stmlens
