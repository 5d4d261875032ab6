// Python bindings of whole modules: parse, print, verify, the reference
// interpreter, reverse-mode gradients, CPU compilation (JIT and ahead of
// time) and running compiled functions on NumPy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "Arrays.h"
#include "Handles.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/codegen/cpu/CompileAot.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::python {

namespace {

nb::list arraysOf(std::vector<Tensor>&& ts) {
  nb::list out;
  for (Tensor& t : ts)
    out.append(arrayFromTensor(std::move(t)));
  return out;
}

const Function& lookup(const ModuleHandle& m, const std::string& name) {
  const Function* f = m.module->lookup(name);
  if (!f) throw CairnError("no function @" + name + " in the module");
  return *f;
}

/// A function's signature for Python: [(dtype name, [sizes, -1 = dynamic])].
nb::list signature(const std::vector<TensorType>& types) {
  nb::list out;
  for (const TensorType& t : types) {
    nb::list dims;
    for (int64_t d : t.shape)
      dims.append(d);
    out.append(nb::make_tuple(std::string(dtypeName(t.dtype)), dims));
  }
  return out;
}

} // namespace

void bindModule(nb::module_& m) {
  nb::class_<ModuleHandle>(m, "ModuleHandle")
      .def(nb::init<>())
      .def("print", [](const ModuleHandle& h) { return printModule(*h.module); })
      .def("verify", [](const ModuleHandle& h) { check(verify(*h.module)); })
      .def("functions",
           [](const ModuleHandle& h) {
             std::vector<std::string> names;
             for (const auto& f : h.module->functions())
               names.push_back(f->name);
             return names;
           })
      .def("arg_types",
           [](const ModuleHandle& h, const std::string& f) {
             return signature(lookup(h, f).argumentTypes());
           })
      .def("result_types", [](const ModuleHandle& h,
                              const std::string& f) { return signature(lookup(h, f).resultTypes); })
      .def("adopt",
           [](ModuleHandle& h, ModuleHandle& other) {
             // Copies every function of `other` here (functions built in a
             // scratch module while this one has an unfinished function:
             // passes verify the whole module they run on). Copies, not
             // moves: values Python may still hold stay in `other`.
             if (h.module == other.module) return;
             for (const auto& f : other.module->functions())
               if (h.module->lookup(f->name))
                 throw CairnError("both modules have a function @" + f->name);
             for (const auto& f : other.module->functions())
               h.module->addFunction(cloneFunction(*f, f->name));
           })
      .def(
          "interpret",
          [](const ModuleHandle& h, const std::string& f, const std::vector<InArray>& args,
             int64_t defaultMaxTrip) {
            const Function& fn = lookup(h, f);
            InterpreterOptions options;
            options.defaultMaxTrip = defaultMaxTrip;
            StatusOr<std::vector<Tensor>> out = Status::error("not run");
            {
              RunInputs in(args); // row-major arrays borrowed, not copied
              nb::gil_scoped_release unlocked;
              out = interpret(fn, in.tensors(), options);
            }
            return arraysOf(take(std::move(out)));
          },
          nb::arg("function"), nb::arg("args"), nb::arg("default_max_trip") = 0)
      .def(
          "build_gradient",
          [](ModuleHandle& h, const std::string& f, std::vector<size_t> wrt, size_t loss,
             const std::string& name, bool keepRnnOps) {
            GradOptions o;
            o.wrt = std::move(wrt);
            o.lossResult = loss;
            o.name = name;
            o.keepRnnOps = keepRnnOps;
            Function* g = take(buildGradient(*h.module, lookup(h, f), o));
            return g->name;
          },
          nb::arg("function"), nb::arg("wrt"), nb::arg("loss_result") = 0, nb::arg("name") = "",
          nb::arg("keep_rnn_ops") = false)
      .def(
          "compile",
          [](const ModuleHandle& h, int64_t defaultMaxTrip, bool reassociate) {
            check(verify(*h.module));
            // Reassociating float sums (compiler/Pipeline.h) is what
            // cairn-train compiles a training step with: batched weight
            // gradients; results differ from the interpreter in rounding.
            codegen::cpu::CompileOptions options;
            options.floatRewrites = reassociate ? FloatRewrites::Reassociate : FloatRewrites::Exact;
            auto c = std::make_unique<CompiledHandle>();
            StatusOr<std::unique_ptr<exec::Executable>> exe = Status::error("not compiled");
            {
              nb::gil_scoped_release unlocked;
              exe = codegen::cpu::compileExecutable(*h.module, options);
            }
            c->exe = take(std::move(exe));
            c->options.defaultMaxTrip = defaultMaxTrip;
            return c;
          },
          nb::arg("default_max_trip") = 0, nb::arg("reassociate") = false)
      .def(
          "compile_aot",
          [](const ModuleHandle& h, const std::string& objectPath, const std::string& prefix,
             const std::string& cpu) {
            check(verify(*h.module));
            codegen::cpu::AotOptions o;
            o.prefix = prefix;
            o.cpu = cpu;
            return take(codegen::cpu::compileAot(*h.module, o, objectPath));
          },
          nb::arg("object_path"), nb::arg("prefix") = "model", nb::arg("cpu") = "x86-64-v3");

  m.def(
      "parse",
      [](const std::string& text, const std::string& filename) {
        ModuleHandle h;
        h.module = std::shared_ptr<Module>(take(parseModule(text, filename)).release());
        check(verify(*h.module));
        return h;
      },
      nb::arg("text"), nb::arg("filename") = "");

  m.def("input_stats", [] {
    InputStats s = inputStats();
    return nb::make_tuple(s.copied, s.copiedBytes, s.borrowed);
  });

  nb::class_<CompiledHandle>(m, "Executable")
      .def(
          "run",
          [](CompiledHandle& c, const std::string& f, const std::vector<InArray>& args) {
            StatusOr<std::vector<Tensor>> out = Status::error("not run");
            {
              RunInputs in(args); // row-major arrays borrowed, not copied
              nb::gil_scoped_release unlocked;
              std::unique_lock lock(c.mu, std::try_to_lock);
              if (lock.owns_lock()) {
                out = c.exe->run(f, in.tensors(), c.ctx, c.options);
              } else {
                exec::ExecutionContext fresh;
                out = c.exe->run(f, in.tensors(), fresh, c.options);
              }
            }
            return arraysOf(take(std::move(out)));
          },
          nb::arg("function"), nb::arg("args"))
      .def("describe", [](const CompiledHandle& c) { return c.exe->describe(); })
      .def("print", [](const CompiledHandle& c) { return printModule(c.exe->module()); });
}

} // namespace cairn::python
