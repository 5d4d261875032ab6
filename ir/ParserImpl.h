// Internal to the parser: the recursive-descent TextParser class shared by
// Parser.cpp (module, functions, regions, generic ops, types, attributes) and
// ParseSpecialOps.cpp (constant, while, if, call, fusion).
//
// Errors: the parser stops at the first one. Every parse function returns a
// Status; `error*` records the Diagnostic and builds the Status from it, so
// callers only propagate with CAIRN_RETURN_IF_ERROR.
//
// Name binding: a stack of scopes maps textual names (without '%') to the
// values they define; a multi-result op binds its group name to all of its
// results. Inner regions see outer scopes (captures), and a name may not be
// redefined while visible.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/Diagnostic.h"
#include "ir/IR.h"
#include "ir/Lexer.h"
#include "ir/Status.h"

namespace cairn {

/// Regions plus constant list brackets may nest this deep; beyond it the
/// parser reports an error instead of risking stack exhaustion.
inline constexpr int kMaxNestingDepth = 200;

class TextParser {
public:
  TextParser(std::string_view text, std::string_view filename);

  Status parseModule(Module& module);
  Status parseStandaloneType(TensorType& type);
  const Diagnostic& diagnostic() const { return diag_; }

private:
  /// `%name` or `%name:N` before '=' in an op.
  struct ResultSpec {
    Token token;
    std::string name; ///< without '%'; empty when the op has no results
    int count = 0;
  };
  /// A constant literal as written, converted once the type is known.
  struct Literal {
    Token token; ///< the scalar token or the opening '['
    bool isList = false;
    std::vector<Literal> elements;
  };

  // Token stream.
  void consume() { tok_ = lexer_.next(); }
  bool consumeIf(Tok kind);
  Status expect(Tok kind, std::string_view what);
  Status expectKeyword(std::string_view kw);

  // Diagnostics.
  Location locOf(const Token& t) const { return Location{filename_, t.line, t.column}; }
  Status errorAt(const Token& t, std::string message);
  /// Reports at the current token; a lexer error token reports the lexer's message.
  Status errorHere(std::string message);
  Status enterNesting(const Token& at);
  void exitNesting() { --depth_; }

  // Scopes.
  void pushScope() { scopes_.emplace_back(); }
  void popScope() { scopes_.pop_back(); }
  const std::vector<Value*>* lookup(const std::string& name) const;
  Status checkNotDefined(const Token& at, const std::string& name);
  void bind(const std::string& name, std::vector<Value*> values);
  static std::string hintFor(const std::string& name);

  // Module structure.
  Status parseFunction(Module& module);
  Status parseRegionBody(Region& region);
  Status parseRegionWithArgs(Region& region, const std::vector<Token>& names,
                             const std::vector<TensorType>& types);
  Status parseOp(Region& region);
  Status parseResultSpec(ResultSpec& spec);
  Status parseGenericOp(OpKind kind, const Token& start, const ResultSpec& res,
                        std::unique_ptr<Op>& out);
  void bindResults(const ResultSpec& res, Op& op);

  // Pieces.
  Status parseType(TensorType& type);
  Status parseTypeList(std::vector<TensorType>& types);
  Status parseParenTypeList(std::vector<TensorType>& types);
  Status parseValueUse(Value*& value);
  Status parseValueUseList(std::vector<Value*>& values);
  Status parseAttrDict(AttrMap& attrs);
  Status parseAttrValue(Attribute& value);
  Status parseInt(const Token& t, int64_t& value);
  Status parseDouble(const Token& t, double& value);
  /// Checks that `numTypes` things named `what` (singular) match the result count.
  Status checkResultCount(const Token& at, const ResultSpec& res, size_t numTypes,
                          std::string_view what);

  // Special forms (ParseSpecialOps.cpp).
  Status parseConstantOp(const Token& start, const ResultSpec& res, std::unique_ptr<Op>& out);
  Status parseLiteral(Literal& lit);
  Status literalToTensor(const Literal& lit, const TensorType& type, const Token& typeTok,
                         Tensor& out);
  Status fillFromLiteral(const Literal& lit, size_t dim, Tensor& t, int64_t& index);
  Status storeElement(const Token& t, Tensor& tensor, int64_t index);
  Status parseWhileOp(const Token& start, const ResultSpec& res, std::unique_ptr<Op>& out);
  Status parseIfOp(const Token& start, const ResultSpec& res, std::unique_ptr<Op>& out);
  Status parseCallOp(const Token& start, const ResultSpec& res, std::unique_ptr<Op>& out);
  Status parseFusionOp(const Token& start, const ResultSpec& res, std::unique_ptr<Op>& out);
  /// `(%a = %x, ...)`: names bound to the values used as operands (while, fusion).
  Status parseBindingList(std::vector<Token>& names, std::vector<Value*>& operands,
                          std::string_view what);

  Lexer lexer_;
  Token tok_;
  std::string filename_;
  Diagnostic diag_;
  int depth_ = 0;
  std::vector<std::unordered_map<std::string, std::vector<Value*>>> scopes_;
  std::unordered_set<std::string> functionNames_;
};

} // namespace cairn
