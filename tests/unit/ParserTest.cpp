// Parser tests: every syntax form builds the expected IR, every parse error
// is reported with its line:column, and no input (truncated or garbage)
// crashes the parser.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ir/Parser.h"

using namespace cairn;

namespace {

std::unique_ptr<Module> parseOk(std::string_view text) {
  auto r = parseModule(text, "t.cairn");
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? std::move(r).value() : std::make_unique<Module>();
}

std::string parseError(std::string_view text) {
  auto r = parseModule(text, "t.cairn");
  return r.isOk() ? "<parsed>" : r.status().message();
}

const Op& opAt(const Region& r, size_t i) {
  return *r.ops().at(i);
}

const char* kRnn = R"(// comment to end of line
func @rnn(%xs: tensor<?x64x256xf32>, %w: tensor<512x256xf32>) -> tensor<64x256xf32> {
  %zero = constant 0 : tensor<i32>
  %n = dim %xs {axis = 0} : tensor<i32>
  %h0 = constant 0.0 : tensor<64x256xf32>
  %r:2 = while (%t = %zero, %h = %h0) : (tensor<i32>, tensor<64x256xf32>) max_trip %n cond {
    %go = lt %t, %n : tensor<i1>
    yield %go
  } body {
    %x = dynamic_slice %xs, %t, %zero, %zero {sizes = [1, 64, 256]} : tensor<1x64x256xf32>
    %x2 = reshape %x : tensor<64x256xf32>
    %a = dot %x2, %w {lhs_contract = [1], rhs_contract = [0]} : tensor<64x256xf32>
    %h1 = tanh %a : tensor<64x256xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %h1
  }
  return %r#1
}
)";

} // namespace

TEST(ParserTest, ParsesTheRnnExample) {
  auto m = parseOk(kRnn);
  ASSERT_EQ(m->functions().size(), 1u);
  const Function& f = *m->functions()[0];
  EXPECT_EQ(f.name, "rnn");
  ASSERT_EQ(f.body().numArguments(), 2u);
  EXPECT_EQ(f.body().argument(0)->name, "xs");
  EXPECT_EQ(f.body().argument(0)->type.toString(), "tensor<?x64x256xf32>");
  ASSERT_EQ(f.resultTypes.size(), 1u);
  ASSERT_EQ(f.body().ops().size(), 5u);

  const Op& loop = opAt(f.body(), 3);
  EXPECT_EQ(loop.kind(), OpKind::While);
  EXPECT_EQ(loop.numResults(), 2u);
  EXPECT_EQ(loop.result(0)->name, "r");
  ASSERT_EQ(loop.numOperands(), 3u); // two inits, then max_trip
  EXPECT_EQ(loop.operand(2), opAt(f.body(), 1).result());
  EXPECT_EQ(loop.region(0).argument(1)->name, "h");
  EXPECT_EQ(loop.region(1).argument(0)->name, "t");
  EXPECT_EQ(loop.region(1).argument(1)->type.toString(), "tensor<64x256xf32>");

  // The body captures %xs (a function argument) and %zero (an outer op).
  const Op& slice = opAt(loop.region(1), 0);
  EXPECT_EQ(slice.operand(0), f.body().argument(0));
  EXPECT_EQ(slice.operand(1), loop.region(1).argument(0));
  EXPECT_EQ(slice.operand(2), opAt(f.body(), 0).result());
  EXPECT_EQ(slice.getInts("sizes"), (std::vector<int64_t>{1, 64, 256}));

  const Op& ret = opAt(f.body(), 4);
  EXPECT_EQ(ret.kind(), OpKind::Return);
  EXPECT_EQ(ret.operand(0), loop.result(1));
}

TEST(ParserTest, RecordsLocations) {
  auto m = parseOk(kRnn);
  const Function& f = *m->functions()[0];
  EXPECT_EQ(f.loc.toString(), "t.cairn:2:1");
  EXPECT_EQ(opAt(f.body(), 1).loc.toString(), "t.cairn:4:3");
  EXPECT_EQ(opAt(opAt(f.body(), 3).region(0), 1).loc.toString(), "t.cairn:8:5");
  auto noName = parseModule("func @f() -> () {\n  return\n}\n");
  ASSERT_TRUE(noName.isOk());
  EXPECT_EQ(opAt((*noName)->functions()[0]->body(), 0).loc.toString(), "<input>:2:3");
}

TEST(ParserTest, ParsesTensorTypes) {
  auto t = parseTensorType("tensor<2x?x3xf32>");
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->shape, (Shape{2, kDynamic, 3}));
  EXPECT_EQ(t->dtype, DType::F32);
  for (DType d : kAllDTypes) {
    TensorType scalar(d);
    auto parsed = parseTensorType(scalar.toString());
    ASSERT_TRUE(parsed.isOk()) << scalar.toString();
    EXPECT_EQ(*parsed, scalar);
  }
  EXPECT_EQ(parseTensorType("tensor<0x1xbf16>")->shape, (Shape{0, 1}));
  EXPECT_EQ(parseTensorType("tensor<2x3>").status().message(),
            "<input>:1:10: error: unknown element type '3'");
  EXPECT_EQ(parseTensorType("tensor<2xf32> x").status().message(),
            "<input>:1:15: error: unexpected text after the type");
  EXPECT_FALSE(parseTensorType("tensor<2x-1xf32>").isOk());
  EXPECT_FALSE(parseTensorType("tensor<xf32>").isOk());
}

TEST(ParserTest, FunctionResultForms) {
  auto m = parseOk("func @a() -> () {\n  return\n}\n"
                   "func @b(%x: tensor<f32>) -> (tensor<f32>, tensor<f32>) {\n  return %x, %x\n}\n"
                   "func @c(%x: tensor<f32>) -> (tensor<f32>) {\n  return %x\n}\n");
  EXPECT_EQ(m->functions()[0]->resultTypes.size(), 0u);
  EXPECT_EQ(m->functions()[1]->resultTypes.size(), 2u);
  EXPECT_EQ(m->functions()[2]->resultTypes.size(), 1u);
  EXPECT_EQ(m->functions()[1]->body().ops()[0]->numOperands(), 2u);
}

TEST(ParserTest, MultiResultOpsAndIndexedUses) {
  auto m = parseOk(R"(func @f(%s: tensor<2xi64>) -> tensor<4xf32> {
  %u:2 = rng_uniform %s : tensor<2xi64>, tensor<4xf32>
  %v = neg %u#1 : tensor<4xf32>
  %w = neg %v#0 : tensor<4xf32>
  return %w
})");
  const Region& body = m->functions()[0]->body();
  const Op& rng = opAt(body, 0);
  ASSERT_EQ(rng.numResults(), 2u);
  EXPECT_EQ(rng.result(0)->name, "u");
  EXPECT_EQ(rng.result(1)->name, "");
  EXPECT_EQ(opAt(body, 1).operand(0), rng.result(1));
  EXPECT_EQ(opAt(body, 2).operand(0), opAt(body, 1).result());
}

TEST(ParserTest, ParsesEveryAttributeKind) {
  auto m = parseOk(R"(func @f() -> () {
  yield {a = 3, b = -1, c = 2.5, d = -inf, e = nan, f = "q\"\\\n", g = [1, -2], h = [], i = @g, j = 1e3, k = inf, l = [1.5, 2.0] : tensor<2xf64>}
  return
})");
  const Op& op = opAt(m->functions()[0]->body(), 0);
  EXPECT_EQ(op.getInt("a"), 3);
  EXPECT_EQ(op.getInt("b"), -1);
  EXPECT_EQ(std::get<double>(op.attrs.at("c")), 2.5);
  EXPECT_EQ(std::get<double>(op.attrs.at("d")), -INFINITY);
  EXPECT_TRUE(std::isnan(std::get<double>(op.attrs.at("e"))));
  EXPECT_EQ(std::get<std::string>(op.attrs.at("f")), "q\"\\\n");
  EXPECT_EQ(op.getInts("g"), (std::vector<int64_t>{1, -2}));
  EXPECT_TRUE(op.getInts("h").empty());
  EXPECT_EQ(op.getSymbol("i"), "g");
  EXPECT_EQ(std::get<double>(op.attrs.at("j")), 1000.0);
  EXPECT_EQ(std::get<double>(op.attrs.at("k")), INFINITY);
  EXPECT_EQ(op.getTensor("l").toDoubles(), (std::vector<double>{1.5, 2.0}));
}

TEST(ParserTest, ParsesConstants) {
  auto m = parseOk(R"(func @f() -> () {
  %a = constant 1.5 : tensor<2x2xf32>
  %b = constant [[1, 2], [3, 4]] : tensor<2x2xi64>
  %c = constant [true, false, 1] : tensor<3xi1>
  %d = constant -2147483648 : tensor<i32>
  %e = constant [] : tensor<0xf32>
  %f = constant [[], []] : tensor<2x0xf16>
  %g = constant [-inf, nan, 65504, 1e-50] : tensor<4xf16>
  %h = constant 0.1 : tensor<bf16>
  %i = constant 7 : tensor<0xf64>
  %j = constant -9223372036854775808 : tensor<i64>
  return
})");
  const Region& body = m->functions()[0]->body();
  auto value = [&](size_t i) -> const Tensor& { return opAt(body, i).getTensor("value"); };
  EXPECT_EQ(value(0).toDoubles(), (std::vector<double>{1.5, 1.5, 1.5, 1.5}));
  EXPECT_EQ(value(1).toInts(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(value(2).toInts(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(value(3).toInts(), (std::vector<int64_t>{-2147483648}));
  EXPECT_EQ(value(4).numElements(), 0);
  EXPECT_EQ(value(5).shape(), (Shape{2, 0}));
  EXPECT_EQ(value(6).getDouble(0), -INFINITY);
  EXPECT_TRUE(std::isnan(value(6).getDouble(1)));
  EXPECT_EQ(value(6).getDouble(2), 65504.0);
  EXPECT_EQ(value(6).getDouble(3), 0.0);
  EXPECT_EQ(value(7).getDouble(0), static_cast<float>(BFloat16(0.1f)));
  EXPECT_EQ(value(8).numElements(), 0);
  EXPECT_EQ(value(9).getInt(0), INT64_MIN);
  EXPECT_EQ(opAt(body, 0).result()->type.toString(), "tensor<2x2xf32>");
}

TEST(ParserTest, ParsesWhileForms) {
  auto m = parseOk(R"(func @f(%x: tensor<i32>) -> () {
  %a = while (%i = %x) : (tensor<i32>) cond {
    %c = constant true : tensor<i1>
    yield %c
  } body {
    yield %i
  }
  while () : () cond {
    %c = constant false : tensor<i1>
    yield %c
  } body {
    yield
  } {unroll = 2}
  return
})");
  const Region& body = m->functions()[0]->body();
  EXPECT_EQ(opAt(body, 0).numOperands(), 1u); // no max_trip
  EXPECT_EQ(opAt(body, 0).numResults(), 1u);
  EXPECT_EQ(opAt(body, 0).region(1).ops()[0]->operand(0), opAt(body, 0).region(1).argument(0));
  EXPECT_EQ(opAt(body, 1).numResults(), 0u);
  EXPECT_EQ(opAt(body, 1).region(0).numArguments(), 0u);
  EXPECT_EQ(opAt(body, 1).getInt("unroll"), 2);
}

TEST(ParserTest, ParsesIfAndNestedCaptures) {
  auto m = parseOk(R"(func @f(%p: tensor<i1>, %x: tensor<f32>) -> tensor<f32> {
  %r = if %p -> (tensor<f32>) {
    %y = if %p -> tensor<f32> {
      %n = neg %x : tensor<f32>
      yield %n
    } else {
      yield %x
    }
    yield %y
  } else {
    yield %x
  }
  if %p -> () {
    yield
  } else {
    yield
  }
  return %r
})");
  const Region& body = m->functions()[0]->body();
  const Op& outer = opAt(body, 0);
  EXPECT_EQ(outer.numRegions(), 2u);
  const Op& inner = opAt(outer.region(0), 0);
  EXPECT_EQ(opAt(inner.region(0), 0).operand(0), body.argument(1));
  EXPECT_EQ(opAt(body, 1).numResults(), 0u);
}

TEST(ParserTest, ParsesCalls) {
  auto m = parseOk(R"(func @f(%x: tensor<f32>) -> () {
  %a = call @g(%x, %x) : tensor<f32>
  %b:2 = call @h(%a) : tensor<f32>, tensor<i32>
  call @k()
  call @k() : ()
  return
})");
  const Region& body = m->functions()[0]->body();
  EXPECT_EQ(opAt(body, 0).getSymbol("callee"), "g");
  EXPECT_EQ(opAt(body, 0).numOperands(), 2u);
  EXPECT_EQ(opAt(body, 1).numResults(), 2u);
  EXPECT_EQ(opAt(body, 2).numResults(), 0u);
  EXPECT_EQ(opAt(body, 3).numOperands(), 0u);
}

TEST(ParserTest, NumericNamesAreNotHints) {
  auto m = parseOk("func @f(%0: tensor<f32>, %a.b$-1: tensor<f32>) -> tensor<f32> {\n"
                   "  %1 = add %0, %a.b$-1 : tensor<f32>\n  return %1\n}\n");
  const Region& body = m->functions()[0]->body();
  EXPECT_EQ(body.argument(0)->name, "");
  EXPECT_EQ(body.argument(1)->name, "a.b$-1");
  EXPECT_EQ(opAt(body, 0).result()->name, "");
}

TEST(ParserTest, ScopesEndWithTheirRegion) {
  // A value defined in a region is invisible after it, so the name is free.
  parseOk(R"(func @f(%p: tensor<i1>) -> tensor<i1> {
  if %p -> () {
    %q = not %p : tensor<i1>
    yield
  } else {
    %q = not %p : tensor<i1>
    yield
  }
  %q = not %p : tensor<i1>
  return %q
})");
  EXPECT_EQ(parseError(R"(func @f(%p: tensor<i1>) -> tensor<i1> {
  if %p -> () {
    %q = not %p : tensor<i1>
    yield
  } else {
    yield %q
  }
  return %p
})"),
            "t.cairn:6:11: error: use of undefined value '%q'");
}

TEST(ParserTest, LimitsNestingDepth) {
  std::string deep = "func @f(%p: tensor<i1>) -> () {\n";
  for (int i = 0; i < 250; ++i)
    deep += "if %p -> () {\n";
  EXPECT_NE(parseError(deep).find("error: nesting deeper than 200 levels"), std::string::npos);
  std::string list = "func @f() -> () {\n%c = constant " + std::string(300, '[');
  EXPECT_NE(parseError(list).find("nesting deeper than 200 levels"), std::string::npos);
  // 150 levels are fine.
  std::string ok = "func @f(%p: tensor<i1>) -> () {\n";
  for (int i = 0; i < 150; ++i)
    ok += "if %p -> () {\n";
  for (int i = 0; i < 150; ++i)
    ok += "yield\n} else {\nyield\n}\n";
  ok += "return\n}\n";
  parseOk(ok);
}

TEST(ParserTest, FillsDiagnostic) {
  Diagnostic d;
  auto r = parseModule("func @f() -> () {\n  %x = bogus\n}\n", "d.cairn", &d);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(d.loc.file, "d.cairn");
  EXPECT_EQ(d.loc.line, 2);
  EXPECT_EQ(d.loc.column, 8);
  EXPECT_EQ(d.message, "unknown op 'bogus'");
  EXPECT_EQ(r.status().message(), d.toString());
}

TEST(ParserTest, NeverCrashesOnPrefixesOrMutations) {
  std::string text = kRnn;
  for (size_t n = 0; n < text.size(); ++n) {
    auto r = parseModule(std::string_view(text).substr(0, n));
    // Only the leading comment, or everything but the final newline, parses.
    if (r.isOk()) {
      EXPECT_TRUE(n <= 26 || n == text.size() - 1) << n;
    }
  }
  for (size_t i = 0; i < text.size(); i += 3) {
    for (char c : {'\0', '%', '#', '[', '{', '"', '-', 'x', '\xff'}) {
      std::string mutated = text;
      mutated[i] = c;
      (void)parseModule(mutated);
    }
  }
}

//===--- Errors, each with its position ---------------------------------------===//

namespace {
struct ErrorCase {
  const char* name;
  const char* body; ///< ops inside `func @f(%a: tensor<4xf32>) -> tensor<4xf32> {` (line 1)
  const char* expected;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ParserErrorTest : public testing::TestWithParam<ErrorCase> {};

std::string inFunction(const char* body) {
  return std::string("func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n") + body;
}
} // namespace

TEST_P(ParserErrorTest, ReportsPosition) {
  EXPECT_EQ(parseError(inFunction(GetParam().body)), GetParam().expected);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Parser, ParserErrorTest, testing::Values(
  ErrorCase{"UnknownOp", "  %b = foo %a : tensor<4xf32>\n", "t.cairn:2:8: error: unknown op 'foo'"},
  ErrorCase{"MissingColon", "  %b = neg %a\n  return %b\n}\n",
            "t.cairn:3:3: error: expected ':' after operands"},
  ErrorCase{"MissingColonAfterAttrs", "  %b = reduce_sum %a {dims = [0]}\n}\n",
            "t.cairn:3:1: error: expected ':' after attributes"},
  ErrorCase{"UndefinedValue", "  %b = neg %x : tensor<4xf32>\n",
            "t.cairn:2:12: error: use of undefined value '%x'"},
  ErrorCase{"Redefinition", "  %a = neg %a : tensor<4xf32>\n",
            "t.cairn:2:3: error: redefinition of value '%a'"},
  ErrorCase{"TooManyTypes", "  %b = neg %a : tensor<4xf32>, tensor<4xf32>\n",
            "t.cairn:2:17: error: 2 result types but the op defines 1 result"},
  ErrorCase{"TypesWithoutResults", "  neg %a : tensor<4xf32>\n",
            "t.cairn:2:12: error: 1 result type but the op defines 0 results"},
  ErrorCase{"IndexOutOfRange", "  %b = neg %a#1 : tensor<4xf32>\n",
            "t.cairn:2:12: error: result index '1' out of range: '%a' names 1 result"},
  ErrorCase{"GroupWithoutIndex",
            "  %s:2 = rng_uniform %a : tensor<2xi64>, tensor<4xf32>\n  return %s\n",
            "t.cairn:3:10: error: '%s' names 2 results; use '%s#i'"},
  ErrorCase{"IndexOnResultName", "  %b#0 = neg %a : tensor<4xf32>\n",
            "t.cairn:2:3: error: a result name cannot have a '#' index"},
  ErrorCase{"ZeroResultCount", "  %b:0 = neg %a : tensor<4xf32>\n",
            "t.cairn:2:6: error: result count must be between 1 and 1000000"},
  ErrorCase{"UnknownDType", "  %b = neg %a : tensor<4xf33>\n",
            "t.cairn:2:26: error: unknown element type 'f33'"},
  ErrorCase{"BadDimension", "  %b = neg %a : tensor<4xyxf32>\n",
            "t.cairn:2:26: error: expected a dimension or '?', got 'y'"},
  ErrorCase{"DimensionOverflow", "  %b = neg %a : tensor<99999999999999999999xf32>\n",
            "t.cairn:2:24: error: tensor type has too many elements (the limit is 2^48)"},
  ErrorCase{"UnclosedType", "  %b = neg %a : tensor<4xf32\n",
            "t.cairn:2:29: error: expected '>' to end the tensor type"},
  ErrorCase{"UnterminatedString", "  %b = neg %a {s = \"abc\n",
            "t.cairn:2:20: error: unterminated string"},
  ErrorCase{"UnknownEscape", "  %b = neg %a {s = \"a\\tb\"} : tensor<4xf32>\n",
            "t.cairn:2:22: error: unknown escape '\\t' in string"},
  ErrorCase{"BadCharacter", "  %b = neg %a ; \n", "t.cairn:2:15: error: unexpected character ';'"},
  ErrorCase{"SingleSlash", "  / comment\n",
            "t.cairn:2:3: error: unexpected character '/' (comments start with '//')"},
  ErrorCase{"BadExponent", "  %c = constant 1e : tensor<f32>\n",
            "t.cairn:2:18: error: expected digits in float exponent"},
  ErrorCase{"EmptyName", "  % = neg %a\n", "t.cairn:2:4: error: expected a name after '%'"},
  ErrorCase{"UnclosedRegion", "  return %a\n",
            "t.cairn:3:1: error: expected '}' to end the region"},
  ErrorCase{"IntegerOverflow", "  %b = neg %a {x = 9223372036854775808} : tensor<4xf32>\n",
            "t.cairn:2:20: error: integer '9223372036854775808' out of range for 64 bits"},
  ErrorCase{"DuplicateAttribute", "  %b = neg %a {x = 1, x = 2} : tensor<4xf32>\n",
            "t.cairn:2:23: error: duplicate attribute 'x'"},
  ErrorCase{"FloatInIntList", "  %b = neg %a {x = [1, 2.0]} : tensor<4xf32>\n",
            "t.cairn:2:24: error: expected an integer in the list (a list of other elements "
            "needs ': tensor<...>')"},
  ErrorCase{"BadAttrValue", "  %b = neg %a {x = %a} : tensor<4xf32>\n",
            "t.cairn:2:20: error: expected an attribute value"},
  ErrorCase{"I32OutOfRange", "  %c = constant 2147483648 : tensor<i32>\n",
            "t.cairn:2:17: error: integer '2147483648' out of range for i32"},
  ErrorCase{"BadBool", "  %c = constant [true, 2] : tensor<2xi1>\n",
            "t.cairn:2:24: error: expected true, false, 0 or 1 for i1, got '2'"},
  ErrorCase{"FloatForInt", "  %c = constant 1.5 : tensor<i64>\n",
            "t.cairn:2:17: error: expected an integer for i64, got '1.5'"},
  ErrorCase{"BoolForFloat", "  %c = constant true : tensor<f32>\n",
            "t.cairn:2:17: error: expected a number for f32, got 'true'"},
  ErrorCase{"F32Overflow", "  %c = constant 1e39 : tensor<f32>\n",
            "t.cairn:2:17: error: float '1e39' out of range for f32"},
  ErrorCase{"F16Overflow", "  %c = constant [1.0, 70000.0] : tensor<2xf16>\n",
            "t.cairn:2:23: error: float '70000.0' out of range for f16"},
  ErrorCase{"ShapeMismatch", "  %c = constant [[1.0, 2.0], [3.0]] : tensor<2x2xf32>\n",
            "t.cairn:2:30: error: expected a list of 2 elements for dim 1 of tensor<2x2xf32>"},
  ErrorCase{"TooDeep", "  %c = constant [[1.0]] : tensor<1xf32>\n",
            "t.cairn:2:18: error: constant literal is nested deeper than its type tensor<1xf32>"},
  ErrorCase{"DynamicConstant", "  %c = constant 0.0 : tensor<?xf32>\n",
            "t.cairn:2:23: error: constant type tensor<?xf32> must have a static shape"},
  ErrorCase{"HugeConstant", "  %c = constant 0.0 : tensor<1048576x1048576xf32>\n",
            "t.cairn:2:23: error: constant of type tensor<1048576x1048576xf32> is too large "
            "(over 1 GiB)"},
  ErrorCase{"ConstantWithoutResult", "  constant 0.0 : tensor<f32>\n",
            "t.cairn:2:3: error: 'constant' must define exactly one result"},
  ErrorCase{"BadLiteral", "  %c = constant %a : tensor<f32>\n",
            "t.cairn:2:17: error: expected a constant literal (a number, true, false or a list)"},
  ErrorCase{"WhileTypeCount", "  %r = while (%i = %a) : () cond {\n",
            "t.cairn:2:26: error: 0 loop-carried types for 1 loop-carried values"},
  ErrorCase{"WhileResultCount", "  %r:2 = while (%i = %a) : (tensor<4xf32>) cond {\n",
            "t.cairn:2:3: error: 1 loop-carried value but the op defines 2 results"},
  ErrorCase{"WhileRedefinesCarried", "  %r = while (%a = %a) : (tensor<4xf32>) cond {\n",
            "t.cairn:2:15: error: redefinition of value '%a'"},
  ErrorCase{"WhileMissingCond", "  %r = while (%i = %a) : (tensor<4xf32>) {\n",
            "t.cairn:2:42: error: expected 'cond'"},
  ErrorCase{"WhileMissingBody",
            "  %r = while (%i = %a) : (tensor<4xf32>) cond {\n    yield %i\n  } bdy {\n",
            "t.cairn:4:5: error: expected 'body'"},
  ErrorCase{"IfMissingElse", "  if %a -> () {\n    yield\n  }\n  return %a\n}\n",
            "t.cairn:5:3: error: expected 'else'"},
  ErrorCase{"IfMissingArrow", "  if %a {\n", "t.cairn:2:9: error: expected '->' and the result types"},
  ErrorCase{"CallWithoutTypes", "  %b = call @g(%a)\n}\n",
            "t.cairn:3:1: error: expected ':' and the result types after the call"},
  ErrorCase{"CallWithoutCallee", "  %b = call g(%a)\n",
            "t.cairn:2:13: error: expected the callee '@name'"},
  ErrorCase{"MissingMnemonic", "  %b = %a\n", "t.cairn:2:8: error: expected an op mnemonic"},
  ErrorCase{"FunctionRedefinition", "  return %a\n}\nfunc @f() -> () {\n",
            "t.cairn:4:6: error: redefinition of function '@f'"},
  ErrorCase{"NotAFunction", "  return %a\n}\n%x = neg %a\n", "t.cairn:4:1: error: expected 'func'"}
), [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });
// clang-format on
