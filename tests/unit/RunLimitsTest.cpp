// Bounding a run (issue: the runtime in a service): sizes from data checked
// for overflow and against a memory cap, deadlines, cancellation, a busy
// context, no exception across the C API, and the C signature query. The
// same model runs through the interpreter, the compiled executor and an
// ahead-of-time object (tests/unit/Inputs/limits.cairn, compiled by
// cairn-compile at build time). Nothing here depends on timing: a deadline
// or a cancellation only has to stop a loop that never ends on its own.
#include <cstring>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <thread>

#include <dlfcn.h>

#include <gtest/gtest.h>

#include "ExecTestUtil.h"
#include "ir/SplitMix64.h"
#include "runtime/ReadFile.h"
#include "runtime/capi/cairn.h"
#include "runtime/capi/cairn.hpp"
#include "runtime/exec/Blas.h"
#include "runtime/exec/Gemm.h"
#include "runtime/exec/SideThread.h"

extern "C" const cairn_aot_model limits_aot;

// ASan or TSan, whose allocators report and exit on a huge request instead
// of throwing std::bad_alloc (gcc defines __SANITIZE_*, clang has __has_feature).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAIRN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CAIRN_UNDER_ASAN 1
#endif
#endif
#ifndef CAIRN_UNDER_ASAN
#define CAIRN_UNDER_ASAN 0
#endif

namespace cairn {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Module> limitsModule() {
  StatusOr<std::string> text =
      readWholeFile(std::string(CAIRN_SOURCE_DIR) + "/tests/unit/Inputs/limits.cairn");
  EXPECT_TRUE(text.isOk()) << text.status().message();
  return exectest::parseOk(text.isOk() ? *text : "");
}

Tensor f32(float v) { return Tensor::scalar(DType::F32, v); }
Tensor i64(int64_t v) { return Tensor::scalar(DType::I64, static_cast<double>(v)); }

void expectCode(const Status& s, StatusCode code, const std::string& needle) {
  ASSERT_FALSE(s.isOk()) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(static_cast<int>(s.code()), static_cast<int>(code)) << s.message();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

constexpr int64_t k2to62 = int64_t{1} << 62;

TEST(RunLimits, SizesFromDataThatOverflowAreErrorsNotHeapOverflows) {
  auto m = limitsModule();
  auto exe = exectest::compileOk(*m);
  // 2^62 x 16 elements wrapped to 0 unchecked (a heap overflow write);
  // 2^62 f32 elements are 2^64 bytes.
  for (auto [n, k] : {std::pair{k2to62, int64_t{16}}, {k2to62, int64_t{1}}}) {
    std::vector<Tensor> in = {f32(1), i64(n), i64(k)};
    auto ref = interpret(*m, "fill", in);
    expectCode(ref.status(), StatusCode::kResourceExhausted, "more bytes than int64 can count");
    auto got = exe->run("fill", in);
    expectCode(got.status(), StatusCode::kResourceExhausted, "more bytes than int64 can count");
    EXPECT_NE(got.status().message().find("'broadcast' op"), std::string::npos);
  }
}

TEST(RunLimits, MemoryCapStopsTheRunAndTheContextStaysUsable) {
  auto m = limitsModule();
  auto exe = exectest::compileOk(*m);
  exec::ExecutionContext ctx;
  exec::ExecOptions capped;
  capped.limits.maxBytes = 1 << 20;
  std::vector<Tensor> big = {f32(2), i64(1000), i64(1000)}; // 4 MB
  expectCode(exe->run("fill", big, ctx, capped).status(), StatusCode::kResourceExhausted,
             "tensor<1000x1000xf32> needs 4000000 bytes");
  InterpreterOptions io;
  io.limits.maxBytes = 1 << 20;
  expectCode(interpret(*m, "fill", big, io).status(), StatusCode::kResourceExhausted,
             "memory cap of 1048576 bytes");
  std::vector<Tensor> small = {f32(2), i64(10), i64(10)};
  auto ok = exe->run("fill", small, ctx, capped);
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ((*ok)[0].shape(), (Shape{10, 10}));
  ASSERT_TRUE(exe->run("fill", big, ctx).isOk()); // uncapped
}

TEST(RunLimits, DeadlineStopsAnEndlessLoopOnEveryPath) {
  auto m = limitsModule();
  auto exe = exectest::compileOk(*m);
  std::vector<Tensor> in = {f32(0)};
  exec::ExecutionContext ctx;
  exec::ExecOptions opts;
  opts.limits.deadline = RunLimits::Clock::now() + 20ms;
  expectCode(exe->run("spin", in, ctx, opts).status(), StatusCode::kDeadlineExceeded,
             "passed its deadline");
  InterpreterOptions io;
  io.limits.deadline = RunLimits::Clock::now() + 20ms;
  expectCode(interpret(*m, "spin", in, io).status(), StatusCode::kDeadlineExceeded,
             "passed its deadline");
  // The context is usable after the overrun.
  auto ok = exe->run("fill", {f32(3), i64(2), i64(2)}, ctx);
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
}

TEST(RunLimits, TimeoutsBecomeDeadlinesWithoutOverflow) {
  using Clock = RunLimits::Clock;
  Clock::time_point now = Clock::now(), never = Clock::time_point::max();
  EXPECT_EQ(RunLimits().withTimeout(20ms, now).deadline, now + 20ms);
  EXPECT_EQ(RunLimits().withTimeout(std::chrono::duration<double>(1.5), now).deadline,
            now + 1500ms);
  // Not positive: no deadline added.
  EXPECT_EQ(RunLimits().withTimeout(0s, now).deadline, never);
  EXPECT_EQ(RunLimits().withTimeout(-5s, now).deadline, never);
  EXPECT_EQ(RunLimits().withTimeout(std::chrono::duration<double>(std::nan("")), now).deadline,
            never);
  // Past what the clock counts: no deadline, not one wrapped into the past.
  EXPECT_EQ(RunLimits().withTimeout(std::chrono::nanoseconds(INT64_MAX), now).deadline, never);
  EXPECT_EQ(RunLimits().withTimeout(std::chrono::duration<double>(1e300), now).deadline, never);
  // The earlier deadline applies.
  RunLimits early;
  early.deadline = now + 10ms;
  EXPECT_EQ(early.withTimeout(1s, now).deadline, now + 10ms);
  EXPECT_EQ(early.withTimeout(1ms, now).deadline, now + 1ms);
}

TEST(RunLimits, CancellationFromAnotherThread) {
  auto m = limitsModule();
  auto exe = exectest::compileOk(*m);
  std::atomic<bool> cancel{false};
  exec::ExecOptions opts;
  opts.limits.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(10ms); // before or after the run starts: either way it stops
    cancel = true;
  });
  auto r = exe->run("spin", {f32(0)}, opts);
  canceller.join();
  expectCode(r.status(), StatusCode::kCancelled, "cancelled");
}

TEST(RunLimits, AContextRunningElsewhereIsRefusedNotShared) {
  auto m = limitsModule();
  auto exe = exectest::compileOk(*m);
  exec::ExecutionContext ctx;
  std::atomic<bool> cancel{false};
  exec::ExecOptions opts;
  opts.limits.cancel = &cancel;
  StatusOr<std::vector<Tensor>> spun = Status::error("not run");
  std::thread spinner([&] {
    // Retried while the main thread holds the context for a moment.
    do {
      spun = exe->run("spin", {f32(0)}, ctx, opts);
    } while (!spun.isOk() && spun.status().message().find("already running") != std::string::npos);
  });
  bool sawBusy = false;
  for (int i = 0; i < 100000 && !sawBusy; ++i) {
    auto r = exe->run("fill", {f32(1), i64(1), i64(1)}, ctx);
    sawBusy = !r.isOk() && r.status().message().find("already running") != std::string::npos;
    if (!sawBusy) std::this_thread::sleep_for(100us);
  }
  cancel = true;
  spinner.join();
  EXPECT_TRUE(sawBusy);
  expectCode(spun.status(), StatusCode::kCancelled, "cancelled");
}

/// Resident memory of this process (Linux; 0 elsewhere).
int64_t residentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long pages = 0, resident = 0;
  int got = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return got == 2 ? resident * 4096 : 0;
}

TEST(RunLimits, MemoryStaysBoundedUnderVaryingShapes) {
  // A service's traffic: every request a different length. Buffers are
  // pooled by size class and the pool is bounded by the context's peak, so
  // resident memory after 10,000 runs stays within 1.2x of what it was after
  // the first 100 (the pool keyed by exact sizes grew toward 1 GB).
  auto m = exectest::parseOk(R"(
func @f(%x: tensor<?x128xf32>) -> tensor<f32> {
  %t = tanh %x : tensor<?x128xf32>
  %y = mul %t, %x : tensor<?x128xf32>
  %e = exp %y : tensor<?x128xf32>
  %s = reduce_sum %e {dims = [0, 1]} : tensor<f32>
  return %s
}
)");
  auto exe = exectest::compileOk(*m);
  exec::ExecutionContext ctx;
  SplitMix64 rng(7);
  int64_t after100 = 0;
  for (int i = 0; i < 10000; ++i) {
    // A new request each time, of any of 2048 lengths.
    Tensor x(TensorType(DType::F32, {static_cast<int64_t>(1 + rng.next() % 2048), 128}));
    auto r = exe->run("f", {x}, ctx);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    if (i == 99) after100 = residentBytes();
  }
  int64_t after10000 = residentBytes();
  if (after100 == 0) GTEST_SKIP() << "no /proc/self/statm on this host";
  EXPECT_LE(static_cast<double>(after10000), 1.2 * static_cast<double>(after100))
      << "resident " << after100 << " bytes after 100 runs, " << after10000 << " after 10000";
}

// --- The C API -------------------------------------------------------------

struct CModel {
  cairn_model* m = nullptr;
  cairn_context* ctx = cairn_context_new();
  CModel() { EXPECT_EQ(cairn_model_load_aot(&limits_aot, &m), nullptr); }
  ~CModel() {
    cairn_context_free(ctx);
    cairn_model_free(m);
  }
};

/// Runs and returns the code, the message in `msg`.
cairn_code runC(CModel& c, const char* fn, std::vector<cairn_tensor> in, cairn_tensor* out,
                const cairn_run_options* opts, std::string* msg = nullptr) {
  cairn_status* s = cairn_run_with_options(c.m, c.ctx, fn, in.data(), in.size(), out, 1, opts);
  cairn_code code = cairn_status_code(s);
  if (msg) *msg = cairn_status_message(s);
  cairn_status_free(s);
  return code;
}

TEST(RunLimitsCApi, SignaturesDescribeArgumentsAndResults) {
  CModel c;
  size_t na = 0, nr = 0;
  const cairn_value_info *args = nullptr, *results = nullptr;
  ASSERT_EQ(cairn_model_function_signature(c.m, "fill", &na, &args, &nr, &results), nullptr);
  ASSERT_EQ(na, 3u);
  EXPECT_EQ(args[0].dtype, CAIRN_F32);
  EXPECT_EQ(args[0].rank, 0);
  EXPECT_EQ(args[1].dtype, CAIRN_I64);
  ASSERT_EQ(nr, 1u);
  ASSERT_EQ(results[0].rank, 2);
  EXPECT_EQ(results[0].dims[0], -1);
  EXPECT_EQ(results[0].dims[1], -1);
  cairn_status* s = cairn_model_function_signature(c.m, "nope", &na, &args, &nr, &results);
  EXPECT_EQ(cairn_status_code(s), CAIRN_NOT_FOUND);
  cairn_status_free(s);
  s = cairn_model_function_signature(c.m, "fill", nullptr, &args, &nr, &results);
  EXPECT_EQ(cairn_status_code(s), CAIRN_INVALID_ARGUMENT);
  cairn_status_free(s);
}

TEST(RunLimitsCApi, LimitsAndSizesComeBackAsTheirOwnCodes) {
  CModel c;
  float x = 0;
  int64_t n = 0, k = 0;
  auto fillArgs = [&] {
    return std::vector<cairn_tensor>{
        {CAIRN_F32, 0, nullptr, &x}, {CAIRN_I64, 0, nullptr, &n}, {CAIRN_I64, 0, nullptr, &k}};
  };
  cairn_tensor out;
  cairn_run_options o{};
  o.struct_size = sizeof o;
  std::string msg;

  o.timeout_ns = 20'000'000;
  EXPECT_EQ(runC(c, "spin", {{CAIRN_F32, 0, nullptr, &x}}, &out, &o, &msg),
            CAIRN_DEADLINE_EXCEEDED)
      << msg;
  // The longest timeout is no deadline (now + INT64_MAX ns wrapped into the
  // past and failed the run at once).
  o.timeout_ns = INT64_MAX;
  n = 2, k = 3;
  EXPECT_EQ(runC(c, "fill", fillArgs(), &out, &o, &msg), CAIRN_OK) << msg;
  o.timeout_ns = 0;

  cairn_cancel_token* token = cairn_cancel_token_new();
  cairn_cancel(token); // already triggered: the run stops at its first check
  o.cancel = token;
  EXPECT_EQ(runC(c, "spin", {{CAIRN_F32, 0, nullptr, &x}}, &out, &o, &msg), CAIRN_CANCELLED)
      << msg;
  o.cancel = nullptr;
  cairn_cancel_token_free(token);

  o.max_loop_trips = 1000;
  EXPECT_EQ(runC(c, "spin", {{CAIRN_F32, 0, nullptr, &x}}, &out, &o, &msg), CAIRN_RUNTIME_ERROR);
  EXPECT_NE(msg.find("max trip count 1000"), std::string::npos) << msg;
  o.max_loop_trips = 0;

  n = 1000, k = 1000;
  o.max_bytes = 1 << 20;
  EXPECT_EQ(runC(c, "fill", fillArgs(), &out, &o, &msg), CAIRN_RESOURCE_EXHAUSTED) << msg;
  o.max_bytes = 0;
  ASSERT_EQ(runC(c, "fill", fillArgs(), &out, &o, &msg), CAIRN_OK) << msg;
  EXPECT_EQ(out.dims[0], 1000);

  n = k2to62, k = 16; // the count overflows
  EXPECT_EQ(runC(c, "fill", fillArgs(), &out, nullptr, &msg), CAIRN_RESOURCE_EXHAUSTED) << msg;
#if !CAIRN_UNDER_ASAN
  // 2^60 bytes: fits int64, no allocator gives it, and std::bad_alloc comes
  // back as a code. (The sanitizers' operator new reports and dies instead.)
  n = int64_t{1} << 58, k = 1;
  EXPECT_EQ(runC(c, "fill", fillArgs(), &out, nullptr, &msg), CAIRN_RESOURCE_EXHAUSTED) << msg;
#endif

  o.struct_size = 8; // an older or garbage struct
  EXPECT_EQ(runC(c, "fill", fillArgs(), &out, &o, &msg), CAIRN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("struct_size"), std::string::npos) << msg;
  o.struct_size = sizeof o;
  o.timeout_ns = -1;
  EXPECT_EQ(runC(c, "fill", fillArgs(), &out, &o, &msg), CAIRN_INVALID_ARGUMENT);

  // The context works after all of that.
  n = 2, k = 3;
  ASSERT_EQ(runC(c, "fill", fillArgs(), &out, nullptr, &msg), CAIRN_OK) << msg;
  EXPECT_EQ(out.dims[1], 3);
}

#if defined(__linux__)
int threadsOfThisProcess() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)e;
    ++n;
  }
  return n;
}

// one_thread keeps a run on the calling thread: a fresh context's pair of
// loops starts no side thread. Without it (two usable CPUs) the pair
// starts one. A struct from the first header (no one_thread) still works.
TEST(RunLimitsCApi, OneThreadRunsStartNoThread) {
  float x = 0.5f;
  int64_t n = 3;
  std::vector<cairn_tensor> in = {{CAIRN_F32, 0, nullptr, &x}, {CAIRN_I64, 0, nullptr, &n}};
  cairn_tensor out;
  std::string msg;
  cairn_run_options o{};
  o.struct_size = sizeof o;
  o.one_thread = 1;
  float one = 0, two = 0;
  {
    CModel c;
    int before = threadsOfThisProcess();
    ASSERT_EQ(runC(c, "two_loops", in, &out, &o, &msg), CAIRN_OK) << msg;
    one = *static_cast<const float*>(out.data);
    EXPECT_EQ(threadsOfThisProcess(), before);
    o.one_thread = 0;
    ASSERT_EQ(runC(c, "two_loops", in, &out, &o, &msg), CAIRN_OK) << msg;
    two = *static_cast<const float*>(out.data);
    EXPECT_EQ(threadsOfThisProcess(), before + (exec::usableCpus() >= 2 ? 1 : 0));
  }
  EXPECT_EQ(one, two);
  EXPECT_NEAR(one, std::tanh(std::tanh(std::tanh(0.5f))) +
                       1 / (1 + std::exp(-1 / (1 + std::exp(-1 / (1 + std::exp(-0.5f)))))),
              1e-6);
  // The first header's struct, 40 bytes: read as far as it goes.
  CModel c;
  o.struct_size = offsetof(cairn_run_options, one_thread);
  o.one_thread = 1; // past struct_size: not read
  EXPECT_EQ(runC(c, "two_loops", in, &out, &o, &msg), CAIRN_OK) << msg;
}
#endif

TEST(RunLimitsCApi, InputSizesAreCheckedInBytes) {
  CModel c;
  cairn_tensor out;
  std::string msg;
  std::vector<float> w(64 * 64, 0.f);
  int64_t wd[] = {64, 64};
  // @project(x: ?x64, w: 64x64). 2^56 x 64 f32: the count fits int64, its bytes do not.
  int64_t huge[] = {int64_t{1} << 56, 64};
  std::vector<cairn_tensor> in = {{CAIRN_F32, 2, huge, nullptr}, {CAIRN_F32, 2, wd, w.data()}};
  EXPECT_EQ(runC(c, "project", in, &out, nullptr, &msg), CAIRN_RESOURCE_EXHAUSTED);
  EXPECT_NE(msg.find("input #0"), std::string::npos) << msg;
  int64_t big[] = {1 << 14, 64};
  in[0] = {CAIRN_F32, 2, big, nullptr}; // no data for a non-empty tensor
  EXPECT_EQ(runC(c, "project", in, &out, nullptr, &msg), CAIRN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("has no data"), std::string::npos) << msg;
  int64_t negative[] = {-3, 64};
  in[0] = {CAIRN_F32, 2, negative, nullptr};
  EXPECT_EQ(runC(c, "project", in, &out, nullptr, &msg), CAIRN_INVALID_ARGUMENT);
  // A shape that does not fit is refused before its data is read.
  int64_t wrong[] = {4, 65};
  in[0] = {CAIRN_F32, 2, wrong, nullptr};
  EXPECT_EQ(runC(c, "project", in, &out, nullptr, &msg), CAIRN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("expected tensor<?x64xf32>, got tensor<4x65xf32>"), std::string::npos) << msg;
}

TEST(RunLimitsCApi, ABusyContextIsRefused) {
  CModel c;
  float x = 0;
  cairn_cancel_token* token = cairn_cancel_token_new();
  cairn_run_options o{};
  o.struct_size = sizeof o;
  o.cancel = token;
  std::atomic<int> spinCode{-1};
  std::thread spinner([&] {
    cairn_code code;
    do {
      cairn_tensor out;
      code = runC(c, "spin", {{CAIRN_F32, 0, nullptr, &x}}, &out, &o);
    } while (code == CAIRN_BUSY);
    spinCode = code;
  });
  bool sawBusy = false;
  float one = 1;
  int64_t n = 1;
  for (int i = 0; i < 100000 && !sawBusy; ++i) {
    cairn_tensor out;
    sawBusy = runC(c, "fill",
                   {{CAIRN_F32, 0, nullptr, &one},
                    {CAIRN_I64, 0, nullptr, &n},
                    {CAIRN_I64, 0, nullptr, &n}},
                   &out, nullptr) == CAIRN_BUSY;
    if (!sawBusy) std::this_thread::sleep_for(100us);
  }
  cairn_cancel(token);
  spinner.join();
  cairn_cancel_token_free(token);
  EXPECT_TRUE(sawBusy);
  EXPECT_EQ(spinCode.load(), CAIRN_CANCELLED);
}

TEST(RunLimitsCApi, SharedObjectsLoadFromAFileAndFromMemory) {
  const std::string so = std::string(CAIRN_BINARY_DIR) + "/tests/limits.so";
  StatusOr<std::string> bytes = readWholeFile(so);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
  cairn_model* fromFile = nullptr;
  cairn_model* fromMemory = nullptr;
  ASSERT_EQ(cairn_model_load_file(so.c_str(), &fromFile), nullptr);
  ASSERT_EQ(cairn_model_load_memory(bytes->data(), bytes->size(), &fromMemory), nullptr);
  for (cairn_model* m : {fromFile, fromMemory}) {
    cairn_context* ctx = cairn_context_new();
    float x = 2.5f;
    int64_t n = 3, k = 2;
    std::vector<cairn_tensor> in = {
        {CAIRN_F32, 0, nullptr, &x}, {CAIRN_I64, 0, nullptr, &n}, {CAIRN_I64, 0, nullptr, &k}};
    cairn_tensor out;
    ASSERT_EQ(cairn_run(m, ctx, "fill", in.data(), 3, &out, 1), nullptr);
    EXPECT_EQ(out.dims[0], 3);
    EXPECT_EQ(static_cast<float*>(out.data)[5], 2.5f);
    cairn_context_free(ctx);
    cairn_model_free(m);
  }
  // Not a model: a missing file, a text file, a shared object without a model, garbage bytes.
  auto code = [](cairn_status* s, std::string* msg) {
    cairn_code c = cairn_status_code(s);
    *msg = cairn_status_message(s);
    cairn_status_free(s);
    return c;
  };
  cairn_model* m = nullptr;
  std::string msg;
  EXPECT_EQ(code(cairn_model_load_file("/nonexistent/model.so", &m), &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("/nonexistent/model.so"), std::string::npos) << msg;
  std::string text = std::string(CAIRN_SOURCE_DIR) + "/tests/unit/Inputs/limits.cairn";
  EXPECT_EQ(code(cairn_model_load_file(text.c_str(), &m), &msg), CAIRN_CORRUPT_MODEL);
  // A shared object that is not a model (libm, found where this process
  // loaded it: a path is a file, never a library name to search for).
  Dl_info libm{};
  ASSERT_NE(::dladdr(reinterpret_cast<void*>(static_cast<double (*)(double)>(&::cos)), &libm), 0);
  EXPECT_EQ(code(cairn_model_load_file(libm.dli_fname, &m), &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("without a Cairn model"), std::string::npos) << msg;
  EXPECT_EQ(code(cairn_model_load_file("libm.so.6", &m), &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("./libm.so.6"), std::string::npos) << msg;
  std::string garbage(4096, 'x');
  EXPECT_EQ(code(cairn_model_load_memory(garbage.data(), garbage.size(), &m), &msg),
            CAIRN_CORRUPT_MODEL);
  EXPECT_EQ(m, nullptr);
}

// Inputs are read in place (borrowed, not copied) when aligned to their
// element size, and copied when not: the same answer either way, and the
// caller's buffers are never written.
TEST(RunLimitsCApi, AlignedInputsAreReadInPlaceMisalignedOnesCopied) {
  const std::string so = std::string(CAIRN_BINARY_DIR) + "/tests/limits.so";
  cairn_model* m = nullptr;
  ASSERT_EQ(cairn_model_load_file(so.c_str(), &m), nullptr);
  cairn_context* ctx = cairn_context_new();
  std::vector<float> x(2 * 64), w(64 * 64, 0.0f);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(i) / 8.0f;
  for (int i = 0; i < 64; ++i)
    w[static_cast<size_t>(i * 64 + i)] = 2.0f;
  const std::vector<float> x0 = x, w0 = w;
  // The same values one byte into a buffer: not aligned to a float.
  std::vector<unsigned char> raw(x.size() * sizeof(float) + 1);
  std::memcpy(raw.data() + 1, x.data(), x.size() * sizeof(float));
  int64_t xDims[2] = {2, 64}, wDims[2] = {64, 64};
  std::vector<float> got[2];
  for (int misaligned = 0; misaligned < 2; ++misaligned) {
    void* xData = misaligned ? static_cast<void*>(raw.data() + 1) : x.data();
    cairn_tensor in[2] = {{CAIRN_F32, 2, xDims, xData}, {CAIRN_F32, 2, wDims, w.data()}};
    cairn_tensor out;
    ASSERT_EQ(cairn_run(m, ctx, "project", in, 2, &out, 1), nullptr);
    const float* y = static_cast<const float*>(out.data);
    got[misaligned].assign(y, y + 2 * 64); // owned by ctx
  }
  EXPECT_EQ(got[0], got[1]);
  EXPECT_EQ(got[0][5], 2.0f * x[5]);
  EXPECT_EQ(x, x0);
  EXPECT_EQ(w, w0);
  cairn_context_free(ctx);
  cairn_model_free(m);
}

TEST(RunLimitsCApi, ARunChangesNoProcessWideBlasSetting) {
  // The executor's own runs set OpenBLAS to one thread around small GEMMs;
  // through the C API the process's setting is the embedder's and stays.
  int saved = cairn_blas_threads();
  cairn_set_blas_threads(2);
  if (cairn_blas_threads() != 2) GTEST_SKIP() << "the BLAS does not take a thread count here";
  CModel c;
  std::vector<float> x(8 * 64, 0.5f), w(64 * 64, 0.25f);
  int64_t xd[] = {8, 64}, wd[] = {64, 64};
  std::vector<cairn_tensor> in = {{CAIRN_F32, 2, xd, x.data()}, {CAIRN_F32, 2, wd, w.data()}};
  int64_t before = exec::blasThreadChanges();
  for (int i = 0; i < 100; ++i) {
    cairn_tensor out;
    ASSERT_EQ(runC(c, "project", in, &out, nullptr), CAIRN_OK);
  }
  EXPECT_EQ(exec::blasThreadChanges(), before);
  // The control: the executor's default lowers it for the same product.
  auto m = limitsModule();
  auto exe = exectest::compileOk(*m);
  Tensor tx = exectest::inputOf(TensorType(DType::F32, {8, 64}), 1);
  Tensor tw = exectest::inputOf(TensorType(DType::F32, {64, 64}), 2);
  ASSERT_TRUE(exe->run("project", {tx, tw}).isOk());
  // oneDNN, where it takes the product, sets the calling thread's count only.
  if (std::string(exec::gemmLibraryFor(DType::F32, {1, 8, 64, 64}, false, false)) == "OpenBLAS")
    EXPECT_GT(exec::blasThreadChanges(), before);
  else
    EXPECT_EQ(exec::blasThreadChanges(), before);
  EXPECT_EQ(cairn_blas_threads(), 2);
  cairn_set_blas_threads(saved);
}

TEST(RunLimitsCApi, CppWrapperThrowsTheStatus) {
  capi::Model model(&limits_aot);
  EXPECT_EQ(model.functions(), (std::vector<std::string>{"spin", "fill", "project", "two_loops"}));
  EXPECT_EQ(model.signature("fill").args.size(), 3u);
  capi::Context ctx;
  float x = 5;
  int64_t n = 2, k = 2;
  std::vector<cairn_tensor> in = {
      {CAIRN_F32, 0, nullptr, &x}, {CAIRN_I64, 0, nullptr, &n}, {CAIRN_I64, 0, nullptr, &k}};
  std::vector<cairn_tensor> out = ctx.run(model, "fill", in, 1);
  EXPECT_EQ(static_cast<float*>(out[0].data)[3], 5.0f);
  try {
    capi::RunOptions o;
    o.maxLoopTrips = 3;
    ctx.run(model, "spin", std::span(in).first(1), 1, o);
    ADD_FAILURE() << "no error";
  } catch (const capi::Error& e) {
    EXPECT_EQ(e.code(), CAIRN_RUNTIME_ERROR);
  }
  EXPECT_THROW(capi::Model bad(nullptr), capi::Error);
}

} // namespace
} // namespace cairn
