#pragma once
// The median of a sample, found in place (the element at size/2 once partially sorted; the upper median of an
// even count). Reorders v. An empty sample gives T{}.
#include <algorithm>
#include <vector>

namespace stmlens {

template <typename T>
T medianInPlace(std::vector<T>& v) {
    if (v.empty()) return T{};
    const auto mid = v.begin() + static_cast<long>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

}  // namespace stmlens
