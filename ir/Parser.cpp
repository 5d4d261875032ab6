// The parser's core: module, functions, regions, the generic op form, types,
// value names and attributes. The special op forms (constant, while, if,
// call, fusion) live in ParseSpecialOps.cpp. See ir/Parser.h for the grammar.
#include "ir/Parser.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "ir/ParserImpl.h"

namespace cairn {

TextParser::TextParser(std::string_view text, std::string_view filename)
    : lexer_(text), filename_(filename) {
  consume();
}

//===--- Tokens and diagnostics ------------------------------------------===//

bool TextParser::consumeIf(Tok kind) {
  if (!tok_.is(kind)) return false;
  consume();
  return true;
}

Status TextParser::expect(Tok kind, std::string_view what) {
  if (consumeIf(kind)) return Status::ok();
  return errorHere(fmt::format("expected {}", what));
}

Status TextParser::expectKeyword(std::string_view kw) {
  if (!tok_.isKeyword(kw)) return errorHere(fmt::format("expected '{}'", kw));
  consume();
  return Status::ok();
}

Status TextParser::errorAt(const Token& t, std::string message) {
  diag_ = Diagnostic{locOf(t), std::move(message)};
  return Status::error(diag_.toString());
}

Status TextParser::errorHere(std::string message) {
  if (tok_.is(Tok::Error)) return errorAt(tok_, lexer_.errorMessage());
  return errorAt(tok_, std::move(message));
}

Status TextParser::enterNesting(const Token& at) {
  if (++depth_ > kMaxNestingDepth)
    return errorAt(at, fmt::format("nesting deeper than {} levels", kMaxNestingDepth));
  return Status::ok();
}

//===--- Scopes -------------------------------------------------------------===//

const std::vector<Value*>* TextParser::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end()) return &found->second;
  }
  return nullptr;
}

Status TextParser::checkNotDefined(const Token& at, const std::string& name) {
  if (lookup(name)) return errorAt(at, fmt::format("redefinition of value '%{}'", name));
  return Status::ok();
}

void TextParser::bind(const std::string& name, std::vector<Value*> values) {
  scopes_.back()[name] = std::move(values);
}

std::string TextParser::hintFor(const std::string& name) {
  // Numeric names are positional: the printer renumbers them, so keeping
  // them as hints would only produce clashes.
  for (char c : name)
    if (c < '0' || c > '9') return name;
  return "";
}

//===--- Module, functions, regions ----------------------------------------===//

Status TextParser::parseModule(Module& module) {
  while (!tok_.is(Tok::Eof))
    CAIRN_RETURN_IF_ERROR(parseFunction(module));
  return Status::ok();
}

Status TextParser::parseFunction(Module& module) {
  Token start = tok_;
  CAIRN_RETURN_IF_ERROR(expectKeyword("func"));
  Token nameTok = tok_;
  CAIRN_RETURN_IF_ERROR(expect(Tok::AtId, "function name '@name'"));
  std::string name(nameTok.text.substr(1));
  if (!functionNames_.insert(name).second)
    return errorAt(nameTok, fmt::format("redefinition of function '@{}'", name));

  auto fn = std::make_unique<Function>(name);
  fn->loc = locOf(start);
  pushScope();
  CAIRN_RETURN_IF_ERROR(expect(Tok::LParen, "'(' to start the parameter list"));
  if (!tok_.is(Tok::RParen)) {
    do {
      Token argTok = tok_;
      if (!tok_.is(Tok::PercentId) || tok_.text.find('#') != std::string_view::npos)
        return errorHere("expected parameter name '%name'");
      consume();
      std::string argName(argTok.text.substr(1));
      CAIRN_RETURN_IF_ERROR(checkNotDefined(argTok, argName));
      CAIRN_RETURN_IF_ERROR(expect(Tok::Colon, "':' after parameter name"));
      TensorType type;
      CAIRN_RETURN_IF_ERROR(parseType(type));
      bind(argName, {fn->body().addArgument(type, hintFor(argName))});
    } while (consumeIf(Tok::Comma));
  }
  CAIRN_RETURN_IF_ERROR(expect(Tok::RParen, "')' to end the parameter list"));
  CAIRN_RETURN_IF_ERROR(expect(Tok::Arrow, "'->' and the result types"));
  if (tok_.is(Tok::LParen)) {
    CAIRN_RETURN_IF_ERROR(parseParenTypeList(fn->resultTypes));
  } else {
    fn->resultTypes.emplace_back();
    CAIRN_RETURN_IF_ERROR(parseType(fn->resultTypes.back()));
  }
  CAIRN_RETURN_IF_ERROR(parseRegionBody(fn->body()));
  popScope();
  module.addFunction(std::move(fn));
  return Status::ok();
}

Status TextParser::parseRegionBody(Region& region) {
  Token open = tok_;
  CAIRN_RETURN_IF_ERROR(expect(Tok::LBrace, "'{' to start a region"));
  CAIRN_RETURN_IF_ERROR(enterNesting(open));
  while (!tok_.is(Tok::RBrace)) {
    if (tok_.is(Tok::Eof)) return errorHere("expected '}' to end the region");
    CAIRN_RETURN_IF_ERROR(parseOp(region));
  }
  consume();
  exitNesting();
  return Status::ok();
}

Status TextParser::parseRegionWithArgs(Region& region, const std::vector<Token>& names,
                                       const std::vector<TensorType>& types) {
  pushScope();
  for (size_t i = 0; i < names.size(); ++i) {
    std::string name(names[i].text.substr(1));
    bind(name, {region.addArgument(types[i], hintFor(name))});
  }
  CAIRN_RETURN_IF_ERROR(parseRegionBody(region));
  popScope();
  return Status::ok();
}

//===--- Ops -----------------------------------------------------------------===//

Status TextParser::parseResultSpec(ResultSpec& spec) {
  spec.token = tok_;
  if (tok_.text.find('#') != std::string_view::npos)
    return errorHere("a result name cannot have a '#' index");
  spec.name = std::string(tok_.text.substr(1));
  spec.count = 1;
  consume();
  if (consumeIf(Tok::Colon)) {
    Token countTok = tok_;
    int64_t count = 0;
    if (!tok_.is(Tok::Integer)) return errorHere("expected the result count after ':'");
    CAIRN_RETURN_IF_ERROR(parseInt(countTok, count));
    // The bound only keeps a typo from allocating a huge op.
    if (count < 1 || count > 1000000)
      return errorAt(countTok, "result count must be between 1 and 1000000");
    consume();
    spec.count = static_cast<int>(count);
  }
  CAIRN_RETURN_IF_ERROR(checkNotDefined(spec.token, spec.name));
  return expect(Tok::Equal, "'=' after the result names");
}

Status TextParser::parseOp(Region& region) {
  Token start = tok_;
  ResultSpec res;
  if (tok_.is(Tok::PercentId)) CAIRN_RETURN_IF_ERROR(parseResultSpec(res));
  Token mnemonic = tok_;
  if (!tok_.is(Tok::Identifier)) return errorHere("expected an op mnemonic");
  std::optional<OpKind> kind = lookupOp(mnemonic.text);
  if (!kind) return errorAt(mnemonic, fmt::format("unknown op '{}'", mnemonic.text));
  consume();

  std::unique_ptr<Op> op;
  switch (*kind) {
  case OpKind::Constant:
    CAIRN_RETURN_IF_ERROR(parseConstantOp(start, res, op));
    break;
  case OpKind::While:
    CAIRN_RETURN_IF_ERROR(parseWhileOp(start, res, op));
    break;
  case OpKind::If:
    CAIRN_RETURN_IF_ERROR(parseIfOp(start, res, op));
    break;
  case OpKind::Call:
    CAIRN_RETURN_IF_ERROR(parseCallOp(start, res, op));
    break;
  case OpKind::Fusion:
    CAIRN_RETURN_IF_ERROR(parseFusionOp(start, res, op));
    break;
  default:
    CAIRN_RETURN_IF_ERROR(parseGenericOp(*kind, start, res, op));
    break;
  }
  bindResults(res, *op);
  region.append(std::move(op));
  return Status::ok();
}

void TextParser::bindResults(const ResultSpec& res, Op& op) {
  if (res.count == 0) return;
  // The group name lives on the first result; the printer names a
  // multi-result op by it.
  op.result(0)->name = hintFor(res.name);
  bind(res.name, op.results());
}

Status TextParser::checkResultCount(const Token& at, const ResultSpec& res, size_t numTypes,
                                    std::string_view what) {
  if (static_cast<size_t>(res.count) == numTypes) return Status::ok();
  return errorAt(at, fmt::format("{} {}{} but the op defines {} result{}", numTypes, what,
                                 numTypes == 1 ? "" : "s", res.count, res.count == 1 ? "" : "s"));
}

Status TextParser::parseGenericOp(OpKind kind, const Token& start, const ResultSpec& res,
                                  std::unique_ptr<Op>& out) {
  std::vector<Value*> operands;
  AttrMap attrs;
  std::vector<TensorType> types;
  if (tok_.is(Tok::PercentId)) CAIRN_RETURN_IF_ERROR(parseValueUseList(operands));
  bool hasAttrs = tok_.is(Tok::LBrace);
  if (hasAttrs) CAIRN_RETURN_IF_ERROR(parseAttrDict(attrs));
  Token typesTok = tok_;
  if (consumeIf(Tok::Colon)) {
    typesTok = tok_;
    CAIRN_RETURN_IF_ERROR(parseTypeList(types));
  } else if (res.count > 0) {
    return errorHere(hasAttrs ? "expected ':' after attributes" : "expected ':' after operands");
  }
  CAIRN_RETURN_IF_ERROR(checkResultCount(typesTok, res, types.size(), "result type"));
  out = Op::create(kind, std::move(operands), types, std::move(attrs), 0, locOf(start));
  return Status::ok();
}

//===--- Types ----------------------------------------------------------------===//

Status TextParser::parseType(TensorType& type) {
  Token t = tok_;
  if (!t.is(Tok::TensorType)) return errorHere("expected a tensor type 'tensor<...>'");
  // Text is "tensor<" body ">"; components are separated by 'x' (no dtype
  // spelling contains an 'x'), the last one is the dtype.
  std::string_view body = t.text.substr(7, t.text.size() - 8);
  Token part = t;
  size_t begin = 0;
  Shape shape;
  int64_t elements = 1;
  while (true) {
    size_t end = body.find('x', begin);
    std::string_view piece = body.substr(begin, end == std::string_view::npos ? end : end - begin);
    part.column = t.column + 7 + static_cast<int>(begin);
    if (end == std::string_view::npos) {
      std::optional<DType> dtype = parseDType(piece);
      if (!dtype) {
        if (piece.empty()) return errorAt(part, "expected an element type");
        return errorAt(part, fmt::format("unknown element type '{}'", piece));
      }
      type = TensorType(*dtype, std::move(shape));
      consume();
      return Status::ok();
    }
    int64_t dim = kDynamic;
    if (piece != "?") {
      auto [ptr, ec] = std::from_chars(piece.data(), piece.data() + piece.size(), dim);
      if (piece.empty() || ptr != piece.data() + piece.size() || piece[0] == '-')
        return errorAt(part, fmt::format("expected a dimension or '?', got '{}'", piece));
      if (ec != std::errc() || dim > kMaxTypeElements ||
          (dim > 0 && elements > kMaxTypeElements / dim))
        return errorAt(part, "tensor type has too many elements (the limit is 2^48)");
      elements *= dim;
    }
    shape.push_back(dim);
    begin = end + 1;
  }
}

Status TextParser::parseTypeList(std::vector<TensorType>& types) {
  if (tok_.is(Tok::LParen)) return parseParenTypeList(types);
  do {
    types.emplace_back();
    CAIRN_RETURN_IF_ERROR(parseType(types.back()));
  } while (consumeIf(Tok::Comma));
  return Status::ok();
}

Status TextParser::parseParenTypeList(std::vector<TensorType>& types) {
  CAIRN_RETURN_IF_ERROR(expect(Tok::LParen, "'(' to start a type list"));
  if (!tok_.is(Tok::RParen)) {
    do {
      types.emplace_back();
      CAIRN_RETURN_IF_ERROR(parseType(types.back()));
    } while (consumeIf(Tok::Comma));
  }
  return expect(Tok::RParen, "')' to end the type list");
}

//===--- Values ----------------------------------------------------------------===//

Status TextParser::parseValueUse(Value*& value) {
  Token t = tok_;
  if (!t.is(Tok::PercentId)) return errorHere("expected a value '%name'");
  std::string_view text = t.text.substr(1);
  size_t hash = text.find('#');
  std::string name(text.substr(0, hash));
  const std::vector<Value*>* group = lookup(name);
  if (!group) return errorAt(t, fmt::format("use of undefined value '%{}'", name));
  if (hash == std::string_view::npos) {
    if (group->size() != 1)
      return errorAt(t,
                     fmt::format("'%{}' names {} results; use '%{}#i'", name, group->size(), name));
    value = group->front();
  } else {
    std::string_view digits = text.substr(hash + 1);
    size_t index = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec != std::errc() || index >= group->size())
      return errorAt(t, fmt::format("result index '{}' out of range: '%{}' names {} result{}",
                                    digits, name, group->size(), group->size() == 1 ? "" : "s"));
    value = (*group)[index];
  }
  consume();
  return Status::ok();
}

Status TextParser::parseValueUseList(std::vector<Value*>& values) {
  do {
    values.push_back(nullptr);
    CAIRN_RETURN_IF_ERROR(parseValueUse(values.back()));
  } while (consumeIf(Tok::Comma));
  return Status::ok();
}

//===--- Attributes and numbers --------------------------------------------===//

Status TextParser::parseAttrDict(AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expect(Tok::LBrace, "'{' to start attributes"));
  if (consumeIf(Tok::RBrace)) return Status::ok();
  do {
    Token nameTok = tok_;
    if (!tok_.is(Tok::Identifier)) return errorHere("expected an attribute name");
    consume();
    std::string name(nameTok.text);
    if (attrs.count(name)) return errorAt(nameTok, fmt::format("duplicate attribute '{}'", name));
    CAIRN_RETURN_IF_ERROR(expect(Tok::Equal, "'=' after the attribute name"));
    CAIRN_RETURN_IF_ERROR(parseAttrValue(attrs[name]));
  } while (consumeIf(Tok::Comma));
  return expect(Tok::RBrace, "'}' to end attributes");
}

Status TextParser::parseAttrValue(Attribute& value) {
  Token t = tok_;
  if (t.is(Tok::String) || t.is(Tok::AtId)) {
    if (t.is(Tok::String))
      value = unescapeString(t.text);
    else
      value = SymbolRef{std::string(t.text.substr(1))};
    consume();
    return Status::ok();
  }
  // Numbers and lists share the constant literal syntax; a ':' and a type
  // after one makes it a tensor (`{w = [1.0, 2.0] : tensor<2xf32>}`).
  bool literalStart = t.is(Tok::Integer) || t.is(Tok::Float) || t.is(Tok::LSquare) ||
                      t.isKeyword("inf") || t.isKeyword("nan") || t.isKeyword("true") ||
                      t.isKeyword("false");
  if (!literalStart) return errorHere("expected an attribute value");
  Literal lit;
  CAIRN_RETURN_IF_ERROR(parseLiteral(lit));
  if (consumeIf(Tok::Colon)) {
    Token typeTok = tok_;
    TensorType type;
    CAIRN_RETURN_IF_ERROR(parseType(type));
    Tensor tensor;
    CAIRN_RETURN_IF_ERROR(literalToTensor(lit, type, typeTok, tensor));
    value = std::move(tensor);
    return Status::ok();
  }
  if (lit.isList) {
    std::vector<int64_t> list;
    for (const Literal& element : lit.elements) {
      if (!element.token.is(Tok::Integer))
        return errorAt(element.token, "expected an integer in the list (a list of other "
                                      "elements needs ': tensor<...>')");
      CAIRN_RETURN_IF_ERROR(parseInt(element.token, list.emplace_back()));
    }
    value = std::move(list);
    return Status::ok();
  }
  if (t.is(Tok::Integer)) {
    int64_t v = 0;
    CAIRN_RETURN_IF_ERROR(parseInt(t, v));
    value = v;
    return Status::ok();
  }
  if (t.isKeyword("true") || t.isKeyword("false"))
    return errorAt(t, "a boolean attribute needs a type, as in 'true : tensor<i1>'");
  double v = 0;
  CAIRN_RETURN_IF_ERROR(parseDouble(t, v));
  value = v;
  return Status::ok();
}

Status TextParser::parseInt(const Token& t, int64_t& value) {
  auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
  if (ec != std::errc() || ptr != t.text.data() + t.text.size())
    return errorAt(t, fmt::format("integer '{}' out of range for 64 bits", t.text));
  return Status::ok();
}

Status TextParser::parseDouble(const Token& t, double& value) {
  std::string_view s = t.text;
  bool negative = !s.empty() && s[0] == '-';
  std::string_view mag = negative ? s.substr(1) : s;
  if (mag == "inf" || mag == "nan") {
    value = mag == "inf" ? std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::quiet_NaN();
    value = std::copysign(value, negative ? -1.0 : 1.0);
    return Status::ok();
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc::result_out_of_range) {
    // Underflow rounds to (signed) zero like C's strtod; overflow is an error.
    std::string copy(s);
    value = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(value)) return errorAt(t, fmt::format("float '{}' out of range", t.text));
    return Status::ok();
  }
  if (ec != std::errc() || ptr != s.data() + s.size())
    return errorAt(t, fmt::format("invalid float '{}'", t.text));
  return Status::ok();
}

//===--- Entry points --------------------------------------------------------===//

Status TextParser::parseStandaloneType(TensorType& type) {
  CAIRN_RETURN_IF_ERROR(parseType(type));
  if (!tok_.is(Tok::Eof)) return errorHere("unexpected text after the type");
  return Status::ok();
}

StatusOr<std::unique_ptr<Module>> parseModule(std::string_view text, std::string_view filename,
                                              Diagnostic* diag) {
  TextParser parser(text, filename);
  auto module = std::make_unique<Module>();
  Status s = parser.parseModule(*module);
  if (!s.isOk()) {
    if (diag) *diag = parser.diagnostic();
    return s;
  }
  return module;
}

StatusOr<TensorType> parseTensorType(std::string_view text) {
  TextParser parser(text, "");
  TensorType type;
  CAIRN_RETURN_IF_ERROR(parser.parseStandaloneType(type));
  return type;
}

} // namespace cairn
