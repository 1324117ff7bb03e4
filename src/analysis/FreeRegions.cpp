#include "analysis/FreeRegions.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/Errors.h"

namespace stmlens {

namespace {

// Largest all-zero axis-aligned rectangle in a binary grid (0 free, 1 blocked): for each row the heights of
// free columns ending there form a histogram whose largest rectangle a stack finds in one pass.
cv::Rect largestFreeRectangle(const cv::Mat& grid) {
    const int w = grid.cols, h = grid.rows;
    std::vector<int> heights(static_cast<size_t>(w) + 1, 0);
    std::vector<int> stack;
    stack.reserve(static_cast<size_t>(w) + 1);
    long best = 0;
    cv::Rect bestRect;
    for (int y = 0; y < h; ++y) {
        const uint8_t* r = grid.ptr<uint8_t>(y);
        for (int x = 0; x < w; ++x) heights[x] = r[x] ? 0 : heights[x] + 1;
        heights[w] = 0;  // sentinel flushes the stack
        stack.clear();
        for (int x = 0; x <= w; ++x) {
            while (!stack.empty() && heights[stack.back()] >= heights[x]) {
                const int hh = heights[stack.back()];
                stack.pop_back();
                const int left = stack.empty() ? 0 : stack.back() + 1;
                const long area = static_cast<long>(hh) * (x - left);
                if (area > best) {
                    best = area;
                    bestRect = cv::Rect(left, y - hh + 1, x - left, hh);
                }
            }
            stack.push_back(x);
        }
    }
    return bestRect;
}

}  // namespace

std::vector<FreeRegion> findFreeRegions(const Image& blocked, PixelSize px, double rowDirectionDeg, int maxCount,
                                        double minAreaNm2) {
    if (!px.known()) throw InputError("free regions", "the pixel size is unknown");
    if (blocked.empty() || maxCount <= 0) return {};
    const int w = blocked.width(), h = blocked.height();
    cv::Mat mask(h, w, CV_32F);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) mask.at<float>(y, x) = (blocked.at(x, y) > 0.5f || !blocked.isValid(x, y)) ? 1.0f : 0.0f;

    // Square grid at the finer of the two pixel sizes.
    const double s = std::min(px.x_nm, px.y_nm);
    const double fx = px.x_nm / s, fy = px.y_nm / s;
    cv::Mat square = mask;
    if (std::abs(fx - 1) > 1e-6 || std::abs(fy - 1) > 1e-6)
        cv::resize(mask, square, cv::Size(static_cast<int>(std::lround(w * fx)), static_cast<int>(std::lround(h * fy))), 0, 0,
                   cv::INTER_LINEAR);
    // Large scans are searched on a coarser grid (at most ~1024 px on the long side): any blocked share blocks
    // a coarse pixel, so the rectangles stay free, at most a coarse pixel smaller per side.
    const int longSide = std::max(square.cols, square.rows);
    const int coarse = (longSide + 1023) / 1024;
    double cell = s;  // nm per grid pixel
    if (coarse > 1) {
        const int fineCols = square.cols;
        cv::Mat grown;
        cv::dilate(square, grown, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(coarse, coarse)));
        cv::resize(grown, square, cv::Size((square.cols + coarse - 1) / coarse, (square.rows + coarse - 1) / coarse), 0, 0,
                   cv::INTER_AREA);
        cell = s * fineCols / square.cols;
    }
    const double sx = static_cast<double>(square.cols) / w, sy = static_cast<double>(square.rows) / h;

    // Rotate clockwise by the row direction (counter-clockwise on screen) so the rows run along +x; the canvas
    // grows to hold the whole image and everything outside it is blocked.
    const double deg = std::fmod(std::fmod(rowDirectionDeg, 180.0) + 180.0, 180.0);
    const bool rotate = std::abs(deg) > 1e-9;
    cv::Mat rotM = (cv::Mat_<double>(2, 3) << 1, 0, 0, 0, 1, 0);
    cv::Mat canvas = square;
    if (rotate) {
        const cv::Point2f c((square.cols - 1) / 2.0f, (square.rows - 1) / 2.0f);
        rotM = cv::getRotationMatrix2D(c, -deg, 1.0);
        const cv::Rect2f bounds = cv::RotatedRect(c, cv::Size2f(static_cast<float>(square.cols), static_cast<float>(square.rows)), static_cast<float>(-deg)).boundingRect2f();
        const int cw = static_cast<int>(std::ceil(bounds.width)) + 2, ch = static_cast<int>(std::ceil(bounds.height)) + 2;
        rotM.at<double>(0, 2) += (cw - 1) / 2.0 - c.x;
        rotM.at<double>(1, 2) += (ch - 1) / 2.0 - c.y;
        cv::warpAffine(square, canvas, rotM, cv::Size(cw, ch), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(1.0));
    }
    // Conservative: any blocked share makes a pixel blocked.
    cv::Mat grid;
    cv::threshold(canvas, grid, 0.01, 1.0, cv::THRESH_BINARY);
    grid.convertTo(grid, CV_8U);
    cv::Mat inv;
    cv::invertAffineTransform(rotM, inv);

    std::vector<FreeRegion> out;
    for (int k = 0; k < maxCount; ++k) {
        const cv::Rect r = largestFreeRectangle(grid);
        const double areaNm2 = static_cast<double>(r.area()) * cell * cell;
        if (r.area() == 0 || areaNm2 < minAreaNm2) break;
        grid(r).setTo(1);
        // Centre back to the square grid, then to the input's pixels.
        const double cx = r.x + (r.width - 1) / 2.0, cy = r.y + (r.height - 1) / 2.0;
        const double qx = inv.at<double>(0, 0) * cx + inv.at<double>(0, 1) * cy + inv.at<double>(0, 2);
        const double qy = inv.at<double>(1, 0) * cx + inv.at<double>(1, 1) * cy + inv.at<double>(1, 2);
        FreeRegion f;
        f.centerX = (qx + 0.5) / sx - 0.5;
        f.centerY = (qy + 0.5) / sy - 0.5;
        f.widthNm = r.width * cell;
        f.heightNm = r.height * cell;
        f.angleDeg = deg;
        out.push_back(f);
    }
    return out;
}

Image blockedByDefects(int width, int height, const std::vector<Defect>& defects, PixelSize px, double marginNm) {
    if (!px.known()) throw InputError("free regions", "the pixel size is unknown");
    Image out(width, height);
    out.pixelSize = px;
    const int mx = static_cast<int>(std::ceil(std::max(marginNm, 0.0) / px.x_nm - 1e-9));
    const int my = static_cast<int>(std::ceil(std::max(marginNm, 0.0) / px.y_nm - 1e-9));
    for (const Defect& d : defects) {
        const int x0 = std::max(0, d.bbox[0] - mx), x1 = std::min(width - 1, d.bbox[2] + mx);
        const int y0 = std::max(0, d.bbox[1] - my), y1 = std::min(height - 1, d.bbox[3] + my);
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) out.at(x, y) = 1.0f;
    }
    return out;
}

}  // namespace stmlens
