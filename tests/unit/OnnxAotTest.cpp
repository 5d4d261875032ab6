// An imported ONNX model compiled ahead of time and run through the C API
// (what a C program linked with the runtime library alone does): ONNX's own
// bidirectional-free LSTM node test, compiled by cairn-compile from the
// .onnx at build time (tests/CMakeLists.txt), against ONNX's expected
// outputs and the reference interpreter on the imported module.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "frontend/onnx/OnnxImport.h"
#include "runtime/capi/cairn.h"
#include "runtime/reference/Interpreter.h"

extern "C" const cairn_aot_model onnx_lstm_aot; // cairn-compile of test_lstm_defaults

namespace cairn {
namespace {

const std::string kCase = CAIRN_ONNX_LSTM_CASE; // the node test's folder

cairn_tensor view(Tensor& t) {
  cairn_tensor c;
  c.dtype = CAIRN_F32;
  c.rank = static_cast<int32_t>(t.rank());
  c.dims = const_cast<int64_t*>(t.shape().data());
  c.data = t.rawData();
  return c;
}

TEST(OnnxAot, ImportedLstmRunsFromTheCApi) {
  std::vector<Tensor> inputs;
  for (int i = 0; i < 3; ++i) {
    StatusOr<Tensor> t =
        readOnnxTensorFile(kCase + "/test_data_set_0/input_" + std::to_string(i) + ".pb");
    ASSERT_TRUE(t.isOk()) << t.status().message();
    inputs.push_back(std::move(*t));
  }
  StatusOr<Tensor> want = readOnnxTensorFile(kCase + "/test_data_set_0/output_0.pb");
  ASSERT_TRUE(want.isOk()) << want.status().message();
  StatusOr<std::unique_ptr<Module>> m = importOnnxFile(kCase + "/model.onnx");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  StatusOr<std::vector<Tensor>> ref = interpret(**m, "main", inputs);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();

  cairn_model* model = nullptr;
  ASSERT_EQ(cairn_model_load_aot(&onnx_lstm_aot, &model), nullptr);
  cairn_context* ctx = cairn_context_new();
  std::vector<cairn_tensor> in;
  for (Tensor& t : inputs)
    in.push_back(view(t));
  cairn_tensor out[1];
  ASSERT_EQ(cairn_run(model, ctx, "main", in.data(), in.size(), out, 1), nullptr);
  ASSERT_EQ(out[0].rank, want->rank());
  const auto* got = static_cast<const float*>(out[0].data);
  for (int64_t i = 0; i < want->numElements(); ++i) {
    EXPECT_NEAR(got[i], want->getDouble(i), 1e-7 + 1e-3 * std::fabs(want->getDouble(i)));
    EXPECT_NEAR(got[i], (*ref)[0].getDouble(i), 1e-6);
  }
  cairn_context_free(ctx);
  cairn_model_free(model);
}

} // namespace
} // namespace cairn
