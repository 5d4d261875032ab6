// cairn-serve's example endpoints (docs/serving.md, "Text endpoints") from
// the outside, on loopback, bounded in time: SNLI pairs as plain text or
// binary parses (:classify) and BiLSTM tagging (:tag), answered as the
// reference interpreter answers the same pair or sentence alone, also when
// concurrent requests of different lengths and trees share a padded batch;
// and the requests they refuse. The bundles are small models with seeded
// weights written here as cairn-spinn --export-snli/--export-tagger write them.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "ServeTestUtil.h"
#include "frontend/data/Dataset.h"
#include "ir/Parser.h"
#include "runtime/Safetensors.h"
#include "runtime/reference/Interpreter.h"
#include "tools/cairn-serve/ExampleBundle.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace cairn;
using serve_test::post;
using serve_test::ServeProcess;

// Pairs whose text tokenizes to the parse's tokens (checked below); the
// vocabulary is built from these parses, less "sleeping" (an unknown word).
struct Pair {
  const char *premise, *hypothesis, *premiseParse, *hypothesisParse;
};
const Pair kPairs[] = {
    {"A man is sleeping.", "A person rests.", "( ( A man ) ( ( is sleeping ) . ) )",
     "( ( A person ) ( rests . ) )"},
    {"Two dogs run on the grass, and a child watches them.", "Nobody is outside.",
     "( ( ( ( ( Two dogs ) ( run ( on ( the grass ) ) ) ) , ) ( and ( ( a child ) ( watches them ) "
     ") ) ) . )",
     "( Nobody ( ( is outside ) . ) )"},
    {"Kids don't play.", "The children are playing in the park near the old church.",
     "( Kids ( ( do n't ) ( play . ) ) )",
     "( ( The children ) ( ( are ( playing ( in ( ( the park ) ( near ( the ( old church ) ) ) ) ) "
     ") ) . ) )"},
    {"A woman \"sings\" (loudly).", "A woman sings.",
     "( ( A woman ) ( ( `` ( sings '' ) ) ( ( -LRB- ( loudly -RRB- ) ) . ) ) )",
     "( ( A woman ) ( sings . ) )"},
};

data::Vocab testVocab() {
  static std::vector<data::Sentence> sentences = [] {
    std::vector<data::Sentence> out;
    for (const Pair& p : kPairs)
      for (const char* parse : {p.premiseParse, p.hypothesisParse})
        out.push_back(data::parseBinaryTree(parse).value());
    out.push_back(data::parseBinaryTree("( the cat )").value());
    return out;
  }();
  std::vector<const data::Sentence*> ptrs;
  for (const data::Sentence& s : sentences)
    ptrs.push_back(&s);
  data::Vocab v = data::Vocab::build(ptrs);
  std::vector<std::string> tokens = v.tokens();
  tokens.erase(std::find(tokens.begin(), tokens.end(), "sleeping"));
  return data::Vocab::fromTokens(tokens).value();
}

/// The bundles, written once for the test program.
struct Bundles {
  std::string snli, tagger;
  Bundles() {
    fs::path dir = fs::temp_directory_path() / ("cairn-serve-text-" + std::to_string(::getpid()));
    snli = (dir / "snli").string();
    tagger = (dir / "tagger").string();
    SpinnConfig cfg;
    cfg.embed = 12;
    cfg.hidden = 10;
    cfg.trackerSize = 6;
    cfg.mlpHidden = 16;
    EXPECT_TRUE(serve::writeSnliBundle(snli, testVocab(), cfg, 7).isOk());
    BiRnnConfig tag;
    tag.embed = 8;
    tag.hidden = 6;
    EXPECT_TRUE(
        serve::writeTaggerBundle(tagger, testVocab(), tag, {"A", "B", "C", "D", "E"}, 5).isOk());
  }
  ~Bundles() { fs::remove_all(fs::path(snli).parent_path()); }
};
const Bundles& bundles() {
  static Bundles b;
  return b;
}

/// The reference interpreter on one request alone: `function` of the
/// bundle's module, given `data` and the bundle's weights by argument name.
std::vector<Tensor> offline(const std::string& dir, const std::string& function,
                            std::vector<Tensor> data) {
  std::ifstream f(fs::path(dir) / serve::kBundleModel);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::unique_ptr<Module> m = parseModule(text).value();
  SafetensorsData w = readSafetensors((fs::path(dir) / serve::kBundleWeights).string()).value();
  for (const auto& fn : m->functions()) {
    if (fn->name != function) continue;
    const auto& args = fn->body().arguments();
    for (size_t i = data.size(); i < args.size(); ++i)
      data.push_back(*w.find(args[i]->name));
    return interpret(*fn, data).value();
  }
  ADD_FAILURE() << "no @" << function;
  return {};
}

/// The offline classifier's probabilities for pair `p` (parses' tokens;
/// given transitions or predicted).
std::vector<double> offlineSnli(const Pair& p, bool parsed) {
  data::NliExample ex;
  ex.premise = data::parseBinaryTree(p.premiseParse).value();
  ex.hypothesis = data::parseBinaryTree(p.hypothesisParse).value();
  data::NliBatch b = data::makeNliBatch({ex}, {0}, testVocab());
  std::vector<Tensor> in{b.tokens};
  if (parsed) in.push_back(b.transitions);
  in.push_back(b.lengths);
  Tensor logits = offline(bundles().snli, parsed ? "snli_parsed" : "snli_predicted", in)[0];
  std::vector<double> l(3);
  double top = -1e300, sum = 0;
  for (int k = 0; k < 3; ++k)
    top = std::max(top, l[size_t(k)] = logits.data<float>()[k]);
  for (double& x : l)
    sum += (x = std::exp(x - top));
  for (double& x : l)
    x /= sum;
  return l;
}

json stats(const ServeProcess& s) {
  auto r = s.client().Get("/v1/stats");
  return r ? json::parse(r->body) : json();
}

/// `bodies` posted to `path` all at once; the answers, in order.
std::vector<std::pair<int, json>> concurrently(const ServeProcess& s, const std::string& path,
                                               const std::vector<json>& bodies) {
  std::vector<std::pair<int, json>> out(bodies.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < bodies.size(); ++i)
    clients.emplace_back(
        [&, i] { out[i].first = post(s, path, bodies[i].dump(), &out[i].second); });
  for (std::thread& t : clients)
    t.join();
  return out;
}

TEST(ServeTextTest, TheTokenizerGivesTheParsesTokens) {
  for (const Pair& p : kPairs) {
    EXPECT_EQ(data::tokenizeText(p.premise), data::parseBinaryTree(p.premiseParse)->tokens);
    EXPECT_EQ(data::tokenizeText(p.hypothesis), data::parseBinaryTree(p.hypothesisParse)->tokens);
  }
  EXPECT_EQ(data::tokenizeText("  U.S. troops can't... wait!  "),
            (std::vector<std::string>{"U.S.", "troops", "ca", "n't", "...", "wait", "!"}));
  EXPECT_TRUE(data::tokenizeText(" \t\n").empty());
}

TEST(ServeTextTest, VocabularyRoundTripsAndRejectsBadFiles) {
  data::Vocab v = testVocab();
  data::Vocab back = data::Vocab::fromTokens(v.tokens()).value();
  for (const std::string& t : v.tokens())
    EXPECT_EQ(back.id(t), v.id(t)) << t;
  EXPECT_EQ(back.id("sleeping"), 1);
  EXPECT_FALSE(data::Vocab::fromTokens({"<unk>", "<pad>"}).isOk());
  EXPECT_FALSE(data::Vocab::fromTokens({"<pad>", "<unk>", "a", "a"}).isOk());
  EXPECT_FALSE(data::Vocab::fromTokens({"<pad>", "<unk>", ""}).isOk());
}

// Four plain-text pairs of different lengths sent at once run as one padded
// batch of @snli_predicted (the model parses), four parsed pairs as one of
// @snli_parsed; every answer is the offline classifier's for the pair alone.
TEST(ServeTextTest, SnliAnswersEqualTheOfflineClassifierAlsoInPaddedBatches) {
  ServeProcess s({"--snli", "snli=" + bundles().snli, "--batch-max-rows", "4", "--batch-wait-us",
                  "20000000", "--batch-eager", "false"});
  ASSERT_GT(s.port(), 0) << s.log();
  for (bool parsed : {false, true}) {
    std::vector<json> bodies;
    for (const Pair& p : kPairs)
      bodies.push_back(
          parsed ? json{{"premise_parse", p.premiseParse}, {"hypothesis_parse", p.hypothesisParse}}
                 : json{{"premise", p.premise}, {"hypothesis", p.hypothesis}});
    auto answers = concurrently(s, "/v1/models/snli:classify", bodies);
    for (size_t i = 0; i < answers.size(); ++i) {
      const auto& [code, out] = answers[i];
      ASSERT_EQ(code, 200) << out.dump();
      std::vector<double> want = offlineSnli(kPairs[i], parsed);
      const char* labels[] = {"entailment", "neutral", "contradiction"};
      size_t best = size_t(std::max_element(want.begin(), want.end()) - want.begin());
      EXPECT_EQ(out["label"], labels[best]) << out.dump();
      for (int k = 0; k < 3; ++k)
        EXPECT_NEAR(out["probabilities"][labels[k]].get<double>(), want[size_t(k)], 1e-5)
            << "pair " << i << (parsed ? " parsed" : " text");
      EXPECT_EQ(out["transitions"], parsed ? "given" : "predicted");
    }
    EXPECT_EQ(answers[0].second["unknown_tokens"], 1); // "sleeping"
  }
  json st = stats(s);
  EXPECT_EQ(st["batching"]["batches"], 2) << st.dump();
  EXPECT_EQ(st["batching"]["padded_batches"], 2) << st.dump();
  EXPECT_EQ(st["batching"]["retried_alone"], 0) << st.dump();
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// The tagger's scores [?, ?, tags] have a dynamic length: in a padded batch
// each request's answer is cut back to its own length and equals its run
// alone, through :predict (tensors) and :tag (text).
TEST(ServeTextTest, TaggingBatchesPaddedAndCutsEachAnswerBackToItsLength) {
  ServeProcess s({"--tagger", "tag=" + bundles().tagger, "--batch-max-rows", "4", "--batch-wait-us",
                  "20000000", "--batch-eager", "false"});
  ASSERT_GT(s.port(), 0) << s.log();
  const std::vector<std::string> texts = {"cat", "A man rests.", "the grass , and the cat",
                                          "Two dogs run on the grass near the old church ."};
  data::Vocab vocab = testVocab();
  std::vector<json> predict, tag;
  std::vector<std::vector<Tensor>> alone;
  for (const std::string& t : texts) {
    data::TreeExample ex;
    ex.sentence.tokens = data::tokenizeText(t);
    data::TreeBatch b = data::makeTreeBatch({ex}, {0}, vocab);
    alone.push_back(offline(bundles().tagger, "tag", {b.tokens, b.lengths}));
    json ids = json::array();
    for (int64_t i = 0; i < b.tokens.numElements(); ++i)
      ids.push_back(b.tokens.data<int32_t>()[i]);
    const int64_t n = b.tokens.numElements();
    predict.push_back({{"inputs",
                        {{{"dtype", "i32"}, {"shape", {1, n}}, {"data", ids}},
                         {{"dtype", "i32"}, {"shape", {1}}, {"data", {n}}}}}});
    tag.push_back({{"text", t}});
  }
  auto byTensor = concurrently(s, "/v1/models/tag:predict", predict);
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& [code, out] = byTensor[i];
    ASSERT_EQ(code, 200) << out.dump();
    const Tensor& want = alone[i][0];
    const json& got = out["outputs"][0];
    ASSERT_EQ(got["shape"], json(want.shape())) << "request " << i;
    for (int64_t k = 0; k < want.numElements(); ++k)
      ASSERT_NEAR(got["data"][size_t(k)].get<double>(), want.data<float>()[k], 1e-6) << i;
  }
  auto byText = concurrently(s, "/v1/models/tag:tag", tag);
  const char* names[] = {"A", "B", "C", "D", "E"};
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& [code, out] = byText[i];
    ASSERT_EQ(code, 200) << out.dump();
    const Tensor& want = alone[i][0];
    const int64_t n = want.shape()[1];
    ASSERT_EQ(out["tokens"].size(), size_t(n));
    ASSERT_EQ(out["tags"].size(), size_t(n));
    for (int64_t t = 0; t < n; ++t) {
      const float* row = want.data<float>() + t * 5;
      EXPECT_EQ(out["tags"][size_t(t)], names[std::max_element(row, row + 5) - row]) << i;
    }
  }
  json st = stats(s);
  EXPECT_EQ(st["batching"]["batches"], 2) << st.dump();
  EXPECT_EQ(st["batching"]["padded_batches"], 2) << st.dump();
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(ServeTextTest, BadTextRequestsGetAClearStatus) {
  ServeProcess s({"--snli", "snli=" + bundles().snli, "--tagger", "tag=" + bundles().tagger,
                  "--max-tokens", "8"});
  ASSERT_GT(s.port(), 0) << s.log();
  auto classify = [&](const json& body, json* out) {
    return post(s, "/v1/models/snli:classify", body.dump(), out);
  };
  json out;
  const json good = {{"premise", "A man rests."}, {"hypothesis", "A cat rests."}};
  struct Case {
    json body;
    int status;
    const char* says;
  };
  const std::string nine = "a b c d e f g h i";
  const std::vector<Case> cases = {
      {{{"premise", ""}, {"hypothesis", "A cat."}}, 400, "\"premise\" has no tokens"},
      {{{"premise", "A cat."}, {"hypothesis", " \t "}}, 400, "\"hypothesis\" has no tokens"},
      {{{"premise", "A cat."}}, 400, "are required"},
      {{{"premise", 5}, {"hypothesis", "A cat."}}, 400, "\"premise\" must be a string"},
      {{{"premise", "A cat."}, {"hypothesis", {"A", "cat"}}},
       400,
       "\"hypothesis\" must be a string"},
      {{{"premise", nine}, {"hypothesis", "A cat."}},
       413,
       "9 tokens, past the server's limit of 8"},
      {{{"premise", std::string(600, 'x')}, {"hypothesis", "A cat."}}, 413, "600 bytes"},
      {{{"premise_parse", "( ( A man ) rests"}, {"hypothesis_parse", "( A cat )"}},
       400,
       "premise_parse\": unbalanced parentheses"},
      {{{"premise_parse", "( A man rests )"}, {"hypothesis_parse", "( A cat )"}},
       400,
       "not a binary tree"},
      {{{"premise_parse", "( A man )"}, {"hypothesis_parse", "( )"}}, 400, "hypothesis_parse"},
      {{{"premise_parse", "( A man )"}, {"hypothesis", "A cat."}}, 400, "give both"},
      {{{"premise_parse", "( a ( b ( c ( d ( e ( f ( g ( h i ) ) ) ) ) ) ) )"},
        {"hypothesis_parse", "( A cat )"}},
       413,
       "9 tokens"},
      {{{"premise", "A man."}, {"hypothesis", "A cat."}, {"timeout_ms", "soon"}},
       400,
       "timeout_ms"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(classify(c.body, &out), c.status) << c.body.dump() << " -> " << out.dump();
    EXPECT_NE(out.value("error", "").find(c.says), std::string::npos) << out.dump();
  }
  EXPECT_EQ(post(s, "/v1/models/snli:classify", "[1, 2]", &out), 400);
  EXPECT_EQ(post(s, "/v1/models/snli:classify", "{\"premise\": ", &out), 400);
  // Only unknown words: an answer, saying so.
  ASSERT_EQ(classify({{"premise", "zebra xylophone"}, {"hypothesis", "quux"}}, &out), 200)
      << out.dump();
  EXPECT_EQ(out["unknown_tokens"], 3);
  ASSERT_EQ(post(s, "/v1/models/tag:tag", json{{"text", "zebra xylophone"}}.dump(), &out), 200);
  EXPECT_EQ(out["tags"].size(), 2u);
  EXPECT_EQ(out["unknown_tokens"], 2);
  // The tagger's refusals.
  EXPECT_EQ(post(s, "/v1/models/tag:tag", json{{"text", ""}}.dump(), &out), 400);
  EXPECT_EQ(post(s, "/v1/models/tag:tag", json{{"text", 7}}.dump(), &out), 400);
  EXPECT_EQ(post(s, "/v1/models/tag:tag", json{{"txt", "a"}}.dump(), &out), 400);
  EXPECT_EQ(post(s, "/v1/models/tag:tag", json{{"text", nine}}.dump(), &out), 413);
  // Endpoints that do not exist.
  EXPECT_EQ(post(s, "/v1/models/snli:tag", good.dump(), &out), 404);
  EXPECT_EQ(post(s, "/v1/models/nope:classify", good.dump(), &out), 404);
  // And the server goes on.
  ASSERT_EQ(classify(good, &out), 200) << out.dump();
  EXPECT_EQ(out["tokens"]["premise"], json({"A", "man", "rests", "."}));
  auto models = s.client().Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_NE(models->body.find("\":classify\""), std::string::npos);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(ServeTextTest, ABundleThatDoesNotLoadStopsTheServerNamingWhy) {
  fs::path bad =
      fs::temp_directory_path() / ("cairn-serve-badbundle-" + std::to_string(::getpid()));
  fs::create_directories(bad);
  std::ofstream(bad / serve::kBundleVocab) << "the\n<unk>\n";
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"--snli", "x=" + (bad / "missing").string()}, "is not a directory"},
      {{"--snli", "x=" + bad.string()}, "starts with <pad> and <unk>"},
      {{"--tagger", "x=" + bundles().snli}, "tags.txt"},
      {{"--snli", "x"}, "expected name=path"},
      {{}, "nothing to serve"},
  };
  for (const Case& c : cases) {
    ServeProcess s(c.args);
    EXPECT_EQ(s.port(), 0);
    EXPECT_TRUE(WIFEXITED(s.exitStatus()) && WEXITSTATUS(s.exitStatus()) == 1) << s.log();
    EXPECT_NE(s.log().find(c.says), std::string::npos) << s.log();
  }
  fs::remove_all(bad);
}

} // namespace
