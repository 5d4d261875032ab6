// The C API over exec::Executable: statuses, tensors as views, and loading
// an AOT object's model (parse the embedded module, lower it exactly as
// cairn-compile did, bind each kernel by fingerprint).
#include "runtime/capi/cairn.h"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "compiler/program/BuildProgram.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/Npy.h"
#include "runtime/exec/Executable.h"

struct cairn_status {
  cairn_code code;
  std::string message;
};

struct cairn_model {
  std::unique_ptr<cairn::exec::Executable> exe;
  std::vector<std::string> names;
};

struct cairn_context {
  cairn::exec::ExecutionContext ctx;
  std::vector<cairn::Tensor> results; // what the last run returned
  std::vector<std::vector<int64_t>> dims;
};

namespace {

using namespace cairn;

cairn_status* fail(cairn_code code, std::string message) {
  return new cairn_status{code, std::move(message)};
}

StatusOr<DType> dtypeOf(cairn_dtype d) {
  switch (d) {
  case CAIRN_F32: return DType::F32;
  case CAIRN_F64: return DType::F64;
  case CAIRN_I32: return DType::I32;
  case CAIRN_I64: return DType::I64;
  case CAIRN_I1: return DType::I1;
  }
  return errorf("unknown cairn_dtype {}", static_cast<int>(d));
}

StatusOr<cairn_dtype> cDtypeOf(DType d) {
  switch (d) {
  case DType::F32: return CAIRN_F32;
  case DType::F64: return CAIRN_F64;
  case DType::I32: return CAIRN_I32;
  case DType::I64: return CAIRN_I64;
  case DType::I1: return CAIRN_I1;
  default: break;
  }
  return errorf("dtype {} has no C API equivalent", dtypeName(d));
}

/// A copy of a C tensor (the executor borrows Tensors; a C tensor is a view).
StatusOr<Tensor> fromC(const cairn_tensor& t, size_t index) {
  CAIRN_ASSIGN_OR_RETURN(DType d, dtypeOf(t.dtype));
  if (t.rank < 0 || t.rank > 32 || (t.rank > 0 && !t.dims))
    return errorf("input #{} has an invalid rank {} or no dims", index, t.rank);
  Shape shape(t.dims, t.dims + t.rank);
  int64_t n = 1;
  for (int64_t x : shape) {
    if (x < 0 || __builtin_mul_overflow(n, x, &n))
      return errorf("input #{} has an invalid dim {}", index, x);
  }
  Tensor out(TensorType(d, shape));
  if (out.byteSize() > 0) {
    if (!t.data) return errorf("input #{} has no data", index);
    std::memcpy(out.rawData(), t.data, out.byteSize());
  }
  return out;
}

/// Where an AOT object's kernels come from: its table, by fingerprint.
class AotKernels : public codegen::KernelSource {
public:
  explicit AotKernels(const cairn_aot_model& aot) {
    for (uint64_t k = 0; k < aot.num_kernels; ++k)
      byFingerprint_.emplace(aot.kernel_fingerprints[k], static_cast<int32_t>(k));
    used_.assign(aot.num_kernels, false);
  }
  int32_t add(const codegen::KernelDesc& k) override {
    auto it = byFingerprint_.find(codegen::kernelFingerprint(k));
    if (it == byFingerprint_.end()) return -1;
    used_[static_cast<size_t>(it->second)] = true;
    return it->second;
  }
  /// The first kernel of the table the program never asked for, or -1.
  int64_t firstUnused() const {
    for (size_t k = 0; k < used_.size(); ++k)
      if (!used_[k]) return static_cast<int64_t>(k);
    return -1;
  }

private:
  std::map<uint64_t, int32_t> byFingerprint_;
  std::vector<bool> used_;
};

/// The x86 features of `features` ("+avx2,+fma,...") this host lacks.
std::string missingFeatures(const char* features) {
  std::string missing;
#if defined(__x86_64__)
  // Delimited on both sides, so "+avx" does not match "+avx2".
  const std::string f = "," + std::string(features ? features : "") + ",";
  auto needs = [&](const char* name) {
    return f.find(std::string(",+") + name + ",") != std::string::npos;
  };
  __builtin_cpu_init();
#define CAIRN_CHECK_FEATURE(name)                                                                  \
  if (needs(name) && !__builtin_cpu_supports(name)) missing += std::string(missing.empty() ? "" : ", ") + name;
  CAIRN_CHECK_FEATURE("avx")
  CAIRN_CHECK_FEATURE("avx2")
  CAIRN_CHECK_FEATURE("fma")
  CAIRN_CHECK_FEATURE("bmi2")
  CAIRN_CHECK_FEATURE("avx512f")
  CAIRN_CHECK_FEATURE("avx512bw")
  CAIRN_CHECK_FEATURE("avx512vl")
#undef CAIRN_CHECK_FEATURE
#endif
  return missing;
}

} // namespace

extern "C" {

cairn_code cairn_status_code(const cairn_status* s) { return s ? s->code : CAIRN_OK; }
const char* cairn_status_message(const cairn_status* s) { return s ? s->message.c_str() : ""; }
void cairn_status_free(cairn_status* s) { delete s; }

cairn_status* cairn_model_load_aot(const cairn_aot_model* aot, cairn_model** out) {
  if (!aot || !out) return fail(CAIRN_INVALID_ARGUMENT, "cairn_model_load_aot: null argument");
  *out = nullptr;
  if (aot->abi_version != CAIRN_AOT_ABI_VERSION)
    return fail(CAIRN_CORRUPT_MODEL,
                fmt::format("model object has ABI version {}, this runtime reads version {}: "
                            "recompile it with this release's cairn-compile",
                            aot->abi_version, CAIRN_AOT_ABI_VERSION));
  if (!aot->module_text || (aot->num_kernels && (!aot->kernels || !aot->kernel_fingerprints)))
    return fail(CAIRN_CORRUPT_MODEL, "model object lacks its program or kernel table");
  std::string missing = missingFeatures(aot->target_features);
  if (!missing.empty())
    return fail(CAIRN_UNSUPPORTED_HOST,
                fmt::format("model was compiled for CPU '{}', and this host lacks {}: recompile "
                            "with cairn-compile --cpu for this host",
                            aot->target_cpu ? aot->target_cpu : "?", missing));
  StatusOr<std::unique_ptr<Module>> m =
      parseModule(std::string_view(aot->module_text, aot->module_size), "<aot model>");
  if (!m.isOk()) return fail(CAIRN_CORRUPT_MODEL, "model program does not parse: " + m.status().message());
  if (Status v = verify(**m); !v.isOk())
    return fail(CAIRN_CORRUPT_MODEL, "model program does not verify: " + v.message());
  AotKernels kernels(*aot);
  StatusOr<codegen::Programs> programs = codegen::buildPrograms(**m, {}, &kernels);
  if (!programs.isOk()) return fail(CAIRN_CORRUPT_MODEL, programs.status().message());
  if (int64_t k = kernels.firstUnused(); k >= 0)
    return fail(CAIRN_CORRUPT_MODEL,
                fmt::format("model object's kernel #{} matches nothing in its program: the "
                            "object was built by another version of cairn-compile",
                            k));
  std::vector<exec::KernelFn> fns(aot->kernels, aot->kernels + aot->num_kernels);
  auto model = std::make_unique<cairn_model>();
  for (const auto& f : (*m)->functions())
    model->names.push_back(f->name);
  model->exe = std::make_unique<exec::Executable>(std::move(*m), std::move(*programs), std::move(fns));
  *out = model.release();
  return nullptr;
}

void cairn_model_free(cairn_model* m) { delete m; }

size_t cairn_model_num_functions(const cairn_model* m) { return m ? m->names.size() : 0; }

const char* cairn_model_function_name(const cairn_model* m, size_t i) {
  return m && i < m->names.size() ? m->names[i].c_str() : nullptr;
}

cairn_context* cairn_context_new(void) { return new cairn_context(); }
void cairn_context_free(cairn_context* ctx) { delete ctx; }

cairn_status* cairn_run(const cairn_model* m, cairn_context* ctx, const char* name,
                        const cairn_tensor* inputs, size_t num_inputs, cairn_tensor* outputs,
                        size_t num_outputs) {
  if (!m || !ctx || !name || (num_inputs && !inputs) || (num_outputs && !outputs))
    return fail(CAIRN_INVALID_ARGUMENT, "cairn_run: null argument");
  const exec::Program* p = m->exe->program(name);
  if (!p) return fail(CAIRN_NOT_FOUND, fmt::format("model has no function '{}'", name));
  if (num_outputs != p->resultTypes.size())
    return fail(CAIRN_INVALID_ARGUMENT, fmt::format("function '{}' has {} results, {} outputs given",
                                                    name, p->resultTypes.size(), num_outputs));
  std::vector<Tensor> ins;
  for (size_t i = 0; i < num_inputs; ++i) {
    StatusOr<Tensor> t = fromC(inputs[i], i);
    if (!t.isOk()) return fail(CAIRN_INVALID_ARGUMENT, fmt::format("'{}': {}", name, t.status().message()));
    ins.push_back(std::move(t).value());
  }
  // The signature is the caller's mistake; anything later happened running.
  if (Status s = exec::checkArguments(*p, ins); !s.isOk())
    return fail(CAIRN_INVALID_ARGUMENT, s.message());
  StatusOr<std::vector<Tensor>> r = m->exe->run(name, ins, ctx->ctx);
  if (!r.isOk()) return fail(CAIRN_RUNTIME_ERROR, r.status().message());
  ctx->results = std::move(r).value();
  ctx->dims.clear();
  std::vector<cairn_dtype> dtypes; // all converted before any output is written
  for (size_t i = 0; i < num_outputs; ++i) {
    const Tensor& t = ctx->results[i];
    StatusOr<cairn_dtype> d = cDtypeOf(t.dtype());
    if (!d.isOk()) return fail(CAIRN_RUNTIME_ERROR, d.status().message());
    dtypes.push_back(*d);
    ctx->dims.emplace_back(t.shape().begin(), t.shape().end());
  }
  for (size_t i = 0; i < num_outputs; ++i)
    outputs[i] = cairn_tensor{dtypes[i], static_cast<int32_t>(ctx->results[i].rank()),
                              ctx->dims[i].data(), ctx->results[i].rawData()};
  return nullptr;
}

cairn_status* cairn_tensor_load_npy(const char* path, cairn_tensor* out) {
  if (!path || !out) return fail(CAIRN_INVALID_ARGUMENT, "cairn_tensor_load_npy: null argument");
  StatusOr<Tensor> t = readNpy(path);
  if (!t.isOk()) return fail(CAIRN_INVALID_ARGUMENT, t.status().message());
  StatusOr<cairn_dtype> d = cDtypeOf(t->dtype());
  if (!d.isOk()) return fail(CAIRN_INVALID_ARGUMENT, fmt::format("{}: {}", path, d.status().message()));
  auto* dims = new int64_t[std::max<size_t>(t->rank(), 1)];
  for (int64_t i = 0; i < t->rank(); ++i)
    dims[i] = t->shape()[static_cast<size_t>(i)];
  void* data = std::malloc(std::max<size_t>(t->byteSize(), 1));
  if (t->byteSize()) std::memcpy(data, t->rawData(), t->byteSize());
  *out = cairn_tensor{*d, static_cast<int32_t>(t->rank()), dims, data};
  return nullptr;
}

cairn_status* cairn_tensor_save_npy(const char* path, const cairn_tensor* t) {
  if (!path || !t) return fail(CAIRN_INVALID_ARGUMENT, "cairn_tensor_save_npy: null argument");
  StatusOr<Tensor> copy = fromC(*t, 0);
  if (!copy.isOk()) return fail(CAIRN_INVALID_ARGUMENT, copy.status().message());
  if (Status s = writeNpy(path, *copy); !s.isOk()) return fail(CAIRN_INVALID_ARGUMENT, s.message());
  return nullptr;
}

void cairn_tensor_free(cairn_tensor* t) {
  if (!t) return;
  delete[] t->dims;
  std::free(t->data);
  t->dims = nullptr;
  t->data = nullptr;
}

} // extern "C"
