// The C API over exec::Executable (and device::DeviceExecutable for models
// compiled for CUDA: DeviceModel.h): statuses, tensors as views, and loading
// an AOT object's model (read the embedded module and its programs; no
// compiler code is linked: runtime/exec/ProgramFormat.h).
#include "runtime/capi/cairn.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/Npy.h"
#include "runtime/RunLimits.h"
#include "runtime/capi/CEnums.h"
#include "runtime/capi/DeviceModel.h"
#include "runtime/exec/Executable.h"
#include "runtime/exec/Gemm.h"
#include "runtime/exec/IsaFeatures.h"
#include "runtime/exec/ProgramFormat.h"
#include "runtime/reference/OpEval.h"

struct cairn_status {
  cairn_code code;
  std::string message;
};

/// A function's signature in C terms, its dims arrays owned here.
struct CSignature {
  std::vector<cairn_value_info> args, results;
  std::vector<std::vector<int64_t>> dims;
  std::string unsupported; ///< why it has no C signature (an f16 argument), or ""
  std::vector<std::string> argNames; ///< as the IR names them
};

struct cairn_model {
  /// A CUDA model's dlopen handle (a CPU model's Executable holds its own):
  /// the emulated entries live in it. First: freed after the executable.
  std::shared_ptr<const void> keepAlive;
  std::unique_ptr<cairn::exec::Executable> exe; ///< a CPU model; else:
  std::unique_ptr<cairn::device::DeviceExecutable> deviceExe; ///< a model compiled for CUDA
  std::shared_ptr<std::mutex> turn; ///< held by a run on deviceExe's device
  std::string deviceName = "cpu";
  /// Unique per load in the process (a freed model's address may be reused:
  /// a context's device state must never be taken for the new model's).
  uint64_t id = 0;
  std::vector<std::string> names;
  std::map<std::string, CSignature, std::less<>> signatures;
};

struct cairn_context {
  cairn::exec::ExecutionContext ctx;
  /// Made by the first run of a CUDA model; remade for another model (it
  /// holds one executable's uploaded constants and recorded loops).
  std::unique_ptr<cairn::device::DeviceContext> deviceCtx;
  uint64_t deviceModel = 0; ///< cairn_model::id of what deviceCtx holds
  std::vector<cairn::Tensor> results; // what the last run returned
  std::vector<std::vector<int64_t>> dims;
  std::atomic<bool> running{false}; // a second caller gets CAIRN_BUSY, not a race
};

struct cairn_cancel_token {
  std::atomic<bool> cancelled{false};
};

namespace {

using namespace cairn;
using capi::cDtypeOf;
using capi::dtypeOf;

/// The status returned when even a status cannot be allocated.
cairn_status gOutOfMemory{CAIRN_RESOURCE_EXHAUSTED, ""};

cairn_status* fail(cairn_code code, std::string message) {
  try {
    return new cairn_status{code, std::move(message)};
  } catch (...) {
    return &gOutOfMemory;
  }
}

cairn_status* fail(const Status& s, cairn_code otherwise) {
  return fail(capi::cCodeOf(s, otherwise), s.message());
}

/// Runs an API function's body; no C++ exception may cross into C.
template <typename F> cairn_status* guarded(const char* function, F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(CAIRN_RESOURCE_EXHAUSTED, fmt::format("{}: out of memory", function));
  } catch (const std::length_error& e) {
    return fail(CAIRN_RESOURCE_EXHAUSTED, fmt::format("{}: a size is too large ({})", function, e.what()));
  } catch (const std::exception& e) {
    return fail(CAIRN_RUNTIME_ERROR, fmt::format("{}: internal exception: {}", function, e.what()));
  } catch (...) {
    return fail(CAIRN_RUNTIME_ERROR, fmt::format("{}: internal exception", function));
  }
}

/// Why C tensor `t` does not fit `want` (dtype, rank, static dims), or "".
/// Malformed tensors (bad rank, no dims) are left to fromC to name.
std::string signatureMismatch(const cairn_tensor& t, const TensorType& want) {
  StatusOr<DType> d = dtypeOf(t.dtype);
  if (!d.isOk() || t.rank < 0 || t.rank > 32 || (t.rank > 0 && !t.dims)) return "";
  return interp::typeMismatch(want, TensorType(*d, Shape(t.dims, t.dims + t.rank)));
}

/// A copy of a C tensor (the executor borrows Tensors; a C tensor is a view).
StatusOr<Tensor> fromC(const cairn_tensor& t, size_t index) {
  CAIRN_ASSIGN_OR_RETURN(DType d, dtypeOf(t.dtype));
  if (t.rank < 0 || t.rank > 32 || (t.rank > 0 && !t.dims))
    return errorf("input #{} has an invalid rank {} or no dims", index, t.rank);
  Shape shape(t.dims, t.dims + t.rank);
  for (int64_t x : shape)
    if (x < 0) return errorf("input #{} has a negative dim {}", index, x);
  // The byte size, not only the element count, must fit (x8 for i64).
  StatusOr<int64_t> bytes = checkRunTimeSize(shape, d);
  if (!bytes.isOk()) return bytes.status().withMessage(fmt::format("input #{}: {}", index, bytes.status().message()));
  if (*bytes > 0 && !t.data) return errorf("input #{} has no data", index);
  // The caller's memory is valid for the call and is only read (Tensor's
  // borrowed mode): no copy, unless it is not aligned to its element size.
  if (*bytes == 0) return Tensor(TensorType(d, std::move(shape)));
  return Tensor::borrowOrCopy(TensorType(d, std::move(shape)), static_cast<const std::byte*>(t.data));
}

/// The C form of a program's signature; argument names from `f`.
CSignature signatureOf(const exec::LoweredFunction& p, const Function* f) {
  CSignature sig;
  for (size_t i = 0; i < p.argTypes.size(); ++i)
    sig.argNames.push_back(f && i < f->body().numArguments() ? f->body().argument(i)->name : "");
  auto add = [&](std::vector<cairn_value_info>& out, const std::vector<TensorType>& types,
                 const char* what) {
    for (size_t i = 0; i < types.size(); ++i) {
      StatusOr<cairn_dtype> d = cDtypeOf(types[i].dtype);
      if (!d.isOk() && sig.unsupported.empty())
        sig.unsupported = fmt::format("{} #{}: {}", what, i, d.status().message());
      sig.dims.emplace_back(types[i].shape.begin(), types[i].shape.end()); // kDynamic is -1
      out.push_back(cairn_value_info{d.isOk() ? *d : CAIRN_F32,
                                     static_cast<int32_t>(types[i].rank()), nullptr});
    }
  };
  add(sig.args, p.argTypes, "argument");
  add(sig.results, p.resultTypes, "result");
  // Pointers last: `dims` no longer grows.
  size_t k = 0;
  for (cairn_value_info& v : sig.args)
    v.dims = sig.dims[k++].data();
  for (cairn_value_info& v : sig.results)
    v.dims = sig.dims[k++].data();
  return sig;
}

/// The run's limits from C options (null: none).
StatusOr<exec::ExecOptions> execOptionsOf(const cairn_run_options* o) {
  exec::ExecOptions opts;
  opts.adjustBlasThreads = false; // a run changes no process-wide state
  if (!o) return opts;
  // The first header's struct ended at max_loop_trips; fields added since
  // are read only when the caller's struct has them.
  constexpr size_t kFirstSize = offsetof(cairn_run_options, max_loop_trips) + sizeof(int64_t);
  auto has = [&](size_t offset, size_t size) { return o->struct_size >= offset + size; };
  if (o->struct_size < kFirstSize)
    return errorf("cairn_run_options.struct_size is {}, expected at least {} (set it to "
                  "sizeof(cairn_run_options), {} in this release)",
                  o->struct_size, kFirstSize, sizeof(cairn_run_options));
  if (o->timeout_ns < 0 || o->max_bytes < 0 || o->max_loop_trips < 0)
    return errorf("cairn_run_options: timeout_ns, max_bytes and max_loop_trips must be >= 0");
  opts.limits = opts.limits.withTimeout(std::chrono::nanoseconds(o->timeout_ns));
  if (o->cancel) opts.limits.cancel = &o->cancel->cancelled;
  opts.limits.maxBytes = o->max_bytes;
  opts.defaultMaxTrip = o->max_loop_trips;
  if (has(offsetof(cairn_run_options, one_thread), sizeof(int32_t)) && o->one_thread != 0)
    opts.parallel = false;
  return opts;
}

/// A run of a CUDA model: on the context's device state (made, or remade
/// for another model, here), in the device's turn.
StatusOr<std::vector<Tensor>> runOnDevice(const cairn_model& m, cairn_context& ctx,
                                          const char* name, const std::vector<Tensor>& ins,
                                          const exec::ExecOptions& opts) {
  device::DeviceRunOptions options;
  options.limits = opts.limits;
  options.defaultMaxTrip = opts.defaultMaxTrip;
  std::lock_guard<std::mutex> turn(*m.turn);
  if (!ctx.deviceCtx || ctx.deviceModel != m.id) {
    ctx.deviceCtx.reset(); // its device memory back first
    ctx.deviceCtx = std::make_unique<device::DeviceContext>();
    ctx.deviceModel = m.id;
  }
  return m.deviceExe->run(name, ins, *ctx.deviceCtx, options);
}

/// Loads `aot`; `keepAlive` owns the code it points into (a dlopen handle).
cairn_status* loadAot(const char* function, const cairn_aot_model* aot,
                      std::shared_ptr<const void> keepAlive, cairn_model** out) {
  if (!aot || !out) return fail(CAIRN_INVALID_ARGUMENT, fmt::format("{}: null argument", function));
  *out = nullptr;
  return guarded(function, [&]() -> cairn_status* {
    if (aot->abi_version != CAIRN_AOT_ABI_VERSION)
      return fail(CAIRN_CORRUPT_MODEL,
                  fmt::format("model object has ABI version {}, this runtime reads version {}: "
                              "recompile it with this release's cairn-compile",
                              aot->abi_version, CAIRN_AOT_ABI_VERSION));
    if (!aot->module_text || (aot->num_kernels && !aot->kernel_fingerprints) ||
        (aot->num_kernels && !aot->device && !aot->kernels))
      return fail(CAIRN_CORRUPT_MODEL, "model object lacks its program or kernel table");
    // A CUDA model's host code runs only on the emulated device.
    capi::ModelDevice device;
    if (aot->device) {
      StatusOr<capi::ModelDevice> d = capi::modelDevice();
      if (!d.isOk()) return fail(CAIRN_UNSUPPORTED_HOST, d.status().message());
      device = *d;
    }
    std::string missing = exec::missingIsaFeatures(aot->target_features ? aot->target_features : "");
    if (!missing.empty() && (!aot->device || device.device->isEmulated()))
      return fail(CAIRN_UNSUPPORTED_HOST,
                  fmt::format("model was compiled for CPU '{}', and this host lacks {}: recompile "
                              "with cairn-compile --cpu for this host",
                              aot->target_cpu ? aot->target_cpu : "?", missing));
    StatusOr<std::unique_ptr<Module>> m =
        parseModule(std::string_view(aot->module_text, aot->module_size), "<aot model>");
    if (!m.isOk())
      return fail(CAIRN_CORRUPT_MODEL, "model program does not parse: " + m.status().message());
    if (Status v = verify(**m); !v.isOk())
      return fail(CAIRN_CORRUPT_MODEL, "model program does not verify: " + v.message());
    if (!aot->program_data)
      return fail(CAIRN_CORRUPT_MODEL, "model object lacks its program data");
    StatusOr<exec::LoweredFunctions> programs = exec::readPrograms(
        std::string_view(aot->program_data, aot->program_size), **m, aot->num_kernels);
    if (!programs.isOk())
      return fail(CAIRN_CORRUPT_MODEL, "model object's programs: " + programs.status().message());
    auto model = std::make_unique<cairn_model>();
    for (const auto& f : (*m)->functions())
      model->names.push_back(f->name);
    for (const auto& [name, p] : *programs)
      model->signatures.emplace(name, signatureOf(p, (*m)->lookup(name)));
    if (aot->device) {
      StatusOr<std::unique_ptr<device::DeviceExecutable>> exe =
          capi::loadDeviceModel(*aot, std::move(*m), std::move(*programs), device.device);
      if (!exe.isOk()) return fail(CAIRN_CORRUPT_MODEL, exe.status().message());
      model->deviceExe = std::move(*exe);
      model->turn = device.turn;
      model->deviceName = device.device->isEmulated() ? "emulated" : device.device->name();
      model->keepAlive = std::move(keepAlive);
      static std::atomic<uint64_t> nextId{1};
      model->id = nextId++;
      *out = model.release();
      return nullptr;
    }
    for (uint64_t k = 0; k < aot->num_kernels; ++k)
      if (!aot->kernels[k])
        return fail(CAIRN_CORRUPT_MODEL, fmt::format("model object's kernel #{} is null", k));
    std::vector<exec::KernelFn> fns(aot->kernels, aot->kernels + aot->num_kernels);
    model->exe =
        std::make_unique<exec::Executable>(std::move(*m), std::move(*programs), std::move(fns),
                                           std::move(keepAlive));
    *out = model.release();
    return nullptr;
  });
}

/// dlopen's `path` (named `shown` in errors) and loads its model entry.
cairn_status* loadSharedObject(const char* path, const char* shown, cairn_model** out) {
  // A file name, never a library search: dlopen reads "model.so" (no slash)
  // as a library name to look up in the system's paths.
  std::string file = std::strchr(path, '/') ? std::string(path) : "./" + std::string(path);
  // Local: two models' symbols never mix; NOW: a missing symbol fails here.
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    return fail(CAIRN_CORRUPT_MODEL,
                fmt::format("cannot load model '{}': {}", shown, e ? e : "dlopen failed"));
  }
  std::shared_ptr<const void> keep(handle, [](const void* h) { ::dlclose(const_cast<void*>(h)); });
  auto* aot = static_cast<const cairn_aot_model*>(::dlsym(handle, CAIRN_MODEL_ENTRY_SYMBOL));
  if (!aot)
    return fail(CAIRN_CORRUPT_MODEL,
                fmt::format("'{}' is a shared object without a Cairn model (no {} symbol: "
                            "compile it with cairn-compile --shared)",
                            shown, CAIRN_MODEL_ENTRY_SYMBOL));
  return loadAot("cairn_model_load_file", aot, std::move(keep), out);
}

} // namespace

extern "C" {

cairn_code cairn_status_code(const cairn_status* s) { return s ? s->code : CAIRN_OK; }
const char* cairn_status_message(const cairn_status* s) {
  if (s == &gOutOfMemory) return "out of memory (even for the error message)";
  return s ? s->message.c_str() : "";
}
void cairn_status_free(cairn_status* s) {
  if (s != &gOutOfMemory) delete s;
}
cairn_status* cairn_out_of_memory_status(void) { return &gOutOfMemory; }

cairn_status* cairn_model_load_aot(const cairn_aot_model* aot, cairn_model** out) {
  return loadAot("cairn_model_load_aot", aot, nullptr, out);
}

cairn_status* cairn_model_load_file(const char* path, cairn_model** out) {
  if (!path || !out) return fail(CAIRN_INVALID_ARGUMENT, "cairn_model_load_file: null argument");
  *out = nullptr;
  return guarded("cairn_model_load_file", [&]() -> cairn_status* {
    return loadSharedObject(path, path, out);
  });
}

cairn_status* cairn_model_load_memory(const void* data, size_t size, cairn_model** out) {
  if (!data || !out) return fail(CAIRN_INVALID_ARGUMENT, "cairn_model_load_memory: null argument");
  *out = nullptr;
  return guarded("cairn_model_load_memory", [&]() -> cairn_status* {
#if defined(__linux__)
    // dlopen reads files: an anonymous memory file is one without a disk.
    int fd = static_cast<int>(::syscall(SYS_memfd_create, "cairn-model", 0u));
    if (fd < 0)
      return fail(CAIRN_RUNTIME_ERROR, fmt::format("cairn_model_load_memory: memfd_create: {}",
                                                   std::strerror(errno)));
    struct Close {
      int fd;
      ~Close() { ::close(fd); }
    } closer{fd};
    const char* p = static_cast<const char*>(data);
    for (size_t done = 0; done < size;) {
      ssize_t n = ::write(fd, p + done, size - done);
      if (n <= 0)
        return fail(CAIRN_RUNTIME_ERROR, fmt::format("cairn_model_load_memory: write: {}",
                                                     std::strerror(errno)));
      done += static_cast<size_t>(n);
    }
    std::string path = fmt::format("/proc/self/fd/{}", fd);
    return loadSharedObject(path.c_str(), "<model in memory>", out);
#else
    (void)size;
    return fail(CAIRN_UNSUPPORTED_HOST, "cairn_model_load_memory needs Linux (memfd)");
#endif
  });
}

void cairn_model_free(cairn_model* m) { delete m; }

const char* cairn_model_device(const cairn_model* m) { return m ? m->deviceName.c_str() : ""; }

size_t cairn_model_num_functions(const cairn_model* m) { return m ? m->names.size() : 0; }

const char* cairn_model_function_name(const cairn_model* m, size_t i) {
  return m && i < m->names.size() ? m->names[i].c_str() : nullptr;
}

cairn_status* cairn_model_function_signature(const cairn_model* m, const char* name,
                                             size_t* num_args, const cairn_value_info** args,
                                             size_t* num_results,
                                             const cairn_value_info** results) {
  if (!m || !name || !num_args || !args || !num_results || !results)
    return fail(CAIRN_INVALID_ARGUMENT, "cairn_model_function_signature: null argument");
  auto it = m->signatures.find(std::string_view(name));
  if (it == m->signatures.end())
    return fail(CAIRN_NOT_FOUND, fmt::format("model has no function '{}'", name));
  const CSignature& sig = it->second;
  if (!sig.unsupported.empty())
    return fail(CAIRN_INVALID_ARGUMENT,
                fmt::format("function '{}' has no C signature: {}", name, sig.unsupported));
  *num_args = sig.args.size();
  *args = sig.args.data();
  *num_results = sig.results.size();
  *results = sig.results.data();
  return nullptr;
}

const char* cairn_model_function_arg_name(const cairn_model* m, const char* name, size_t i) {
  if (!m || !name) return nullptr;
  auto it = m->signatures.find(std::string_view(name));
  if (it == m->signatures.end() || i >= it->second.argNames.size()) return nullptr;
  return it->second.argNames[i].c_str();
}

cairn_context* cairn_context_new(void) { return new (std::nothrow) cairn_context(); }
void cairn_context_free(cairn_context* ctx) { delete ctx; }

cairn_cancel_token* cairn_cancel_token_new(void) { return new (std::nothrow) cairn_cancel_token(); }
void cairn_cancel(cairn_cancel_token* token) {
  if (token) token->cancelled.store(true, std::memory_order_relaxed);
}
void cairn_cancel_token_free(cairn_cancel_token* token) { delete token; }

cairn_status* cairn_run_with_options(const cairn_model* m, cairn_context* ctx, const char* name,
                                     const cairn_tensor* inputs, size_t num_inputs,
                                     cairn_tensor* outputs, size_t num_outputs,
                                     const cairn_run_options* options) {
  if (!m || !ctx || !name || (num_inputs && !inputs) || (num_outputs && !outputs))
    return fail(CAIRN_INVALID_ARGUMENT, "cairn_run: null argument");
  // Before anything touches the context: its results belong to the other run.
  if (ctx->running.exchange(true, std::memory_order_acquire))
    return fail(CAIRN_BUSY, fmt::format("cairn_run '{}': the context is running another call; "
                                        "a context serves one run at a time (give each thread "
                                        "its own)",
                                        name));
  struct Done {
    std::atomic<bool>& running;
    ~Done() { running.store(false, std::memory_order_release); }
  } done{ctx->running};
  return guarded("cairn_run", [&]() -> cairn_status* {
    StatusOr<exec::ExecOptions> opts = execOptionsOf(options);
    if (!opts.isOk()) return fail(CAIRN_INVALID_ARGUMENT, opts.status().message());
    const exec::LoweredFunction* p = m->exe ? m->exe->program(name) : m->deviceExe->program(name);
    if (!p) return fail(CAIRN_NOT_FOUND, fmt::format("model has no function '{}'", name));
    if (num_outputs != p->resultTypes.size())
      return fail(CAIRN_INVALID_ARGUMENT,
                  fmt::format("function '{}' has {} results, {} outputs given", name,
                              p->resultTypes.size(), num_outputs));
    std::vector<Tensor> ins;
    int64_t inputBytes = 0;
    if (num_inputs != p->argTypes.size())
      return fail(CAIRN_INVALID_ARGUMENT, fmt::format("function '{}' takes {} input(s), {} given",
                                                      name, p->argTypes.size(), num_inputs));
    for (size_t i = 0; i < num_inputs; ++i) {
      // The signature first, from the C struct: a tensor of the wrong shape
      // is refused before its data (perhaps a smaller buffer) is read.
      if (std::string m = signatureMismatch(inputs[i], p->argTypes[i]); !m.empty())
        return fail(CAIRN_INVALID_ARGUMENT, fmt::format("'{}': input #{}: {}", name, i, m));
      StatusOr<Tensor> t = fromC(inputs[i], i);
      if (!t.isOk())
        return fail(t.status().withMessage(fmt::format("'{}': {}", name, t.status().message())),
                    CAIRN_INVALID_ARGUMENT);
      inputBytes += static_cast<int64_t>(t->byteSize());
      ins.push_back(std::move(t).value());
    }
    // The inputs count against the cap, borrowed or copied: it bounds what
    // one run holds, and the caller's buffers are part of that.
    if (opts->limits.maxBytes > 0 && inputBytes > opts->limits.maxBytes)
      return fail(CAIRN_RESOURCE_EXHAUSTED,
                  fmt::format("'{}': the inputs hold {} bytes, over the run's memory cap of {}",
                              name, inputBytes, opts->limits.maxBytes));
    if (opts->limits.maxBytes > 0) opts->limits.maxBytes -= inputBytes;
    // The signature is the caller's mistake; anything later happened running.
    if (Status s = exec::checkArguments(*p, ins); !s.isOk())
      return fail(CAIRN_INVALID_ARGUMENT, s.message());
    StatusOr<std::vector<Tensor>> r = m->exe ? m->exe->run(name, ins, ctx->ctx, *opts)
                                             : runOnDevice(*m, *ctx, name, ins, *opts);
    if (!r.isOk()) return fail(r.status(), CAIRN_RUNTIME_ERROR);
    std::vector<cairn_dtype> dtypes; // all converted before any output is written
    for (const Tensor& t : *r) {
      StatusOr<cairn_dtype> d = cDtypeOf(t.dtype());
      if (!d.isOk()) return fail(CAIRN_RUNTIME_ERROR, d.status().message());
      dtypes.push_back(*d);
    }
    ctx->results = std::move(r).value();
    ctx->dims.clear();
    for (const Tensor& t : ctx->results)
      ctx->dims.emplace_back(t.shape().begin(), t.shape().end());
    for (size_t i = 0; i < num_outputs; ++i)
      outputs[i] = cairn_tensor{dtypes[i], static_cast<int32_t>(ctx->results[i].rank()),
                                ctx->dims[i].data(), ctx->results[i].rawData()};
    return nullptr;
  });
}

cairn_status* cairn_run(const cairn_model* m, cairn_context* ctx, const char* name,
                        const cairn_tensor* inputs, size_t num_inputs, cairn_tensor* outputs,
                        size_t num_outputs) {
  return cairn_run_with_options(m, ctx, name, inputs, num_inputs, outputs, num_outputs, nullptr);
}

cairn_status* cairn_tensor_load_npy(const char* path, cairn_tensor* out) {
  if (!path || !out) return fail(CAIRN_INVALID_ARGUMENT, "cairn_tensor_load_npy: null argument");
  return guarded("cairn_tensor_load_npy", [&]() -> cairn_status* {
    StatusOr<Tensor> t = readNpy(path);
    if (!t.isOk()) return fail(t.status(), CAIRN_INVALID_ARGUMENT);
    StatusOr<cairn_dtype> d = cDtypeOf(t->dtype());
    if (!d.isOk())
      return fail(CAIRN_INVALID_ARGUMENT, fmt::format("{}: {}", path, d.status().message()));
    std::unique_ptr<int64_t[]> dims(new int64_t[std::max<size_t>(t->rank(), 1)]);
    for (int64_t i = 0; i < t->rank(); ++i)
      dims[i] = t->shape()[static_cast<size_t>(i)];
    void* data = std::malloc(std::max<size_t>(t->byteSize(), 1));
    if (!data) return fail(CAIRN_RESOURCE_EXHAUSTED, fmt::format("{}: out of memory", path));
    if (t->byteSize()) std::memcpy(data, t->rawData(), t->byteSize());
    *out = cairn_tensor{*d, static_cast<int32_t>(t->rank()), dims.release(), data};
    return nullptr;
  });
}

cairn_status* cairn_tensor_save_npy(const char* path, const cairn_tensor* t) {
  if (!path || !t) return fail(CAIRN_INVALID_ARGUMENT, "cairn_tensor_save_npy: null argument");
  return guarded("cairn_tensor_save_npy", [&]() -> cairn_status* {
    StatusOr<Tensor> copy = fromC(*t, 0);
    if (!copy.isOk()) return fail(copy.status(), CAIRN_INVALID_ARGUMENT);
    if (Status s = writeNpy(path, *copy); !s.isOk()) return fail(s, CAIRN_INVALID_ARGUMENT);
    return nullptr;
  });
}

int cairn_blas_threads(void) { return exec::blasThreads(); }
void cairn_set_blas_threads(int n) {
  if (n >= 1) exec::setBlasThreads(n);
}

void cairn_tensor_free(cairn_tensor* t) {
  if (!t) return;
  delete[] t->dims;
  std::free(t->data);
  t->dims = nullptr;
  t->data = nullptr;
}

} // extern "C"
