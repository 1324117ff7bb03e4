// The C API (include/stmlens/stmlens.h) over Pipeline: every entry point catches everything, so no C++
// exception crosses into C callers; errors become a status code plus a per-thread message.
#include "stmlens/stmlens.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>

#include "analysis/Pipeline.h"
#include "analysis/ResultJson.h"
#include "core/Errors.h"
#include "nn/Model.h"

struct stmlens_context {
    std::unique_ptr<stmlens::Pipeline> pipeline;
    std::optional<stmlens::PixelSize> filePixelSize;
    std::mutex errorsMutex;
    std::map<std::thread::id, std::string> errors;   // last failure per calling thread
};

namespace {

thread_local std::string openError;

void setError(stmlens_context* ctx, const std::string& message) {
    std::lock_guard<std::mutex> lock(ctx->errorsMutex);
    ctx->errors[std::this_thread::get_id()] = message;
}

char* copyString(const std::string& s) {
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (!out) throw std::bad_alloc();
    std::memcpy(out, s.data(), s.size() + 1);
    return out;
}

// Runs fn, turning every exception into a status code and the context's message for this thread.
template <class Fn>
int guarded(stmlens_context* ctx, char** json_out, Fn&& fn) {
    if (json_out) *json_out = nullptr;
    if (!ctx) return STMLENS_ERR_ARGUMENT;
    try {
        if (!json_out) throw std::invalid_argument("json_out is NULL");
        const stmlens::AnalysisResult r = fn();
        *json_out = copyString(stmlens::toJson(r).dump());
        setError(ctx, "");
        return STMLENS_OK;
    } catch (const std::invalid_argument& e) {
        setError(ctx, e.what());
        return STMLENS_ERR_ARGUMENT;
    } catch (const stmlens::InputError& e) {
        setError(ctx, e.what());
        return STMLENS_ERR_INPUT;
    } catch (const stmlens::AnalysisError& e) {
        setError(ctx, e.what());
        return STMLENS_ERR_ANALYSIS;
    } catch (const std::exception& e) {
        try { setError(ctx, std::string("internal error: ") + e.what()); } catch (...) {}
        return STMLENS_ERR_INTERNAL;
    } catch (...) {
        try { setError(ctx, "internal error"); } catch (...) {}
        return STMLENS_ERR_INTERNAL;
    }
}

}  // namespace

extern "C" {

stmlens_options stmlens_default_options(void) {
    stmlens_options o;
    o.channel = nullptr;
    o.direction = nullptr;
    o.pixel_size_x_nm = 0;
    o.pixel_size_y_nm = 0;
    o.atom_threshold = 0.5;
    o.threads = 0;
    return o;
}

stmlens_context* stmlens_open(const char* models_dir, stmlens_options options) {
    try {
        openError.clear();
        stmlens::PipelineOptions po;
        po.modelsDir = models_dir ? models_dir : "";
        po.channel = options.channel ? options.channel : "";
        po.direction = options.direction ? options.direction : "";
        if (!po.direction.empty() && po.direction != "forward" && po.direction != "backward")
            throw stmlens::InputError("options.direction", "must be \"forward\" or \"backward\"");
        if (!(options.atom_threshold >= 0 && options.atom_threshold <= 1))
            throw stmlens::InputError("options.atom_threshold", "must be within 0..1");
        po.atomThreshold = options.atom_threshold;
        auto ctx = std::make_unique<stmlens_context>();
        if (options.pixel_size_x_nm == STMLENS_PIXEL_SIZE_LATTICE) {
            po.pixelSizeFromLattice = true;
        } else if (options.pixel_size_x_nm != 0 || options.pixel_size_y_nm != 0) {
            if (!(options.pixel_size_x_nm > 0 && options.pixel_size_y_nm > 0) || !std::isfinite(options.pixel_size_x_nm) ||
                !std::isfinite(options.pixel_size_y_nm))
                throw stmlens::InputError("options.pixel_size", "both pixel_size_x_nm and pixel_size_y_nm must be > 0 "
                                                                  "(or pixel_size_x_nm STMLENS_PIXEL_SIZE_LATTICE)");
            ctx->filePixelSize = stmlens::PixelSize(options.pixel_size_x_nm, options.pixel_size_y_nm);
        }
        if (options.threads > 0) stmlens::setTorchThreads(options.threads);
        ctx->pipeline = std::make_unique<stmlens::Pipeline>(po);
        return ctx.release();
    } catch (const std::exception& e) {
        try { openError = e.what(); } catch (...) {}
    } catch (...) {
        try { openError = "internal error"; } catch (...) {}
    }
    return nullptr;
}

int stmlens_analyze_buffer(stmlens_context* ctx, const float* pixels, int width, int height, double px_nm_x,
                           double px_nm_y, char** json_out) {
    return guarded(ctx, json_out, [&] {
        if (!pixels) throw std::invalid_argument("pixels is NULL");
        if (width <= 0 || height <= 0) throw std::invalid_argument("width and height must be > 0");
        const bool fromLattice = px_nm_x == STMLENS_PIXEL_SIZE_LATTICE;
        if (!fromLattice && (!(px_nm_x > 0 && px_nm_y > 0) || !std::isfinite(px_nm_x) || !std::isfinite(px_nm_y)))
            throw std::invalid_argument("pixel size must be > 0 nm in x and y (or x STMLENS_PIXEL_SIZE_LATTICE)");
        stmlens::Image img(width, height);
        std::memcpy(img.data(), pixels, img.size() * sizeof(float));
        if (!fromLattice) {   // no pixel size: the pipeline calibrates it from the rows, or refuses
            img.pixelSize = stmlens::PixelSize(px_nm_x, px_nm_y);
            img.meta.pixelSizeSource = "user";
        }
        img.meta.sourceFormat = "buffer";
        img.maskNonFinite();
        return ctx->pipeline->analyzeImage(img);
    });
}

int stmlens_analyze_file(stmlens_context* ctx, const char* path, char** json_out) {
    return guarded(ctx, json_out, [&] {
        if (!path) throw std::invalid_argument("path is NULL");
        return ctx->pipeline->analyzeFile(path, ctx->filePixelSize);
    });
}

void stmlens_free(char* str) { std::free(str); }

const char* stmlens_last_error(stmlens_context* ctx) {
    if (!ctx) return openError.c_str();
    try {
        std::lock_guard<std::mutex> lock(ctx->errorsMutex);
        // std::map nodes are stable: the pointer stays valid until this thread's next call changes its entry.
        return ctx->errors[std::this_thread::get_id()].c_str();
    } catch (...) {
        return "internal error";
    }
}

void stmlens_close(stmlens_context* ctx) {
    try {
        delete ctx;
    } catch (...) {
    }
}

const char* stmlens_version(void) { return "0.1.0"; }

}  // extern "C"
