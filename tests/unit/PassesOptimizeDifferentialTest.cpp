// Differential tests of inline, licm, hoist-input-projection and
// fuse-elementwise: on programs written to give each of them work (recurrent
// loops reading rows of a sequence, calls in loops and branches, nested
// while/if with invariants, long elementwise chains), every function gives
// bit-identical results (on inputs full of -0.0, NaN and inf, errors
// included) before and after each pass alone, after the optimize pipeline,
// and after the passes in unusual orders.
#include <set>

#include "PassesTestUtil.h"

namespace cairn {
namespace {

using passtest::expectPreservesResults;

struct Program {
  const char* name;
  const char* text;
};

const Program kPrograms[] = {
    {"ElmanProjection", R"(
func @f(%xs: tensor<?x2x3xf32>, %h0: tensor<2x4xf32>, %wx: tensor<3x4xf32>, %wh: tensor<4x4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %steps = dim %xs {axis = 0} : tensor<i64>
  %zero = constant 0 : tensor<i64>
  %r:2 = while (%t = %zero, %h = %h0) : (tensor<i64>, tensor<2x4xf32>) max_trip %steps cond {
    %go = lt %t, %steps : tensor<i1>
    yield %go
  } body {
    %z = constant 0 : tensor<i64>
    %row = dynamic_slice %xs, %t, %z, %z {sizes = [1, 2, 3]} : tensor<1x2x3xf32>
    %x = reshape %row : tensor<2x3xf32>
    %xw = dot %x, %wx : tensor<2x4xf32>
    %hw = dot %h, %wh : tensor<2x4xf32>
    %s = add %xw, %hw : tensor<2x4xf32>
    %bb = broadcast %b {dims = [1]} : tensor<2x4xf32>
    %sb = add %s, %bb : tensor<2x4xf32>
    %h1 = tanh %sb : tensor<2x4xf32>
    %one = constant 1 : tensor<i64>
    %t1 = add %t, %one : tensor<i64>
    yield %t1, %h1
  }
  return %r#1
}
)"},
    {"ReverseGatherProjection", R"(
func @f(%xs: tensor<4x2x3xf32>, %w: tensor<5x3xf32>, %acc0: tensor<2x5xf32>, %n: tensor<i32>) -> (tensor<2x5xf32>, tensor<i32>) {
  %last = constant 3 : tensor<i32>
  %r:2 = while (%t = %last, %acc = %acc0) : (tensor<i32>, tensor<2x5xf32>) cond {
    %lo = sub %last, %n : tensor<i32>
    %go = ge %t, %lo : tensor<i1>
    yield %go
  } body {
    %x = gather %xs, %t {axis = 0} : tensor<2x3xf32>
    %p = dot %x, %w {lhs_contract = [1], rhs_contract = [1]} : tensor<2x5xf32>
    %m = max %acc, %p : tensor<2x5xf32>
    %e = exp %m : tensor<2x5xf32>
    %one = constant 1 : tensor<i32>
    %t1 = sub %t, %one : tensor<i32>
    yield %t1, %e
  }
  return %r#1, %r#0
}
)"},
    {"LstmGates", R"(
func @f(%xs: tensor<?x2x3xf32>, %wi: tensor<3x2xf32>, %wf: tensor<3x2xf32>, %wo: tensor<3x2xf32>, %wg: tensor<3x2xf32>, %u: tensor<2x2xf32>, %h0: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %steps = dim %xs {axis = 0} : tensor<i32>
  %zero = constant 0 : tensor<i32>
  %r:3 = while (%t = %zero, %h = %h0, %c = %h0) : (tensor<i32>, tensor<2x2xf32>, tensor<2x2xf32>) cond {
    %go = lt %t, %steps : tensor<i1>
    yield %go
  } body {
    %z = constant 0 : tensor<i32>
    %row = dynamic_slice %xs, %t, %z, %z {sizes = [1, 2, 3]} : tensor<1x2x3xf32>
    %x = reshape %row : tensor<2x3xf32>
    %hu = dot %h, %u : tensor<2x2xf32>
    %ai = dot %x, %wi : tensor<2x2xf32>
    %af = dot %x, %wf : tensor<2x2xf32>
    %ao = dot %x, %wo : tensor<2x2xf32>
    %ag = dot %x, %wg : tensor<2x2xf32>
    %ai2 = add %ai, %hu : tensor<2x2xf32>
    %i = sigmoid %ai2 : tensor<2x2xf32>
    %af2 = add %af, %hu : tensor<2x2xf32>
    %f = sigmoid %af2 : tensor<2x2xf32>
    %o = sigmoid %ao : tensor<2x2xf32>
    %g = tanh %ag : tensor<2x2xf32>
    %fc = mul %f, %c : tensor<2x2xf32>
    %ig = mul %i, %g : tensor<2x2xf32>
    %c1 = add %fc, %ig : tensor<2x2xf32>
    %tc = tanh %c1 : tensor<2x2xf32>
    %h1 = mul %o, %tc : tensor<2x2xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %h1, %c1
  }
  return %r#1, %r#2
}
)"},
    {"CallsEverywhere", R"(
func @f(%x: tensor<3xf32>, %n: tensor<i32>, %p: tensor<i1>) -> (tensor<3xf32>, tensor<i32>) {
  %zero = constant 0 : tensor<i32>
  %r:2 = while (%i = %zero, %h = %x) : (tensor<i32>, tensor<3xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %s = call @scale(%h, %x) : tensor<3xf32>
    %b = if %p -> (tensor<3xf32>) {
      %c = call @act(%s) : tensor<?xf32>
      %cr = call @fix(%c) : tensor<3xf32>
      yield %cr
    } else {
      yield %s
    }
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    yield %i1, %b
  }
  %k = call @countdown(%n) : tensor<i32>
  return %r#1, %k
}
func @scale(%a: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<3xf32> {
  %e = exp %w : tensor<3xf32>
  %m = mul %a, %e : tensor<3xf32>
  %t = call @act(%m) : tensor<?xf32>
  %tr = call @fix(%t) : tensor<3xf32>
  return %tr
}
func @act(%v: tensor<?xf32>) -> tensor<?xf32> {
  %t = tanh %v : tensor<?xf32>
  %n = neg %t : tensor<?xf32>
  return %n
}
func @fix(%v: tensor<?xf32>) -> tensor<3xf32> {
  %r = reshape %v : tensor<3xf32>
  return %r
}
func @countdown(%k: tensor<i32>) -> tensor<i32> {
  %zero = constant 0 : tensor<i32>
  %done = le %k, %zero : tensor<i1>
  %r = if %done -> (tensor<i32>) {
    yield %k
  } else {
    %one = constant 1 : tensor<i32>
    %m = sub %k, %one : tensor<i32>
    %c = call @countdown(%m) : tensor<i32>
    %c2 = add %c, %one : tensor<i32>
    yield %c2
  }
  return %r
}
)"},
    {"NestedInvariants", R"(
func @f(%x: tensor<2x2xf32>, %w: tensor<2x2xf32>, %n: tensor<i32>, %d: tensor<i32>, %p: tensor<i1>, %v: tensor<?xf32>) -> (tensor<2x2xf32>, tensor<i32>) {
  %zero = constant 0 : tensor<i32>
  %r:3 = while (%i = %zero, %acc = %x, %q = %zero) : (tensor<i32>, tensor<2x2xf32>, tensor<i32>) cond {
    %lim = add %n, %zero : tensor<i32>
    %go = lt %i, %lim : tensor<i1>
    yield %go
  } body {
    %inner:2 = while (%j = %zero, %a = %acc) : (tensor<i32>, tensor<2x2xf32>) cond {
      %go2 = lt %j, %i : tensor<i1>
      yield %go2
    } body {
      %wt = transpose %w {perm = [1, 0]} : tensor<2x2xf32>
      %e = exp %x : tensor<2x2xf32>
      %ie = cast %i : tensor<f32>
      %ib = broadcast %ie {dims = []} : tensor<2x2xf32>
      %m = dot %a, %wt : tensor<2x2xf32>
      %s = add %m, %e : tensor<2x2xf32>
      %s2 = sub %s, %ib : tensor<2x2xf32>
      %br = if %p -> (tensor<2x2xf32>) {
        %l = log %e : tensor<2x2xf32>
        yield %l
      } else {
        yield %wt
      }
      %s3 = mul %s2, %br : tensor<2x2xf32>
      %one = constant 1 : tensor<i32>
      %j1 = add %j, %one : tensor<i32>
      yield %j1, %s3
    }
    %dv = div %n, %d : tensor<i32>
    %vv = add %v, %v : tensor<?xf32>
    %vs = reduce_sum %vv {dims = [0]} : tensor<f32>
    %vi = cast %vs : tensor<i32>
    %q1 = add %dv, %vi : tensor<i32>
    %one2 = constant 1 : tensor<i32>
    %i1 = add %i, %one2 : tensor<i32>
    yield %i1, %inner#1, %q1
  }
  return %r#1, %r#2
}
)"},
    {"ElementwiseDag", R"(
func @f(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>, %b: tensor<3xf32>, %w: tensor<3x3xf32>, %k: tensor<6xi32>, %d: tensor<?x3xf32>) -> (tensor<2x3xf32>, tensor<6xf32>, tensor<2x3xi1>, tensor<f32>, tensor<6xi32>, tensor<?x3xf32>) {
  %half = constant 0.5 : tensor<2x3xf32>
  %bb = broadcast %b {dims = [1]} : tensor<2x3xf32>
  %a = add %x, %bb : tensor<2x3xf32>
  %m = mul %a, %half : tensor<2x3xf32>
  %s = sigmoid %m : tensor<2x3xf32>
  %dw = dot %s, %w : tensor<2x3xf32>
  %c = add %s, %dw : tensor<2x3xf32>
  %gt = gt %c, %y : tensor<2x3xi1>
  %sel = select %gt, %c, %y : tensor<2x3xf32>
  %sum = reduce_sum %a {dims = [0, 1]} : tensor<f32>
  %flat = reshape %sel : tensor<6xf32>
  %r = relu %flat : tensor<6xf32>
  %rq = sqrt %r : tensor<6xf32>
  %ki = cast %rq : tensor<6xi32>
  %kk = add %ki, %k : tensor<6xi32>
  %one6 = constant 1 : tensor<6xi32>
  %k1 = add %k, %one6 : tensor<6xi32>
  %kd = div %kk, %k1 : tensor<6xi32>
  %kn = neg %kd : tensor<6xi32>
  %da = abs %d : tensor<?x3xf32>
  %db = mul %da, %d : tensor<?x3xf32>
  return %s, %rq, %gt, %sum, %kn, %db
}
)"},
    {"DynamicBatchGru", R"(
func @f(%xs: tensor<?x?x2xf32>, %lengths: tensor<?xi32>, %wx: tensor<2x4xf32>, %wh: tensor<2x4xf32>, %h0: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %steps = dim %xs {axis = 0} : tensor<i32>
  %batch = dim %xs {axis = 1} : tensor<i32>
  %zero = constant 0 : tensor<i32>
  %idx_r = constant [0, 1] : tensor<2xi64>
  %idx_n = constant [2, 3] : tensor<2xi64>
  %r:2 = while (%t = %zero, %h = %h0) : (tensor<i32>, tensor<?x2xf32>) max_trip %steps cond {
    %go = lt %t, %steps : tensor<i1>
    yield %go
  } body {
    %x = gather %xs, %t {axis = 0} : tensor<?x2xf32>
    %gx = dot %x, %wx : tensor<?x4xf32>
    %gh = dot %h, %wh : tensor<?x4xf32>
    %g = add %gx, %gh : tensor<?x4xf32>
    %gr = gather %g, %idx_r {axis = 1} : tensor<?x2xf32>
    %gn = gather %g, %idx_n {axis = 1} : tensor<?x2xf32>
    %rr = sigmoid %gr : tensor<?x2xf32>
    %nn = tanh %gn : tensor<?x2xf32>
    %one_f = constant 1.0 : tensor<f32>
    %bsz = dim %rr {axis = 0} : tensor<i64>
    %ones = broadcast %one_f, %bsz {dims = []} : tensor<?x2xf32>
    %keep = sub %ones, %rr : tensor<?x2xf32>
    %a1 = mul %keep, %nn : tensor<?x2xf32>
    %a2 = mul %rr, %h : tensor<?x2xf32>
    %hn = add %a1, %a2 : tensor<?x2xf32>
    %nl = dim %lengths {axis = 0} : tensor<i64>
    %tb = broadcast %t, %nl {dims = []} : tensor<?xi32>
    %live = lt %tb, %lengths : tensor<?xi1>
    %live2 = broadcast %live, %batch {dims = [0]} : tensor<?x2xi1>
    %h1 = select %live2, %hn, %h : tensor<?x2xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %h1
  }
  return %r#1
}
)"},
};

const std::vector<std::vector<std::string>> kPipelines = {
    {"inline"},
    {"licm"},
    {"hoist-input-projection"},
    {"fuse-elementwise"},
    optimizePipeline(),
    {"licm", "hoist-input-projection", "licm", "cse"},
    {"fuse-elementwise", "canonicalize", "cse", "dce", "licm", "inline"},
    {"inline", "fuse-elementwise", "hoist-input-projection", "fuse-elementwise", "licm"},
};

class OptimizeDifferential
    : public ::testing::TestWithParam<std::tuple<size_t /*program*/, size_t /*pipeline*/>> {};

TEST_P(OptimizeDifferential, PreservesResultsBitwise) {
  auto [program, pipeline] = GetParam();
  expectPreservesResults(kPrograms[program].text, kPipelines[pipeline]);
}

std::string paramName(const ::testing::TestParamInfo<OptimizeDifferential::ParamType>& info) {
  auto [program, pipeline] = info.param;
  return std::string(kPrograms[program].name) + "_Pipeline" + std::to_string(pipeline);
}

INSTANTIATE_TEST_SUITE_P(Programs, OptimizeDifferential,
                         ::testing::Combine(::testing::Range<size_t>(0, std::size(kPrograms)),
                                            ::testing::Range<size_t>(0, kPipelines.size())),
                         paramName);

// The tests above are not vacuous: every program runs (on at least one input
// variant), each new pass rewrites some program, and the optimize pipeline
// rewrites every program and reaches a fixed point.
TEST(OptimizeDifferentialMeta, EveryPassHasWorkAndOptimizeIsAFixedPoint) {
  std::set<std::string> passesWithWork;
  for (const Program& p : kPrograms) {
    auto m = passtest::parseOk(p.text);
    ASSERT_TRUE(m) << p.name;
    int ok = 0;
    for (const std::string& r : passtest::runAll(*m))
      ok += r.find(": error") == std::string::npos;
    EXPECT_GT(ok, 0) << p.name << " never runs without an error";
    for (const char* pass : {"inline", "licm", "hoist-input-projection", "fuse-elementwise"}) {
      auto copy = passtest::parseOk(p.text);
      std::string before = printModule(*copy);
      ASSERT_TRUE(runPipeline(*copy, {pass}).isOk()) << p.name << " " << pass;
      if (printModule(*copy) != before) passesWithWork.insert(pass);
    }
    std::string before = printModule(*m);
    Status first = runPipeline(*m, optimizePipeline());
    ASSERT_TRUE(first.isOk()) << p.name << ": " << first.message();
    std::string once = printModule(*m);
    EXPECT_NE(before, once) << p.name << " is not changed by the optimize pipeline";
    Status second = runPipeline(*m, optimizePipeline());
    ASSERT_TRUE(second.isOk()) << p.name << ": " << second.message();
    EXPECT_EQ(once, printModule(*m)) << p.name << " is not at a fixed point";
  }
  EXPECT_EQ(passesWithWork.size(), 4u);
}

} // namespace
} // namespace cairn
