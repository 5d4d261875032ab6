// bindWeights (tools/cairn-serve/ServedModel.h) in process, around a model
// that records what it is given: the bound weights and the request's inputs
// reach the run lent (Tensor::borrow), not copied. A copy of the 300-wide
// SPINN's 13 MB of weights per batch once hid behind a conditional
// expression whose const result push_back copied.
#include <filesystem>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/Safetensors.h"
#include "tools/cairn-serve/ServedModel.h"

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;

/// @f(%w: f32[4], %x: f32[2]) -> (): records each run's inputs.
class RecordingModel : public ServedModel {
public:
  RecordingModel() {
    functions_.push_back({"f",
                          {TensorType(DType::F32, {4}), TensorType(DType::F32, {2})},
                          {},
                          {"w", "x"}});
  }
  const std::vector<FunctionInfo>& functions() const override { return functions_; }
  StatusOr<std::vector<Tensor>> run(const std::string&, const std::vector<Tensor>& inputs,
                                    const RunLimits&) const override {
    *seen = inputs; // copies: what matters is whether the run was lent them
    for (const Tensor& t : inputs)
      lent->push_back(t.borrowed());
    return std::vector<Tensor>{};
  }
  const char* kind() const override { return "jit"; }

  std::shared_ptr<std::vector<Tensor>> seen = std::make_shared<std::vector<Tensor>>();
  std::shared_ptr<std::vector<bool>> lent = std::make_shared<std::vector<bool>>();

private:
  std::vector<FunctionInfo> functions_;
};

TEST(ServeBoundWeightsTest, WeightsAndInputsAreLentToTheRun) {
  fs::path path = fs::temp_directory_path() /
                  ("cairn-bound-weights-" + std::to_string(::getpid()) + ".safetensors");
  Tensor w(TensorType(DType::F32, {4}));
  for (int64_t i = 0; i < 4; ++i)
    w.setDouble(i, 0.5 * static_cast<double>(i));
  SafetensorsData d;
  d.names = {"w"};
  d.tensors = {w};
  ASSERT_TRUE(writeSafetensors(path.string(), d).isOk());

  auto inner = std::make_unique<RecordingModel>();
  auto seen = inner->seen;
  auto lent = inner->lent;
  StatusOr<std::unique_ptr<ServedModel>> bound = bindWeights(std::move(inner), path.string());
  fs::remove(path);
  ASSERT_TRUE(bound.isOk()) << bound.status().message();
  ASSERT_EQ((*bound)->functions()[0].args.size(), 1u) << "%w is bound, only %x is sent";

  Tensor x(TensorType(DType::F32, {2}));
  x.setDouble(0, 3.0);
  x.setDouble(1, 4.0);
  ASSERT_TRUE((*bound)->run("f", {x}, RunLimits{}).isOk());
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[0], w);
  EXPECT_EQ((*seen)[1], x);
  ASSERT_EQ(lent->size(), 2u);
  EXPECT_TRUE((*lent)[0]) << "the bound weight was copied into the run";
  EXPECT_TRUE((*lent)[1]) << "the request's input was copied into the run";

  EXPECT_FALSE((*bound)->run("f", {}, RunLimits{}).isOk()) << "too few inputs";
  EXPECT_FALSE((*bound)->run("f", {x, x}, RunLimits{}).isOk()) << "too many inputs";
}

} // namespace
} // namespace cairn::serve
