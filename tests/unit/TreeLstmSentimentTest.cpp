// TreeLSTM sentiment: the SPINN encoder without a tracker on SST tree
// transitions, root h -> Linear(out, H, 5). A tiny tree computed by hand
// from the cell formulas, then a mixed batch against the per-example oracle.
#include <gtest/gtest.h>

#include "SpinnTestReference.h"
#include "frontend/models/TreeLstmSentiment.h"

namespace cairn {
namespace {

using namespace spinnref;

TreeLstmConfig tinyConfig() {
  TreeLstmConfig c;
  c.vocab = 6;
  c.embed = 3;
  c.hidden = 2;
  return c;
}

struct Sentiment {
  Sentiment() {
    f = buildTreeLstmSentiment(m, ps, tinyConfig());
    values = ps.initialize(21);
    for (Tensor& t : values)
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, t.getDouble(i) * 8.0);
    params = paramsOf(ps, values);
  }
  Module m;
  ParamStore ps;
  Function* f = nullptr;
  std::vector<Tensor> values;
  Params params;
};

TEST(TreeLstmSentimentTest, SignatureAndParameters) {
  Sentiment s;
  std::vector<std::string> want{"embed.weight",       "projection.weight", "projection.bias",
                                "reduce.left.weight", "reduce.left.bias",  "reduce.right.weight",
                                "out.weight",         "out.bias"};
  EXPECT_EQ(s.ps.names(), want);
  EXPECT_EQ(s.f->name, "treelstm_sentiment");
  EXPECT_EQ(s.f->resultTypes, std::vector<TensorType>{TensorType(DType::F32, {kDynamic, 5})});
  EXPECT_EQ(countWhiles(*s.f), 1);
}

TEST(TreeLstmSentimentTest, TinyTreeByHand) {
  // ( ( w1 w2 ) w3 ): S S R S R.
  Sentiment s;
  const Params& p = s.params;
  auto leaf = [&](int id) {
    Vec e;
    for (int64_t k = 0; k < 3; ++k)
      e.push_back(p.at("embed.weight").getDouble(id * 3 + k));
    Vec hc = linear(p, "projection", e);
    return State{{hc[0], hc[1]}, {hc[2], hc[3]}};
  };
  State inner = treeReduce(p, "reduce", leaf(1), leaf(2), {});
  State root = treeReduce(p, "reduce", inner, leaf(3), {});
  Vec want = linear(p, "out", root.h);

  Batch b = makeBatch({{{1, 2, 3}, {1, 1, 2, 1, 2}}});
  std::vector<Tensor> out = runModel(*s.f, {b.tokens, b.transitions, b.lengths}, s.values);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), Shape({1, 5}));
  EXPECT_LT(maxAbsDiff(rowOf(out[0], 0), want), 1e-5);
}

TEST(TreeLstmSentimentTest, MixedBatchMatchesTheOracle) {
  Sentiment s;
  SpinnConfig enc;
  enc.vocab = 6;
  enc.embed = 3;
  enc.hidden = 2;
  std::vector<Example> xs{{{1, 2, 3}, {1, 1, 2, 1, 2}},
                          {{5}, {1}},
                          {{4, 3, 2, 1, 5}, {1, 1, 1, 2, 1, 1, 2, 2, 2}},
                          {{2, 2}, {1, 1, 2}}};
  Batch b = makeBatch(xs);
  std::vector<Tensor> out = runModel(*s.f, {b.tokens, b.transitions, b.lengths}, s.values);
  ASSERT_EQ(out.size(), 1u);
  for (size_t i = 0; i < xs.size(); ++i) {
    Vec want = linear(s.params, "out", encode(s.params, enc, xs[i].tokens, xs[i].transitions).h);
    EXPECT_LT(maxAbsDiff(rowOf(out[0], static_cast<int64_t>(i)), want), 1e-5) << "row " << i;
  }
}

} // namespace
} // namespace cairn
