// Internals of the ONNX importer shared by its files: the scope of names, the
// per-node context the op converters read, the importer itself (graph walk,
// import-time constants) and shape helpers.
//
// Converters report problems by throwing: Unsupported (a valid model using
// something Cairn cannot import yet) or InvalidModel (the model breaks the
// ONNX spec). The graph walk catches both, and the builder's BuildError,
// and turns them into one message naming the node, its op type and the
// reason; the public entry points return it as a Status.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "frontend/Builder.h"
#include "frontend/onnx/OnnxImport.h"

namespace cairn::onnx_import {

struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct InvalidModel : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A node failed; what() is the complete message (nodes nest through
/// subgraphs: "node 'loop' (op Loop): node 'add' (op Add): ...").
struct NodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// `t`, which a node reads as one value (a depth, a trip count, an axis, a
/// fill value); throws InvalidModel naming `what` when it holds another
/// number of elements (an empty one was read past its end).
const Tensor& oneElement(const Tensor& t, std::string_view what);

StatusOr<DType> dtypeFromOnnx(int32_t elemType);
StatusOr<Tensor> tensorFromProto(const onnx::TensorProto& t, const std::string& baseDir);

/// Names of ONNX values -> Cairn values. A subgraph's scope has its
/// enclosing graph's as parent: ONNX bodies may use outer values, and so may
/// Cairn regions.
class Scope {
public:
  explicit Scope(const Scope* parent = nullptr) : parent_(parent) {}
  void define(const std::string& name, Val v) { values_[name] = v; }
  std::optional<Val> lookup(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent_)
      if (auto it = s->values_.find(name); it != s->values_.end()) return it->second;
    return std::nullopt;
  }

private:
  const Scope* parent_;
  std::map<std::string, Val> values_;
};

class Importer;

/// What a converter sees of one node: its inputs as Vals (missing optional
/// inputs are invalid Vals), its attributes, and import-time constants.
class NodeContext {
public:
  NodeContext(Importer& imp, const onnx::NodeProto& node, const Scope& scope, ValueList inputs);

  Importer& importer;
  FunctionBuilder& b;
  const onnx::NodeProto& node;
  const Scope& scope;

  /// The opset of the default domain the model imports.
  int opset() const;
  size_t numInputs() const { return inputs_.size(); }
  bool hasInput(size_t i) const { return i < inputs_.size() && inputs_[i].valid(); }
  /// Input i; throws InvalidModel when it is missing.
  Val input(size_t i) const;
  size_t numOutputs() const { return static_cast<size_t>(node.output_size()); }
  /// True when output i is wanted (present and named).
  bool wantsOutput(size_t i) const {
    return i < numOutputs() && !node.output(static_cast<int>(i)).empty();
  }

  const onnx::AttributeProto* attr(std::string_view name) const;
  bool hasAttr(std::string_view name) const { return attr(name) != nullptr; }
  int64_t attrInt(std::string_view name, int64_t dflt) const;
  float attrFloat(std::string_view name, float dflt) const;
  std::string attrString(std::string_view name, std::string dflt) const;
  std::vector<int64_t> attrInts(std::string_view name) const;
  std::vector<float> attrFloats(std::string_view name) const;
  std::vector<std::string> attrStrings(std::string_view name) const;
  const onnx::GraphProto& attrGraph(std::string_view name) const;
  Tensor attrTensor(std::string_view name) const;

  /// Input i's value when it is known at import time (an initializer, a
  /// Constant, or folded from them), else nullopt.
  std::optional<Tensor> constInput(size_t i) const;
  /// Input i as integers known at import time; throws Unsupported (naming
  /// `what`) when it is computed at run time.
  std::vector<int64_t> constInts(size_t i, std::string_view what) const;

private:
  ValueList inputs_;
};

using Converter = ValueList (*)(NodeContext&);
using ConverterTable = std::map<std::string, Converter, std::less<>>;
void registerElementwiseOps(ConverterTable& t);
void registerShapeOps(ConverterTable& t);
void registerIndexingOps(ConverterTable& t);
void registerReduceOps(ConverterTable& t);
void registerMathOps(ConverterTable& t);
void registerControlFlowOps(ConverterTable& t);
void registerRnnOps(ConverterTable& t);
void registerLossOps(ConverterTable& t);
void registerMiscOps(ConverterTable& t);
void registerConvOps(ConverterTable& t);
void registerGatherScatterNdOps(ConverterTable& t);
void registerEinsumOps(ConverterTable& t);
void registerTopKOps(ConverterTable& t);
const ConverterTable& converters();

class Importer {
public:
  Importer(FunctionBuilder& b, int opset, std::string baseDir)
      : b(b), opset(opset), baseDir(std::move(baseDir)) {}

  FunctionBuilder& b;
  const int opset;
  const std::string baseDir;

  /// Converts `g`'s initializers and nodes into the builder's current
  /// region, defining every output in `scope`. Throws NodeError.
  void importNodes(const onnx::GraphProto& g, Scope& scope);
  /// Imports subgraph `g` (a Loop/Scan body or an If branch) into the
  /// builder's current region with its inputs bound to `args`; returns its
  /// outputs. Throws NodeError / InvalidModel.
  ValueList importSubgraph(const onnx::GraphProto& g, const Scope& parent, const ValueList& args);

  /// v's value when known at import time: constants, and ops of constants
  /// folded with the reference interpreter (small results only).
  std::optional<Tensor> constantOf(const Val& v);
  /// Forgets cached constants of values defined inside `op` (before erasing
  /// it: a freed Value's address may be reused).
  void forget(const Op& op);

private:
  std::optional<Tensor> fold(Value* v, int depth);
  std::map<const Value*, Tensor> constants_;
};

// ---- Helpers shared by converters (Helpers.cpp) -----------------------------

/// axis in [-rank, rank) -> [0, rank); throws InvalidModel otherwise.
int64_t normalizeAxis(int64_t axis, int64_t rank, std::string_view what = "axis");
/// Throws Unsupported when a table the importer builds on the host (an
/// index ramp, a mask, a count) would hold more than 2^26 elements: a
/// corrupt or huge declared shape must not exhaust memory at import.
void checkHostTable(int64_t elements, std::string_view what);
/// Ranks (and lengths of shape, axes and starts tensors) above this are
/// rejected: per-dim loops build ops, and a corrupt length must not make
/// millions of them.
inline constexpr int64_t kMaxRank = 64;
void checkRank(int64_t rank, std::string_view what);
/// The size of x's dim d: static, or a `dim` op (i64).
IntOrVal sizeOf(const Val& x, int64_t d);
/// All sizes of x.
Sizes sizesOf(const Val& x);
/// numpy broadcasting of several values to their common shape.
ValueList broadcastTogether(const ValueList& xs);
/// The common (numpy) shape of xs as Sizes (Vals for dynamic dims).
Sizes broadcastSizes(const ValueList& xs);
/// Element i of a rank-1 value as a scalar.
Val elementAt(const Val& v, int64_t i);
/// x reshaped to a type with the same dtype and rank whose dims are at least
/// as dynamic (keeps x when it already has that type).
Val generalizeTo(const Val& x, const TensorType& t);
/// The least specific type of a and b (same dtype and rank required; dims
/// that differ become dynamic); nullopt when dtype or rank differ.
std::optional<TensorType> joinTypes(const TensorType& a, const TensorType& b);
/// A scalar i64 Val from a value of one element (shape [] or [1]).
Val toScalar(const Val& v, DType dtype);
/// The product of sizes as an IntOrVal (i64 Val when any is dynamic).
IntOrVal productOf(FunctionBuilder& b, const Sizes& sizes);
/// v reshaped to the static dims `vi` declares where v's are dynamic.
Val refineWithDeclared(const Val& v, const onnx::ValueInfoProto& vi);
/// Moves axis `from` of x to position `to` (a transpose; x when from == to).
Val moveAxis(const Val& x, int64_t from, int64_t to);
/// Reverses x along axis (a gather of a descending index ramp).
Val reverseAxis(const Val& x, int64_t axis);

} // namespace cairn::onnx_import
