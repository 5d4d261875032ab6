// A thin header-only C++ wrapper over the C API (cairn.h): RAII handles,
// std::span inputs, errors as cairn::capi::Error. It adds no behaviour; every
// call is one C call, so what cairn.h promises holds here too.
//
//   cairn::capi::Model model(&classifier_aot);
//   cairn::capi::Context ctx;
//   std::vector<cairn_tensor> out = ctx.run(model, "classify", inputs, 2);
#ifndef CAIRN_CAPI_CAIRN_HPP
#define CAIRN_CAPI_CAIRN_HPP

#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/capi/cairn.h"

namespace cairn::capi {

/// A failed call: the C status's code and message.
class Error : public std::runtime_error {
public:
  Error(cairn_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  cairn_code code() const { return code_; }

private:
  cairn_code code_;
};

/// Throws Error for a non-null status (and frees it).
inline void check(cairn_status* s) {
  if (!s) return;
  std::unique_ptr<cairn_status, void (*)(cairn_status*)> owned(s, &cairn_status_free);
  throw Error(cairn_status_code(s), cairn_status_message(s));
}

/// A function's signature (views into the model).
struct Signature {
  std::span<const cairn_value_info> args, results;
};

class Model {
public:
  explicit Model(const cairn_aot_model* aot) {
    cairn_model* m = nullptr;
    check(cairn_model_load_aot(aot, &m));
    m_.reset(m);
  }
  const cairn_model* get() const { return m_.get(); }
  std::vector<std::string> functions() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < cairn_model_num_functions(get()); ++i)
      out.emplace_back(cairn_model_function_name(get(), i));
    return out;
  }
  Signature signature(const std::string& name) const {
    size_t na = 0, nr = 0;
    const cairn_value_info *a = nullptr, *r = nullptr;
    check(cairn_model_function_signature(get(), name.c_str(), &na, &a, &nr, &r));
    return {{a, na}, {r, nr}};
  }

private:
  struct Free {
    void operator()(cairn_model* m) const { cairn_model_free(m); }
  };
  std::unique_ptr<cairn_model, Free> m_;
};

class CancelToken {
public:
  CancelToken() : t_(cairn_cancel_token_new()) {
    if (!t_) throw Error(CAIRN_RESOURCE_EXHAUSTED, "cairn_cancel_token_new: out of memory");
  }
  void cancel() { cairn_cancel(t_.get()); }
  const cairn_cancel_token* get() const { return t_.get(); }

private:
  struct Free {
    void operator()(cairn_cancel_token* t) const { cairn_cancel_token_free(t); }
  };
  std::unique_ptr<cairn_cancel_token, Free> t_;
};

/// Run limits; the defaults are "none".
struct RunOptions {
  int64_t timeoutNs = 0;
  const CancelToken* cancel = nullptr;
  int64_t maxBytes = 0;
  int64_t maxLoopTrips = 0;
  bool oneThread = false; ///< the calling thread only (cairn_run_options.one_thread)
};

class Context {
public:
  Context() : c_(cairn_context_new()) {
    if (!c_) throw Error(CAIRN_RESOURCE_EXHAUSTED, "cairn_context_new: out of memory");
  }
  /// Runs `name`; the results are owned by this context until its next run.
  std::vector<cairn_tensor> run(const Model& m, const std::string& name,
                                std::span<const cairn_tensor> inputs, size_t numOutputs,
                                const RunOptions& o = {}) {
    cairn_run_options c{};
    c.struct_size = sizeof c;
    c.timeout_ns = o.timeoutNs;
    c.cancel = o.cancel ? o.cancel->get() : nullptr;
    c.max_bytes = o.maxBytes;
    c.max_loop_trips = o.maxLoopTrips;
    c.one_thread = o.oneThread ? 1 : 0;
    std::vector<cairn_tensor> out(numOutputs);
    check(cairn_run_with_options(m.get(), c_.get(), name.c_str(), inputs.data(), inputs.size(),
                                 out.data(), out.size(), &c));
    return out;
  }

private:
  struct Free {
    void operator()(cairn_context* c) const { cairn_context_free(c); }
  };
  std::unique_ptr<cairn_context, Free> c_;
};

} // namespace cairn::capi

#endif // CAIRN_CAPI_CAIRN_HPP
