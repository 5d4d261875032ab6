// ParamStore: declaration rules, binding, deterministic Philox
// initialization, .npy save/load, and the parameter names and shapes every
// layer declares (the docs/models.md contract).
#include <filesystem>

#include <unistd.h>

#include <gtest/gtest.h>

#include "frontend/layers/Layers.h"
#include "frontend/layers/Params.h"
#include "runtime/Npy.h"

namespace cairn {
namespace {

TensorType f32(Shape s) {
  return TensorType(DType::F32, std::move(s));
}

std::string tempDir(const std::string& leaf) {
  auto dir = std::filesystem::temp_directory_path() /
             ("cairn_layers_params_" + std::to_string(::getpid()) + "_" + leaf);
  std::filesystem::remove_all(dir);
  return dir.string();
}

/// name: shape pairs, for comparing declarations.
std::vector<std::pair<std::string, Shape>> decls(const ParamStore& ps) {
  std::vector<std::pair<std::string, Shape>> out;
  for (const ParamSpec& s : ps.specs())
    out.emplace_back(s.name, s.type.shape);
  return out;
}
using Decls = std::vector<std::pair<std::string, Shape>>;

TEST(LayersParamsTest, DeclareRejectsDuplicateAndDynamic) {
  ParamStore ps;
  ps.declare({"a", f32({2})});
  EXPECT_THROW(ps.declare({"a", f32({3})}), BuildError);
  EXPECT_THROW(ps.declare({"b", f32({kDynamic, 2})}), BuildError);
  EXPECT_THROW(ps.declare({"", f32({2})}), BuildError);
  EXPECT_EQ(ps.size(), 1u);
}

TEST(LayersParamsTest, TypesAndNamesInDeclarationOrder) {
  ParamStore ps;
  ps.declare({"z", f32({2, 3})});
  ps.declare({"a", f32({4})});
  EXPECT_EQ(ps.names(), (std::vector<std::string>{"z", "a"}));
  EXPECT_EQ(ps.types(), (std::vector<TensorType>{f32({2, 3}), f32({4})}));
}

TEST(LayersParamsTest, BindChecksTypesAndLooksUpByName) {
  ParamStore ps;
  ps.declare({"w", f32({2, 3})});
  ps.declare({"b", f32({3})});
  EXPECT_THROW(ps["w"], BuildError); // declared, not bound
  EXPECT_THROW(ps["nope"], BuildError);
  {
    Module m;
    FunctionBuilder fb(m, "bad", {f32({2}), f32({2, 3}), f32({4})});
    EXPECT_THROW(ps.bind(fb, 1), BuildError); // b is tensor<3xf32>
    EXPECT_THROW(ps.bind(fb, 2), BuildError); // too few arguments
  }
  Module m;
  FunctionBuilder fb(m, "good", {f32({2}), f32({2, 3}), f32({3})}, {"x", "w", "b"});
  ps.bind(fb, 1);
  EXPECT_EQ(ps["w"].value(), fb.arg(1).value());
  EXPECT_EQ(ps["b"].value(), fb.arg(2).value());
  EXPECT_THROW(ps["x"], BuildError);
}

TEST(LayersParamsTest, InitializeIsDeterministicPerSeed) {
  ParamStore ps;
  ps.declare({"w", f32({5, 7})});
  ps.declare({"v", f32({3})});
  std::vector<Tensor> a = ps.initialize(42), b = ps.initialize(42), c = ps.initialize(43);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_NE(a[0], c[0]);
  EXPECT_NE(a[0].toDoubles()[0], a[1].toDoubles()[0]); // different streams per parameter
}

TEST(LayersParamsTest, InitializeUniformRangeAndIndependence) {
  ParamStore ps;
  ps.declare({"w", f32({100, 50}), Init::Uniform, 0.25});
  std::vector<Tensor> a = ps.initialize(9);
  double sum = 0, lo = 1, hi = -1;
  for (double v : a[0].toDoubles()) {
    EXPECT_GT(v, -0.25 - 1e-7);
    EXPECT_LT(v, 0.25);
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_NEAR(sum / 5000.0, 0.0, 0.01);
  EXPECT_LT(lo, -0.24);
  EXPECT_GT(hi, 0.24);
  // Declaring another parameter first changes the index, not the values of
  // parameters at the same index; appending one changes nothing earlier.
  ParamStore more = ps;
  more.declare({"extra", f32({3})});
  std::vector<Tensor> b = more.initialize(9);
  EXPECT_EQ(a[0], b[0]);
}

TEST(LayersParamsTest, InitializeZerosAndOnes) {
  ParamStore ps;
  ps.declare({"z", f32({4}), Init::Zeros});
  ps.declare({"o", f32({2, 2}), Init::Ones});
  std::vector<Tensor> v = ps.initialize(1);
  EXPECT_EQ(v[0].toDoubles(), std::vector<double>(4, 0.0));
  EXPECT_EQ(v[1].toDoubles(), std::vector<double>(4, 1.0));
}

TEST(LayersParamsTest, SaveLoadRoundTrip) {
  ParamStore ps;
  Linear lin(ps, "proj", 3, 4);
  LSTMCell cell(ps, "rnn.l0.fwd", 4, 2);
  std::vector<Tensor> v = ps.initialize(5);
  std::string dir = tempDir("roundtrip");
  ASSERT_TRUE(saveParams(dir, ps, v).isOk());
  EXPECT_TRUE(std::filesystem::exists(dir + "/rnn.l0.fwd.wx.npy"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/proj.bias.npy"));
  StatusOr<std::vector<Tensor>> back = loadParams(dir, ps);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  ASSERT_EQ(back->size(), v.size());
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_EQ((*back)[i], v[i]) << ps.specs()[i].name;
  std::filesystem::remove_all(dir);
}

TEST(LayersParamsTest, LoadRejectsShapeMismatchAndMissingFiles) {
  ParamStore ps;
  Linear lin(ps, "proj", 3, 4);
  std::string dir = tempDir("mismatch");
  ASSERT_TRUE(saveParams(dir, ps, ps.initialize(1)).isOk());
  ASSERT_TRUE(writeNpy(dir + "/proj.weight.npy", Tensor(f32({4, 3}))).isOk());
  StatusOr<std::vector<Tensor>> r = loadParams(dir, ps);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("proj.weight"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("tensor<3x4xf32>"), std::string::npos)
      << r.status().message();
  std::filesystem::remove(dir + "/proj.weight.npy");
  r = loadParams(dir, ps);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("proj.weight"), std::string::npos) << r.status().message();
  std::filesystem::remove_all(dir);
}

TEST(LayersParamsTest, SaveRejectsWrongValues) {
  ParamStore ps;
  Linear lin(ps, "proj", 3, 4);
  std::string dir = tempDir("wrong");
  EXPECT_FALSE(saveParams(dir, ps, {Tensor(f32({3, 4}))}).isOk()); // count
  EXPECT_FALSE(saveParams(dir, ps, {Tensor(f32({3, 4})), Tensor(f32({5}))}).isOk());
  std::filesystem::remove_all(dir);
}

TEST(LayersParamsTest, LayerParameterNamesAndShapes) {
  ParamStore ps;
  Linear(ps, "lin", 3, 4);
  Linear(ps, "nob", 3, 4, /*bias=*/false);
  Embedding(ps, "embed", 10, 6);
  LSTMCell(ps, "lstm", 6, 5);
  GRUCell(ps, "gru", 6, 5);
  EXPECT_EQ(decls(ps), (Decls{{"lin.weight", {3, 4}},
                              {"lin.bias", {4}},
                              {"nob.weight", {3, 4}},
                              {"embed.weight", {10, 6}},
                              {"lstm.wx", {6, 20}},
                              {"lstm.wh", {5, 20}},
                              {"lstm.b", {20}},
                              {"gru.wx", {6, 15}},
                              {"gru.wh", {5, 15}},
                              {"gru.bx", {15}},
                              {"gru.bh", {15}}}));
}

TEST(LayersParamsTest, SpinnLayerParameterNamesAndShapes) {
  ParamStore ps;
  TreeLSTMReduce(ps, "reduce", 4, 3);
  TreeLSTMReduce(ps, "plain", 4, 0);
  Tracker(ps, "tracker", 4, 3);
  TransitionPredictor(ps, "predict", 3);
  EXPECT_EQ(decls(ps), (Decls{{"reduce.left.weight", {4, 20}},
                              {"reduce.left.bias", {20}},
                              {"reduce.right.weight", {4, 20}},
                              {"reduce.track.weight", {3, 20}},
                              {"plain.left.weight", {4, 20}},
                              {"plain.left.bias", {20}},
                              {"plain.right.weight", {4, 20}},
                              {"tracker.cell.wx", {12, 12}},
                              {"tracker.cell.wh", {3, 12}},
                              {"tracker.cell.b", {12}},
                              {"predict.weight", {3, 2}},
                              {"predict.bias", {2}}}));
}

TEST(LayersParamsTest, MlpAndBatchNormParameters) {
  ParamStore ps;
  Mlp(ps, "mlp", 8, 5, 2, 3);
  BatchNorm(ps, "bn", 5);
  EXPECT_EQ(decls(ps), (Decls{{"mlp.0.weight", {8, 5}},
                              {"mlp.0.bias", {5}},
                              {"mlp.1.weight", {5, 5}},
                              {"mlp.1.bias", {5}},
                              {"mlp.2.weight", {5, 3}},
                              {"mlp.2.bias", {3}},
                              {"bn.gamma", {5}},
                              {"bn.beta", {5}},
                              {"bn.mean", {5}},
                              {"bn.var", {5}}}));
  EXPECT_TRUE(ps.specs()[7].trainable);
  EXPECT_FALSE(ps.specs()[8].trainable);
  EXPECT_FALSE(ps.specs()[9].trainable);
  std::vector<Tensor> v = ps.initialize(3);
  EXPECT_EQ(v[6].toDoubles(), std::vector<double>(5, 1.0)); // gamma
  EXPECT_EQ(v[7].toDoubles(), std::vector<double>(5, 0.0)); // beta
  EXPECT_EQ(v[9].toDoubles(), std::vector<double>(5, 1.0)); // var
}

TEST(LayersParamsTest, LayersRejectBadSizes) {
  ParamStore ps;
  EXPECT_THROW(Linear(ps, "l", 0, 3), BuildError);
  EXPECT_THROW(LSTMCell(ps, "c", 3, -1), BuildError);
  EXPECT_THROW(Mlp(ps, "m", 3, 3, -1, 2), BuildError);
  EXPECT_THROW(TreeLSTMReduce(ps, "r", 3, -1), BuildError);
}

} // namespace
} // namespace cairn
