#include "analysis/ResultMasks.h"

#include <algorithm>
#include <cmath>

#include "core/Errors.h"

namespace stmlens {

std::vector<NamedMask> resultMasks(const AnalysisResult& r, const AnalysisMaps& maps) {
    const int w = r.width, h = r.height;
    auto onGrid = [&](const Image& m) { return m.width() == w && m.height() == h; };
    for (const auto& p : maps.defectProb)
        if (!onGrid(p)) throw InputError(r.path, "defect maps are not on the scan grid");
    if (!maps.resolved.empty() && !onGrid(maps.resolved)) throw InputError(r.path, "resolved map is not on the scan grid");

    std::vector<NamedMask> out;
    // Atoms: discs of ~0.06 nm radius (at least the pixel itself), so they stay separate at any pixel size.
    Image atoms(w, h);
    const double px = std::max(r.pixelSize.x_nm, 1e-9), py = std::max(r.pixelSize.y_nm, 1e-9);
    const int rx = static_cast<int>(0.06 / px), ry = static_cast<int>(0.06 / py);
    for (const auto& a : r.atoms) {
        const int cx = static_cast<int>(std::lround(a.x)), cy = static_cast<int>(std::lround(a.y));
        for (int y = std::max(0, cy - ry); y <= std::min(h - 1, cy + ry); ++y)
            for (int x = std::max(0, cx - rx); x <= std::min(w - 1, cx + rx); ++x) atoms.at(x, y) = 1.0f;
    }
    out.emplace_back("atoms", std::move(atoms));

    const int k = static_cast<int>(maps.defectProb.size());
    std::vector<Image> classes(k > 1 ? k - 1 : 0, Image(w, h));
    for (int y = 0; y < h && k > 1; ++y)
        for (int x = 0; x < w; ++x) {
            int best = 0;
            for (int c = 1; c < k; ++c)
                if (maps.defectProb[c].at(x, y) > maps.defectProb[best].at(x, y)) best = c;
            if (best > 0) classes[best - 1].at(x, y) = 1.0f;
        }
    for (int c = 1; c < k; ++c)
        out.emplace_back(c < static_cast<int>(maps.defectClasses.size()) ? maps.defectClasses[c] : "class " + std::to_string(c),
                         std::move(classes[c - 1]));

    if (!maps.resolved.empty()) {
        Image unresolved(w, h);
        for (size_t i = 0; i < unresolved.size(); ++i) unresolved.pixels()[i] = maps.resolved.pixels()[i] < 0.5f ? 1.0f : 0.0f;
        out.emplace_back("unresolved", std::move(unresolved));
    }
    return out;
}

const Image* findMask(const std::vector<NamedMask>& masks, const std::string& name) {
    for (const auto& [n, m] : masks)
        if (n == name) return &m;
    return nullptr;
}

}  // namespace stmlens
