// The text form's lexer: splits `.cairn` source into tokens with positions.
//
// The lexer never fails outright: a malformed character sequence becomes a
// Tok::Error token whose message the parser reports at that token's position,
// so the parser has one place that turns problems into diagnostics. Tokens
// point into the source (string_view), so the source must outlive them.
//
// Two spellings are lexed as single tokens because splitting them would make
// the grammar ambiguous: a whole tensor type (`tensor<2x?xf32>`, where "2x"
// would otherwise read as a number followed by an identifier) and a result
// use with an index (`%r#1`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn {

enum class Tok : uint8_t {
  Eof,
  Error,      ///< malformed input; Lexer::errorMessage() says why
  Identifier, ///< [A-Za-z_][A-Za-z0-9_]*: mnemonics, keywords, attribute names
  PercentId,  ///< %name or %name#N
  AtId,       ///< @name
  Integer,    ///< -?[0-9]+
  Float,      ///< -?digits '.' digits? exponent?, digits exponent, or -inf / -nan
  String,     ///< "..." with \" \\ \n escapes (text keeps the quotes and escapes)
  TensorType, ///< tensor<...> (text is the whole spelling)
  LParen,
  RParen,
  LBrace,
  RBrace,
  LSquare,
  RSquare,
  Comma,
  Colon,
  Equal,
  Arrow, ///< ->
};

struct Token {
  Tok kind = Tok::Eof;
  std::string_view text;
  int line = 1;
  int column = 1;

  bool is(Tok k) const { return kind == k; }
  bool isKeyword(std::string_view kw) const { return kind == Tok::Identifier && text == kw; }
};

/// Whether `c` may appear in a `%` or `@` name.
inline bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '$' || c == '-';
}

class Lexer {
public:
  explicit Lexer(std::string_view source) : src_(source) {}

  /// Lexes the next token. After Eof it keeps returning Eof.
  Token next();

  /// Why the last Tok::Error token was produced.
  const std::string& errorMessage() const { return error_; }

private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  bool atEnd(size_t ahead = 0) const { return pos_ + ahead >= src_.size(); }
  void advance(size_t n = 1);
  void skipSpaceAndComments();
  Token make(Tok kind, size_t start, int line, int column) const;
  Token fail(std::string message, int line, int column);
  Token lexNumber(size_t start, int line, int column);
  Token lexSigil(Tok kind, size_t start, int line, int column);
  Token lexString(size_t start, int line, int column);
  Token lexIdentifierOrType(size_t start, int line, int column);

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
  std::string error_;
};

/// Decodes the text of a Tok::String token (quotes included) into its value.
/// The lexer has already checked that every escape is valid.
std::string unescapeString(std::string_view tokenText);

/// Writes `value` as a string literal that unescapeString() turns back into it.
std::string escapeString(std::string_view value);

} // namespace cairn
