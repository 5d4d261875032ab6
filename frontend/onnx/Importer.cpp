// The ONNX importer's entry points and graph walk.
//
// Algorithm:
//  1. Parse the ModelProto (protobuf rejects truncated or corrupt bytes);
//     check the default-domain opset is one we convert (7..17).
//  2. Graph inputs without an initializer become the function's parameters;
//     symbolic or missing dims become `?`.
//  3. Initializers become constants; nodes are converted in order (ONNX
//     graphs are topologically sorted) by the converter table, each output
//     defined in the scope under its ONNX name. Subgraphs (Loop/Scan bodies,
//     If branches) are walked the same way inside the region being built,
//     with a scope whose parent is the enclosing graph's.
//  4. The graph outputs become the function's results; ret() verifies.
// Any failure becomes one Status naming the node, its op type and why.
#include <filesystem>
#include <fstream>

#include "frontend/onnx/OnnxInternal.h"
#include "runtime/reference/Interpreter.h"
#include "runtime/ReadFile.h"

namespace cairn::onnx_import {
namespace {

// Opsets before 7 are accepted, but nodes using their legacy attributes
// (numpy-less `broadcast`/`axis` on binary ops, `consumed_inputs`) are
// reported unsupported; the ops that kept their meaning convert as usual.
constexpr int kMinOpset = 1;
constexpr int kMaxOpset = 17;
/// Folding at import time is for shapes, axes and small index tensors.
constexpr int64_t kMaxFoldElements = 1 << 16;

std::string nodeLabel(const onnx::NodeProto& n) {
  std::string name = n.name();
  for (int i = 0; name.empty() && i < n.output_size(); ++i)
    name = n.output(i); // unnamed nodes go by their first named output
  if (name.empty()) return fmt::format("node #? (op {})", n.op_type());
  return fmt::format("node '{}' (op {})", name, n.op_type());
}

StatusOr<TensorType> typeFromValueInfo(const onnx::ValueInfoProto& vi) {
  if (!vi.has_type() || !vi.type().has_tensor_type()) {
    std::string kind = !vi.has_type()                  ? "no type"
                       : vi.type().has_sequence_type() ? "a sequence type"
                       : vi.type().has_optional_type() ? "an optional type"
                       : vi.type().has_map_type()      ? "a map type"
                                                       : "a non-tensor type";
    return errorf("value '{}' has {}: not supported (only tensors are)", vi.name(), kind);
  }
  const auto& tt = vi.type().tensor_type();
  StatusOr<DType> dt = dtypeFromOnnx(tt.elem_type());
  if (!dt.isOk()) return errorf("value '{}': {}", vi.name(), dt.status().message());
  if (!tt.has_shape()) return errorf("value '{}' has no shape (unknown rank)", vi.name());
  if (tt.shape().dim_size() > kMaxRank)
    return errorf("value '{}' has rank {} (more than {})", vi.name(), tt.shape().dim_size(),
                  kMaxRank);
  Shape shape;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0)
      shape.push_back(d.dim_value());
    else
      shape.push_back(kDynamic); // a symbolic dim (dim_param) or none at all
  }
  return TensorType(*dt, shape);
}

} // namespace

Val refineWithDeclared(const Val& v, const onnx::ValueInfoProto& vi) {
  if (!vi.has_type() || !vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
    return v;
  const auto& dims = vi.type().tensor_type().shape().dim();
  if (static_cast<int64_t>(dims.size()) != v.rank() || v.type().hasStaticShape()) return v;
  // A dim the model declares static where ours is `?` (e.g. a slice whose
  // bounds are run-time values but whose length is not): reshape to the
  // declared size; the reshape checks the element count at run time.
  auto declaredStatic = [&](int64_t d) {
    const auto& dim = dims[static_cast<int>(d)];
    return v.shape()[d] == kDynamic && dim.has_dim_value() && dim.dim_value() >= 0;
  };
  bool refine = false;
  for (int64_t d = 0; d < v.rank(); ++d)
    refine |= declaredStatic(d);
  if (!refine) return v;
  Sizes s;
  for (int64_t d = 0; d < v.rank(); ++d)
    s.push_back(declaredStatic(d) ? IntOrVal(dims[static_cast<int>(d)].dim_value()) : sizeOf(v, d));
  return reshape(v, s);
}

NodeContext::NodeContext(Importer& imp, const onnx::NodeProto& node, const Scope& scope,
                         ValueList inputs)
    : importer(imp), b(imp.b), node(node), scope(scope), inputs_(std::move(inputs)) {}

int NodeContext::opset() const {
  return importer.opset;
}

Val NodeContext::input(size_t i) const {
  if (!hasInput(i)) throw InvalidModel(fmt::format("input #{} is missing", i));
  return inputs_[i];
}

const onnx::AttributeProto* NodeContext::attr(std::string_view name) const {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t NodeContext::attrInt(std::string_view name, int64_t dflt) const {
  const auto* a = attr(name);
  return a ? a->i() : dflt;
}
float NodeContext::attrFloat(std::string_view name, float dflt) const {
  const auto* a = attr(name);
  return a ? a->f() : dflt;
}
std::string NodeContext::attrString(std::string_view name, std::string dflt) const {
  const auto* a = attr(name);
  return a ? a->s() : dflt;
}
std::vector<int64_t> NodeContext::attrInts(std::string_view name) const {
  const auto* a = attr(name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}
std::vector<float> NodeContext::attrFloats(std::string_view name) const {
  const auto* a = attr(name);
  return a ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::vector<float>{};
}
std::vector<std::string> NodeContext::attrStrings(std::string_view name) const {
  const auto* a = attr(name);
  return a ? std::vector<std::string>(a->strings().begin(), a->strings().end())
           : std::vector<std::string>{};
}
const onnx::GraphProto& NodeContext::attrGraph(std::string_view name) const {
  const auto* a = attr(name);
  if (!a || !a->has_g())
    throw InvalidModel(fmt::format("attribute '{}' (a graph) is missing", name));
  return a->g();
}
Tensor NodeContext::attrTensor(std::string_view name) const {
  const auto* a = attr(name);
  if (!a || !a->has_t())
    throw InvalidModel(fmt::format("attribute '{}' (a tensor) is missing", name));
  StatusOr<Tensor> t = tensorFromProto(a->t(), importer.baseDir);
  if (!t.isOk()) throw Unsupported(fmt::format("attribute '{}': {}", name, t.status().message()));
  return std::move(*t);
}

const Tensor& oneElement(const Tensor& t, std::string_view what) {
  if (t.numElements() != 1)
    throw InvalidModel(fmt::format("{} must hold one value, got {}", what, t.type().toString()));
  return t;
}

std::optional<Tensor> NodeContext::constInput(size_t i) const {
  if (!hasInput(i)) return std::nullopt;
  return importer.constantOf(inputs_[i]);
}

std::vector<int64_t> NodeContext::constInts(size_t i, std::string_view what) const {
  std::optional<Tensor> t = constInput(i);
  if (!t)
    throw Unsupported(fmt::format("{} (input #{}) must be known at import time; it is computed "
                                  "at run time",
                                  what, i));
  if (!isInteger(t->dtype()))
    throw InvalidModel(fmt::format("{} must be integers, got {}", what, t->type().toString()));
  return t->toInts();
}

std::optional<Tensor> Importer::constantOf(const Val& v) {
  if (!v.valid()) return std::nullopt;
  return fold(v.value(), 0);
}

std::optional<Tensor> Importer::fold(Value* v, int depth) {
  if (auto it = constants_.find(v); it != constants_.end()) return it->second;
  Op* op = v->definingOp();
  // Depth bounds the recursion (and the work) on long chains of ops.
  if (!op || depth > 48 || op->numRegions() > 0 || !v->type.hasStaticShape() ||
      v->type.numElements() > kMaxFoldElements)
    return std::nullopt;
  switch (op->kind()) {
  case OpKind::RngUniform:
  case OpKind::RngCategorical:
  case OpKind::Call:
    return std::nullopt;
  default:
    break;
  }
  std::vector<Tensor> operands;
  for (Value* o : op->operands) {
    std::optional<Tensor> t = fold(o, depth + 1);
    if (!t) return std::nullopt;
    operands.push_back(std::move(*t));
  }
  StatusOr<std::vector<Tensor>> r = evaluateOp(*op, operands);
  if (!r.isOk()) return std::nullopt; // e.g. an out-of-range index: left to run time
  for (size_t i = 0; i < r->size(); ++i)
    constants_[op->result(i)] = (*r)[i];
  return constants_[v];
}

void Importer::forget(const Op& op) {
  for (size_t r = 0; r < op.numRegions(); ++r)
    walk(op.region(r), [&](Op& inner) {
      for (Value* v : inner.results())
        constants_.erase(v);
    });
  for (Value* v : op.results())
    constants_.erase(v);
}

void Importer::importNodes(const onnx::GraphProto& g, Scope& scope) {
  for (const auto& init : g.initializer()) {
    StatusOr<Tensor> t = tensorFromProto(init, baseDir);
    if (!t.isOk())
      throw NodeError(fmt::format("initializer '{}': {}", init.name(), t.status().message()));
    Val c = b.constant(*t);
    constants_[c.value()] = std::move(*t);
    scope.define(init.name(), c);
  }
  std::map<std::string, const onnx::ValueInfoProto*> declared;
  for (const auto& vi : g.value_info())
    declared[vi.name()] = &vi;
  for (const auto& vi : g.output())
    declared[vi.name()] = &vi;
  for (const auto& n : g.node()) {
    try {
      if (!n.domain().empty() && n.domain() != "ai.onnx")
        throw Unsupported(fmt::format("domain '{}' is not supported", n.domain()));
      for (const char* legacy : {"broadcast", "consumed_inputs"})
        for (const auto& a : n.attribute())
          if (a.name() == legacy)
            throw Unsupported(fmt::format("legacy attribute '{}' (opset < 7)", legacy));
      auto it = converters().find(n.op_type());
      if (it == converters().end()) throw Unsupported("no converter for this op");
      ValueList inputs;
      for (const std::string& name : n.input()) {
        if (name.empty()) {
          inputs.emplace_back();
          continue;
        }
        std::optional<Val> v = scope.lookup(name);
        if (!v) throw InvalidModel(fmt::format("input '{}' is not defined before this node", name));
        inputs.push_back(*v);
      }
      NodeContext ctx(*this, n, scope, std::move(inputs));
      ValueList outs = it->second(ctx);
      for (int i = 0; i < n.output_size(); ++i) {
        if (n.output(i).empty()) continue;
        if (static_cast<size_t>(i) >= outs.size() || !outs[i].valid())
          throw Unsupported(fmt::format("output #{} ('{}') is not produced", i, n.output(i)));
        auto d = declared.find(n.output(i));
        scope.define(n.output(i),
                     d == declared.end() ? outs[i] : refineWithDeclared(outs[i], *d->second));
      }
    } catch (const NodeError& e) {
      throw NodeError(fmt::format("{}: {}", nodeLabel(n), e.what()));
    } catch (const Unsupported& e) {
      throw NodeError(fmt::format("{}: unsupported: {}", nodeLabel(n), e.what()));
    } catch (const InvalidModel& e) {
      throw NodeError(fmt::format("{}: invalid: {}", nodeLabel(n), e.what()));
    } catch (const BuildError& e) {
      throw NodeError(fmt::format("{}: cannot build: {}", nodeLabel(n), e.what()));
    }
  }
}

ValueList Importer::importSubgraph(const onnx::GraphProto& g, const Scope& parent,
                                   const ValueList& args) {
  if (static_cast<size_t>(g.input_size()) != args.size())
    throw InvalidModel(fmt::format("subgraph '{}' takes {} inputs, expected {}", g.name(),
                                   g.input_size(), args.size()));
  Scope scope(&parent);
  for (size_t i = 0; i < args.size(); ++i)
    scope.define(g.input(static_cast<int>(i)).name(), args[i]);
  importNodes(g, scope);
  ValueList outs;
  for (const auto& o : g.output()) {
    std::optional<Val> v = scope.lookup(o.name());
    if (!v) throw InvalidModel(fmt::format("subgraph output '{}' is never defined", o.name()));
    outs.push_back(*v);
  }
  return outs;
}

const ConverterTable& converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    registerElementwiseOps(t);
    registerShapeOps(t);
    registerIndexingOps(t);
    registerReduceOps(t);
    registerMathOps(t);
    registerControlFlowOps(t);
    registerRnnOps(t);
    registerLossOps(t);
    registerMiscOps(t);
    registerConvOps(t);
    registerGatherScatterNdOps(t);
    registerEinsumOps(t);
    registerTopKOps(t);
    return t;
  }();
  return table;
}

} // namespace cairn::onnx_import

namespace cairn {

using namespace onnx_import;

StatusOr<std::unique_ptr<Module>> importOnnxBytes(std::string_view bytes,
                                                  const std::string& baseDir,
                                                  const std::string& what,
                                                  const OnnxImportOptions& options) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    return errorf("{}: larger than 2 GiB; keep the weights in external data files", what);
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return errorf("{}: not a valid ONNX model (the protobuf is truncated or corrupt)", what);
  if (!model.has_graph()) return errorf("{}: the model has no graph", what);
  int opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  if (opset < 0)
    return errorf("{}: unsupported: the model imports no default-domain opset (other domains are "
                  "not supported)",
                  what);
  if (opset < kMinOpset || opset > kMaxOpset)
    return errorf("{}: opset {} is not supported (Cairn imports opsets {} to {})", what, opset,
                  kMinOpset, kMaxOpset);
  if (!model.functions().empty())
    return errorf("{}: unsupported: model-local functions are not supported", what);

  const onnx::GraphProto& g = model.graph();
  std::map<std::string, bool> initialized;
  for (const auto& init : g.initializer())
    initialized[init.name()] = true;
  std::vector<TensorType> argTypes;
  std::vector<std::string> argNames;
  std::vector<const onnx::ValueInfoProto*> args;
  for (const auto& in : g.input()) {
    if (initialized.count(in.name())) continue; // a default the model fixes: a constant
    StatusOr<TensorType> t = typeFromValueInfo(in);
    if (!t.isOk()) return errorf("{}: graph input: {}", what, t.status().message());
    argTypes.push_back(*t);
    argNames.push_back(in.name());
    args.push_back(&in);
  }

  auto m = std::make_unique<Module>();
  try {
    FunctionBuilder fb(*m, options.functionName, argTypes);
    Importer imp(fb, opset, baseDir);
    Scope scope;
    for (size_t i = 0; i < args.size(); ++i)
      scope.define(argNames[i], fb.arg(i));
    imp.importNodes(g, scope);
    ValueList results;
    for (const auto& o : g.output()) {
      std::optional<Val> v = scope.lookup(o.name());
      if (!v) return errorf("{}: graph output '{}' is never defined", what, o.name());
      results.push_back(*v);
    }
    fb.ret(results);
    // Name the parameters after the graph inputs where the text form allows.
    for (size_t i = 0; i < argNames.size(); ++i) {
      std::string n;
      for (char c : argNames[i])
        n += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
      if (!n.empty() && !std::isdigit(static_cast<unsigned char>(n[0])))
        fb.function().body().argument(i)->name = n;
    }
  } catch (const NodeError& e) {
    return errorf("{}: {}", what, e.what());
  } catch (const Unsupported& e) {
    return errorf("{}: unsupported: {}", what, e.what());
  } catch (const InvalidModel& e) {
    return errorf("{}: invalid: {}", what, e.what());
  } catch (const BuildError& e) {
    return errorf("{}: cannot build: {}", what, e.what());
  }
  return m;
}

StatusOr<std::unique_ptr<Module>> importOnnxFile(const std::string& path,
                                                 const OnnxImportOptions& options) {
  // readWholeFile: a directory is an error, not a stream exception.
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, readWholeFile(path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  return importOnnxBytes(bytes, dir.empty() ? "." : dir, path, options);
}

std::vector<std::string> onnxSupportedOps() {
  std::vector<std::string> ops;
  for (const auto& [name, fn] : converters())
    ops.push_back(name);
  return ops;
}

bool isOnnxPath(std::string_view path) {
  return path.size() >= 5 && path.substr(path.size() - 5) == ".onnx";
}

} // namespace cairn
