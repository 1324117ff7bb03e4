// Python bindings: stmlens.analyze(array), stmlens.analyze_file(path), stmlens.simulate(...).
// Results are the stmlens.analysis/1 JSON as Python dicts; pipelines are loaded once per models folder and kept.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "analysis/Pipeline.h"
#include "analysis/ResultJson.h"
#include "core/Errors.h"
#include "nn/Model.h"
#include "nn/Tasks.h"
#include "sim/Simulator.h"

namespace py = pybind11;
using namespace stmlens;

namespace {

const Pipeline& pipelineFor(const std::string& models) {
    static std::mutex m;
    static std::map<std::string, std::unique_ptr<Pipeline>> loaded;
    std::lock_guard<std::mutex> lock(m);
    auto& p = loaded[models];
    if (!p) {
        PipelineOptions o;
        o.modelsDir = models;
        p = std::make_unique<Pipeline>(o);
    }
    return *p;
}

// "lattice": calibrate the pixel size from the dimer rows, whatever the file or array gives.
bool fromLattice(const py::object& value) {
    if (!py::isinstance<py::str>(value)) return false;
    if (py::cast<std::string>(value) != "lattice")
        throw InputError("pixel_size_nm", "give nm as one value or (x, y), or 'lattice'");
    return true;
}

// 0.1 or (0.097, 0.1); None or "lattice" = absent.
std::optional<PixelSize> pixelSizeFrom(const py::object& value) {
    if (value.is_none() || fromLattice(value)) return std::nullopt;
    PixelSize px;
    if (py::isinstance<py::tuple>(value) || py::isinstance<py::list>(value)) {
        auto seq = value.cast<std::vector<double>>();
        if (seq.size() != 2) throw InputError("pixel_size_nm", "give one value or (x, y)");
        px = PixelSize(seq[0], seq[1]);
    } else {
        px = PixelSize::square(value.cast<double>());
    }
    if (!px.known()) throw InputError("pixel_size_nm", "must be > 0");
    return px;
}

py::object toDict(const AnalysisResult& r) {
    return py::module_::import("json").attr("loads")(toJson(r).dump());
}

py::array_t<float> toArray(const Image& img) {
    py::array_t<float> a({img.height(), img.width()});
    std::memcpy(a.mutable_data(), img.data(), img.size() * sizeof(float));
    return a;
}

// "auto" | "normal" | "inverted", or None for the pipeline's own setting ($STMLENS_ROW_CONTRAST, else auto).
CallOptions callOptions(const py::object& pixelSizeNm, const py::object& rowContrast) {
    CallOptions call;
    call.pixelSize = pixelSizeFrom(pixelSizeNm);
    if (fromLattice(pixelSizeNm)) call.pixelSizeFromLattice = true;
    if (!rowContrast.is_none()) call.rowContrast = parseRowContrast(py::cast<std::string>(rowContrast), "row_contrast");
    return call;
}

}  // namespace

PYBIND11_MODULE(stmlens, m) {
    m.doc() = "stmlens: atoms and defects in STM scans of H-Si(100) 2x1";
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const InputError& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const AnalysisError& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
        }
    });

    m.def(
        "analyze",
        [](py::array_t<float, py::array::c_style | py::array::forcecast> array, py::object pixel_size_nm, const std::string& models,
           py::object row_contrast) {
            if (array.ndim() != 2) throw InputError("array", "must be 2-D (rows, columns)");
            const auto px = pixelSizeFrom(pixel_size_nm);
            if (!px && !fromLattice(pixel_size_nm)) throw InputError("pixel_size_nm", "required for an array (nm, or 'lattice')");
            const CallOptions call = callOptions(py::none(), row_contrast);
            Image img(static_cast<int>(array.shape(1)), static_cast<int>(array.shape(0)));
            std::memcpy(img.data(), array.data(), img.size() * sizeof(float));
            if (px) {   // else the pipeline calibrates it from the rows, or refuses
                img.pixelSize = *px;
                img.meta.pixelSizeSource = "user";
            }
            img.meta.sourceFormat = "array";
            img.maskNonFinite();
            const Pipeline& p = pipelineFor(models);
            AnalysisResult r;
            {
                py::gil_scoped_release release;
                r = p.analyzeImage(img, call);
            }
            return toDict(r);
        },
        py::arg("array"), py::arg("pixel_size_nm") = 0.1, py::arg("models") = "", py::arg("row_contrast") = py::none(),
        "Analyse a 2-D array (row 0 = top) with its pixel size in nm (one value or (x, y), or 'lattice': calibrated\n"
        "from the dimer rows); returns the result dict.\n"
        "row_contrast: 'auto', 'normal' (bright rows) or 'inverted' (dark rows); None = the default.");

    m.def(
        "analyze_file",
        [](const std::string& path, py::object pixel_size_nm, const std::string& models, py::object row_contrast) {
            const CallOptions call = callOptions(pixel_size_nm, row_contrast);
            const Pipeline& p = pipelineFor(models);
            AnalysisResult r;
            {
                py::gil_scoped_release release;
                r = p.analyzeFile(path, call);
            }
            return toDict(r);
        },
        py::arg("path"), py::arg("pixel_size_nm") = py::none(), py::arg("models") = "", py::arg("row_contrast") = py::none(),
        "Read and analyse a scan file; pixel_size_nm overrides the file's (needed for .npy unless its rows calibrate it;\n"
        "'lattice': from the dimer rows even where the file gives one); row_contrast as for analyze.");

    m.def(
        "simulate",
        [](int size, double pixel_size_nm, const std::string& preset, uint64_t seed) {
            sim::SimParams p;
            p.width = p.height = size;
            p.pixelSize = PixelSize::square(pixel_size_nm);
            p.preset = sim::parsePreset(preset);
            sim::SimSample s;
            {
                py::gil_scoped_release release;
                s = sim::simulate(p, seed);
            }
            py::array_t<double> atoms({static_cast<py::ssize_t>(s.truth.atoms.size()), static_cast<py::ssize_t>(3)});
            auto a = atoms.mutable_unchecked<2>();
            for (size_t i = 0; i < s.truth.atoms.size(); ++i) {
                a(i, 0) = s.truth.atoms[i].x;
                a(i, 1) = s.truth.atoms[i].y;
                a(i, 2) = s.truth.atoms[i].hydrogenated ? 1.0 : 0.0;
            }
            py::array_t<uint8_t> labels({s.truth.labels.height(), s.truth.labels.width()});
            uint8_t* l = labels.mutable_data();
            for (size_t i = 0; i < s.truth.labels.size(); ++i) l[i] = static_cast<uint8_t>(s.truth.labels.data()[i]);
            return py::make_tuple(toArray(s.image), labels, atoms);
        },
        py::arg("size") = 256, py::arg("pixel_size_nm") = 0.1, py::arg("preset") = "atomic", py::arg("seed") = 0,
        "Simulated scan: (image float32 [rows, cols], labels uint8 pixel classes, atoms float64 [n, 3]: x, y, hydrogenated).");

    m.def(
        "_make_untrained_models",
        [](const std::string& dir, int width, uint64_t seed) {
            for (const char* task : {"assess", "atoms", "defects"}) {
                ModelCard card = defaultCard(task);
                card.net.width = width;
                card.name = std::string(task) + "-untrained";
                Model::create(card, seed).save(dir + "/" + task);
            }
        },
        py::arg("dir"), py::arg("width") = 4, py::arg("seed") = 1, "Random-weight models for tests (meaningless results).");

    m.attr("__version__") = "0.1.0";
}
