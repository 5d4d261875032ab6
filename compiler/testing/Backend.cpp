// The backend registry, the interpreter executor and the pipeline stage.
#include "compiler/testing/Backend.h"

#include <map>

#include "compiler/Pipeline.h"
#include "ir/Printer.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

/// A loop without max_trip that a broken rewrite made endless stops here
/// with an error instead of hanging the fuzzer.
constexpr int64_t kDefaultMaxTrip = 100000;

class InterpreterExecutable : public Executable {
public:
  explicit InterpreterExecutable(std::unique_ptr<Module> m) : m_(std::move(m)) {}
  StatusOr<std::vector<Tensor>> run(std::string_view entry,
                                    const std::vector<Tensor>& inputs) override {
    InterpreterOptions opts;
    opts.defaultMaxTrip = kDefaultMaxTrip;
    return interpret(*m_, entry, inputs, opts);
  }
  std::string describe() const override { return printModule(*m_); }

private:
  std::unique_ptr<Module> m_;
};

class InterpreterBackend : public Backend {
public:
  std::string name() const override { return "interpreter"; }
  StatusOr<std::unique_ptr<Executable>> compile(const Module& m) override {
    return std::unique_ptr<Executable>(std::make_unique<InterpreterExecutable>(cloneModule(m)));
  }
};

/// Runs passes on a copy, then compiles the result with the next backend.
class PassesBackend : public Backend {
public:
  PassesBackend(std::string spec, std::vector<std::string> passes, std::unique_ptr<Backend> next)
      : spec_(std::move(spec)), passes_(std::move(passes)), next_(std::move(next)) {}
  std::string name() const override { return spec_; }
  StatusOr<std::unique_ptr<Executable>> compile(const Module& m) override {
    std::unique_ptr<Module> copy = cloneModule(m);
    PipelineOptions opts;
    opts.verifyEach = true;
    Status ran = runPipeline(*copy, passes_, opts);
    if (!ran.isOk()) return errorf("compile error: {}", ran.message());
    return next_->compile(*copy);
  }

private:
  std::string spec_;
  std::vector<std::string> passes_;
  std::unique_ptr<Backend> next_;
};

std::map<std::string, BackendFactory, std::less<>>& registry() {
  static auto* r = new std::map<std::string, BackendFactory, std::less<>>{
      {"interpreter", [](std::string_view) -> StatusOr<std::unique_ptr<Backend>> {
         return std::unique_ptr<Backend>(std::make_unique<InterpreterBackend>());
       }}};
  return *r;
}

std::vector<std::string> splitList(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return out;
}

} // namespace

Status registerBackend(std::string name, BackendFactory factory) {
  if (!registry().emplace(name, std::move(factory)).second)
    return errorf("backend '{}' is registered twice", name);
  return Status::ok();
}

StatusOr<std::unique_ptr<Backend>> createBackend(std::string_view spec) {
  size_t plus = spec.find('+');
  if (plus != std::string_view::npos) {
    std::string_view stage = spec.substr(0, plus);
    std::vector<std::string> passes;
    if (stage.starts_with("pipeline:")) {
      CAIRN_ASSIGN_OR_RETURN(passes, lookupPipeline(stage.substr(9)));
    } else if (stage.starts_with("passes:")) {
      passes = splitList(stage.substr(7));
    } else {
      return errorf("backend '{}': '{}' is neither pipeline:<name> nor passes:<list>", spec, stage);
    }
    CAIRN_ASSIGN_OR_RETURN(auto next, createBackend(spec.substr(plus + 1)));
    return std::unique_ptr<Backend>(
        std::make_unique<PassesBackend>(std::string(spec), std::move(passes), std::move(next)));
  }
  size_t colon = spec.find(':');
  std::string_view name = spec.substr(0, colon);
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (auto& [n, f] : registry())
      known += (known.empty() ? "" : ", ") + n;
    return errorf("unknown backend '{}' (known executors: {}; stages: pipeline:<name>+..., "
                  "passes:<list>+...)",
                  spec, known);
  }
  return it->second(colon == std::string_view::npos ? "" : spec.substr(colon + 1));
}

} // namespace cairn
