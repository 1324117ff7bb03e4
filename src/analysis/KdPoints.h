#pragma once
// 2-D points laid out for nanoflann's KD-tree (x0, y0, x1, y1, ...), in whatever unit the caller fills in:
//
//   KdPoints2 pts;  pts.xy = {...};
//   nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, KdPoints2>, KdPoints2, 2, uint32_t>
//       tree(2, pts, nanoflann::KDTreeSingleIndexAdaptorParams(10));
#include <cstddef>
#include <vector>

namespace stmlens {

struct KdPoints2 {
    std::vector<double> xy;
    size_t kdtree_get_point_count() const { return xy.size() / 2; }
    double kdtree_get_pt(size_t i, size_t k) const { return xy[2 * i + k]; }
    template <class BBox>
    bool kdtree_get_bbox(BBox&) const { return false; }
};

}  // namespace stmlens
