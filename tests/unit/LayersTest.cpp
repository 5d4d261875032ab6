// The layers against hand-written double-precision loops on small random
// inputs (1e-5), with static and dynamic batch dims, on the reference
// interpreter.
#include <gtest/gtest.h>

#include "tests/unit/LayersTestUtil.h"

namespace cairn {
namespace {

using testing::affine;
using testing::LayerHarness;
using testing::maxAbsDiff;
using testing::randomTensor;
using testing::sigm;

constexpr double kTol = 1e-5;

TensorType f32(Shape s) {
  return TensorType(DType::F32, std::move(s));
}

TEST(LayersTest, LinearStaticBatch) {
  LayerHarness h;
  Linear lin(h.ps, "lin", 3, 4);
  h.build({f32({2, 3})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{lin(d[0])}; });
  EXPECT_EQ(h.f->resultTypes[0], f32({2, 4}));
  Tensor x = randomTensor({2, 3}, 1);
  std::vector<Tensor> r = h.run({x});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> b = h.paramD("lin.bias");
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), affine(x.toDoubles(), h.paramD("lin.weight"), &b, 3, 4)),
            kTol);
}

TEST(LayersTest, LinearDynamicBatchServesEverySize) {
  LayerHarness h;
  Linear lin(h.ps, "lin", 3, 5);
  h.build({f32({kDynamic, 3})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{lin(d[0])}; });
  EXPECT_EQ(h.f->resultTypes[0], f32({kDynamic, 5}));
  std::vector<double> b = h.paramD("lin.bias");
  for (int64_t batch : {1, 4, 7}) {
    Tensor x = randomTensor({batch, 3}, static_cast<uint32_t>(batch));
    std::vector<Tensor> r = h.run({x});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].shape(), (Shape{batch, 5}));
    EXPECT_LT(maxAbsDiff(r[0].toDoubles(), affine(x.toDoubles(), h.paramD("lin.weight"), &b, 3, 5)),
              kTol);
  }
}

TEST(LayersTest, LinearNoBiasOverLeadingDims) {
  LayerHarness h;
  Linear lin(h.ps, "lin", 4, 2, /*bias=*/false);
  h.build({f32({kDynamic, kDynamic, 4})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{lin(d[0])}; });
  Tensor x = randomTensor({3, 2, 4}, 3);
  std::vector<Tensor> r = h.run({x});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].shape(), (Shape{3, 2, 2}));
  EXPECT_LT(
      maxAbsDiff(r[0].toDoubles(), affine(x.toDoubles(), h.paramD("lin.weight"), nullptr, 4, 2)),
      kTol);
}

TEST(LayersTest, LinearRejectsWrongInputSize) {
  LayerHarness h;
  Linear lin(h.ps, "lin", 3, 4);
  EXPECT_THROW(h.build({f32({2, 5})},
                       [&](FunctionBuilder&, const ValueList& d) { return ValueList{lin(d[0])}; }),
               BuildError);
}

TEST(LayersTest, EmbeddingGathersRows) {
  LayerHarness h;
  Embedding emb(h.ps, "embed", 6, 3);
  h.build({TensorType(DType::I32, {kDynamic, kDynamic})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{emb(d[0])}; });
  EXPECT_EQ(h.f->resultTypes[0], f32({kDynamic, kDynamic, 3}));
  Tensor ids = Tensor::fromInts(TensorType(DType::I32, {2, 3}), {0, 5, 2, 2, 1, 4});
  std::vector<Tensor> r = h.run({ids});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> w = h.paramD("embed.weight"), want;
  for (int64_t id : ids.toInts())
    for (int64_t j = 0; j < 3; ++j)
      want.push_back(w[id * 3 + j]);
  EXPECT_EQ(r[0].shape(), (Shape{2, 3, 3}));
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), want), 1e-7);
}

TEST(LayersTest, EmbeddingOutOfRangeIdIsARunTimeError) {
  LayerHarness h;
  Embedding emb(h.ps, "embed", 4, 2);
  h.build({TensorType(DType::I32, {kDynamic})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{emb(d[0])}; });
  h.init();
  std::vector<Tensor> in{Tensor::fromInts(TensorType(DType::I32, {2}), {1, 4})};
  in.insert(in.end(), h.params.begin(), h.params.end());
  EXPECT_FALSE(interpret(*h.f, in).isOk());
}

class LayersCellTest : public ::testing::TestWithParam<int64_t> {}; // batch, 0 = dynamic

TEST_P(LayersCellTest, LstmMatchesFormula) {
  const int64_t in = 3, H = 4, batch = 3;
  const int64_t declared = GetParam() == 0 ? kDynamic : batch;
  LayerHarness h;
  LSTMCell cell(h.ps, "lstm", in, H);
  h.build({f32({declared, in}), f32({declared, H}), f32({declared, H})},
          [&](FunctionBuilder&, const ValueList& d) {
            LstmState s = cell(d[0], {d[1], d[2]});
            return ValueList{s.h, s.c};
          });
  EXPECT_EQ(h.f->resultTypes[0], f32({declared, H}));
  Tensor x = randomTensor({batch, in}, 11), h0 = randomTensor({batch, H}, 12),
         c0 = randomTensor({batch, H}, 13);
  std::vector<Tensor> r = h.run({x, h0, c0});
  ASSERT_EQ(r.size(), 2u);
  std::vector<double> hh = h0.toDoubles(), cc = c0.toDoubles();
  testing::lstmStep(x.toDoubles(), hh, cc, h.paramD("lstm.wx"), h.paramD("lstm.wh"),
                    h.paramD("lstm.b"), in, H);
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), hh), kTol);
  EXPECT_LT(maxAbsDiff(r[1].toDoubles(), cc), kTol);
}

TEST_P(LayersCellTest, GruMatchesFormula) {
  const int64_t in = 5, H = 3, batch = 4;
  const int64_t declared = GetParam() == 0 ? kDynamic : batch;
  LayerHarness h;
  GRUCell cell(h.ps, "gru", in, H);
  h.build({f32({declared, in}), f32({declared, H})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{cell(d[0], d[1])}; });
  Tensor x = randomTensor({batch, in}, 21), h0 = randomTensor({batch, H}, 22);
  std::vector<Tensor> r = h.run({x, h0});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> hh = h0.toDoubles();
  testing::gruStep(x.toDoubles(), hh, h.paramD("gru.wx"), h.paramD("gru.wh"), h.paramD("gru.bx"),
                   h.paramD("gru.bh"), in, H);
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), hh), kTol);
}

INSTANTIATE_TEST_SUITE_P(Batch, LayersCellTest, ::testing::Values(0, 3),
                         [](const auto& info) { return info.param ? "Static" : "Dynamic"; });

TEST(LayersTest, GruKnownValuesWithZeroWeights) {
  // All weights zero, biases set by hand: r = z = sigmoid(0) = 0.5 and
  // n = tanh(bx_n + 0.5 * bh_n), so h' = 0.5 n + 0.5 h.
  LayerHarness h;
  GRUCell cell(h.ps, "gru", 1, 1);
  h.build({f32({1, 1}), f32({1, 1})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{cell(d[0], d[1])}; });
  h.init();
  h.param("gru.wx").setDouble(0, 0), h.param("gru.wx").setDouble(1, 0);
  h.param("gru.wx").setDouble(2, 0);
  for (int k = 0; k < 3; ++k) {
    h.param("gru.wh").setDouble(k, 0);
    h.param("gru.bx").setDouble(k, k == 2 ? 0.3 : 0.0);
    h.param("gru.bh").setDouble(k, k == 2 ? 0.4 : 0.0);
  }
  std::vector<Tensor> r =
      h.run({Tensor::fromDoubles(f32({1, 1}), {2.0}), Tensor::fromDoubles(f32({1, 1}), {0.6})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NEAR(r[0].getDouble(0), 0.5 * std::tanh(0.3 + 0.5 * 0.4) + 0.5 * 0.6, 1e-6);
}

TEST(LayersTest, LstmCellRejectsWrongStateSize) {
  LayerHarness h;
  LSTMCell cell(h.ps, "lstm", 3, 4);
  EXPECT_THROW(h.build({f32({2, 3}), f32({2, 5}), f32({2, 4})},
                       [&](FunctionBuilder&, const ValueList& d) {
                         return ValueList{cell(d[0], {d[1], d[2]}).h};
                       }),
               BuildError);
}

/// The TreeLSTM formula of docs/models.md in double.
void treeReference(LayerHarness& h, int64_t H, int64_t T, const std::vector<double>& lh,
                   const std::vector<double>& lc, const std::vector<double>& rh,
                   const std::vector<double>& rc, const std::vector<double>* th,
                   std::vector<double>& outH, std::vector<double>& outC) {
  std::vector<double> bl = h.paramD("reduce.left.bias");
  std::vector<double> g = affine(lh, h.paramD("reduce.left.weight"), &bl, H, 5 * H);
  std::vector<double> gr = affine(rh, h.paramD("reduce.right.weight"), nullptr, H, 5 * H);
  for (size_t k = 0; k < g.size(); ++k)
    g[k] += gr[k];
  if (th) {
    std::vector<double> gt = affine(*th, h.paramD("reduce.track.weight"), nullptr, T, 5 * H);
    for (size_t k = 0; k < g.size(); ++k)
      g[k] += gt[k];
  }
  int64_t rows = static_cast<int64_t>(lh.size()) / H;
  outH.assign(lh.size(), 0);
  outC.assign(lh.size(), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      auto p = [&](int64_t part) { return g[r * 5 * H + part * H + j]; };
      double c =
          std::tanh(p(0)) * sigm(p(1)) + sigm(p(2)) * lc[r * H + j] + sigm(p(3)) * rc[r * H + j];
      outC[r * H + j] = c;
      outH[r * H + j] = sigm(p(4)) * std::tanh(c);
    }
}

class LayersTreeLstmTest : public ::testing::TestWithParam<int64_t> {}; // tracker size

TEST_P(LayersTreeLstmTest, ReduceMatchesFormula) {
  const int64_t H = 3, T = GetParam(), batch = 4;
  LayerHarness h;
  TreeLSTMReduce reduce(h.ps, "reduce", H, T);
  std::vector<TensorType> types(4, f32({kDynamic, H}));
  if (T > 0) types.push_back(f32({kDynamic, T}));
  h.build(types, [&](FunctionBuilder&, const ValueList& d) {
    LstmState s = reduce({d[0], d[1]}, {d[2], d[3]}, T > 0 ? d[4] : Val());
    return ValueList{s.h, s.c};
  });
  std::vector<Tensor> in;
  for (uint32_t k = 0; k < 4; ++k)
    in.push_back(randomTensor({batch, H}, 30 + k));
  if (T > 0) in.push_back(randomTensor({batch, T}, 40));
  std::vector<Tensor> r = h.run(in);
  ASSERT_EQ(r.size(), 2u);
  std::vector<double> th = T > 0 ? in[4].toDoubles() : std::vector<double>{};
  std::vector<double> wantH, wantC;
  treeReference(h, H, T, in[0].toDoubles(), in[1].toDoubles(), in[2].toDoubles(), in[3].toDoubles(),
                T > 0 ? &th : nullptr, wantH, wantC);
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), wantH), kTol);
  EXPECT_LT(maxAbsDiff(r[1].toDoubles(), wantC), kTol);
}

INSTANTIATE_TEST_SUITE_P(Tracker, LayersTreeLstmTest, ::testing::Values(0, 2),
                         [](const auto& info) { return info.param ? "With" : "Without"; });

TEST(LayersTest, TreeLstmTrackerInputMustMatchConfiguration) {
  LayerHarness h;
  TreeLSTMReduce reduce(h.ps, "reduce", 2, 2);
  EXPECT_THROW(h.build(std::vector<TensorType>(4, f32({1, 2})),
                       [&](FunctionBuilder&, const ValueList& d) {
                         return ValueList{reduce({d[0], d[1]}, {d[2], d[3]}).h};
                       }),
               BuildError);
}

TEST(LayersTest, TrackerIsAnLstmOverThreeTops) {
  const int64_t H = 2, T = 3, batch = 2;
  LayerHarness h;
  Tracker tracker(h.ps, "tracker", H, T);
  h.build({f32({kDynamic, H}), f32({kDynamic, H}), f32({kDynamic, H}), f32({kDynamic, T}),
           f32({kDynamic, T})},
          [&](FunctionBuilder&, const ValueList& d) {
            LstmState s = tracker(d[0], d[1], d[2], {d[3], d[4]});
            return ValueList{s.h, s.c};
          });
  std::vector<Tensor> in{randomTensor({batch, H}, 1), randomTensor({batch, H}, 2),
                         randomTensor({batch, H}, 3), randomTensor({batch, T}, 4),
                         randomTensor({batch, T}, 5)};
  std::vector<Tensor> r = h.run(in);
  ASSERT_EQ(r.size(), 2u);
  std::vector<double> x;
  for (int64_t b = 0; b < batch; ++b)
    for (int k = 0; k < 3; ++k)
      for (int64_t j = 0; j < H; ++j)
        x.push_back(in[k].getDouble(b * H + j));
  std::vector<double> hh = in[3].toDoubles(), cc = in[4].toDoubles();
  testing::lstmStep(x, hh, cc, h.paramD("tracker.cell.wx"), h.paramD("tracker.cell.wh"),
                    h.paramD("tracker.cell.b"), 3 * H, T);
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), hh), kTol);
  EXPECT_LT(maxAbsDiff(r[1].toDoubles(), cc), kTol);
}

TEST(LayersTest, TransitionPredictorGivesTwoLogits) {
  LayerHarness h;
  TransitionPredictor predict(h.ps, "predict", 3);
  h.build({f32({kDynamic, 3})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{predict(d[0])}; });
  EXPECT_EQ(h.f->resultTypes[0], f32({kDynamic, 2}));
  Tensor x = randomTensor({5, 3}, 8);
  std::vector<Tensor> r = h.run({x});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> b = h.paramD("predict.bias");
  EXPECT_LT(
      maxAbsDiff(r[0].toDoubles(), affine(x.toDoubles(), h.paramD("predict.weight"), &b, 3, 2)),
      kTol);
}

class LayersMlpTest : public ::testing::TestWithParam<int64_t> {}; // hidden layers

TEST_P(LayersMlpTest, LinearReluStackThenLinear) {
  const int64_t layers = GetParam(), in = 4, hidden = 5, out = 3;
  LayerHarness h;
  Mlp mlp(h.ps, "mlp", in, hidden, layers, out);
  h.build({f32({kDynamic, in})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{mlp(d[0])}; });
  EXPECT_EQ(h.ps.size(), static_cast<size_t>(2 * (layers + 1)));
  Tensor x = randomTensor({3, in}, 17);
  std::vector<Tensor> r = h.run({x});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> y = x.toDoubles();
  int64_t width = in;
  for (int64_t k = 0; k <= layers; ++k) {
    std::string n = "mlp." + std::to_string(k);
    std::vector<double> b = h.paramD(n + ".bias");
    int64_t next = k == layers ? out : hidden;
    y = affine(y, h.paramD(n + ".weight"), &b, width, next);
    if (k < layers)
      for (double& v : y)
        v = std::max(v, 0.0);
    width = next;
  }
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), y), kTol);
}

INSTANTIATE_TEST_SUITE_P(Layers, LayersMlpTest, ::testing::Values(0, 1, 2));

/// Running statistics not at their defaults, so infer() is tested for real.
void setRunningStats(LayerHarness& h, int64_t C) {
  h.init();
  for (int64_t j = 0; j < C; ++j) {
    h.param("bn.gamma").setDouble(j, 0.5 + 0.25 * j);
    h.param("bn.beta").setDouble(j, -0.1 * j);
    h.param("bn.mean").setDouble(j, 0.2 * j - 0.3);
    h.param("bn.var").setDouble(j, 0.5 + j);
  }
}

TEST(LayersTest, BatchNormInferUsesRunningStatistics) {
  const int64_t C = 3;
  LayerHarness h;
  BatchNorm bn(h.ps, "bn", C);
  h.build({f32({kDynamic, C})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{bn.infer(d[0])}; });
  setRunningStats(h, C);
  Tensor x = randomTensor({4, C}, 5);
  std::vector<Tensor> r = h.run({x});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> want, g = h.paramD("bn.gamma"), be = h.paramD("bn.beta"),
                            mu = h.paramD("bn.mean"), var = h.paramD("bn.var");
  for (int64_t i = 0; i < x.numElements(); ++i) {
    int64_t j = i % C;
    want.push_back((x.getDouble(i) - mu[j]) / std::sqrt(var[j] + 1e-5) * g[j] + be[j]);
  }
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), want), kTol);
}

class LayersBatchNormTrainTest : public ::testing::TestWithParam<Shape> {};

TEST_P(LayersBatchNormTrainTest, BatchStatisticsAndRunningUpdate) {
  const Shape shape = GetParam();
  const int64_t C = shape.back();
  LayerHarness h;
  BatchNorm bn(h.ps, "bn", C);
  Shape declared(shape.size(), kDynamic);
  declared.back() = C;
  h.build({f32(declared)}, [&](FunctionBuilder&, const ValueList& d) {
    BatchNorm::TrainResult t = bn.train(d[0]);
    return ValueList{t.y, t.newMean, t.newVar};
  });
  setRunningStats(h, C);
  Tensor x = randomTensor(shape, 6, 2.0);
  std::vector<Tensor> r = h.run({x});
  ASSERT_EQ(r.size(), 3u);
  const int64_t n = x.numElements() / C;
  std::vector<double> mean(C, 0), var(C, 0);
  for (int64_t i = 0; i < x.numElements(); ++i)
    mean[i % C] += x.getDouble(i) / static_cast<double>(n);
  for (int64_t i = 0; i < x.numElements(); ++i)
    var[i % C] += std::pow(x.getDouble(i) - mean[i % C], 2) / static_cast<double>(n);
  std::vector<double> g = h.paramD("bn.gamma"), be = h.paramD("bn.beta"), mu = h.paramD("bn.mean"),
                      rv = h.paramD("bn.var"), want, newMean, newVar;
  for (int64_t i = 0; i < x.numElements(); ++i) {
    int64_t j = i % C;
    want.push_back((x.getDouble(i) - mean[j]) / std::sqrt(var[j] + 1e-5) * g[j] + be[j]);
  }
  for (int64_t j = 0; j < C; ++j) {
    newMean.push_back(0.9 * mu[j] + 0.1 * mean[j]);
    newVar.push_back(0.9 * rv[j] + 0.1 * var[j] * n / (n - 1.0));
  }
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), want), kTol);
  EXPECT_LT(maxAbsDiff(r[1].toDoubles(), newMean), kTol);
  EXPECT_LT(maxAbsDiff(r[2].toDoubles(), newVar), kTol);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LayersBatchNormTrainTest,
                         ::testing::Values(Shape{6, 3}, Shape{2, 4, 3}), [](const auto& info) {
                           return "Rank" + std::to_string(info.param.size());
                         });

} // namespace
} // namespace cairn
