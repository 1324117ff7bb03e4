#pragma once
// Physical scale bars for pictures of scans: a 1-2-5 length near a fifth of the image width, and its label.
#include <string>

namespace stmlens {

// The largest 1, 2 or 5 x 10^k nm not above widthNm / 5 (at least 0.01 nm).
double scaleBarLengthNm(double widthNm);

// "5 nm", "0.5 nm", "2 um".
std::string lengthLabel(double nm);

}  // namespace stmlens
