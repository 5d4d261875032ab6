#include "ServedModel.h"

#include "RunThreads.h"

#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "compiler/codegen/cpu/CompileExecutable.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/ReadFile.h"
#include "runtime/capi/CEnums.h"
#include "runtime/capi/cairn.h"
#include "runtime/exec/Executable.h"

namespace cairn::serve {

namespace {

/// Contexts for the requests in flight: taken, used by one run, given back.
template <typename Context, typename Make, typename Free> class ContextPool {
public:
  ContextPool(Make make, Free free) : make_(make), free_(free) {}
  ~ContextPool() {
    for (Context* c : idle_) free_(c);
  }
  Context* take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        Context* c = idle_.back();
        idle_.pop_back();
        return c;
      }
    }
    return make_();
  }
  void give(Context* c) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(c);
  }

private:
  Make make_;
  Free free_;
  std::mutex mutex_;
  std::vector<Context*> idle_;
};

// --- through the C API -----------------------------------------------------

using capi::cDtypeOf;
using capi::dtypeOf;

class AotModel : public ServedModel {
public:
  static StatusOr<std::unique_ptr<ServedModel>> load(const std::string& path) {
    cairn_model* m = nullptr;
    if (cairn_status* s = cairn_model_load_file(path.c_str(), &m)) {
      std::string message = cairn_status_message(s);
      cairn_status_free(s);
      return Status::error(message);
    }
    auto model = std::unique_ptr<AotModel>(new AotModel(m));
    for (size_t i = 0; i < cairn_model_num_functions(m); ++i) {
      FunctionInfo f;
      f.name = cairn_model_function_name(m, i);
      size_t na = 0, nr = 0;
      const cairn_value_info *a = nullptr, *r = nullptr;
      if (cairn_status* s = cairn_model_function_signature(m, f.name.c_str(), &na, &a, &nr, &r)) {
        cairn_status_free(s); // a function without a C signature is not served
        continue;
      }
      auto types = [](const cairn_value_info* v, size_t n) {
        std::vector<TensorType> out;
        for (size_t i = 0; i < n; ++i)
          out.emplace_back(dtypeOf(v[i].dtype).value(), Shape(v[i].dims, v[i].dims + v[i].rank));
        return out;
      };
      f.args = types(a, na);
      f.results = types(r, nr);
      for (size_t j = 0; j < na; ++j)
        f.argNames.push_back(cairn_model_function_arg_name(m, f.name.c_str(), j));
      model->functions_.push_back(std::move(f));
    }
    return std::unique_ptr<ServedModel>(std::move(model));
  }
  ~AotModel() override { cairn_model_free(model_); }

  const std::vector<FunctionInfo>& functions() const override { return functions_; }
  const char* kind() const override { return "aot"; }

  StatusOr<std::vector<Tensor>> run(const std::string& function, const std::vector<Tensor>& inputs,
                                    const RunLimits& limits) const override {
    const FunctionInfo* f = find(function);
    if (!f) return errorf("no function '{}'", function);
    std::vector<cairn_tensor> in;
    std::vector<std::vector<int64_t>> dims;
    dims.reserve(inputs.size());
    for (const Tensor& t : inputs) {
      CAIRN_ASSIGN_OR_RETURN(cairn_dtype d, cDtypeOf(t.dtype()));
      dims.emplace_back(t.shape().begin(), t.shape().end());
      in.push_back({d, static_cast<int32_t>(t.rank()), dims.back().data(),
                    const_cast<std::byte*>(t.rawData())});
    }
    cairn_run_options o{};
    o.struct_size = sizeof o;
    if (limits.deadline != RunLimits::Clock::time_point::max())
      o.timeout_ns = std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::nanoseconds>(limits.deadline -
                                                                  RunLimits::Clock::now())
                 .count());
    o.max_bytes = limits.maxBytes;
    RunInFlight counted;
    o.one_thread = counted.oneThread() ? 1 : 0;
    std::vector<cairn_tensor> out(f->results.size());
    cairn_context* ctx = contexts_.take();
    if (!ctx) return Status::error("out of memory", StatusCode::kResourceExhausted);
    cairn_status* s = cairn_run_with_options(model_, ctx, function.c_str(), in.data(), in.size(),
                                             out.data(), out.size(), &o);
    std::vector<Tensor> results;
    if (!s) { // copied out before the context serves another request
      for (const cairn_tensor& t : out) {
        TensorType type(dtypeOf(t.dtype).value(), Shape(t.dims, t.dims + t.rank));
        Tensor r(type);
        if (r.byteSize()) std::memcpy(r.rawData(), t.data, r.byteSize());
        results.push_back(std::move(r));
      }
    }
    contexts_.give(ctx);
    if (s) {
      Status err =
          Status::error(cairn_status_message(s), capi::statusCodeOf(cairn_status_code(s)));
      cairn_status_free(s);
      return err;
    }
    return results;
  }

private:
  explicit AotModel(cairn_model* m)
      : model_(m), contexts_([] { return cairn_context_new(); },
                             [](cairn_context* c) { cairn_context_free(c); }) {}
  const FunctionInfo* find(const std::string& name) const {
    for (const FunctionInfo& f : functions_)
      if (f.name == name) return &f;
    return nullptr;
  }
  cairn_model* model_;
  std::vector<FunctionInfo> functions_;
  using Make = cairn_context* (*)();
  using Free = void (*)(cairn_context*);
  mutable ContextPool<cairn_context, Make, Free> contexts_;
};

// --- through the JIT -------------------------------------------------------

class JitModel : public ServedModel {
public:
  static StatusOr<std::unique_ptr<ServedModel>> load(const std::string& path) {
    CAIRN_ASSIGN_OR_RETURN(std::string text, readWholeFile(path));
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Module> m, parseModule(text, path));
    CAIRN_RETURN_IF_ERROR(verify(*m));
    auto model = std::unique_ptr<JitModel>(new JitModel());
    for (const auto& f : m->functions()) {
      std::vector<std::string> names;
      for (const Value* a : f->body().arguments())
        names.push_back(a->name);
      model->functions_.push_back({f->name, f->argumentTypes(), f->resultTypes, names});
    }
    CAIRN_ASSIGN_OR_RETURN(model->exe_, codegen::cpu::compileExecutable(*m));
    return std::unique_ptr<ServedModel>(std::move(model));
  }
  const std::vector<FunctionInfo>& functions() const override { return functions_; }
  const char* kind() const override { return "jit"; }
  StatusOr<std::vector<Tensor>> run(const std::string& function, const std::vector<Tensor>& inputs,
                                    const RunLimits& limits) const override {
    exec::ExecOptions o;
    o.limits = limits;
    o.adjustBlasThreads = false; // many requests at once: no process-wide changes
    RunInFlight counted;
    o.parallel = !counted.oneThread();
    exec::ExecutionContext* ctx = contexts_.take();
    StatusOr<std::vector<Tensor>> r = exe_->run(function, inputs, *ctx, o);
    contexts_.give(ctx);
    return r;
  }

private:
  JitModel()
      : contexts_([] { return new exec::ExecutionContext(); },
                  [](exec::ExecutionContext* c) { delete c; }) {}
  std::unique_ptr<exec::Executable> exe_;
  std::vector<FunctionInfo> functions_;
  using Make = exec::ExecutionContext* (*)();
  using Free = void (*)(exec::ExecutionContext*);
  mutable ContextPool<exec::ExecutionContext, Make, Free> contexts_;
};

} // namespace

StatusOr<std::unique_ptr<ServedModel>> loadServedModel(const std::string& path) {
  bool shared = path.size() > 3 && path.compare(path.size() - 3, 3, ".so") == 0;
  StatusOr<std::unique_ptr<ServedModel>> m = shared ? AotModel::load(path) : JitModel::load(path);
  if (!m.isOk())
    return m.status().withMessage(fmt::format("model '{}': {}", path, m.status().message()));
  return m;
}

} // namespace cairn::serve
