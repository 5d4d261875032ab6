// Python bindings of the C++ builder (frontend/Builder.h): a traced Python
// function is one FunctionBuilder, and every symbolic tensor the Python code
// touches is a PyVal. The Python package (cairn/_tensor.py) puts operators
// and methods on top; this file stays a thin, checked map onto the builder.
//
// Every entry point checks that its values belong to the builder being
// traced, so a value leaked from another traced function is a clear
// BuildError, not IR that fails to verify far away. Control flow calls back
// into Python; a Python exception raised there unwinds through the builder
// (which restores its insertion point on every exit) and reaches the caller
// unchanged.
#include <functional>
#include <optional>
#include <variant>

#include <nanobind/nanobind.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include "Arrays.h"
#include "Handles.h"

namespace cairn::python {

namespace {

using Number = std::variant<PyVal, double>;
using IntLike = std::variant<PyVal, int64_t>;

/// The builder every operand of one op must share.
struct Ctx {
  std::shared_ptr<BuildState> state;

  void use(const PyVal& v) {
    if (!v.state || !v.val.valid()) throw BuildError("an empty cairn value was used");
    if (v.state->finished)
      throw BuildError("a value of a finished traced function was used (values do not "
                       "outlive the trace that made them)");
    if (v.state->broken)
      throw BuildError("this traced function is unusable: an error left a while_loop or cond "
                       "half built");
    if (!state)
      state = v.state;
    else if (state != v.state)
      throw BuildError("values of two different traced functions were mixed in one op");
  }
  Val val(const PyVal& v) {
    use(v);
    return v.val;
  }
  Arg arg(const Number& n) {
    if (auto* v = std::get_if<PyVal>(&n)) return Arg(val(*v));
    return Arg(std::get<double>(n));
  }
  IntOrVal intOrVal(const IntLike& n) {
    if (auto* v = std::get_if<PyVal>(&n)) return IntOrVal(val(*v));
    return IntOrVal(std::get<int64_t>(n));
  }
  Sizes sizes(const std::vector<IntLike>& xs) {
    Sizes out;
    for (const IntLike& x : xs)
      out.push_back(intOrVal(x));
    return out;
  }
  PyVal wrap(Val v) const { return PyVal{state, v}; }
  std::vector<PyVal> wrap(const ValueList& vs) const {
    std::vector<PyVal> out;
    for (const Val& v : vs)
      out.push_back(wrap(v));
    return out;
  }
};

Ctx ctxOf(const std::shared_ptr<BuildState>& s) {
  if (s->finished) throw BuildError("the traced function is already finished");
  if (s->broken)
    throw BuildError("this traced function is unusable: an error left a while_loop or cond "
                     "half built");
  return Ctx{s};
}

/// Runs `build` (a while or if), marking the trace broken if it throws.
template <typename F> auto guarded(BuildState& s, F&& build) {
  try {
    return build();
  } catch (...) {
    s.broken = true;
    throw;
  }
}

using Unary = Val (*)(Val);
using Binary = Val (*)(Arg, Arg);

Unary unaryOp(const std::string& name) {
  static const std::map<std::string, Unary, std::less<>> table = {{"neg", neg},
                                                                  {"abs", abs},
                                                                  {"exp", exp},
                                                                  {"log", log},
                                                                  {"tanh", tanh},
                                                                  {"sigmoid", sigmoid},
                                                                  {"erf", erf},
                                                                  {"sin", sin},
                                                                  {"cos", cos},
                                                                  {"tan", tan},
                                                                  {"asin", asin},
                                                                  {"acos", acos},
                                                                  {"atan", atan},
                                                                  {"sinh", sinh},
                                                                  {"cosh", cosh},
                                                                  {"asinh", asinh},
                                                                  {"acosh", acosh},
                                                                  {"atanh", atanh},
                                                                  {"relu", relu},
                                                                  {"sqrt", sqrt},
                                                                  {"rsqrt", rsqrt},
                                                                  {"logical_not", logicalNot},
                                                                  {"stop_gradient", stopGradient}};
  auto it = table.find(name);
  if (it == table.end()) throw nb::value_error(("cairn: no unary op " + name).c_str());
  return it->second;
}

Binary binaryOp(const std::string& name) {
  static const std::map<std::string, Binary, std::less<>> table = {
      {"add", add}, {"sub", sub}, {"mul", mul},        {"div", div},      {"max", max},
      {"min", min}, {"pow", pow}, {"and", logicalAnd}, {"or", logicalOr}, {"eq", eq},
      {"ne", ne},   {"lt", lt},   {"le", le},          {"gt", gt},        {"ge", ge}};
  auto it = table.find(name);
  if (it == table.end()) throw nb::value_error(("cairn: no binary op " + name).c_str());
  return it->second;
}

/// `v` when its Value still exists: not after an error left a while/if
/// half built (its region's values were freed with it).
const Val& readable(const PyVal& v) {
  if (!v.state || !v.val.valid()) throw BuildError("an empty cairn value was used");
  if (v.state->broken)
    throw BuildError("this value belongs to a trace that an error left half built");
  return v.val;
}

nb::list shapeOf(const Val& v) {
  nb::list out;
  for (int64_t d : v.shape())
    if (d == kDynamic)
      out.append(nb::none());
    else
      out.append(d);
  return out;
}

} // namespace

DType dtypeFromName(const std::string& name) {
  std::optional<DType> d = parseDType(name);
  if (!d)
    throw nb::value_error(
        ("cairn: unknown dtype '" + name + "' (f32, f64, f16, bf16, i1, i32, i64)").c_str());
  return *d;
}

void bindTrace(nb::module_& m) {
  nb::class_<BuildState>(m, "Builder")
      .def_static(
          "create",
          [](const ModuleHandle& h, const std::string& name,
             const std::vector<std::pair<std::string, std::vector<int64_t>>>& args,
             const std::vector<std::string>& argNames) {
            if (h.module->lookup(name))
              throw BuildError("the module already has a function @" + name);
            std::vector<TensorType> types;
            for (const auto& [d, shape] : args) {
              for (int64_t s : shape)
                if (s < kDynamic) throw BuildError("negative size in an argument's shape");
              types.emplace_back(dtypeFromName(d), shape);
            }
            auto s = std::make_shared<BuildState>();
            s->module = h.module;
            s->builder = std::make_unique<FunctionBuilder>(*h.module, name, types, argNames);
            return s;
          },
          nb::arg("module"), nb::arg("name"), nb::arg("args"), nb::arg("arg_names"))
      .def("arg",
           [](std::shared_ptr<BuildState> s, size_t i) {
             if (i >= s->builder->numArgs()) throw nb::index_error("argument index out of range");
             return PyVal{s, s->builder->arg(i)};
           })
      .def("ret",
           [](std::shared_ptr<BuildState> s, const std::vector<PyVal>& results) {
             Ctx c = ctxOf(s);
             ValueList vs;
             for (const PyVal& v : results)
               vs.push_back(c.val(v));
             try {
               s->builder->ret(vs);
             } catch (...) {
               // A function that does not verify is left out of the module.
               s->finished = true;
               s->abandoned = s->module->takeFunction(&s->builder->function());
               throw;
             }
             s->finished = true;
           })
      .def("abandon",
           [](std::shared_ptr<BuildState> s) {
             // A trace that raised: drop its half-built function.
             if (!s->finished) {
               s->finished = true;
               s->abandoned = s->module->takeFunction(&s->builder->function());
             }
           })
      .def("module",
           [](std::shared_ptr<BuildState> s) {
             ModuleHandle h;
             h.module = s->module;
             return h;
           })
      .def("call",
           [](std::shared_ptr<BuildState> s, const std::string& callee,
              const std::vector<PyVal>& args) {
             Ctx c = ctxOf(s);
             ValueList in;
             for (const PyVal& v : args)
               in.push_back(c.val(v));
             return c.wrap(s->builder->call(callee, in));
           })
      .def("set_location",
           [](std::shared_ptr<BuildState> s, const std::string& file, int line) {
             s->builder->setLocation(Location{file, line, 1});
           })
      .def("scalar",
           [](std::shared_ptr<BuildState> s, double v, const std::string& d) {
             Ctx c = ctxOf(s);
             return c.wrap(s->builder->scalar(v, dtypeFromName(d)));
           })
      .def("constant",
           [](std::shared_ptr<BuildState> s, const InArray& a) {
             Ctx c = ctxOf(s);
             return c.wrap(s->builder->constant(tensorFromArray(a)));
           })
      .def("iota",
           [](std::shared_ptr<BuildState> s, const std::string& d,
              const std::vector<IntLike>& shape, int64_t axis) {
             Ctx c = ctxOf(s);
             return c.wrap(s->builder->iota(dtypeFromName(d), c.sizes(shape), axis));
           })
      .def("rng_uniform",
           [](std::shared_ptr<BuildState> s, const PyVal& state, const std::string& d,
              const std::vector<IntLike>& shape) {
             Ctx c = ctxOf(s);
             RngResult r = s->builder->rngUniform(c.val(state), dtypeFromName(d), c.sizes(shape));
             return std::make_pair(c.wrap(r.state), c.wrap(r.value));
           })
      .def(
          "while_loop",
          [](std::shared_ptr<BuildState> s, const std::vector<PyVal>& inits,
             const std::function<PyVal(std::vector<PyVal>)>& cond,
             const std::function<std::vector<PyVal>(std::vector<PyVal>)>& body,
             std::optional<IntLike> maxTrip) {
            Ctx c = ctxOf(s);
            ValueList in;
            for (const PyVal& v : inits)
              in.push_back(c.val(v));
            std::optional<IntOrVal> mt;
            if (maxTrip) mt = c.intOrVal(*maxTrip);
            ValueList out = guarded(*s, [&] {
              return s->builder->whileLoop(
                  in, [&](const ValueList& carried) { return c.val(cond(c.wrap(carried))); },
                  [&](const ValueList& carried) {
                    ValueList next;
                    for (const PyVal& v : body(c.wrap(carried)))
                      next.push_back(c.val(v));
                    return next;
                  },
                  mt);
            });
            return c.wrap(out);
          },
          nb::arg("inits"), nb::arg("cond"), nb::arg("body"), nb::arg("max_trip").none())
      .def("if_else", [](std::shared_ptr<BuildState> s, const PyVal& pred,
                         const std::function<std::vector<PyVal>()>& thenFn,
                         const std::function<std::vector<PyVal>()>& elseFn) {
        Ctx c = ctxOf(s);
        auto branch = [&](const std::function<std::vector<PyVal>()>& fn) {
          ValueList out;
          for (const PyVal& v : fn())
            out.push_back(c.val(v));
          return out;
        };
        Val p = c.val(pred);
        ValueList out = guarded(*s, [&] {
          return s->builder->ifElse(
              p, [&] { return branch(thenFn); }, [&] { return branch(elseFn); });
        });
        return c.wrap(out);
      });

  nb::class_<PyVal>(m, "Val")
      .def_prop_ro("dtype",
                   [](const PyVal& v) { return std::string(dtypeName(readable(v).dtype())); })
      .def_prop_ro("shape", [](const PyVal& v) { return shapeOf(readable(v)); })
      .def_prop_ro("type", [](const PyVal& v) { return readable(v).type().toString(); })
      .def("builder", [](const PyVal& v) { return v.state; })
      .def("named", [](const PyVal& v, const std::string& n) {
        Ctx c;
        return c.wrap(c.val(v).named(n));
      });

  // ---- Ops: one line each onto the builder's free functions ----------------
  m.def("unary", [](const std::string& name, const PyVal& x) {
    Ctx c;
    Val v = c.val(x);
    return c.wrap(unaryOp(name)(v));
  });
  m.def("binary", [](const std::string& name, const Number& a, const Number& b) {
    Ctx c;
    Arg x = c.arg(a), y = c.arg(b);
    if (!x.isVal() && !y.isVal()) throw BuildError("binary op on two numbers");
    return c.wrap(binaryOp(name)(x, y));
  });
  m.def("select", [](const PyVal& p, const Number& a, const Number& b) {
    Ctx c;
    Val pv = c.val(p);
    Arg x = c.arg(a), y = c.arg(b);
    return c.wrap(select(pv, x, y));
  });
  m.def("cast", [](const PyVal& x, const std::string& d) {
    Ctx c;
    return c.wrap(cast(c.val(x), dtypeFromName(d)));
  });
  m.def("reshape", [](const PyVal& x, const std::vector<IntLike>& shape) {
    Ctx c;
    Val v = c.val(x);
    return c.wrap(reshape(v, c.sizes(shape)));
  });
  m.def("broadcast_to", [](const PyVal& x, const std::vector<IntLike>& shape) {
    Ctx c;
    Val v = c.val(x);
    return c.wrap(broadcastTo(v, c.sizes(shape)));
  });
  m.def("transpose", [](const PyVal& x, const std::vector<int64_t>& perm) {
    Ctx c;
    return c.wrap(transpose(c.val(x), perm));
  });
  m.def("concat", [](const std::vector<PyVal>& xs, int64_t axis) {
    Ctx c;
    ValueList vs;
    for (const PyVal& x : xs)
      vs.push_back(c.val(x));
    if (vs.empty()) throw BuildError("concat of no values");
    return c.wrap(concat(vs, axis));
  });
  m.def("slice", [](const PyVal& x, const std::vector<int64_t>& start,
                    const std::vector<int64_t>& limit, const std::vector<int64_t>& stride) {
    Ctx c;
    return c.wrap(slice(c.val(x), start, limit, stride));
  });
  m.def("slice_axis", [](const PyVal& x, int64_t axis, int64_t start, int64_t limit) {
    Ctx c;
    return c.wrap(sliceAxis(c.val(x), axis, start, limit));
  });
  m.def("slice_at", [](const PyVal& x, const IntLike& i, int64_t axis) {
    Ctx c;
    Val v = c.val(x);
    return c.wrap(sliceAt(v, c.intOrVal(i), axis));
  });
  m.def("update_at", [](const PyVal& x, const IntLike& i, const PyVal& row, int64_t axis) {
    Ctx c;
    Val v = c.val(x), r = c.val(row);
    return c.wrap(updateAt(v, c.intOrVal(i), r, axis));
  });
  m.def("dynamic_slice",
        [](const PyVal& x, const std::vector<IntLike>& starts, const std::vector<int64_t>& sizes) {
          Ctx c;
          Val v = c.val(x);
          return c.wrap(dynamicSlice(v, c.sizes(starts), sizes));
        });
  m.def("dynamic_update_slice",
        [](const PyVal& x, const PyVal& update, const std::vector<IntLike>& starts) {
          Ctx c;
          Val v = c.val(x), u = c.val(update);
          return c.wrap(dynamicUpdateSlice(v, u, c.sizes(starts)));
        });
  m.def("split", [](const PyVal& x, int64_t parts, int64_t axis) {
    Ctx c;
    return c.wrap(split(c.val(x), parts, axis));
  });
  m.def("gather", [](const PyVal& x, const PyVal& idx, int64_t axis, int64_t batchDims) {
    Ctx c;
    Val v = c.val(x), i = c.val(idx);
    return c.wrap(gather(v, i, axis, batchDims));
  });
  m.def("scatter", [](const PyVal& x, const PyVal& idx, const PyVal& upd, int64_t axis,
                      int64_t batchDims, bool accumulate) {
    Ctx c;
    Val v = c.val(x), i = c.val(idx), u = c.val(upd);
    return c.wrap(accumulate ? scatterAdd(v, i, u, axis, batchDims)
                             : scatter(v, i, u, axis, batchDims));
  });
  m.def("reduce",
        [](const std::string& kind, const PyVal& x, std::vector<int64_t> dims, bool keep) {
          Ctx c;
          Val v = c.val(x);
          if (kind == "sum") return c.wrap(reduceSum(v, dims, keep));
          if (kind == "max") return c.wrap(reduceMax(v, dims, keep));
          if (kind == "min") return c.wrap(reduceMin(v, dims, keep));
          throw nb::value_error(("cairn: no reduction " + kind).c_str());
        });
  m.def("argmax", [](const PyVal& x, int64_t axis, const std::string& d) {
    Ctx c;
    return c.wrap(argmax(c.val(x), axis, dtypeFromName(d)));
  });
  m.def("nonzero", [](const PyVal& x, const std::string& d) {
    Ctx c;
    return c.wrap(nonzero(c.val(x), dtypeFromName(d)));
  });
  m.def("matmul", [](const PyVal& a, const PyVal& b) {
    Ctx c;
    Val x = c.val(a), y = c.val(b);
    return c.wrap(matmul(x, y));
  });
  m.def("dim", [](const PyVal& x, int64_t axis, const std::string& d) {
    Ctx c;
    return c.wrap(dim(c.val(x), axis, dtypeFromName(d)));
  });
  m.def("rng_categorical", [](const PyVal& state, const PyVal& logits, const std::string& d) {
    Ctx c;
    Val s = c.val(state), l = c.val(logits);
    RngResult r = rngCategorical(s, l, dtypeFromName(d));
    return std::make_pair(c.wrap(r.state), c.wrap(r.value));
  });
}

} // namespace cairn::python
