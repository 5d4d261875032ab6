// The C API misused as a new user might: every case runs in a child process
// (a GoogleTest death test that expects a clean exit), so a crash fails the
// case instead of the suite, and each must come back as the right code.
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/capi/cairn.h"

extern "C" const cairn_aot_model limits_aot; // tests/unit/Inputs/limits.cairn

namespace {

struct Case {
  const char* name;
  cairn_code expected;
  std::function<cairn_status*(cairn_model*, cairn_context*)> call;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

float x = 1.0f;
int64_t n = 2, k = 3;
int64_t dims2[] = {2, 2};
int64_t negative[] = {-1};

cairn_tensor scalarF32() { return {CAIRN_F32, 0, nullptr, &x}; }
cairn_tensor scalarI64(int64_t* v) { return {CAIRN_I64, 0, nullptr, v}; }

cairn_status* runFill(cairn_model* m, cairn_context* c, std::vector<cairn_tensor> in,
                      size_t outs = 1, const cairn_run_options* o = nullptr) {
  cairn_tensor out[2];
  return cairn_run_with_options(m, c, "fill", in.data(), in.size(), out, outs, o);
}
std::vector<cairn_tensor> fillArgs() { return {scalarF32(), scalarI64(&n), scalarI64(&k)}; }

const Case kCases[] = {
    {"null_model", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context* c) { return runFill(nullptr, c, fillArgs()); }},
    {"null_context", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context*) { return runFill(m, nullptr, fillArgs()); }},
    {"null_name", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       cairn_tensor out;
       auto in = fillArgs();
       return cairn_run(m, c, nullptr, in.data(), 3, &out, 1);
     }},
    {"null_inputs", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       cairn_tensor out;
       return cairn_run(m, c, "fill", nullptr, 3, &out, 1);
     }},
    {"null_outputs", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       return cairn_run(m, c, "fill", in.data(), 3, nullptr, 1);
     }},
    {"unknown_function", CAIRN_NOT_FOUND,
     [](cairn_model* m, cairn_context* c) {
       cairn_tensor out;
       auto in = fillArgs();
       return cairn_run(m, c, "nope", in.data(), 3, &out, 1);
     }},
    {"too_few_inputs", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) { return runFill(m, c, {scalarF32()}); }},
    {"too_many_outputs", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) { return runFill(m, c, fillArgs(), 2); }},
    {"zero_outputs", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) { return runFill(m, c, fillArgs(), 0); }},
    {"negative_rank", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[0].rank = -1;
       return runFill(m, c, in);
     }},
    {"rank_33", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[0].rank = 33;
       return runFill(m, c, in);
     }},
    {"rank_without_dims", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[0] = {CAIRN_F32, 2, nullptr, &x};
       return runFill(m, c, in);
     }},
    {"negative_dim", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[0] = {CAIRN_F32, 1, negative, &x};
       return runFill(m, c, in);
     }},
    {"unknown_dtype", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[0].dtype = static_cast<cairn_dtype>(99);
       return runFill(m, c, in);
     }},
    {"wrong_dtype", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[1].dtype = CAIRN_I32;
       return runFill(m, c, in);
     }},
    {"wrong_rank", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       static float four[4] = {1, 2, 3, 4};
       in[0] = {CAIRN_F32, 2, dims2, four};
       return runFill(m, c, in);
     }},
    {"wrong_rank_small_buffer", CAIRN_INVALID_ARGUMENT, // refused before the data is read
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       static int64_t big[] = {1000, 1000};
       in[0] = {CAIRN_F32, 2, big, &x};
       return runFill(m, c, in);
     }},
    {"null_data", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       auto in = fillArgs();
       in[0].data = nullptr;
       return runFill(m, c, in);
     }},
    {"negative_size_operand", CAIRN_RUNTIME_ERROR,
     [](cairn_model* m, cairn_context* c) {
       static int64_t minus = -5;
       return runFill(m, c, {scalarF32(), scalarI64(&minus), scalarI64(&k)});
     }},
    {"options_struct_size_zero", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       cairn_run_options o{};
       return runFill(m, c, fillArgs(), 1, &o);
     }},
    {"options_negative_cap", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context* c) {
       cairn_run_options o{};
       o.struct_size = sizeof o;
       o.max_bytes = -1;
       return runFill(m, c, fillArgs(), 1, &o);
     }},
    {"load_null", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context*) { return cairn_model_load_aot(nullptr, nullptr); }},
    {"load_null_out", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context*) { return cairn_model_load_aot(&limits_aot, nullptr); }},
    {"load_zeroed_descriptor", CAIRN_CORRUPT_MODEL,
     [](cairn_model*, cairn_context*) {
       cairn_aot_model zero{};
       cairn_model* m = nullptr;
       return cairn_model_load_aot(&zero, &m);
     }},
    {"load_descriptor_without_text", CAIRN_CORRUPT_MODEL,
     [](cairn_model*, cairn_context*) {
       cairn_aot_model bad = limits_aot;
       bad.module_text = nullptr;
       cairn_model* m = nullptr;
       return cairn_model_load_aot(&bad, &m);
     }},
    {"load_file_null", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context*) { return cairn_model_load_file(nullptr, nullptr); }},
    {"load_file_directory", CAIRN_CORRUPT_MODEL,
     [](cairn_model*, cairn_context*) {
       cairn_model* m = nullptr;
       return cairn_model_load_file("/", &m);
     }},
    {"load_memory_empty", CAIRN_CORRUPT_MODEL,
     [](cairn_model*, cairn_context*) {
       cairn_model* m = nullptr;
       return cairn_model_load_memory("", 0, &m);
     }},
    {"signature_null_outputs", CAIRN_INVALID_ARGUMENT,
     [](cairn_model* m, cairn_context*) {
       return cairn_model_function_signature(m, "fill", nullptr, nullptr, nullptr, nullptr);
     }},
    {"npy_load_null", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context*) { return cairn_tensor_load_npy(nullptr, nullptr); }},
    {"npy_load_directory", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context*) {
       cairn_tensor t;
       return cairn_tensor_load_npy("/", &t);
     }},
    {"npy_save_without_dims", CAIRN_INVALID_ARGUMENT,
     [](cairn_model*, cairn_context*) {
       cairn_tensor t = {CAIRN_F32, 3, nullptr, &x};
       return cairn_tensor_save_npy("/tmp/cairn-misuse.npy", &t);
     }},
    {"frees_and_queries_of_null_are_harmless", CAIRN_OK,
     [](cairn_model*, cairn_context*) -> cairn_status* {
       cairn_status_free(nullptr);
       cairn_model_free(nullptr);
       cairn_context_free(nullptr);
       cairn_tensor_free(nullptr);
       cairn_cancel(nullptr);
       cairn_cancel_token_free(nullptr);
       if (cairn_status_code(nullptr) != CAIRN_OK || cairn_status_message(nullptr)[0] != 0 ||
           cairn_model_num_functions(nullptr) != 0 || cairn_model_function_name(nullptr, 0))
         std::abort();
       return nullptr;
     }},
};

class CApiMisuse : public testing::TestWithParam<Case> {};

TEST_P(CApiMisuse, ReturnsItsCodeInAChildProcess) {
  const Case& c = GetParam();
  // The child exits 0 when the call returned the expected code, 1 otherwise;
  // a crash is a signal, which fails the death test.
  EXPECT_EXIT(
      {
        cairn_model* m = nullptr;
        if (cairn_status* s = cairn_model_load_aot(&limits_aot, &m)) std::exit(3);
        cairn_context* ctx = cairn_context_new();
        cairn_status* s = c.call(m, ctx);
        cairn_code code = cairn_status_code(s);
        cairn_status_free(s);
        cairn_context_free(ctx);
        cairn_model_free(m);
        std::exit(code == c.expected ? 0 : 1);
      },
      testing::ExitedWithCode(0), "")
      << c.name;
}

INSTANTIATE_TEST_SUITE_P(Cases, CApiMisuse, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

} // namespace
