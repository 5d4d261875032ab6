// Differential tests of the passes: for each program, every function gives
// bit-identical results (on inputs full of -0.0, NaN and inf) before and
// after each pass, after the default and optimize pipelines, and after the
// passes in an unusual order. The programs are written so that every default
// pass has work to do (PassesOptimizeDifferentialTest.cpp has programs aimed
// at the optimize pipeline's passes).
#include <algorithm>
#include <map>

#include "PassesTestUtil.h"

namespace cairn {
namespace {

using passtest::expectPreservesResults;

struct Program {
  const char* name;
  const char* text;
};

const Program kPrograms[] = {
    {"FloatIdentities", R"(
func @f(%x: tensor<6xf32>) -> (tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) {
  %pz = constant 0.0 : tensor<6xf32>
  %nz = constant -0.0 : tensor<6xf32>
  %one = constant 1.0 : tensor<6xf32>
  %a = add %x, %pz : tensor<6xf32>
  %b = add %nz, %x : tensor<6xf32>
  %c = sub %x, %pz : tensor<6xf32>
  %d = sub %x, %nz : tensor<6xf32>
  %e = mul %x, %one : tensor<6xf32>
  %g = div %x, %one : tensor<6xf32>
  %h = mul %x, %pz : tensor<6xf32>
  %n0 = neg %x : tensor<6xf32>
  %n1 = neg %n0 : tensor<6xf32>
  return %a, %b, %c, %d, %e, %g, %h, %n1
}
)"},
    {"IntIdentities", R"(
func @f(%x: tensor<4xi32>, %y: tensor<4xi64>) -> (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi32>, tensor<4xi64>, tensor<4xi64>, tensor<4xi32>) {
  %z = constant 0 : tensor<4xi32>
  %one = constant 1 : tensor<4xi32>
  %ext = constant [-2147483648, 2147483647, -1, 0] : tensor<4xi32>
  %x2 = add %x, %ext : tensor<4xi32>
  %a = add %z, %x2 : tensor<4xi32>
  %b = mul %x2, %z : tensor<4xi32>
  %c = div %x2, %one : tensor<4xi32>
  %n0 = neg %x2 : tensor<4xi32>
  %n1 = neg %n0 : tensor<4xi32>
  %z64 = constant 0 : tensor<4xi64>
  %d = sub %y, %z64 : tensor<4xi64>
  %t0 = not %y : tensor<4xi64>
  %t1 = not %t0 : tensor<4xi64>
  return %a, %b, %c, %n1, %d, %t1, %x2
}
)"},
    {"Folding", R"(
func @f(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<f16>, tensor<bf16>, tensor<f64>, tensor<i64>, tensor<2xi1>, tensor<3xf32>, tensor<2xi64>, tensor<2xi32>) {
  %a = constant [[1.0, 2.0], [3.0, 4.0]] : tensor<2x2xf32>
  %at = transpose %a {perm = [1, 0]} : tensor<2x2xf32>
  %d = dot %a, %at : tensor<2x2xf32>
  %m = reduce_max %d {dims = [1]} : tensor<2xf32>
  %mb = broadcast %m {dims = [0]} : tensor<2x2xf32>
  %r = add %x, %mb : tensor<2x2xf32>
  %h1 = constant 0.1 : tensor<f16>
  %h2 = constant 0.2 : tensor<f16>
  %h = add %h1, %h2 : tensor<f16>
  %b1 = constant 1.1 : tensor<bf16>
  %b = mul %b1, %b1 : tensor<bf16>
  %e1 = constant 0.5 : tensor<f64>
  %e = exp %e1 : tensor<f64>
  %i1 = constant -7 : tensor<i64>
  %i2 = constant 2 : tensor<i64>
  %i = div %i1, %i2 : tensor<i64>
  %c1 = constant [1.0, 5.0] : tensor<2xf32>
  %c2 = constant [2.0, 2.0] : tensor<2xf32>
  %lt = lt %c1, %c2 : tensor<2xi1>
  %s = constant [7, 9] : tensor<2xi64>
  %u:2 = rng_uniform %s : tensor<2xi64>, tensor<3xf32>
  %cf = constant [2.9, -2.9] : tensor<2xf32>
  %ci = cast %cf : tensor<2xi32>
  return %r, %h, %b, %e, %i, %lt, %u#1, %u#0, %ci
}
)"},
    {"Shapes", R"(
func @f(%x: tensor<2x3xf32>, %y: tensor<?x3xf32>) -> (tensor<2x3xf32>, tensor<6xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<i32>, tensor<3x2xf32>) {
  %t = transpose %x {perm = [0, 1]} : tensor<2x3xf32>
  %r = reshape %t : tensor<2x3xf32>
  %r1 = reshape %r : tensor<3x2xf32>
  %r2 = reshape %r1 : tensor<6xf32>
  %b = broadcast %x {dims = [0, 1]} : tensor<2x3xf32>
  %s = slice %b {limit = [2, 3], start = [0, 0], stride = [1, 1]} : tensor<2x3xf32>
  %c = concat %s {axis = 1} : tensor<2x3xf32>
  %k = cast %y : tensor<?x3xf32>
  %d = dim %x {axis = 1} : tensor<i32>
  %u = transpose %c {perm = [1, 0]} : tensor<3x2xf32>
  return %c, %r2, %t, %k, %d, %u
}
)"},
    {"SelectAndIf", R"(
func @f(%p: tensor<i1>, %q: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %t = constant true : tensor<i1>
  %f = constant false : tensor<4xi1>
  %s0 = select %t, %x, %y : tensor<4xf32>
  %s1 = select %f, %x, %y : tensor<4xf32>
  %s2 = select %q, %x, %x : tensor<4xf32>
  %i0 = if %t -> (tensor<4xf32>) {
    %e = exp %x : tensor<4xf32>
    %one = constant 1.0 : tensor<4xf32>
    %e1 = mul %e, %one : tensor<4xf32>
    yield %e1
  } else {
    yield %y
  }
  %i1 = if %p -> (tensor<4xf32>) {
    %a = tanh %x : tensor<4xf32>
    %b = tanh %x : tensor<4xf32>
    %c = add %a, %b : tensor<4xf32>
    yield %c
  } else {
    %d = tanh %x : tensor<4xf32>
    yield %d
  }
  return %s0, %s1, %s2, %i0, %i1
}
)"},
    {"Loops", R"(
func @f(%w: tensor<3x3xf32>, %h0: tensor<2x3xf32>, %n: tensor<i32>) -> (tensor<2x3xf32>, tensor<i32>, tensor<2x3xf32>) {
  %z = constant 0 : tensor<i32>
  %wt = transpose %w {perm = [1, 0]} : tensor<3x3xf32>
  %r:4 = while (%t = %z, %h = %h0, %acc = %h0, %steps = %z) : (tensor<i32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<i32>) max_trip %n cond {
    %go = lt %t, %n : tensor<i1>
    yield %go
  } body {
    %a0 = constant 3 : tensor<i32>
    %a1 = constant 2 : tensor<i32>
    %one = sub %a0, %a1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    %wt2 = transpose %w {perm = [1, 0]} : tensor<3x3xf32>
    %a = dot %h, %wt2 : tensor<2x3xf32>
    %nz = constant -0.0 : tensor<2x3xf32>
    %a2 = add %a, %nz : tensor<2x3xf32>
    %h1 = tanh %a2 : tensor<2x3xf32>
    %acc1 = add %acc, %h1 : tensor<2x3xf32>
    %s1 = add %steps, %one : tensor<i32>
    yield %t1, %h1, %acc1, %s1
  }
  %never:2 = while (%i = %z, %g = %h0) : (tensor<i32>, tensor<2x3xf32>) cond {
    %no = constant false : tensor<i1>
    yield %no
  } body {
    %g1 = exp %g : tensor<2x3xf32>
    yield %i, %g1
  }
  %wt3 = transpose %w {perm = [1, 0]} : tensor<3x3xf32>
  %k = dot %never#1, %wt3 : tensor<2x3xf32>
  return %r#1, %r#0, %k
}
)"},
    {"NestedLoops", R"(
func @f(%x: tensor<3xf32>, %n: tensor<i32>) -> tensor<3xf32> {
  %z = constant 0 : tensor<i32>
  %one = constant 1 : tensor<i32>
  %r:3 = while (%i = %z, %h = %x, %dead = %x) : (tensor<i32>, tensor<3xf32>, tensor<3xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %i1 = add %i, %one : tensor<i32>
    %inner:3 = while (%j = %z, %g = %h, %junk = %dead) : (tensor<i32>, tensor<3xf32>, tensor<3xf32>) cond {
      %go2 = lt %j, %i : tensor<i1>
      yield %go2
    } body {
      %one2 = constant 1 : tensor<i32>
      %j1 = add %j, %one2 : tensor<i32>
      %g1 = sigmoid %g : tensor<3xf32>
      %junk1 = exp %junk : tensor<3xf32>
      yield %j1, %g1, %junk1
    }
    %d1 = neg %inner#2 : tensor<3xf32>
    yield %i1, %inner#1, %d1
  }
  return %r#1
}
)"},
    {"RngAndCalls", R"(
func @sq(%x: tensor<4xf32>) -> tensor<4xf32> {
  %m = mul %x, %x : tensor<4xf32>
  return %m
}
func @f(%s: tensor<2xi64>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<2xi64>, tensor<4xf32>) {
  %a:2 = rng_uniform %s : tensor<2xi64>, tensor<4xf32>
  %b:2 = rng_uniform %s : tensor<2xi64>, tensor<4xf32>
  %c = call @sq(%x) : tensor<4xf32>
  %d = call @sq(%x) : tensor<4xf32>
  %e = add %c, %d : tensor<4xf32>
  %sg = stop_gradient %e : tensor<4xf32>
  return %a#1, %b#1, %b#0, %sg
}
)"},
    {"DeadCode", R"(
func @f(%x: tensor<4xf32>, %p: tensor<i1>, %n: tensor<i32>) -> tensor<4xf32> {
  %t = tanh %x : tensor<4xf32>
  %e = exp %t : tensor<4xf32>
  %z = constant 0 : tensor<i32>
  %r:2 = while (%i = %z, %h = %x) : (tensor<i32>, tensor<4xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    yield %i1, %h
  }
  %q = if %p -> (tensor<4xf32>) {
    yield %e
  } else {
    yield %t
  }
  %s = sqrt %x : tensor<4xf32>
  return %s
}
)"},
};

const std::vector<std::vector<std::string>> kPipelines = {
    {"canonicalize"},
    {"cse"},
    {"dce"},
    {"canonicalize", "cse", "dce"},
    {"dce", "cse", "canonicalize", "cse", "dce"},
    {"inline"},
    {"licm"},
    {"hoist-input-projection"},
    {"fuse-elementwise"},
    {"pair-independent-loops"},
    optimizePipeline(),
};

class PassesDifferential
    : public ::testing::TestWithParam<std::tuple<size_t /*program*/, size_t /*pipeline*/>> {};

TEST_P(PassesDifferential, PreservesResultsBitwise) {
  auto [program, pipeline] = GetParam();
  expectPreservesResults(kPrograms[program].text, kPipelines[pipeline]);
}

std::string paramName(const ::testing::TestParamInfo<PassesDifferential::ParamType>& info) {
  auto [program, pipeline] = info.param;
  std::string name = kPrograms[program].name;
  static const std::map<std::string, std::string> kShort = {
      {"canonicalize", "Canon"},   {"cse", "CSE"},   {"dce", "DCE"},
      {"inline", "Inline"},        {"licm", "LICM"}, {"hoist-input-projection", "HoistProj"},
      {"fuse-elementwise", "Fuse"}, {"pair-independent-loops", "PairLoops"},
      {"expand-rnn", "ExpandRnn"}, {"refine-shapes", "Refine"}};
  for (const std::string& pass : kPipelines[pipeline]) {
    auto it = kShort.find(pass); // a new pass is named in full until it gets a short name
    std::string part = it != kShort.end() ? it->second : pass;
    std::replace(part.begin(), part.end(), '-', '_');
    name += "_" + part;
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Programs, PassesDifferential,
                         ::testing::Combine(::testing::Range<size_t>(0, std::size(kPrograms)),
                                            ::testing::Range<size_t>(0, kPipelines.size())),
                         paramName);

// The default pipeline actually changes each program (the tests above are
// not vacuous) and reaches a fixed point: running it again changes nothing.
TEST(PassesDifferentialMeta, DefaultPipelineSimplifiesEveryProgramToAFixedPoint) {
  for (const Program& p : kPrograms) {
    auto m = passtest::parseOk(p.text);
    ASSERT_TRUE(m) << p.name;
    for (const std::string& r : passtest::runAll(*m))
      EXPECT_EQ(r.find(": error"), std::string::npos) << p.name << " fails to run: " << r;
    std::string before = printModule(*m);
    ASSERT_TRUE(runPipeline(*m, defaultPipeline()).isOk()) << p.name;
    std::string once = printModule(*m);
    EXPECT_NE(before, once) << p.name << " is not simplified by the default pipeline";
    ASSERT_TRUE(runPipeline(*m, defaultPipeline()).isOk()) << p.name;
    EXPECT_EQ(once, printModule(*m)) << p.name << " is not at a fixed point";
  }
}

} // namespace
} // namespace cairn
