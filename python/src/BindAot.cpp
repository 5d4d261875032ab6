// Ahead-of-time models from Python: compile a module into a shared object
// (what `cairn-compile --shared` writes: compileAot's object with the
// cairn_model_entry descriptor, linked by the system's `cc -shared`), and
// load and run such objects through the runtime's C API
// (runtime/capi/cairn.h), the same path a C or C++ server takes. The loader
// needs no compiler: it checks the object's ABI and CPU features, reads the
// programs and runs them.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "Arrays.h"
#include "Handles.h"
#include "compiler/codegen/Subprocess.h"
#include "compiler/codegen/cpu/CompileAot.h"
#include "ir/Verifier.h"
#include "runtime/capi/cairn.h"

namespace cairn::python {

namespace {

/// Throws CairnError with the status's message (and frees it).
void checkC(cairn_status* s) {
  if (!s) return;
  std::string message = cairn_status_message(s);
  cairn_status_free(s);
  throw CairnError(message);
}

cairn_dtype cDtype(DType d) {
  switch (d) {
  case DType::F32:
    return CAIRN_F32;
  case DType::F64:
    return CAIRN_F64;
  case DType::I32:
    return CAIRN_I32;
  case DType::I64:
    return CAIRN_I64;
  case DType::I1:
    return CAIRN_I1;
  default:
    throw nb::type_error(("cairn: a loaded AOT model takes f32, f64, i32, i64 and bool "
                          "arrays, not " +
                          std::string(dtypeName(d)))
                             .c_str());
  }
}

DType fromC(cairn_dtype d) {
  switch (d) {
  case CAIRN_F32:
    return DType::F32;
  case CAIRN_F64:
    return DType::F64;
  case CAIRN_I32:
    return DType::I32;
  case CAIRN_I64:
    return DType::I64;
  case CAIRN_I1:
    return DType::I1;
  }
  throw CairnError("the model returned a tensor of an unknown dtype");
}

/// A loaded model with one cached context (a call that finds it busy, on
/// another thread, uses a fresh one).
struct AotModel {
  cairn_model* model = nullptr;
  cairn_context* ctx = nullptr;
  std::mutex mu;
  ~AotModel() {
    if (ctx) cairn_context_free(ctx);
    if (model) cairn_model_free(model);
  }
};

nb::list signatureOf(size_t n, const cairn_value_info* infos) {
  nb::list out;
  for (size_t i = 0; i < n; ++i) {
    nb::list dims;
    for (int32_t k = 0; k < infos[i].rank; ++k)
      dims.append(infos[i].dims[k]);
    out.append(nb::make_tuple(std::string(dtypeName(fromC(infos[i].dtype))), dims));
  }
  return out;
}

nb::list run(AotModel& m, const std::string& name, const std::vector<InArray>& args) {
  size_t numArgs = 0, numResults = 0;
  const cairn_value_info *argInfo = nullptr, *resultInfo = nullptr;
  checkC(cairn_model_function_signature(m.model, name.c_str(), &numArgs, &argInfo, &numResults,
                                        &resultInfo));
  RunInputs in(args); // row-major arrays borrowed, not copied
  std::vector<std::vector<int64_t>> dims;
  std::vector<cairn_tensor> inputs;
  for (const Tensor& t : in.tensors()) {
    dims.emplace_back(t.shape().begin(), t.shape().end());
    inputs.push_back({cDtype(t.dtype()), static_cast<int32_t>(t.rank()), dims.back().data(),
                      const_cast<std::byte*>(t.rawData())}); // read only (copied in)
  }
  std::vector<cairn_tensor> outputs(numResults);
  std::vector<Tensor> results;
  cairn_status* status = nullptr;
  {
    nb::gil_scoped_release unlocked;
    std::unique_lock lock(m.mu, std::try_to_lock);
    cairn_context* fresh = lock.owns_lock() ? nullptr : cairn_context_new();
    cairn_context* ctx = fresh ? fresh : m.ctx;
    if (!ctx) {
      status = cairn_out_of_memory_status();
    } else {
      status = cairn_run(m.model, ctx, name.c_str(), inputs.data(), inputs.size(), outputs.data(),
                         outputs.size());
      // The outputs belong to the context until its next run: copy them now.
      for (size_t i = 0; !status && i < outputs.size(); ++i) {
        Shape shape(outputs[i].dims, outputs[i].dims + outputs[i].rank);
        Tensor t{TensorType(fromC(outputs[i].dtype), shape)};
        if (t.byteSize()) std::memcpy(t.rawData(), outputs[i].data, t.byteSize());
        results.push_back(std::move(t));
      }
    }
    if (fresh) cairn_context_free(fresh);
  }
  checkC(status);
  nb::list out;
  for (Tensor& t : results)
    out.append(arrayFromTensor(std::move(t)));
  return out;
}

} // namespace

void bindAot(nb::module_& m) {
  m.def(
      "compile_shared",
      [](const ModuleHandle& h, const std::string& path, const std::string& prefix,
         const std::string& cpu) {
        check(verify(*h.module));
        codegen::cpu::AotOptions o;
        o.prefix = prefix;
        o.cpu = cpu;
        o.sharedEntry = true;
        const std::string object = path + ".o";
        std::string header;
        Status done = Status::ok();
        {
          nb::gil_scoped_release unlocked;
          StatusOr<std::string> hdr = codegen::cpu::compileAot(*h.module, o, object);
          if (hdr.isOk()) {
            // LLVM writes objects; the system's linker makes the shared
            // object, as cairn-compile --shared does ($CC, else cc).
            const char* cc = std::getenv("CC");
            done = codegen::runCommand({cc && *cc ? cc : "cc", "-shared", "-o", path, object});
            header = std::move(*hdr);
          } else {
            done = hdr.status();
          }
          std::error_code ec;
          std::filesystem::remove(object, ec);
        }
        check(done);
        return header;
      },
      nb::arg("module"), nb::arg("path"), nb::arg("prefix") = "model",
      nb::arg("cpu") = "x86-64-v3");

  nb::class_<AotModel>(m, "AotModel")
      .def("functions",
           [](const AotModel& a) {
             std::vector<std::string> names;
             for (size_t i = 0; i < cairn_model_num_functions(a.model); ++i)
               names.push_back(cairn_model_function_name(a.model, i));
             return names;
           })
      .def("device", [](const AotModel& a) { return std::string(cairn_model_device(a.model)); })
      .def(
          "signature",
          [](const AotModel& a, const std::string& name) {
            size_t na = 0, nr = 0;
            const cairn_value_info *args = nullptr, *results = nullptr;
            checkC(
                cairn_model_function_signature(a.model, name.c_str(), &na, &args, &nr, &results));
            return nb::make_tuple(signatureOf(na, args), signatureOf(nr, results));
          },
          nb::arg("function"))
      .def("run", &run, nb::arg("function"), nb::arg("args"));

  m.def(
      "load_aot",
      [](const std::string& path) {
        auto a = std::make_unique<AotModel>();
        cairn_status* s = nullptr;
        {
          nb::gil_scoped_release unlocked;
          s = cairn_model_load_file(path.c_str(), &a->model);
          if (!s && !(a->ctx = cairn_context_new())) s = cairn_out_of_memory_status();
        }
        checkC(s);
        return a;
      },
      nb::arg("path"));
}

} // namespace cairn::python
