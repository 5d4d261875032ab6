// The parser's special op forms: constant (with its literal), while, if,
// call and fusion. Each has syntax the generic form cannot express: a
// literal tensor, regions with named block arguments, a predicate and
// branches, a callee.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "ir/ParserImpl.h"

namespace cairn {

/// A constant's materialized size limit. Text can name any shape cheaply
/// (`constant 0.0 : tensor<100000x100000xf32>`), so the parser refuses to
/// allocate beyond this rather than exhausting memory.
static constexpr int64_t kMaxConstantBytes = int64_t(1) << 30;

//===--- constant ------------------------------------------------------------===//

Status TextParser::parseConstantOp(const Token& start, const ResultSpec& res,
                                   std::unique_ptr<Op>& out) {
  if (res.count != 1) return errorAt(start, "'constant' must define exactly one result");
  Literal lit;
  CAIRN_RETURN_IF_ERROR(parseLiteral(lit));
  AttrMap attrs;
  if (tok_.is(Tok::LBrace)) {
    Token attrTok = tok_;
    CAIRN_RETURN_IF_ERROR(parseAttrDict(attrs));
    if (attrs.count("value")) return errorAt(attrTok, "duplicate attribute 'value'");
  }
  CAIRN_RETURN_IF_ERROR(expect(Tok::Colon, "':' and the constant's type"));
  Token typeTok = tok_;
  TensorType type;
  CAIRN_RETURN_IF_ERROR(parseType(type));
  Tensor value;
  CAIRN_RETURN_IF_ERROR(literalToTensor(lit, type, typeTok, value));
  attrs["value"] = std::move(value);
  out = Op::create(OpKind::Constant, {}, {type}, std::move(attrs), 0, locOf(start));
  return Status::ok();
}

Status TextParser::parseLiteral(Literal& lit) {
  lit.token = tok_;
  if (tok_.is(Tok::LSquare)) {
    CAIRN_RETURN_IF_ERROR(enterNesting(tok_));
    lit.isList = true;
    consume();
    if (!tok_.is(Tok::RSquare)) {
      do {
        lit.elements.emplace_back();
        CAIRN_RETURN_IF_ERROR(parseLiteral(lit.elements.back()));
      } while (consumeIf(Tok::Comma));
    }
    CAIRN_RETURN_IF_ERROR(expect(Tok::RSquare, "']' to end the list"));
    exitNesting();
    return Status::ok();
  }
  bool scalar = tok_.is(Tok::Integer) || tok_.is(Tok::Float) || tok_.isKeyword("true") ||
                tok_.isKeyword("false") || tok_.isKeyword("inf") || tok_.isKeyword("nan");
  if (!scalar) return errorHere("expected a constant literal (a number, true, false or a list)");
  consume();
  return Status::ok();
}

Status TextParser::literalToTensor(const Literal& lit, const TensorType& type, const Token& typeTok,
                                   Tensor& out) {
  if (!type.hasStaticShape())
    return errorAt(typeTok,
                   fmt::format("constant type {} must have a static shape", type.toString()));
  // parseType bounds the element count by 2^48, so this cannot overflow.
  int64_t bytes = type.numElements() * dtypeSize(type.dtype);
  if (bytes > kMaxConstantBytes)
    return errorAt(typeTok,
                   fmt::format("constant of type {} is too large (over 1 GiB)", type.toString()));
  out = Tensor(type);
  int64_t index = 0;
  if (lit.isList) return fillFromLiteral(lit, 0, out, index);

  // A scalar literal is a splat. Check it even when there is nothing to fill.
  if (out.numElements() == 0) {
    Tensor probe(TensorType(type.dtype, {}));
    return storeElement(lit.token, probe, 0);
  }
  CAIRN_RETURN_IF_ERROR(storeElement(lit.token, out, 0));
  size_t total = out.byteSize();
  size_t filled = static_cast<size_t>(dtypeSize(type.dtype));
  std::byte* data = out.rawData();
  // Doubling copies fill large splats quickly.
  while (filled < total) {
    size_t n = std::min(filled, total - filled);
    std::memcpy(data + filled, data, n);
    filled += n;
  }
  return Status::ok();
}

Status TextParser::fillFromLiteral(const Literal& lit, size_t dim, Tensor& t, int64_t& index) {
  if (dim == t.shape().size()) {
    if (lit.isList)
      return errorAt(lit.token, fmt::format("constant literal is nested deeper than its type {}",
                                            t.type().toString()));
    return storeElement(lit.token, t, index++);
  }
  int64_t expected = t.shape()[dim];
  if (!lit.isList || static_cast<int64_t>(lit.elements.size()) != expected)
    return errorAt(lit.token,
                   fmt::format("expected a list of {} element{} for dim {} of {}", expected,
                               expected == 1 ? "" : "s", dim, t.type().toString()));
  for (const Literal& element : lit.elements)
    CAIRN_RETURN_IF_ERROR(fillFromLiteral(element, dim + 1, t, index));
  return Status::ok();
}

/// Parses `text` as a T (float or double) rounded once, as C's strtof/strtod
/// would, with inf and nan spelled out. Returns false on overflow.
template <typename T> static bool parseFloatText(std::string_view text, T& value) {
  bool negative = !text.empty() && text[0] == '-';
  std::string_view mag = negative ? text.substr(1) : text;
  if (mag == "inf" || mag == "nan") {
    value = mag == "inf" ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::quiet_NaN();
    value = std::copysign(value, negative ? T(-1) : T(1));
    return true;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow too; keep C's answer (zero or a
    // subnormal) for that and reject only overflow.
    std::string copy(text);
    if constexpr (std::is_same_v<T, float>)
      value = std::strtof(copy.c_str(), nullptr);
    else
      value = std::strtod(copy.c_str(), nullptr);
    return !std::isinf(value);
  }
  return ec == std::errc() && ptr == text.data() + text.size();
}

Status TextParser::storeElement(const Token& t, Tensor& tensor, int64_t index) {
  DType dtype = tensor.dtype();
  std::string_view name = dtypeName(dtype);
  if (isBool(dtype)) {
    if (t.isKeyword("true") || (t.is(Tok::Integer) && t.text == "1")) {
      tensor.setInt(index, 1);
      return Status::ok();
    }
    if (t.isKeyword("false") || (t.is(Tok::Integer) && t.text == "0")) {
      tensor.setInt(index, 0);
      return Status::ok();
    }
    return errorAt(t, fmt::format("expected true, false, 0 or 1 for i1, got '{}'", t.text));
  }
  if (isInteger(dtype)) {
    if (!t.is(Tok::Integer))
      return errorAt(t, fmt::format("expected an integer for {}, got '{}'", name, t.text));
    int64_t v = 0;
    CAIRN_RETURN_IF_ERROR(parseInt(t, v));
    if (dtype == DType::I32 &&
        (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()))
      return errorAt(t, fmt::format("integer '{}' out of range for i32", t.text));
    tensor.setInt(index, v);
    return Status::ok();
  }
  if (t.isKeyword("true") || t.isKeyword("false"))
    return errorAt(t, fmt::format("expected a number for {}, got '{}'", name, t.text));
  auto outOfRange = [&] {
    return errorAt(t, fmt::format("float '{}' out of range for {}", t.text, name));
  };
  if (dtype == DType::F64) {
    double v = 0;
    if (!parseFloatText(t.text, v)) return outOfRange();
    tensor.setDouble(index, v);
    return Status::ok();
  }
  // f32, f16 and bf16 go through float: printed f16/bf16 values are exact
  // floats, so this reads them back bit for bit.
  float v = 0;
  if (!parseFloatText(t.text, v)) return outOfRange();
  tensor.setDouble(index, v);
  if (std::isfinite(v) && std::isinf(tensor.getDouble(index))) return outOfRange();
  return Status::ok();
}

//===--- while -----------------------------------------------------------------===//

Status TextParser::parseBindingList(std::vector<Token>& names, std::vector<Value*>& operands,
                                    std::string_view what) {
  CAIRN_RETURN_IF_ERROR(expect(Tok::LParen, fmt::format("'(' to start the {}s", what)));
  std::unordered_set<std::string_view> headerNames;
  if (!tok_.is(Tok::RParen)) {
    do {
      Token nameTok = tok_;
      if (!tok_.is(Tok::PercentId) || tok_.text.find('#') != std::string_view::npos)
        return errorHere(fmt::format("expected a {} name '%name'", what));
      std::string name(nameTok.text.substr(1));
      CAIRN_RETURN_IF_ERROR(checkNotDefined(nameTok, name));
      if (!headerNames.insert(nameTok.text).second)
        return errorAt(nameTok, fmt::format("redefinition of value '%{}'", name));
      names.push_back(nameTok);
      consume();
      CAIRN_RETURN_IF_ERROR(expect(Tok::Equal, fmt::format("'=' after the {} name", what)));
      operands.push_back(nullptr);
      CAIRN_RETURN_IF_ERROR(parseValueUse(operands.back()));
    } while (consumeIf(Tok::Comma));
  }
  return expect(Tok::RParen, fmt::format("')' to end the {}s", what));
}

Status TextParser::parseWhileOp(const Token& start, const ResultSpec& res,
                                std::unique_ptr<Op>& out) {
  std::vector<Token> names;
  std::vector<Value*> operands;
  CAIRN_RETURN_IF_ERROR(parseBindingList(names, operands, "loop-carried value"));
  CAIRN_RETURN_IF_ERROR(expect(Tok::Colon, "':' and the loop-carried types"));
  Token typesTok = tok_;
  std::vector<TensorType> types;
  CAIRN_RETURN_IF_ERROR(parseParenTypeList(types));
  if (types.size() != names.size())
    return errorAt(typesTok, fmt::format("{} loop-carried types for {} loop-carried values",
                                         types.size(), names.size()));
  CAIRN_RETURN_IF_ERROR(checkResultCount(start, res, names.size(), "loop-carried value"));
  if (tok_.isKeyword("max_trip")) {
    consume();
    operands.push_back(nullptr);
    CAIRN_RETURN_IF_ERROR(parseValueUse(operands.back()));
  }
  CAIRN_RETURN_IF_ERROR(expectKeyword("cond"));
  out = Op::create(OpKind::While, std::move(operands), types, {}, 2, locOf(start));
  CAIRN_RETURN_IF_ERROR(parseRegionWithArgs(out->region(0), names, types));
  CAIRN_RETURN_IF_ERROR(expectKeyword("body"));
  CAIRN_RETURN_IF_ERROR(parseRegionWithArgs(out->region(1), names, types));
  if (tok_.is(Tok::LBrace)) CAIRN_RETURN_IF_ERROR(parseAttrDict(out->attrs));
  return Status::ok();
}

//===--- if ----------------------------------------------------------------------===//

Status TextParser::parseIfOp(const Token& start, const ResultSpec& res, std::unique_ptr<Op>& out) {
  Value* pred = nullptr;
  CAIRN_RETURN_IF_ERROR(parseValueUse(pred));
  CAIRN_RETURN_IF_ERROR(expect(Tok::Arrow, "'->' and the result types"));
  Token typesTok = tok_;
  std::vector<TensorType> types;
  if (tok_.is(Tok::LParen)) {
    CAIRN_RETURN_IF_ERROR(parseParenTypeList(types));
  } else {
    types.emplace_back();
    CAIRN_RETURN_IF_ERROR(parseType(types.back()));
  }
  CAIRN_RETURN_IF_ERROR(checkResultCount(typesTok, res, types.size(), "result type"));
  out = Op::create(OpKind::If, {pred}, types, {}, 2, locOf(start));
  CAIRN_RETURN_IF_ERROR(parseRegionWithArgs(out->region(0), {}, {}));
  CAIRN_RETURN_IF_ERROR(expectKeyword("else"));
  CAIRN_RETURN_IF_ERROR(parseRegionWithArgs(out->region(1), {}, {}));
  if (tok_.is(Tok::LBrace)) CAIRN_RETURN_IF_ERROR(parseAttrDict(out->attrs));
  return Status::ok();
}

//===--- call --------------------------------------------------------------------===//

Status TextParser::parseCallOp(const Token& start, const ResultSpec& res,
                               std::unique_ptr<Op>& out) {
  Token callee = tok_;
  if (!tok_.is(Tok::AtId)) return errorHere("expected the callee '@name'");
  consume();
  CAIRN_RETURN_IF_ERROR(expect(Tok::LParen, "'(' to start the call arguments"));
  std::vector<Value*> operands;
  if (!tok_.is(Tok::RParen)) CAIRN_RETURN_IF_ERROR(parseValueUseList(operands));
  CAIRN_RETURN_IF_ERROR(expect(Tok::RParen, "')' to end the call arguments"));
  AttrMap attrs;
  if (tok_.is(Tok::LBrace)) {
    Token attrTok = tok_;
    CAIRN_RETURN_IF_ERROR(parseAttrDict(attrs));
    if (attrs.count("callee")) return errorAt(attrTok, "duplicate attribute 'callee'");
  }
  attrs["callee"] = SymbolRef{std::string(callee.text.substr(1))};
  Token typesTok = tok_;
  std::vector<TensorType> types;
  if (consumeIf(Tok::Colon)) {
    typesTok = tok_;
    CAIRN_RETURN_IF_ERROR(parseTypeList(types));
  } else if (res.count > 0) {
    return errorHere("expected ':' and the result types after the call");
  }
  CAIRN_RETURN_IF_ERROR(checkResultCount(typesTok, res, types.size(), "result type"));
  out = Op::create(OpKind::Call, std::move(operands), types, std::move(attrs), 0, locOf(start));
  return Status::ok();
}

//===--- fusion ------------------------------------------------------------------===//

Status TextParser::parseFusionOp(const Token& start, const ResultSpec& res,
                                 std::unique_ptr<Op>& out) {
  std::vector<Token> names;
  std::vector<Value*> operands;
  CAIRN_RETURN_IF_ERROR(parseBindingList(names, operands, "fusion input"));
  CAIRN_RETURN_IF_ERROR(expect(Tok::Colon, "':' and the fusion input types"));
  Token argTypesTok = tok_;
  std::vector<TensorType> argTypes;
  CAIRN_RETURN_IF_ERROR(parseParenTypeList(argTypes));
  if (argTypes.size() != names.size())
    return errorAt(argTypesTok, fmt::format("{} fusion input types for {} fusion inputs",
                                            argTypes.size(), names.size()));
  CAIRN_RETURN_IF_ERROR(expect(Tok::Arrow, "'->' and the result types"));
  Token typesTok = tok_;
  std::vector<TensorType> types;
  if (tok_.is(Tok::LParen)) {
    CAIRN_RETURN_IF_ERROR(parseParenTypeList(types));
  } else {
    types.emplace_back();
    CAIRN_RETURN_IF_ERROR(parseType(types.back()));
  }
  CAIRN_RETURN_IF_ERROR(checkResultCount(typesTok, res, types.size(), "result type"));
  out = Op::create(OpKind::Fusion, std::move(operands), types, {}, 1, locOf(start));
  CAIRN_RETURN_IF_ERROR(parseRegionWithArgs(out->region(0), names, argTypes));
  if (tok_.is(Tok::LBrace)) CAIRN_RETURN_IF_ERROR(parseAttrDict(out->attrs));
  return Status::ok();
}

} // namespace cairn
