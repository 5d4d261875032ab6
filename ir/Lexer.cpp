// Lexer for the text form. Every read is bounds-checked through peek(), so
// arbitrary bytes (the parser is fuzzed) produce tokens or Tok::Error, never
// an out-of-bounds read.
#include "ir/Lexer.h"

#include <fmt/format.h>

namespace cairn {

static bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
static bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool isIdentChar(char c) {
  return isIdentStart(c) || isDigit(c);
}

/// A printable rendering of a byte for messages ('\x01' rather than a raw control byte).
static std::string describeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  return fmt::format("\\x{:02x}", u);
}

void Lexer::advance(size_t n) {
  for (size_t i = 0; i < n && pos_ < src_.size(); ++i) {
    if (src_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }
}

void Lexer::skipSpaceAndComments() {
  while (!atEnd()) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance();
    } else if (c == '/' && peek(1) == '/') {
      while (!atEnd() && peek() != '\n')
        advance();
    } else {
      return;
    }
  }
}

Token Lexer::make(Tok kind, size_t start, int line, int column) const {
  return Token{kind, src_.substr(start, pos_ - start), line, column};
}

Token Lexer::fail(std::string message, int line, int column) {
  error_ = std::move(message);
  return Token{Tok::Error, std::string_view(), line, column};
}

Token Lexer::next() {
  skipSpaceAndComments();
  size_t start = pos_;
  int line = line_, column = column_;
  if (atEnd()) return Token{Tok::Eof, std::string_view(), line, column};

  char c = peek();
  auto single = [&](Tok kind) {
    advance();
    return make(kind, start, line, column);
  };
  switch (c) {
  case '(':
    return single(Tok::LParen);
  case ')':
    return single(Tok::RParen);
  case '{':
    return single(Tok::LBrace);
  case '}':
    return single(Tok::RBrace);
  case '[':
    return single(Tok::LSquare);
  case ']':
    return single(Tok::RSquare);
  case ',':
    return single(Tok::Comma);
  case ':':
    return single(Tok::Colon);
  case '=':
    return single(Tok::Equal);
  case '%':
    return lexSigil(Tok::PercentId, start, line, column);
  case '@':
    return lexSigil(Tok::AtId, start, line, column);
  case '"':
    return lexString(start, line, column);
  case '-':
    if (peek(1) == '>') {
      advance(2);
      return make(Tok::Arrow, start, line, column);
    }
    if (isDigit(peek(1))) return lexNumber(start, line, column);
    // -inf / -nan are float literals; the keyword must end there.
    if ((src_.substr(pos_ + 1, 3) == "inf" || src_.substr(pos_ + 1, 3) == "nan") &&
        !isIdentChar(peek(4))) {
      advance(4);
      return make(Tok::Float, start, line, column);
    }
    return fail("unexpected character '-'", line, column);
  default:
    break;
  }
  if (isDigit(c)) return lexNumber(start, line, column);
  if (isIdentStart(c)) return lexIdentifierOrType(start, line, column);
  if (c == '/') return fail("unexpected character '/' (comments start with '//')", line, column);
  return fail(fmt::format("unexpected character '{}'", describeChar(c)), line, column);
}

Token Lexer::lexNumber(size_t start, int line, int column) {
  if (peek() == '-') advance();
  while (isDigit(peek()))
    advance();
  bool isFloatLit = false;
  if (peek() == '.') {
    isFloatLit = true;
    advance();
    while (isDigit(peek()))
      advance();
  }
  if (peek() == 'e' || peek() == 'E') {
    isFloatLit = true;
    int eLine = line_, eColumn = column_;
    advance();
    if (peek() == '+' || peek() == '-') advance();
    if (!isDigit(peek())) return fail("expected digits in float exponent", eLine, eColumn);
    while (isDigit(peek()))
      advance();
  }
  return make(isFloatLit ? Tok::Float : Tok::Integer, start, line, column);
}

Token Lexer::lexSigil(Tok kind, size_t start, int line, int column) {
  char sigil = peek();
  advance();
  if (!isNameChar(peek()))
    return fail(fmt::format("expected a name after '{}'", sigil), line_, column_);
  while (isNameChar(peek()))
    advance();
  // A result use `%r#1` stays one token: the index belongs to the name.
  if (kind == Tok::PercentId && peek() == '#') {
    advance();
    if (!isDigit(peek())) return fail("expected a result number after '#'", line_, column_);
    while (isDigit(peek()))
      advance();
  }
  return make(kind, start, line, column);
}

Token Lexer::lexString(size_t start, int line, int column) {
  advance(); // opening quote
  while (true) {
    if (atEnd()) return fail("unterminated string", line, column);
    char c = peek();
    if (c == '"') break;
    // A raw newline is rejected so an unterminated string is reported on
    // its own line rather than swallowing the rest of the file.
    if (c == '\n') return fail("unterminated string", line, column);
    if (c == '\\') {
      char e = peek(1);
      if (e != '"' && e != '\\' && e != 'n') {
        int eLine = line_, eColumn = column_;
        return fail(fmt::format("unknown escape '\\{}' in string", describeChar(e)), eLine,
                    eColumn);
      }
      advance(2);
      continue;
    }
    advance();
  }
  advance(); // closing quote
  return make(Tok::String, start, line, column);
}

Token Lexer::lexIdentifierOrType(size_t start, int line, int column) {
  while (isIdentChar(peek()))
    advance();
  if (src_.substr(start, pos_ - start) == "tensor" && peek() == '<') {
    advance();
    while (true) {
      char c = peek();
      if (c == '>') break;
      if (!isIdentChar(c) && c != '?') {
        if (atEnd() || c == '\n' || c == '\r')
          return fail("expected '>' to end the tensor type", line_, column_);
        return fail(fmt::format("unexpected character '{}' in tensor type", describeChar(c)), line_,
                    column_);
      }
      advance();
    }
    advance();
    return make(Tok::TensorType, start, line, column);
  }
  return make(Tok::Identifier, start, line, column);
}

std::string unescapeString(std::string_view tokenText) {
  std::string out;
  if (tokenText.size() < 2) return out;
  std::string_view body = tokenText.substr(1, tokenText.size() - 2);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) {
      ++i;
      out += body[i] == 'n' ? '\n' : body[i];
    } else {
      out += body[i];
    }
  }
  return out;
}

std::string escapeString(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

} // namespace cairn
