// The BiRNN classifier and tagger: signature and parameter order, text round
// trip, and agreement with a plain C++ loop that runs each example alone at
// its own length (LSTM and GRU, 1 and 2 layers, mixed lengths with 1
// included), and independence of an example's result from its batch and
// padding.
#include <map>

#include <gtest/gtest.h>

#include "frontend/models/BiRnn.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "tests/unit/LayersTestUtil.h"

namespace cairn {
namespace {

using testing::affine;
using testing::maxAbsDiff;

using Params = std::map<std::string, std::vector<double>>;

/// The model as one example at its own length L (tokens[0 .. L)), in double.
/// Returns the classifier logits [C] or, for the tagger, [N, C] where rows
/// t >= L hold the bias.
std::vector<double> referenceExample(const BiRnnConfig& cfg, Params& p,
                                     const std::vector<int64_t>& tokens, int64_t L, int64_t N,
                                     bool tagger) {
  const int64_t H = cfg.hidden;
  std::vector<std::vector<double>> xs; // [L][in]
  for (int64_t t = 0; t < L; ++t) {
    const std::vector<double>& w = p["embed.weight"];
    xs.emplace_back(w.begin() + tokens[t] * cfg.embed, w.begin() + (tokens[t] + 1) * cfg.embed);
  }
  int64_t in = cfg.embed;
  std::vector<double> finals[2];
  for (int64_t k = 0; k < cfg.layers; ++k) {
    std::vector<std::vector<double>> outs(L, std::vector<double>(2 * H));
    for (int d = 0; d < 2; ++d) {
      std::string n = "rnn.l" + std::to_string(k) + (d == 0 ? ".fwd" : ".bwd");
      std::vector<double> h(H, 0.0), c(H, 0.0);
      for (int64_t s = 0; s < L; ++s) {
        int64_t t = d == 0 ? s : L - 1 - s;
        if (cfg.cell == BiRnnConfig::Lstm)
          testing::lstmStep(xs[t], h, c, p[n + ".wx"], p[n + ".wh"], p[n + ".b"], in, H);
        else
          testing::gruStep(xs[t], h, p[n + ".wx"], p[n + ".wh"], p[n + ".bx"], p[n + ".bh"], in, H);
        std::copy(h.begin(), h.end(), outs[t].begin() + d * H);
      }
      finals[d] = h;
    }
    xs = outs;
    in = 2 * H;
  }
  const std::vector<double>& b = p["out.bias"];
  if (!tagger) {
    std::vector<double> feat = finals[0];
    feat.insert(feat.end(), finals[1].begin(), finals[1].end());
    return affine(feat, p["out.weight"], &b, 2 * H, cfg.classes);
  }
  std::vector<double> all;
  for (int64_t t = 0; t < N; ++t) {
    std::vector<double> row = t < L ? xs[t] : std::vector<double>(2 * H, 0.0);
    std::vector<double> y = affine(row, p["out.weight"], &b, 2 * H, cfg.classes);
    all.insert(all.end(), y.begin(), y.end());
  }
  return all;
}

struct BiRnnHarness {
  BiRnnHarness(const BiRnnConfig& cfg, bool tagger) : cfg(cfg), tagger(tagger) {
    f = tagger ? buildBiRnnTagger(m, ps, cfg) : buildBiRnnClassifier(m, ps, cfg);
    values = ps.initialize(2024);
    for (size_t i = 0; i < values.size(); ++i) {
      for (int64_t k = 0; k < values[i].numElements(); ++k)
        values[i].setDouble(k, 5 * values[i].getDouble(k)); // U(-0.5, 0.5)
      byName[ps.specs()[i].name] = values[i].toDoubles();
    }
  }

  /// Runs the graph on a padded batch (rows of `tokens` padded to N with `pad`).
  std::vector<double> run(const std::vector<std::vector<int64_t>>& rows,
                          const std::vector<int64_t>& lengths, int64_t N, int64_t pad = 0) {
    const int64_t B = static_cast<int64_t>(rows.size());
    std::vector<int64_t> flat;
    for (const auto& r : rows)
      for (int64_t t = 0; t < N; ++t)
        flat.push_back(t < static_cast<int64_t>(r.size()) ? r[t] : pad);
    std::vector<Tensor> in{Tensor::fromInts(TensorType(DType::I32, {B, N}), flat),
                           Tensor::fromInts(TensorType(DType::I32, {B}), lengths)};
    in.insert(in.end(), values.begin(), values.end());
    StatusOr<std::vector<Tensor>> r = interpret(*f, in);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (!r.isOk()) return {};
    Shape want = tagger ? Shape{B, N, cfg.classes} : Shape{B, cfg.classes};
    EXPECT_EQ((*r)[0].shape(), want);
    return (*r)[0].toDoubles();
  }

  BiRnnConfig cfg;
  bool tagger;
  Module m;
  ParamStore ps;
  Function* f = nullptr;
  std::vector<Tensor> values;
  Params byName;
};

BiRnnConfig config(BiRnnConfig::Cell cell, int64_t layers, bool compact = false) {
  return BiRnnConfig{cell, /*vocab=*/11, /*embed=*/4, /*hidden=*/3, layers, /*classes=*/5, compact};
}

/// Random token rows of the given lengths (ids 1 .. vocab-1).
std::vector<std::vector<int64_t>> randomRows(const std::vector<int64_t>& lengths, int64_t vocab,
                                             uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> id(1, vocab - 1);
  std::vector<std::vector<int64_t>> rows;
  for (int64_t L : lengths) {
    rows.emplace_back();
    for (int64_t t = 0; t < L; ++t)
      rows.back().push_back(id(gen));
  }
  return rows;
}

TEST(BiRnnTest, ClassifierSignatureAndParameterOrder) {
  Module m;
  ParamStore ps;
  Function* f = buildBiRnnClassifier(m, ps, config(BiRnnConfig::Gru, 2));
  EXPECT_EQ(f->name, "birnn_classify");
  EXPECT_EQ(ps.names(),
            (std::vector<std::string>{
                "embed.weight", "rnn.l0.fwd.wx", "rnn.l0.fwd.wh", "rnn.l0.fwd.bx", "rnn.l0.fwd.bh",
                "rnn.l0.bwd.wx", "rnn.l0.bwd.wh", "rnn.l0.bwd.bx", "rnn.l0.bwd.bh", "rnn.l1.fwd.wx",
                "rnn.l1.fwd.wh", "rnn.l1.fwd.bx", "rnn.l1.fwd.bh", "rnn.l1.bwd.wx", "rnn.l1.bwd.wh",
                "rnn.l1.bwd.bx", "rnn.l1.bwd.bh", "out.weight", "out.bias"}));
  std::vector<TensorType> args = f->argumentTypes();
  ASSERT_EQ(args.size(), 2 + ps.size());
  EXPECT_EQ(args[0], TensorType(DType::I32, {kDynamic, kDynamic}));
  EXPECT_EQ(args[1], TensorType(DType::I32, {kDynamic}));
  EXPECT_EQ(args[2], TensorType(DType::F32, {11, 4}));
  EXPECT_EQ(args[11], TensorType(DType::F32, {6, 9})); // layer 1 reads 2H
  EXPECT_EQ(f->resultTypes, (std::vector<TensorType>{TensorType(DType::F32, {kDynamic, 5})}));
}

TEST(BiRnnTest, TaggerSignature) {
  Module m;
  ParamStore ps;
  Function* f = buildBiRnnTagger(m, ps, config(BiRnnConfig::Lstm, 1));
  EXPECT_EQ(f->name, "birnn_tag");
  EXPECT_EQ(ps.size(), 1u + 2 * 3 + 2);
  EXPECT_EQ(f->resultTypes,
            (std::vector<TensorType>{TensorType(DType::F32, {kDynamic, kDynamic, 5})}));
}

TEST(BiRnnTest, PrintsAndReparsesToTheSameText) {
  Module m;
  ParamStore ps;
  Function* f = buildBiRnnClassifier(m, ps, config(BiRnnConfig::Lstm, 2));
  std::string text = printModule(m);
  int64_t ops = 0, loops = 0;
  walk(*f, [&](Op& op) {
    ++ops;
    loops += op.kind() == OpKind::While;
  });
  EXPECT_EQ(loops, 4); // two layers x two directions
  std::printf("2-layer BiLSTM classifier: %lld ops, %zu lines of IR\n", static_cast<long long>(ops),
              static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
  EXPECT_NE(text.find("%rnn.l1.bwd.wx"), std::string::npos) << text;
  auto parsed = parseModule(text, "birnn.cairn");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message() << "\n" << text;
  EXPECT_EQ(printModule(**parsed), text);
}

TEST(BiRnnTest, RejectsBadConfigAndUsedStore) {
  Module m;
  ParamStore ps;
  BiRnnConfig bad = config(BiRnnConfig::Lstm, 0);
  EXPECT_THROW(buildBiRnnClassifier(m, ps, bad), BuildError);
  buildBiRnnClassifier(m, ps, config(BiRnnConfig::Lstm, 1));
  EXPECT_THROW(buildBiRnnTagger(m, ps, config(BiRnnConfig::Lstm, 1)), BuildError);
}

struct Case {
  BiRnnConfig::Cell cell;
  int64_t layers;
  bool tagger;
  bool compact = false; ///< BiRnnConfig::compactRows
};

// Readable in ctest's output instead of the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << (c.cell == BiRnnConfig::Lstm ? "lstm" : "gru") << ", " << c.layers << " layer(s)"
      << (c.tagger ? ", tagger" : ", classifier") << (c.compact ? ", compact rows" : "");
}

class BiRnnMatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(BiRnnMatchTest, MatchesPerExampleLoop) {
  const Case c = GetParam();
  BiRnnHarness h(config(c.cell, c.layers, c.compact), c.tagger);
  const std::vector<int64_t> lengths{3, 1, 5, 2};
  const int64_t N = 5, C = 5;
  auto rows = randomRows(lengths, 11, 77);
  std::vector<double> got = h.run(rows, lengths, N);
  ASSERT_FALSE(got.empty());
  const int64_t per = c.tagger ? N * C : C;
  for (size_t b = 0; b < rows.size(); ++b) {
    std::vector<double> want = referenceExample(h.cfg, h.byName, rows[b], lengths[b], N, c.tagger);
    std::vector<double> row(got.begin() + b * per, got.begin() + (b + 1) * per);
    EXPECT_LT(maxAbsDiff(row, want), 1e-5) << "row " << b << " (length " << lengths[b] << ")";
  }
}

TEST_P(BiRnnMatchTest, ExampleResultIgnoresBatchAndPadding) {
  const Case c = GetParam();
  BiRnnHarness h(config(c.cell, c.layers, c.compact), c.tagger);
  const int64_t C = 5;
  auto rows = randomRows({4, 2, 6}, 11, 5);
  // Row 0 alone at its own length, then in a batch padded to 6 with pad id
  // 0, then padded to 9 with junk ids that masking must ignore.
  std::vector<double> alone = h.run({rows[0]}, {4}, 4);
  std::vector<double> batched = h.run(rows, {4, 2, 6}, 6);
  std::vector<double> junk = h.run({rows[1], rows[0]}, {2, 4}, 9, /*pad=*/7);
  ASSERT_FALSE(alone.empty() || batched.empty() || junk.empty());
  auto prefix = [&](const std::vector<double>& v, size_t row, int64_t N) {
    // The first 4 positions (tagger) or the logits (classifier) of `row`.
    size_t per = c.tagger ? N * C : C, take = c.tagger ? 4 * C : C;
    return std::vector<double>(v.begin() + row * per, v.begin() + row * per + take);
  };
  EXPECT_LT(maxAbsDiff(prefix(batched, 0, 6), alone), 1e-6);
  EXPECT_LT(maxAbsDiff(prefix(junk, 1, 9), alone), 1e-6);
  if (c.tagger) { // padded positions give exactly the bias
    std::vector<double> bias = h.byName["out.bias"];
    for (int64_t t = 4; t < 9; ++t)
      EXPECT_LT(maxAbsDiff(std::vector<double>(junk.begin() + 9 * C + t * C,
                                               junk.begin() + 9 * C + (t + 1) * C),
                           std::vector<double>(bias.begin(), bias.end())),
                1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, BiRnnMatchTest,
    ::testing::Values(Case{BiRnnConfig::Lstm, 1, false}, Case{BiRnnConfig::Lstm, 2, false},
                      Case{BiRnnConfig::Gru, 1, false}, Case{BiRnnConfig::Gru, 2, false},
                      Case{BiRnnConfig::Lstm, 1, true}, Case{BiRnnConfig::Lstm, 2, true},
                      Case{BiRnnConfig::Gru, 1, true}, Case{BiRnnConfig::Gru, 2, true},
                      Case{BiRnnConfig::Lstm, 2, false, true}, Case{BiRnnConfig::Gru, 2, true, true},
                      Case{BiRnnConfig::Lstm, 1, true, true}),
    [](const auto& info) {
      const Case& c = info.param;
      return std::string(c.cell == BiRnnConfig::Lstm ? "Lstm" : "Gru") + std::to_string(c.layers) +
             (c.tagger ? "Tagger" : "Classifier") + (c.compact ? "Compact" : "");
    });

TEST(BiRnnTest, LengthZeroRowGivesTheBias) {
  BiRnnHarness h(config(BiRnnConfig::Gru, 2), false);
  auto rows = randomRows({3, 0}, 11, 9);
  std::vector<double> got = h.run(rows, {3, 0}, 3);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_LT(maxAbsDiff(std::vector<double>(got.begin() + 5, got.end()), h.byName["out.bias"]),
            1e-7);
}

TEST(BiRnnTest, OneDynamicGraphServesManyShapes) {
  BiRnnHarness h(config(BiRnnConfig::Lstm, 1), false);
  for (auto [B, N] : {std::pair<int64_t, int64_t>{1, 1}, {2, 7}, {6, 3}}) {
    std::vector<int64_t> lengths;
    for (int64_t b = 0; b < B; ++b)
      lengths.push_back(1 + (b * 5) % N);
    auto rows = randomRows(lengths, 11, static_cast<uint32_t>(B * 10 + N));
    std::vector<double> got = h.run(rows, lengths, N);
    ASSERT_EQ(got.size(), static_cast<size_t>(B * 5));
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> want = referenceExample(h.cfg, h.byName, rows[b], lengths[b], N, false);
      EXPECT_LT(maxAbsDiff(std::vector<double>(got.begin() + b * 5, got.begin() + b * 5 + 5), want),
                1e-5);
    }
  }
}

} // namespace
} // namespace cairn
