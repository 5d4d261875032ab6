// The golden cases (see GoldenCases.h).
#include "tests/golden/GoldenCases.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "frontend/data/Dataset.h"
#include "frontend/models/BiRnn.h"
#include "frontend/models/Spinn.h"
#include "frontend/models/TreeLstmSentiment.h"
#include "ir/SplitMix64.h"
#include "runtime/Npy.h"
#include "runtime/exec/Executable.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::golden {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSnliDev = "snli/snli_1.0_dev.jsonl.gz";
constexpr const char* kSstDev = "sst/dev.txt";
constexpr size_t kBatch = 16;       // the first 16 examples of the file
constexpr uint64_t kSeed = 20250101; // ParamStore::initialize
// The layers' initial scale (U(-0.1, 0.1)) leaves every model near-linear:
// the logits are mostly the last bias (they vary ~1% across examples) and
// the untrained predictor shifts every word before reducing. Scaled by 5,
// outputs vary ~30% across examples, so an error anywhere in the encoder
// shows, and the predicted transitions form varied trees (29 of 32 rows are
// not shift-all-then-reduce; the closest argmax still wins by > 1e-3).
constexpr double kParamGain = 5.0;

// The golden sizes: small, but every part of each model is exercised.
constexpr int64_t kEmbed = 32, kHidden = 32, kTracker = 16, kMlpHidden = 64, kMlpLayers = 1;

struct SnliData {
  std::vector<data::NliExample> examples;
  data::Vocab vocab;
};
struct SstData {
  std::vector<data::TreeExample> examples;
  data::Vocab vocab;
};

std::mutex cacheMutex;

StatusOr<const SnliData*> snliDev(const std::string& dataDir) {
  static std::map<std::string, std::unique_ptr<SnliData>> cache;
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto& slot = cache[dataDir];
  if (!slot) {
    CAIRN_ASSIGN_OR_RETURN(auto examples, data::readSnli((fs::path(dataDir) / kSnliDev).string()));
    std::vector<const data::Sentence*> sentences;
    for (const auto& e : examples) {
      sentences.push_back(&e.premise);
      sentences.push_back(&e.hypothesis);
    }
    auto d = std::make_unique<SnliData>();
    d->vocab = data::Vocab::build(sentences);
    d->examples = std::move(examples);
    slot = std::move(d);
  }
  return slot.get();
}

StatusOr<const SstData*> sstDev(const std::string& dataDir) {
  static std::map<std::string, std::unique_ptr<SstData>> cache;
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto& slot = cache[dataDir];
  if (!slot) {
    CAIRN_ASSIGN_OR_RETURN(auto examples, data::readSst((fs::path(dataDir) / kSstDev).string()));
    std::vector<const data::Sentence*> sentences;
    for (const auto& e : examples)
      sentences.push_back(&e.sentence);
    auto d = std::make_unique<SstData>();
    d->vocab = data::Vocab::build(sentences);
    d->examples = std::move(examples);
    slot = std::move(d);
  }
  return slot.get();
}

std::vector<size_t> firstN(size_t available, size_t n) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < std::min(available, n); ++i)
    idx.push_back(i);
  return idx;
}

json indicesJson(const std::vector<size_t>& idx) {
  json a = json::array();
  for (size_t i : idx)
    a.push_back(i);
  return a;
}

/// ParamStore::initialize(seed), every value times kParamGain.
std::vector<Tensor> goldenParams(const ParamStore& ps, uint64_t seed) {
  std::vector<Tensor> values = ps.initialize(seed);
  for (Tensor& t : values)
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setDouble(i, t.getDouble(i) * kParamGain);
  return values;
}

void finish(GoldenCase& c) { c.paramValues = goldenParams(c.params, c.seed); }

/// The SNLI classifier's inputs and outputs, by name: tokens, [transitions
/// (given mode),] lengths -> logits[, transitions (predicted mode)].
void setSnliInputs(GoldenCase& c, const data::NliBatch& batch, bool predicted) {
  c.inputNames = {"tokens"};
  c.inputs = {batch.tokens};
  if (!predicted) {
    c.inputNames.push_back("transitions");
    c.inputs.push_back(batch.transitions);
  }
  c.inputNames.push_back("lengths");
  c.inputs.push_back(batch.lengths);
  c.outputNames = {"logits"};
  if (predicted) c.outputNames.push_back("transitions");
}

StatusOr<GoldenCase> spinnCase(const std::string& name, const std::string& dataDir,
                               int64_t tracker, bool predicted) {
  CAIRN_ASSIGN_OR_RETURN(const SnliData* d, snliDev(dataDir));
  std::vector<size_t> idx = firstN(d->examples.size(), kBatch);
  data::NliBatch batch = data::makeNliBatch(d->examples, idx, d->vocab);

  GoldenCase c;
  c.name = name;
  c.kind = "spinn_snli";
  c.seed = kSeed;
  SpinnConfig cfg;
  cfg.vocab = d->vocab.size();
  cfg.embed = kEmbed;
  cfg.hidden = kHidden;
  cfg.trackerSize = tracker;
  cfg.predictTransitions = predicted;
  cfg.training = false;
  cfg.mlpHidden = kMlpHidden;
  cfg.mlpLayers = kMlpLayers;
  c.module = std::make_unique<Module>();
  c.function = buildSpinnSnli(*c.module, c.params, cfg);
  c.model = {{"vocab", cfg.vocab},         {"embed", cfg.embed},
             {"hidden", cfg.hidden},       {"tracker", cfg.trackerSize},
             {"mode", predicted ? "predicted" : "pi"},
             {"mlp_hidden", cfg.mlpHidden}, {"mlp_layers", cfg.mlpLayers},
             {"classes", 3}};
  c.data = {{"file", kSnliDev}, {"examples", indicesJson(idx)}};
  setSnliInputs(c, batch, predicted);
  finish(c);
  return c;
}

StatusOr<GoldenCase> treeLstmCase(const std::string& name, const std::string& dataDir) {
  CAIRN_ASSIGN_OR_RETURN(const SstData* d, sstDev(dataDir));
  std::vector<size_t> idx = firstN(d->examples.size(), kBatch);
  data::TreeBatch batch = data::makeTreeBatch(d->examples, idx, d->vocab);

  GoldenCase c;
  c.name = name;
  c.kind = "treelstm_sst";
  c.seed = kSeed;
  TreeLstmConfig cfg;
  cfg.vocab = d->vocab.size();
  cfg.embed = kEmbed;
  cfg.hidden = kHidden;
  c.module = std::make_unique<Module>();
  c.function = buildTreeLstmSentiment(*c.module, c.params, cfg);
  c.model = {{"vocab", cfg.vocab}, {"embed", cfg.embed}, {"hidden", cfg.hidden}, {"classes", cfg.classes}};
  c.data = {{"file", kSstDev}, {"examples", indicesJson(idx)}};
  c.inputNames = {"tokens", "transitions", "lengths"};
  c.inputs = {batch.tokens, batch.transitions, batch.lengths};
  c.outputNames = {"logits"};
  finish(c);
  return c;
}

/// BiRNN on SST dev sentences (5 classes) or SNLI dev premises (3 classes).
StatusOr<GoldenCase> biRnnCase(const std::string& name, const std::string& dataDir,
                               BiRnnConfig::Cell cell, bool tag, bool snli) {
  data::TreeBatch batch;
  data::Vocab vocab;
  std::vector<size_t> idx;
  int64_t classes = 0;
  if (snli) {
    CAIRN_ASSIGN_OR_RETURN(const SnliData* d, snliDev(dataDir));
    idx = firstN(d->examples.size(), kBatch);
    std::vector<data::TreeExample> premises;
    for (size_t i : idx)
      premises.push_back({d->examples[i].premise, d->examples[i].label, d->examples[i].line});
    batch = data::makeTreeBatch(premises, firstN(premises.size(), premises.size()), d->vocab);
    vocab = d->vocab;
    classes = 3;
  } else {
    CAIRN_ASSIGN_OR_RETURN(const SstData* d, sstDev(dataDir));
    idx = firstN(d->examples.size(), kBatch);
    batch = data::makeTreeBatch(d->examples, idx, d->vocab);
    vocab = d->vocab;
    classes = 5;
  }

  GoldenCase c;
  c.name = name;
  c.kind = tag ? "birnn_tag" : "birnn_classify";
  c.seed = kSeed;
  BiRnnConfig cfg;
  cfg.cell = cell;
  cfg.vocab = vocab.size();
  cfg.embed = kEmbed;
  cfg.hidden = kHidden;
  cfg.layers = 2;
  cfg.classes = classes;
  c.module = std::make_unique<Module>();
  c.function = tag ? buildBiRnnTagger(*c.module, c.params, cfg)
                   : buildBiRnnClassifier(*c.module, c.params, cfg);
  c.model = {{"cell", cell == BiRnnConfig::Lstm ? "lstm" : "gru"},
             {"vocab", cfg.vocab},
             {"embed", cfg.embed},
             {"hidden", cfg.hidden},
             {"layers", cfg.layers},
             {"classes", cfg.classes}};
  c.data = {{"file", snli ? kSnliDev : kSstDev},
            {"examples", indicesJson(idx)},
            {"sentences", snli ? "premises" : "trees"}};
  c.inputNames = {"tokens", "lengths"};
  c.inputs = {batch.tokens, batch.lengths};
  c.outputNames = {"logits"};
  finish(c);
  return c;
}

} // namespace

const std::vector<std::string>& caseNames() {
  static const std::vector<std::string> names = {
      "spinn_pi_tracker", "spinn_pi_notracker", "spinn_predicted_tracker", "treelstm_sst",
      "bilstm_classify",  "bigru_classify",     "bilstm_tag",              "bigru_tag",
  };
  return names;
}

std::string defaultDataDir(const std::string& sourceDir) {
  if (const char* env = std::getenv("CAIRN_DATA_DIR"); env && *env) return env;
  return (fs::path(sourceDir) / ".." / "shared" / "data").lexically_normal().string();
}

bool haveData(const std::string& dataDir) {
  return fs::is_regular_file(fs::path(dataDir) / kSnliDev) &&
         fs::is_regular_file(fs::path(dataDir) / kSstDev);
}

StatusOr<GoldenCase> makeCase(const std::string& name, const std::string& dataDir) {
  try {
    if (name == "spinn_pi_tracker") return spinnCase(name, dataDir, kTracker, false);
    if (name == "spinn_pi_notracker") return spinnCase(name, dataDir, 0, false);
    if (name == "spinn_predicted_tracker") return spinnCase(name, dataDir, kTracker, true);
    if (name == "treelstm_sst") return treeLstmCase(name, dataDir);
    if (name == "bilstm_classify")
      return biRnnCase(name, dataDir, BiRnnConfig::Lstm, false, /*snli=*/false);
    if (name == "bigru_classify")
      return biRnnCase(name, dataDir, BiRnnConfig::Gru, false, /*snli=*/true);
    if (name == "bilstm_tag") return biRnnCase(name, dataDir, BiRnnConfig::Lstm, true, true);
    if (name == "bigru_tag") return biRnnCase(name, dataDir, BiRnnConfig::Gru, true, false);
  } catch (const std::exception& e) {
    return errorf("golden case {}: building the model failed: {}", name, e.what());
  }
  return errorf("unknown golden case '{}'", name);
}

StatusOr<std::vector<Tensor>> runCase(const GoldenCase& c) {
  std::vector<Tensor> args = c.inputs;
  args.insert(args.end(), c.paramValues.begin(), c.paramValues.end());
  auto r = interpret(*c.function, args);
  if (!r.isOk()) return errorf("golden case {}: {}", c.name, r.status().message());
  if (r->size() != c.outputNames.size())
    return errorf("golden case {}: the model returned {} results, the case expects {}", c.name,
                  r->size(), c.outputNames.size());
  return r;
}

json configJson(const GoldenCase& c) {
  return {{"case", c.name},          {"kind", c.kind},         {"model", c.model},
          {"data", c.data},          {"seed", c.seed},         {"inputs", c.inputNames},
          {"outputs", c.outputNames}, {"params", c.params.names()}};
}

Status exportCase(const GoldenCase& c, const std::vector<Tensor>& outputs, const std::string& dir) {
  std::error_code ec;
  for (const char* sub : {"inputs", "params", "outputs"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) return errorf("cannot create '{}/{}': {}", dir, sub, ec.message());
  }
  {
    std::ofstream f(fs::path(dir) / "config.json");
    f << configJson(c).dump(2) << "\n";
    if (!f) return errorf("cannot write '{}/config.json'", dir);
  }
  for (size_t i = 0; i < c.inputs.size(); ++i)
    CAIRN_RETURN_IF_ERROR(
        writeNpy((fs::path(dir) / "inputs" / (c.inputNames[i] + ".npy")).string(), c.inputs[i]));
  CAIRN_RETURN_IF_ERROR(saveParams((fs::path(dir) / "params").string(), c.params, c.paramValues));
  for (size_t i = 0; i < outputs.size(); ++i)
    CAIRN_RETURN_IF_ERROR(writeNpy(
        (fs::path(dir) / "outputs" / fmt::format("cairn_{}.npy", i)).string(), outputs[i]));
  return Status::ok();
}

double relativeDifference(const Tensor& got, const Tensor& expected) {
  if (got.shape() != expected.shape()) return INFINITY;
  double maxDiff = 0, maxRef = 0;
  for (int64_t i = 0; i < expected.numElements(); ++i) {
    double a = got.getDouble(i), b = expected.getDouble(i);
    double d = std::fabs(a - b);
    if (std::isnan(d)) return INFINITY;
    maxDiff = std::max(maxDiff, d);
    maxRef = std::max(maxRef, std::fabs(b));
  }
  return maxDiff / std::max(maxRef, 1e-6);
}

namespace {

/// The first `count` full batches of `batchSize` examples, bucketed by
/// length (seed 7), as the timing cases use them (the short last one skipped).
std::vector<std::vector<size_t>> fullBatches(const std::vector<int64_t>& lengths, size_t batchSize,
                                             size_t count) {
  std::vector<std::vector<size_t>> out;
  for (std::vector<size_t>& b : data::bucketByLength(lengths, batchSize, /*seed=*/7))
    if (b.size() == batchSize && out.size() < count) out.push_back(std::move(b));
  return out;
}

/// The nearest-rank `p`-th percentile of `lengths` (not empty).
int64_t percentileLength(std::vector<int64_t> lengths, double p) {
  std::sort(lengths.begin(), lengths.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(lengths.size())));
  return lengths[std::clamp<size_t>(rank, 1, lengths.size()) - 1];
}

/// The batches `which` asks for, each with a note for its case's `data`
/// record (why it was chosen).
std::vector<std::pair<std::vector<size_t>, nlohmann::json>>
pickBatches(const std::vector<int64_t>& lengths, size_t batchSize, const TimingBatches& which) {
  std::vector<std::pair<std::vector<size_t>, nlohmann::json>> out;
  std::vector<std::vector<size_t>> all = data::bucketByLength(lengths, batchSize, /*seed=*/7);
  auto stats = [&](const std::vector<size_t>& b) {
    std::vector<int64_t> l;
    for (size_t i : b)
      l.push_back(lengths[i]);
    std::sort(l.begin(), l.end());
    return std::array<int64_t, 3>{l.front(), l[l.size() / 2], l.back()};
  };
  switch (which.which) {
  case TimingBatches::FirstFull:
    for (std::vector<size_t>& b : fullBatches(lengths, batchSize, which.count))
      out.emplace_back(std::move(b), nlohmann::json::object());
    break;
  case TimingBatches::Every:
    for (size_t k = 0; k < all.size(); ++k) {
      auto [lo, med, hi] = stats(all[k]);
      out.emplace_back(std::move(all[k]),
                       nlohmann::json{{"pass_batch", k}, {"pass_batches", all.size()},
                                      {"batch_lengths", {lo, med, hi}}});
    }
    break;
  case TimingBatches::NearPercentile: {
    if (lengths.empty() || !(which.percentile > 0 && which.percentile <= 100)) break;
    int64_t target = percentileLength(lengths, which.percentile);
    size_t best = all.size();
    int64_t bestGap = 0;
    for (size_t k = 0; k < all.size(); ++k) {
      if (all[k].size() != batchSize) continue;
      int64_t gap = std::abs(stats(all[k])[1] - target);
      if (best == all.size() || gap < bestGap) best = k, bestGap = gap;
    }
    if (best == all.size()) break;
    auto [lo, med, hi] = stats(all[best]);
    out.emplace_back(std::move(all[best]),
                     nlohmann::json{{"percentile", which.percentile},
                                    {"percentile_length", target},
                                    {"bucket", best},
                                    {"batch_lengths", {lo, med, hi}}});
    break;
  }
  }
  return out;
}

} // namespace

namespace {

/// The computation choices of the SPINN timing cases (the results do not
/// depend on them): the Reduce on the reducing rows only, and where two
/// CPUs are usable the two sides' loops on one core each.
void useTimingChoices(SpinnConfig& cfg) {
  cfg.compactReduce = true;
  cfg.splitPairs = exec::usableCpus() >= 2;
}

} // namespace

StatusOr<std::vector<GoldenCase>> makeTimingCases(const std::string& dataDir, size_t batchSize,
                                                  size_t count, int64_t hidden, bool predicted) {
  TimingBatches which;
  which.count = count;
  return makeTimingCases(dataDir, batchSize, which, hidden, predicted);
}

StatusOr<std::vector<GoldenCase>> makeTimingCases(const std::string& dataDir, size_t batchSize,
                                                  const TimingBatches& which, int64_t hidden,
                                                  bool predicted) {
  CAIRN_ASSIGN_OR_RETURN(const SnliData* d, snliDev(dataDir));
  if (which.which == TimingBatches::NearPercentile &&
      !(which.percentile > 0 && which.percentile <= 100))
    return errorf("timing case: percentile {} is not in (0, 100]", which.percentile);
  std::vector<int64_t> lengths;
  for (const auto& e : d->examples)
    lengths.push_back(static_cast<int64_t>(
        std::max(e.premise.tokens.size(), e.hypothesis.tokens.size())));
  auto picked = pickBatches(lengths, batchSize, which);
  std::vector<GoldenCase> out;
  std::vector<Tensor> sharedParams;
  for (size_t k = 0; k < picked.size(); ++k) {
    const std::vector<size_t>& examples = picked[k].first;
    GoldenCase c;
    c.name = fmt::format("batch_{}", out.size());
    c.kind = "spinn_snli";
    c.seed = kSeed;
    SpinnConfig cfg;
    cfg.vocab = d->vocab.size();
    cfg.embed = hidden > 0 ? hidden : kEmbed;
    cfg.hidden = hidden > 0 ? hidden : kHidden;
    cfg.trackerSize = hidden > 0 ? std::max<int64_t>(hidden / 2, 1) : kTracker;
    cfg.predictTransitions = predicted;
    cfg.training = false;
    cfg.mlpHidden = hidden > 0 ? 2 * hidden : kMlpHidden;
    cfg.mlpLayers = kMlpLayers;
    useTimingChoices(cfg);
    try {
      c.module = std::make_unique<Module>();
      c.function = buildSpinnSnli(*c.module, c.params, cfg);
    } catch (const std::exception& e) {
      return errorf("timing case: building the model failed: {}", e.what());
    }
    data::NliBatch batch = data::makeNliBatch(d->examples, examples, d->vocab);
    c.model = {{"vocab", cfg.vocab},          {"embed", cfg.embed},
               {"hidden", cfg.hidden},        {"tracker", cfg.trackerSize},
               {"mode", predicted ? "predicted" : "pi"}, {"mlp_hidden", cfg.mlpHidden},
               {"mlp_layers", cfg.mlpLayers}, {"classes", 3}};
    c.data = {{"file", kSnliDev}, {"examples", indicesJson(examples)}};
    c.data.update(picked[k].second);
    setSnliInputs(c, batch, predicted);
    if (sharedParams.empty()) sharedParams = goldenParams(c.params, c.seed);
    c.paramValues = sharedParams;
    out.push_back(std::move(c));
  }
  if (out.empty())
    return errorf("timing case: no full batch of {} SNLI dev pairs under '{}'", batchSize, dataDir);
  return out;
}

SpinnConfig timingSpinnConfig(const GoldenCase& c) {
  SpinnConfig cfg;
  cfg.vocab = c.model.at("vocab");
  cfg.embed = c.model.at("embed");
  cfg.hidden = c.model.at("hidden");
  cfg.trackerSize = c.model.at("tracker");
  cfg.predictTransitions = c.model.value("mode", "pi") == "predicted";
  cfg.mlpHidden = c.model.at("mlp_hidden");
  cfg.mlpLayers = c.model.at("mlp_layers");
  useTimingChoices(cfg);
  return cfg;
}

StatusOr<GoldenCase> makeBiRnnTimingCase(const std::string& cell, int64_t batch, int64_t length,
                                         int64_t hidden, int64_t vocab, uint64_t seed) {
  if (cell != "lstm" && cell != "gru") return errorf("unknown cell '{}' (lstm or gru)", cell);
  if (batch < 1 || length < 1 || hidden < 1 || vocab < 3)
    return errorf("BiRNN timing case: batch, length and hidden must be >= 1 and vocab >= 3");
  GoldenCase c;
  c.name = fmt::format("bi{}_b{}_n{}_h{}", cell, batch, length, hidden);
  c.kind = "birnn_classify";
  c.seed = seed;
  BiRnnConfig cfg;
  cfg.cell = cell == "lstm" ? BiRnnConfig::Lstm : BiRnnConfig::Gru;
  cfg.vocab = vocab;
  cfg.embed = hidden;
  cfg.hidden = hidden;
  cfg.layers = 2;
  cfg.classes = 3;
  // Packed sequences, as the PyTorch reference runs them (pack_padded_sequence);
  // a batch of one has nothing to pack (its nonzero and gathers per step
  // would only cost: bilstm_b1 7.8 ms packed against ~6 ms plain).
  cfg.compactRows = batch > 1;
  try {
    c.module = std::make_unique<Module>();
    c.function = buildBiRnnClassifier(*c.module, c.params, cfg);
  } catch (const std::exception& e) {
    return errorf("BiRNN timing case: building the model failed: {}", e.what());
  }
  c.model = {{"cell", cell},          {"vocab", cfg.vocab},   {"embed", cfg.embed},
             {"hidden", cfg.hidden},  {"layers", cfg.layers}, {"classes", cfg.classes},
             {"compact_rows", cfg.compactRows}};
  c.data = {{"synthetic", "SplitMix64 tokens"}, {"batch", batch}, {"length", length}};
  Tensor tokens(TensorType(DType::I32, {batch, length}));
  Tensor lengths(TensorType(DType::I32, {batch}));
  SplitMix64 rng(seed);
  const int64_t minLength = std::max<int64_t>(1, length / 5);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t n = b == 0 ? length
                       : minLength + static_cast<int64_t>(rng.next() % uint64_t(length - minLength + 1));
    lengths.setInt(b, n);
    for (int64_t t = 0; t < length; ++t)
      tokens.setInt(b * length + t, t < n ? 2 + static_cast<int64_t>(rng.next() % uint64_t(vocab - 2)) : 0);
  }
  c.inputNames = {"tokens", "lengths"};
  c.inputs = {tokens, lengths};
  c.outputNames = {"logits"};
  c.paramValues = c.params.initialize(seed);
  return c;
}

StatusOr<std::vector<GoldenCase>> makeTreeLstmTimingCases(const std::string& dataDir,
                                                          size_t batchSize, size_t count,
                                                          int64_t hidden) {
  TimingBatches which;
  which.count = count;
  return makeTreeLstmTimingCases(dataDir, batchSize, which, hidden);
}

StatusOr<std::vector<GoldenCase>> makeTreeLstmTimingCases(const std::string& dataDir,
                                                          size_t batchSize,
                                                          const TimingBatches& which,
                                                          int64_t hidden) {
  CAIRN_ASSIGN_OR_RETURN(const SstData* d, sstDev(dataDir));
  if (which.which == TimingBatches::NearPercentile &&
      !(which.percentile > 0 && which.percentile <= 100))
    return errorf("timing case: percentile {} is not in (0, 100]", which.percentile);
  std::vector<int64_t> lengths;
  for (const auto& e : d->examples)
    lengths.push_back(static_cast<int64_t>(e.sentence.tokens.size()));
  auto picked = pickBatches(lengths, batchSize, which);
  std::vector<GoldenCase> out;
  std::vector<Tensor> sharedParams;
  for (size_t k = 0; k < picked.size(); ++k) {
    const std::vector<size_t>& examples = picked[k].first;
    GoldenCase c;
    c.name = fmt::format("batch_{}", out.size());
    c.kind = "treelstm_sst";
    c.seed = kSeed;
    TreeLstmConfig cfg;
    cfg.vocab = d->vocab.size();
    cfg.embed = hidden;
    cfg.hidden = hidden;
    cfg.compactReduce = true; // as SPINN's timing cases
    try {
      c.module = std::make_unique<Module>();
      c.function = buildTreeLstmSentiment(*c.module, c.params, cfg);
    } catch (const std::exception& e) {
      return errorf("TreeLSTM timing case: building the model failed: {}", e.what());
    }
    data::TreeBatch batch = data::makeTreeBatch(d->examples, examples, d->vocab);
    c.model = {{"vocab", cfg.vocab}, {"embed", cfg.embed}, {"hidden", cfg.hidden},
               {"classes", cfg.classes}};
    c.data = {{"file", kSstDev}, {"examples", indicesJson(examples)}};
    c.data.update(picked[k].second);
    c.inputNames = {"tokens", "transitions", "lengths"};
    c.inputs = {batch.tokens, batch.transitions, batch.lengths};
    c.outputNames = {"logits"};
    if (sharedParams.empty()) sharedParams = goldenParams(c.params, c.seed);
    c.paramValues = sharedParams;
    out.push_back(std::move(c));
  }
  if (out.empty())
    return errorf("timing case: no full batch of {} SST dev trees under '{}'", batchSize, dataDir);
  return out;
}

} // namespace cairn::golden
