// The C++ half of the Python package `kpusim` (built as kpusim/_kpusim*.so): the library's
// model loading, input preparation, runs, sweeps and drawing, with C++ errors turned into
// Python exceptions. The Python half (python/kpusim/*.py) builds MaixPy's API and the
// pythonic layer on top of it.
//
// Exceptions: kpusim::InputError -> ValueError, kpusim::KmodelError -> kpusim.KmodelError (a
// ValueError), kpusim::CapacityError -> MemoryError, any other std::exception ->
// RuntimeError; the message is the library's (the CLI prints the same text after
// "kpusim: error: ").
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include <stb_image.h>

#include "common/log.h"
#include "kpusim/kpusim.h"
#include "models/kmodel_error.h"
#include "python/job.h"
#include "sim/annotate.h"
#include "sim/model_input.h"
#include "sim/run_settings.h"
#include "sim/sweep.h"

namespace py = pybind11;
using namespace kpusim;

// libsystemc defines main() and needs an sc_main symbol to be loadable; a Python process
// never calls it (the standalone K210 is elaborated on first use, sim/simulate.h).
__attribute__((visibility("default"))) int sc_main(int, char**) { return 0; }

namespace {

py::tuple shape_tuple(const Shape& s) { return py::make_tuple(s.n, s.c, s.h, s.w); }

std::vector<uint8_t> to_bytes(const py::bytes& b) {
    const std::string s = b;
    return std::vector<uint8_t>(s.begin(), s.end());
}

py::bytes from_bytes(const std::vector<uint8_t>& v) {
    return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

py::dict layer_dict(const Layer& l) {
    py::dict d;
    d["index"] = l.index;
    d["type"] = l.type_name;
    d["type_code"] = l.type_code;
    d["engine"] = l.engine() == Engine::kpu ? "kpu" : "cpu";
    d["out_shape"] = shape_tuple(l.out_shape);
    d["out_dtype"] = to_string(l.out_type);
    d["body_bytes"] = l.body.size;
    if (const auto* conv = std::get_if<KpuConvOp>(&l.op)) {
        const kpu::LayerArgument& a = conv->arg;
        d["in_shape"] = py::make_tuple(1u, a.in_channels(), a.in_height(), a.in_width());
        d["conv_out_shape"] = py::make_tuple(1u, a.out_channels(), a.out_height(), a.out_width());
        d["kernel_size"] = a.kernel_size();
        d["depthwise"] = a.depth_wise_layer;
        d["pool_type"] = a.pool_type;
        d["para_size"] = a.para_size;
    }
    return d;
}

}  // namespace

PYBIND11_MODULE(_kpusim, m) {
    m.doc() = "C++ core of the kpusim package (use `import kpusim`).";
    // Silence SystemC's banner before the kernel is first touched (elaboration is lazy).
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);

    static py::exception<KmodelError> kmodel_error(m, "KmodelError", PyExc_ValueError);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const KmodelError& e) {
            kmodel_error(e.what());
        } catch (const InputError& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const CapacityError& e) {
            PyErr_SetString(PyExc_MemoryError, e.what());
        }
    });

    m.def("version", &kpusim::version, "The library's version, MAJOR.MINOR.PATCH.");
    m.def("set_log_level", &kpusim::set_log_level, py::arg("level"),
          "The library's log level: trace, debug, info, warn (default), error or off.");

    py::class_<python::LoadedModel>(m, "LoadedModel")
        .def_readonly("path", &python::LoadedModel::path)
        .def_readonly("byte_order", &python::LoadedModel::byte_order)
        .def_property_readonly("kmodel_version", [](const python::LoadedModel& x) { return x.model.version; })
        .def_property_readonly("weights_bits", [](const python::LoadedModel& x) { return x.model.eight_bit ? 8 : 16; })
        .def_property_readonly("file_bytes", [](const python::LoadedModel& x) { return x.model.file_size(); })
        .def_property_readonly("main_mem_usage", [](const python::LoadedModel& x) { return x.model.main_mem_usage; })
        .def_property_readonly("largest_body", [](const python::LoadedModel& x) { return x.model.largest_body(); })
        .def_property_readonly("input_shape", [](const python::LoadedModel& x) { return shape_tuple(x.model.input.shape); })
        .def_property_readonly("input_dtype", [](const python::LoadedModel& x) { return std::string(to_string(x.model.input.type)); })
        .def_property_readonly("input_bytes", [](const python::LoadedModel& x) { return x.model.input.bytes(); })
        .def_property_readonly("outputs", [](const python::LoadedModel& x) {
            py::list l;
            for (const ModelOutput& o : x.model.outputs) l.append(py::make_tuple(shape_tuple(o.shape), std::string(to_string(o.type))));
            return l;
        })
        .def_property_readonly("layers", [](const python::LoadedModel& x) {
            py::list l;
            for (const Layer& layer : x.model.layers) l.append(layer_dict(layer));
            return l;
        })
        .def_property_readonly("notes", [](const python::LoadedModel& x) { return x.model.notes; })
        .def_property_readonly("sha256", [](const python::LoadedModel& x) { return model_sha256(x.model); });

    m.def("load", &python::load, py::arg("path"), py::arg("strict_sdk") = false,
          "Read a kmodel (plain or word-reversed) as `kpusim run` does.");

    m.def("input_from_file", [](const python::LoadedModel& x, const std::string& path) {
              return from_bytes(load_model_input(path, x.model.input));
          }, py::arg("model"), py::arg("path"),
          "The model input from a picture (resized, planar RGB / grey) or a raw file, as `--input`.");
    m.def("input_from_encoded", [](const python::LoadedModel& x, const py::bytes& data, const std::string& name) {
              return from_bytes(decode_model_input(to_bytes(data), name, x.model.input));
          }, py::arg("model"), py::arg("data"), py::arg("name"),
          "The model input from an encoded picture (PNG, JPEG, BMP, binary PNM) held in memory.");
    m.def("test_pattern", [](const python::LoadedModel& x) { return from_bytes(test_pattern(x.model.input)); },
          py::arg("model"), "The CLI's deterministic input for runs without --input.");
    m.def("picture_size", [](const std::string& path) -> py::object {
              int w = 0, h = 0, c = 0;
              if (stbi_info(path.c_str(), &w, &h, &c)) return py::make_tuple(w, h);
              return py::none();
          }, py::arg("path"), "(width, height) of a picture file, None when it is not one stb_image reads.");
    m.def("ram_budget_bytes", &kpusim::parse_ram_budget, py::arg("text"),
          "General RAM left to models for a preset name or a byte count (as --ram-budget).");

    py::class_<python::JobOptions>(m, "JobOptions")
        .def(py::init<>())
        .def_readwrite("mode", &python::JobOptions::mode)
        .def_readwrite("source", &python::JobOptions::source)
        .def_readwrite("batch_size", &python::JobOptions::batch_size)
        .def_readwrite("spi_speed", &python::JobOptions::spi_speed)
        .def_readwrite("cpu_freq", &python::JobOptions::cpu_freq)
        .def_readwrite("kpu_freq", &python::JobOptions::kpu_freq)
        .def_readwrite("flash_lanes", &python::JobOptions::flash_lanes)
        .def_readwrite("model_address", &python::JobOptions::model_address)
        .def_readwrite("flash_ddr", &python::JobOptions::flash_ddr)
        .def_readwrite("ram_budget", &python::JobOptions::ram_budget)
        .def_readwrite("activation_rule", &python::JobOptions::activation_rule)
        .def_readwrite("arg_x_rule", &python::JobOptions::arg_x_rule)
        .def_readwrite("params_file", &python::JobOptions::params_file)
        .def_readwrite("sets", &python::JobOptions::sets)
        .def_readwrite("labels", &python::JobOptions::labels)
        .def_readwrite("top", &python::JobOptions::top)
        .def_readwrite("decode", &python::JobOptions::decode)
        .def_readwrite("anchors", &python::JobOptions::anchors)
        .def_readwrite("threshold", &python::JobOptions::threshold)
        .def_readwrite("nms", &python::JobOptions::nms)
        .def_readwrite("compute_outputs", &python::JobOptions::compute_outputs)
        .def_readwrite("input_description", &python::JobOptions::input_description)
        .def_readwrite("picture_width", &python::JobOptions::picture_width)
        .def_readwrite("picture_height", &python::JobOptions::picture_height);

    m.def("check_settings", [](const python::JobOptions& o) {
              std::vector<RunMode> modes;
              resolve_settings(o, &modes).validate();
          }, py::arg("options"), "Resolve and validate the run settings (raises as the CLI would).");

    m.def("run", [](const python::LoadedModel& x, const py::bytes& input, const python::JobOptions& o) {
              const python::JobResult r = python::run_job(x, to_bytes(input), o);
              py::list outputs;
              for (const OutputTensor& t : r.outputs)  // raw little-endian bytes; numpy arrays are made in Python
                  outputs.append(py::make_tuple(from_bytes(t.bytes), shape_tuple(t.shape), std::string(to_string(t.type))));
              py::list dets;
              for (const Detection& d : r.detections)
                  dets.append(py::make_tuple(d.class_id, d.label, d.score,
                                             py::make_tuple(d.box[0], d.box[1], d.box[2], d.box[3])));
              return py::make_tuple(outputs, r.report_json, dets, r.decode);
          }, py::arg("model"), py::arg("input"), py::arg("options"),
          "Run as `kpusim run`: ([(bytes, (N, C, H, W), dtype)], report JSON text, detections, decode).");

    m.def("sweep", [](const std::string& model, const std::string& input, const std::string& mode,
                      const std::string& source, const std::string& batch, const std::string& spi,
                      const std::string& ram_budget, const std::string& cpu, const std::string& kpu,
                      const std::string& lanes, const std::string& json_path) {
              SweepOptions o;
              o.model = model;
              o.input = input;
              o.mode = mode;
              o.source = source;
              o.batch_range = batch;
              o.spi_range = spi;
              o.ram_budget = ram_budget;
              o.cpu_freq = cpu;
              o.kpu_freq = kpu;
              o.flash_lanes = lanes;
              o.json = json_path;
              std::ostringstream text;
              sweep_command(o, text);
              return text.str();
          }, py::arg("model"), py::arg("input"), py::arg("mode"), py::arg("source"), py::arg("batch_size"),
          py::arg("spi_speed"), py::arg("ram_budget"), py::arg("cpu_freq"), py::arg("kpu_freq"),
          py::arg("flash_lanes"), py::arg("json_path"),
          "`kpusim sweep` with --json json_path; returns the table it prints.");

    m.def("annotate_png", [](const std::string& picture, const std::vector<py::tuple>& detections,
                             const std::string& out_png) {
              std::vector<Detection> dets;
              for (const py::tuple& t : detections) {
                  Detection d;
                  d.class_id = t[0].cast<uint32_t>();
                  d.label = t[1].cast<std::string>();
                  d.score = t[2].cast<float>();
                  const auto box = t[3].cast<std::vector<float>>();
                  if (box.size() != 4) throw InputError("a detection's box needs 4 values (x0, y0, x1, y1)");
                  for (int i = 0; i < 4; ++i) d.box[i] = box[i];
                  dets.push_back(d);
              }
              annotate_png(picture, dets, out_png);
          }, py::arg("picture"), py::arg("detections"), py::arg("out_png"),
          "Draw (class_id, label, score, (x0, y0, x1, y1)) detections on a picture file into a PNG.");
}
