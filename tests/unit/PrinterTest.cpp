// Printer tests: exact output for IR built through the API (naming, floats,
// constants, attributes, region forms), and round trips through the parser:
// printed text reparses and reprints byte for byte, including every lit file
// under tests/lit/roundtrip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "ir/Parser.h"
#include "ir/Printer.h"

using namespace cairn;

namespace {

const TensorType kF32(DType::F32, {4});

std::string roundTrip(std::string_view text) {
  auto m = parseModule(text, "rt.cairn");
  if (!m.isOk()) return "parse error: " + m.status().message();
  return printModule(**m);
}

/// `func @f(%x: tensor<4xf32>) -> ()` whose body the test fills.
Function* makeFunction(Module& m, const TensorType& argType = kF32) {
  Function* f = m.addFunction("f");
  f->body().addArgument(argType, "x");
  return f;
}

Op* addOp(Region& r, OpKind kind, std::vector<Value*> operands, std::vector<TensorType> types,
          AttrMap attrs = {}) {
  return r.append(Op::create(kind, std::move(operands), types, std::move(attrs)));
}

std::string printConstant(Tensor t) {
  Module m;
  Function* f = m.addFunction("f");
  TensorType type = t.type();
  AttrMap attrs;
  attrs["value"] = std::move(t);
  Op* c = addOp(f->body(), OpKind::Constant, {}, {type}, std::move(attrs));
  return printOp(*c);
}

} // namespace

TEST(PrinterTest, NamesValuesByHintThenNumber) {
  Module m;
  Function* f = makeFunction(m);
  Region& body = f->body();
  Value* x = body.argument(0);
  Op* a = addOp(body, OpKind::Neg, {x}, {kF32});
  Op* b = addOp(body, OpKind::Neg, {a->result()}, {kF32});
  b->result()->name = "x"; // clashes with the argument
  Op* c = addOp(body, OpKind::Neg, {b->result()}, {kF32});
  c->result()->name = "x_1"; // clashes with the suffixed name
  Op* d = addOp(body, OpKind::Neg, {c->result()}, {kF32});
  d->result()->name = "7"; // numeric: not a hint
  Op* e = addOp(body, OpKind::Neg, {d->result()}, {kF32});
  e->result()->name = "bad name#";
  addOp(body, OpKind::Return, {e->result()}, {});
  f->resultTypes = {kF32};
  EXPECT_EQ(printModule(m), R"(func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = neg %x : tensor<4xf32>
  %x_1 = neg %0 : tensor<4xf32>
  %x_1_1 = neg %x_1 : tensor<4xf32>
  %1 = neg %x_1_1 : tensor<4xf32>
  %bad_name_ = neg %1 : tensor<4xf32>
  return %bad_name_
}
)");
}

TEST(PrinterTest, PrintsMultiResultGroups) {
  Module m;
  Function* f = makeFunction(m, TensorType(DType::I64, {2}));
  Op* rng = addOp(f->body(), OpKind::RngUniform, {f->body().argument(0)},
                  {TensorType(DType::I64, {2}), kF32});
  addOp(f->body(), OpKind::Return, {rng->result(1), rng->result(0)}, {});
  EXPECT_EQ(printFunction(*f), R"(func @f(%x: tensor<2xi64>) -> () {
  %0:2 = rng_uniform %x : tensor<2xi64>, tensor<4xf32>
  return %0#1, %0#0
}
)");
}

TEST(PrinterTest, FormatsFloatsShortestAndRecognizably) {
  auto scalar = [](DType d, double v) { return printConstant(Tensor::scalar(d, v)); };
  EXPECT_EQ(scalar(DType::F32, 0.1), "%0 = constant 0.1 : tensor<f32>");
  EXPECT_EQ(scalar(DType::F32, 3), "%0 = constant 3.0 : tensor<f32>");
  EXPECT_EQ(scalar(DType::F32, 1e20), "%0 = constant 1e+20 : tensor<f32>");
  EXPECT_EQ(scalar(DType::F32, -0.0), "%0 = constant -0.0 : tensor<f32>");
  EXPECT_EQ(scalar(DType::F64, 0.1), "%0 = constant 0.1 : tensor<f64>");
  EXPECT_EQ(scalar(DType::F64, -INFINITY), "%0 = constant -inf : tensor<f64>");
  EXPECT_EQ(scalar(DType::F16, NAN), "%0 = constant nan : tensor<f16>");
  EXPECT_EQ(scalar(DType::F16, 0.1), "%0 = constant 0.099975586 : tensor<f16>");
  EXPECT_EQ(scalar(DType::BF16, 1.0 / 3), "%0 = constant 0.33398438 : tensor<bf16>");
  EXPECT_EQ(scalar(DType::I1, 1), "%0 = constant true : tensor<i1>");
  EXPECT_EQ(scalar(DType::I64, -5), "%0 = constant -5 : tensor<i64>");
}

TEST(PrinterTest, PrintsConstantsSplatOrNested) {
  TensorType t22(DType::F32, {2, 2});
  EXPECT_EQ(printConstant(Tensor::fromDoubles(t22, {1, 1, 1, 1})),
            "%0 = constant 1.0 : tensor<2x2xf32>");
  EXPECT_EQ(printConstant(Tensor::fromDoubles(t22, {1, 2, 3, 4.5})),
            "%0 = constant [[1.0, 2.0], [3.0, 4.5]] : tensor<2x2xf32>");
  EXPECT_EQ(printConstant(Tensor::fromInts(TensorType(DType::I1, {3}), {1, 0, 0})),
            "%0 = constant [true, false, false] : tensor<3xi1>");
  EXPECT_EQ(printConstant(Tensor(TensorType(DType::F32, {0}))), "%0 = constant [] : tensor<0xf32>");
  EXPECT_EQ(printConstant(Tensor(TensorType(DType::I32, {2, 0}))),
            "%0 = constant [[], []] : tensor<2x0xi32>");
  // -0.0 and 0.0 differ in bits, so this is not a splat.
  EXPECT_EQ(printConstant(Tensor::fromDoubles(TensorType(DType::F64, {2}), {0.0, -0.0})),
            "%0 = constant [0.0, -0.0] : tensor<2xf64>");
}

TEST(PrinterTest, PrintsAttributesSortedWithEveryKind) {
  Module m;
  Function* f = makeFunction(m);
  AttrMap attrs;
  attrs["z"] = int64_t(-3);
  attrs["a"] = std::vector<int64_t>{1, 2};
  attrs["m"] = std::string("q\"\\\n");
  attrs["e"] = std::vector<int64_t>{};
  attrs["d"] = 2.0;
  attrs["s"] = SymbolRef{"g"};
  attrs["t"] = Tensor::fromInts(TensorType(DType::I32, {2}), {1, 2});
  Op* op = addOp(f->body(), OpKind::Yield, {f->body().argument(0)}, {}, attrs);
  const char* expected = "yield %x {a = [1, 2], d = 2.0, e = [], m = \"q\\\"\\\\\\n\", "
                         "s = @g, t = [1, 2] : tensor<2xi32>, z = -3}";
  EXPECT_EQ(printOp(*op), expected);
  // ... and they parse back to the same attributes.
  auto reparsed = parseModule(printModule(m));
  ASSERT_TRUE(reparsed.isOk()) << reparsed.status().message();
  EXPECT_EQ((*reparsed)->functions()[0]->body().ops()[0]->attrs, attrs);
}

TEST(PrinterTest, FunctionResultParenthesesAndBlankLines) {
  Module m;
  m.addFunction("a");
  Function* b = m.addFunction("b");
  b->resultTypes = {kF32};
  Function* c = m.addFunction("c");
  c->resultTypes = {kF32, kF32};
  EXPECT_EQ(printModule(m), "func @a() -> () {\n}\n\n"
                            "func @b() -> tensor<4xf32> {\n}\n\n"
                            "func @c() -> (tensor<4xf32>, tensor<4xf32>) {\n}\n");
  EXPECT_EQ(printModule(Module()), "");
}

TEST(PrinterTest, WhileBodyReusesCondNames) {
  Module m;
  Function* f = makeFunction(m);
  Op* loop = f->body().append(Op::create(OpKind::While, {f->body().argument(0)}, {kF32}, {}, 2));
  Value* condArg = loop->region(0).addArgument(kF32, "v");
  Value* bodyArg = loop->region(1).addArgument(kF32, "other");
  Op* p = addOp(loop->region(0), OpKind::Constant, {}, {TensorType(DType::I1)},
                {{"value", Tensor::scalar(DType::I1, 0)}});
  addOp(loop->region(0), OpKind::Yield, {p->result()}, {});
  Op* n = addOp(loop->region(1), OpKind::Neg, {bodyArg}, {kF32});
  addOp(loop->region(1), OpKind::Yield, {n->result()}, {});
  (void)condArg;
  EXPECT_EQ(printOp(*loop), R"(%0 = while (%v = %x) : (tensor<4xf32>) cond {
  %1 = constant false : tensor<i1>
  yield %1
} body {
  %2 = neg %v : tensor<4xf32>
  yield %2
})");
}

TEST(PrinterTest, PrintOpNamesForeignOperandsFirst) {
  Module m;
  Function* f = m.addFunction("f");
  Value* a = f->body().addArgument(kF32);
  Value* b = f->body().addArgument(kF32, "b");
  Op* add = addOp(f->body(), OpKind::Add, {a, b}, {kF32});
  EXPECT_EQ(printOp(*add), "%1 = add %0, %b : tensor<4xf32>");
}

TEST(PrinterTest, SurvivesMalformedIR) {
  Module m;
  Function* f = m.addFunction("");
  Op* loop = f->body().append(Op::create(OpKind::While, {}, {kF32}, {}, 0));
  Op* branch = f->body().append(Op::create(OpKind::If, {}, {}, {}, 1));
  Op* call = f->body().append(Op::create(OpKind::Call, {nullptr}, {}));
  Op* constant = f->body().append(Op::create(OpKind::Constant, {}, {kF32}));
  std::string text = printModule(m);
  EXPECT_NE(text.find("func @_()"), std::string::npos);
  EXPECT_NE(printOp(*loop).find("while () : () cond {"), std::string::npos);
  EXPECT_NE(printOp(*branch).find("if %<missing>"), std::string::npos);
  EXPECT_EQ(printOp(*call), "call @<missing callee>(%<null>)");
  EXPECT_EQ(printOp(*constant), "%0 = constant <missing value> : tensor<4xf32>");
}

//===--- Round trips -------------------------------------------------------------===//

namespace {
class RoundTripTest : public testing::TestWithParam<const char*> {};
} // namespace

TEST_P(RoundTripTest, PrintedFormIsAFixedPoint) {
  EXPECT_EQ(roundTrip(GetParam()), GetParam());
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(RoundTrip, RoundTripTest, testing::Values(
R"(func @rnn(%xs: tensor<?x64x256xf32>, %w: tensor<512x256xf32>) -> tensor<64x256xf32> {
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
)",
R"(func @numbered(%0: tensor<f32>, %1: tensor<i1>) -> (tensor<f32>, tensor<f32>) {
  %2:2 = if %1 -> (tensor<f32>, tensor<f32>) {
    %3 = neg %0 : tensor<f32>
    yield %3, %0
  } else {
    yield %0, %0
  } {tag = 1}
  %4:2 = call @numbered(%2#0, %1) {note = "a \"b\""} : tensor<f32>, tensor<f32>
  call @numbered(%0, %1)
  return %4#1, %2#1
}

func @empty() -> () {
  return
}
)",
R"(func @f(%a.b: tensor<2xf64>) -> () {
  %c = constant [inf, -nan] {w = [1.5, 2.0] : tensor<2xbf16>} : tensor<2xf64>
  %d = constant [[1, -2]] : tensor<1x2xi64>
  yield {f = 1e-300, g = -1.0}
  while () : () cond {
    %e = constant [] : tensor<0x3xi1>
    yield
  } body {
    yield
  }
  return
}
)"),
    [](const testing::TestParamInfo<const char*>& info) { return "case" + std::to_string(info.index); });
// clang-format on

TEST(RoundTripTest, CanonicalizesOtherSpellings) {
  const char* input = "// header\nfunc @f(%9: tensor<f32>)->(tensor<f32>){%x:1=neg %9:tensor<f32>"
                      " return %x#0 }";
  std::string once = roundTrip(input);
  EXPECT_EQ(once, "func @f(%0: tensor<f32>) -> tensor<f32> {\n  %x = neg %0 : tensor<f32>\n"
                  "  return %x\n}\n");
  EXPECT_EQ(roundTrip(once), once);
}

TEST(RoundTripTest, LitFilesRoundTrip) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(CAIRN_SOURCE_DIR) / "tests/lit/roundtrip";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".cairn") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream buffer;
    buffer << in.rdbuf();
    // Files of invalid IR are checked by --verify-diagnostics, not here.
    if (buffer.str().find("expected-error") != std::string::npos) continue;
    std::string once = roundTrip(buffer.str());
    EXPECT_EQ(once.rfind("parse error", 0), std::string::npos) << entry.path() << ": " << once;
    EXPECT_EQ(roundTrip(once), once) << entry.path();
  }
  EXPECT_GE(files, 10);
}
