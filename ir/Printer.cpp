// The text form's printer. The output is canonical so that parsing it and
// printing again reproduces it byte for byte:
//  * values are named in definition (= text) order; a non-numeric hint is
//    kept when free in the function, else suffixed _1, _2, ...; the rest are
//    numbered 0, 1, ... (the parser drops numeric hints, so numbers are
//    reassigned identically);
//  * attributes print sorted (AttrMap is ordered);
//  * floats print in shortest round-trip form.
// The printer never trusts the IR to be verified (printOp serves error
// messages about broken IR), so it bounds-checks every structural access.
#include "ir/Printer.h"

#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "ir/Lexer.h"

namespace cairn {
namespace {

/// A name usable after '%' or '@': invalid characters become '_'.
std::string sanitizeName(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (!isNameChar(c)) c = '_';
  return out;
}

/// A function or callee name; never empty, so `@` is always followed by one.
std::string symbolName(std::string_view name) {
  return name.empty() ? std::string("_") : sanitizeName(name);
}

bool isNumeric(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

/// Shortest round-trip text, always recognizable as a float literal.
std::string formatFloat(double v, DType dtype) {
  std::string s =
      dtype == DType::F64 ? fmt::format("{}", v) : fmt::format("{}", static_cast<float>(v));
  if (s.find_first_of(".ein") == std::string::npos) s += ".0";
  return s;
}

std::string formatElement(const Tensor& t, int64_t i) {
  if (isFloat(t.dtype())) return formatFloat(t.getDouble(i), t.dtype());
  if (isBool(t.dtype())) return t.getInt(i) ? "true" : "false";
  return std::to_string(t.getInt(i));
}

/// A constant's literal: one element when it is a splat, else nested lists.
std::string formatLiteral(const Tensor& t) {
  if (t.numElements() >= 1 && t.isSplat()) return formatElement(t, 0);
  return t.toNestedString([&](int64_t i) { return formatElement(t, i); });
}

std::string formatAttr(const Attribute& a) {
  struct Visitor {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return formatFloat(v, DType::F64); }
    std::string operator()(const std::string& v) const { return escapeString(v); }
    std::string operator()(const std::vector<int64_t>& v) const {
      return fmt::format("[{}]", fmt::join(v, ", "));
    }
    std::string operator()(const SymbolRef& v) const { return "@" + symbolName(v.name); }
    std::string operator()(const Tensor& v) const {
      return formatLiteral(v) + " : " + v.type().toString();
    }
  };
  return std::visit(Visitor{}, a);
}

std::string formatTypes(const std::vector<TensorType>& types) {
  std::string out;
  for (size_t i = 0; i < types.size(); ++i)
    out += (i ? ", " : "") + types[i].toString();
  return out;
}

class AsmPrinter {
public:
  std::string out;

  void printFunction(const Function& f);
  void printOp(const Op& op, int indent);
  /// The reference text of `v` ("%x", "%r#1"), naming it if it has no name yet.
  std::string ref(const Value* v);

private:
  std::string freshName(const std::string& hint);
  void nameResults(const Op& op);
  void printRegion(const Region& region, int indent);
  void printAttrs(const AttrMap& attrs, std::string_view skip = {});
  void printResultTypes(const Op& op);
  void printConstant(const Op& op);
  void printWhile(const Op& op, int indent);
  void printIf(const Op& op, int indent);
  void printCall(const Op& op);
  void printFusion(const Op& op, int indent);

  std::unordered_map<const Value*, std::string> names_; ///< without '%'
  std::unordered_set<std::string> used_;
  std::unordered_map<std::string, int> nextSuffix_;
  int nextNumber_ = 0;
};

std::string AsmPrinter::freshName(const std::string& rawHint) {
  std::string hint = sanitizeName(rawHint);
  if (!hint.empty() && !isNumeric(hint)) {
    if (used_.insert(hint).second) return hint;
    int& k = nextSuffix_[hint];
    while (true) {
      std::string candidate = fmt::format("{}_{}", hint, ++k);
      if (used_.insert(candidate).second) return candidate;
    }
  }
  while (true) {
    std::string candidate = std::to_string(nextNumber_++);
    if (used_.insert(candidate).second) return candidate;
  }
}

std::string AsmPrinter::ref(const Value* v) {
  if (!v) return "%<null>";
  auto it = names_.find(v);
  if (it == names_.end()) it = names_.emplace(v, freshName(v->name)).first;
  return "%" + it->second;
}

void AsmPrinter::nameResults(const Op& op) {
  if (op.numResults() == 0) return;
  if (op.numResults() == 1) {
    out += ref(op.result(0)) + " = ";
    return;
  }
  // A multi-result op is one group named after its first result.
  std::string group = freshName(op.result(0)->name);
  for (size_t i = 0; i < op.numResults(); ++i)
    names_[op.result(i)] = fmt::format("{}#{}", group, i);
  out += fmt::format("%{}:{} = ", group, op.numResults());
}

void AsmPrinter::printFunction(const Function& f) {
  out += fmt::format("func @{}(", symbolName(f.name));
  const Region& body = f.body();
  for (size_t i = 0; i < body.numArguments(); ++i) {
    if (i) out += ", ";
    out += ref(body.argument(i)) + ": " + body.argument(i)->type.toString();
  }
  out += ") -> ";
  if (f.resultTypes.size() == 1)
    out += f.resultTypes[0].toString();
  else
    out += "(" + formatTypes(f.resultTypes) + ")";
  out += " {\n";
  for (const auto& op : body.ops())
    printOp(*op, 2);
  out += "}\n";
}

void AsmPrinter::printRegion(const Region& region, int indent) {
  out += "{\n";
  for (const auto& op : region.ops())
    printOp(*op, indent + 2);
  out += std::string(static_cast<size_t>(indent), ' ') + "}";
}

void AsmPrinter::printAttrs(const AttrMap& attrs, std::string_view skip) {
  bool first = true;
  for (const auto& [name, value] : attrs) {
    if (name == skip) continue;
    out += first ? " {" : ", ";
    first = false;
    out += name + " = " + formatAttr(value);
  }
  if (!first) out += "}";
}

void AsmPrinter::printResultTypes(const Op& op) {
  if (op.numResults() == 0) return;
  std::vector<TensorType> types;
  for (size_t i = 0; i < op.numResults(); ++i)
    types.push_back(op.result(i)->type);
  out += " : " + formatTypes(types);
}

void AsmPrinter::printOp(const Op& op, int indent) {
  out += std::string(static_cast<size_t>(indent), ' ');
  nameResults(op);
  out += op.name();
  switch (op.kind()) {
  case OpKind::Constant:
    printConstant(op);
    break;
  case OpKind::While:
    printWhile(op, indent);
    break;
  case OpKind::If:
    printIf(op, indent);
    break;
  case OpKind::Call:
    printCall(op);
    break;
  case OpKind::Fusion:
    printFusion(op, indent);
    break;
  default:
    for (size_t i = 0; i < op.numOperands(); ++i)
      out += (i ? ", " : " ") + ref(op.operand(i));
    printAttrs(op.attrs);
    printResultTypes(op);
    break;
  }
  out += "\n";
}

void AsmPrinter::printConstant(const Op& op) {
  auto it = op.attrs.find("value");
  if (it != op.attrs.end() && std::holds_alternative<Tensor>(it->second))
    out += " " + formatLiteral(std::get<Tensor>(it->second));
  else
    out += " <missing value>";
  printAttrs(op.attrs, "value");
  printResultTypes(op);
}

void AsmPrinter::printWhile(const Op& op, int indent) {
  static const Region empty;
  const Region& cond = op.numRegions() > 0 ? op.region(0) : empty;
  const Region& body = op.numRegions() > 1 ? op.region(1) : empty;
  size_t carried = cond.numArguments();
  out += " (";
  std::vector<TensorType> types;
  for (size_t i = 0; i < carried; ++i) {
    const Value* arg = cond.argument(i);
    out += (i ? ", " : "") + ref(arg) + " = ";
    out += i < op.numOperands() ? ref(op.operand(i)) : "%<missing>";
    types.push_back(arg->type);
  }
  out += ") : (" + formatTypes(types) + ")";
  if (op.numOperands() > carried) out += " max_trip " + ref(op.operand(carried));
  // The body's arguments are the same carried values: one header names both.
  for (size_t i = 0; i < body.numArguments() && i < carried; ++i)
    names_[body.argument(i)] = names_[cond.argument(i)];
  out += " cond ";
  printRegion(cond, indent);
  out += " body ";
  printRegion(body, indent);
  printAttrs(op.attrs);
}

void AsmPrinter::printIf(const Op& op, int indent) {
  static const Region empty;
  out += " " + (op.numOperands() > 0 ? ref(op.operand(0)) : std::string("%<missing>"));
  std::vector<TensorType> types;
  for (size_t i = 0; i < op.numResults(); ++i)
    types.push_back(op.result(i)->type);
  out += " -> (" + formatTypes(types) + ") ";
  printRegion(op.numRegions() > 0 ? op.region(0) : empty, indent);
  out += " else ";
  printRegion(op.numRegions() > 1 ? op.region(1) : empty, indent);
  printAttrs(op.attrs);
}

void AsmPrinter::printCall(const Op& op) {
  auto it = op.attrs.find("callee");
  if (it != op.attrs.end() && std::holds_alternative<SymbolRef>(it->second))
    out += " " + formatAttr(it->second);
  else
    out += " @<missing callee>";
  out += "(";
  for (size_t i = 0; i < op.numOperands(); ++i)
    out += (i ? ", " : "") + ref(op.operand(i));
  out += ")";
  printAttrs(op.attrs, "callee");
  printResultTypes(op);
}

// `fusion (%a = %x, ...) : (T...) -> (R...) {...} {kind = ...}`: the header
// binds the region arguments as `while` does; the result types are always
// parenthesized, as `if`'s.
void AsmPrinter::printFusion(const Op& op, int indent) {
  static const Region empty;
  const Region& body = op.numRegions() > 0 ? op.region(0) : empty;
  out += " (";
  std::vector<TensorType> argTypes;
  for (size_t i = 0; i < body.numArguments(); ++i) {
    out += (i ? ", " : "") + ref(body.argument(i)) + " = ";
    out += i < op.numOperands() ? ref(op.operand(i)) : "%<missing>";
    argTypes.push_back(body.argument(i)->type);
  }
  std::vector<TensorType> types;
  for (size_t i = 0; i < op.numResults(); ++i)
    types.push_back(op.result(i)->type);
  out += ") : (" + formatTypes(argTypes) + ") -> (" + formatTypes(types) + ") ";
  printRegion(body, indent);
  printAttrs(op.attrs);
}

} // namespace

std::string printFunction(const Function& f) {
  AsmPrinter p;
  p.printFunction(f);
  return std::move(p.out);
}

std::string printModule(const Module& m) {
  std::string out;
  for (const auto& f : m.functions()) {
    if (!out.empty()) out += "\n";
    out += printFunction(*f);
  }
  return out;
}

std::string printOp(const Op& op) {
  AsmPrinter p;
  // Operands defined elsewhere get names first, so they read %0, %1, ...
  // in operand order rather than after the op's own results.
  for (const Value* v : op.operands)
    p.ref(v);
  p.printOp(op, 0);
  if (!p.out.empty() && p.out.back() == '\n') p.out.pop_back();
  return std::move(p.out);
}

} // namespace cairn
