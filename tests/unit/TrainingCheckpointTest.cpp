// Checkpoints: parameters and optimizer state through safetensors, and the
// named errors for missing or mistyped tensors.
#include <gtest/gtest.h>

#include "TrainingTestUtil.h"
#include "frontend/layers/Layers.h"
#include "frontend/training/Checkpoint.h"

namespace cairn::training {
namespace {

ParamStore model() {
  ParamStore ps;
  Linear(ps, "proj", 3, 4);
  BatchNorm(ps, "bn", 4);
  return ps;
}

TEST(CheckpointTest, ParamsSaveLoadIdentical) {
  ParamStore ps = model();
  std::vector<Tensor> v = ps.initialize(4);
  std::string path = testing::tempPath("params.safetensors");
  ASSERT_TRUE(saveParamsCheckpoint(path, ps, v, {{"epoch", "3"}}).isOk());
  StatusOr<std::vector<Tensor>> back = loadParamsCheckpoint(path, ps);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  ASSERT_EQ(back->size(), v.size());
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_EQ((*back)[i], v[i]) << ps.names()[i];
  StatusOr<SafetensorsData> raw = loadCheckpoint(path);
  ASSERT_TRUE(raw.isOk());
  EXPECT_EQ(raw->names, ps.names());
  EXPECT_EQ(raw->metadata.at("epoch"), "3");
  EXPECT_EQ(raw->metadata.at("format"), "cairn-checkpoint-v1");
  std::filesystem::remove(path);
}

TEST(CheckpointTest, TrainingStateSaveLoadIdentical) {
  ParamStore ps = model();
  std::vector<Tensor> params = ps.initialize(5);
  std::vector<std::string> names;
  std::vector<TensorType> types;
  for (const ParamSpec& s : ps.specs())
    if (s.trainable) names.push_back(s.name), types.push_back(s.type);
  std::vector<StateSpec> specs = makeAdam()->stateSpecs(names, types);
  std::vector<Tensor> state;
  uint32_t seed = 100;
  for (const StateSpec& s : specs)
    state.push_back(s.type.dtype == DType::I64 ? Tensor::scalar(DType::I64, 17)
                                               : testing::randomTensorOf(s.type, seed++));
  std::string path = testing::tempPath("train.safetensors");
  ASSERT_TRUE(saveTrainingCheckpoint(path, ps, params, specs, state, {{"run", "a"}}).isOk());
  StatusOr<TrainingState> back = loadTrainingCheckpoint(path, ps, specs);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back->params, params);
  EXPECT_EQ(back->state, state);
  EXPECT_EQ(back->metadata.at("run"), "a");
  // A training checkpoint also serves a parameters-only load.
  StatusOr<std::vector<Tensor>> onlyParams = loadParamsCheckpoint(path, ps);
  ASSERT_TRUE(onlyParams.isOk()) << onlyParams.status().message();
  EXPECT_EQ(*onlyParams, params);
  StatusOr<SafetensorsData> raw = loadCheckpoint(path);
  ASSERT_TRUE(raw.isOk());
  EXPECT_NE(raw->find("optimizer.step"), nullptr);
  EXPECT_NE(raw->find("optimizer.proj.weight.exp_avg_sq"), nullptr);
  std::filesystem::remove(path);
}

TEST(CheckpointTest, MissingOrMistypedParameterIsNamed) {
  ParamStore ps = model();
  std::vector<Tensor> v = ps.initialize(1);
  std::string path = testing::tempPath("bad.safetensors");
  // proj.bias missing.
  ASSERT_TRUE(saveCheckpoint(path, {"proj.weight"}, {v[0]}).isOk());
  StatusOr<std::vector<Tensor>> r = loadParamsCheckpoint(path, ps);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("parameter 'proj.bias'"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  // proj.weight transposed.
  std::vector<Tensor> wrong = v;
  wrong[0] = Tensor(TensorType(DType::F32, {4, 3}));
  ASSERT_TRUE(saveCheckpoint(path, ps.names(), wrong).isOk());
  r = loadParamsCheckpoint(path, ps);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("tensor<4x3xf32> for parameter 'proj.weight', expected "
                                      "tensor<3x4xf32>"),
            std::string::npos)
      << r.status().message();
  // Wrong dtype.
  wrong = v;
  wrong[1] = Tensor(TensorType(DType::F64, {4}));
  ASSERT_TRUE(saveCheckpoint(path, ps.names(), wrong).isOk());
  r = loadParamsCheckpoint(path, ps);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'proj.bias'"), std::string::npos) << r.status().message();
  // Saving checks the values against the store too.
  Status s = saveParamsCheckpoint(path, ps, wrong);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("parameter 'proj.bias'"), std::string::npos) << s.message();
  std::filesystem::remove(path);
}

TEST(CheckpointTest, MissingOptimizerStateIsNamed) {
  ParamStore ps = model();
  std::vector<Tensor> params = ps.initialize(2);
  std::string path = testing::tempPath("nostate.safetensors");
  ASSERT_TRUE(saveParamsCheckpoint(path, ps, params).isOk());
  std::vector<StateSpec> specs =
      makeSgd({.momentum = 0.9})->stateSpecs({"proj.weight"}, {TensorType(DType::F32, {3, 4})});
  StatusOr<TrainingState> r = loadTrainingCheckpoint(path, ps, specs);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("optimizer state 'optimizer.step'"), std::string::npos)
      << r.status().message();
  std::filesystem::remove(path);
}

} // namespace
} // namespace cairn::training
