#include "core/ScaleBar.h"

#include <cstdio>

namespace stmlens {

double scaleBarLengthNm(double widthNm) {
    const double target = widthNm / 5;
    double best = 0.01;
    for (double decade = 0.01; decade < 1e6; decade *= 10)
        for (double m : {1.0, 2.0, 5.0})
            if (m * decade <= target) best = m * decade;
    return best;
}

std::string lengthLabel(double nm) {
    char buf[32];
    if (nm >= 1000) std::snprintf(buf, sizeof buf, "%g um", nm / 1000);
    else std::snprintf(buf, sizeof buf, "%g nm", nm);
    return buf;
}

}  // namespace stmlens
