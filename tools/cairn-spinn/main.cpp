// cairn-spinn: runs a SPINN classifier forward with the reference interpreter
// and reports accuracy and throughput.
//
//   cairn-spinn                                   # generated ListOps, seeded weights
//   cairn-spinn --data snli_1.0_dev.jsonl.gz --format snli --batch 128 --limit 512
//   cairn-spinn --data sst/dev.txt --format sst --params weights/
//   cairn-spinn --predict-transitions --print-ir  # the graph, as text
//   cairn-spinn --data snli_1.0_dev.jsonl.gz --format snli --export-snli snli/  # cairn-serve
//   --snli
//
// ListOps runs the tree classifier (encoder + Mlp to 10 classes), SNLI the
// pair classifier (3 classes), SST the TreeLSTM sentiment model (no tracker,
// given transitions, 5 classes). Weights come from `<dir>/<name>.npy`
// (--params) or a seeded initialization; the vocabulary is built from the
// data, so saved weights must come from a run over the same data.
#include <chrono>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "frontend/data/Corpus.h"
#include "frontend/models/Spinn.h"
#include "frontend/models/TreeLstmSentiment.h"
#include "frontend/training/Accuracy.h"
#include "ir/Printer.h"
#include "runtime/Safetensors.h"
#include "runtime/reference/Interpreter.h"
#include "tools/ToolMain.h"
#include "tools/cairn-serve/ExampleBundle.h"
#include "tools/cairn-serve/TensorJson.h"

using namespace cairn;
using namespace cairn::data;

namespace {

struct Options {
  CorpusOptions corpus;
  std::string format = "listops";
  size_t batch = 32;
  bool tracker = true;
  bool predict = false;
  bool sample = false;
  std::string params;
  bool printIr = false;
  std::string emitIr;
  std::string saveWeights, emitRequests;
  std::string exportSnli, exportTagger; ///< cairn-serve's example bundles
  std::vector<std::string> tags;
  bool quiet = false;
  SpinnConfig model;
};

/// The model function for the corpus's format; its data inputs are tokens,
/// [transitions,] lengths, [rng].
Function* buildModel(Module& m, ParamStore& ps, const Options& o, const Corpus& c) {
  SpinnConfig cfg = o.model;
  cfg.vocab = c.vocab.size();
  cfg.compactReduce = true;  // the Reduce on the reducing rows only
  cfg.compactTracker = true; // and the Tracker on the live rows only
  if (c.format == Format::Sst) {
    TreeLstmConfig t;
    t.vocab = cfg.vocab;
    t.embed = cfg.embed;
    t.hidden = cfg.hidden;
    t.compactReduce = true;
    return buildTreeLstmSentiment(m, ps, t);
  }
  if (c.format == Format::Snli) return buildSpinnSnli(m, ps, cfg);
  return buildSpinnTreeClassifier(m, ps, cfg, c.classes());
}

/// Agreement of predicted moves [R, T] with the data's transitions [R, T'],
/// over the steps the data does not pad: {agreeing, counted}.
std::pair<int64_t, int64_t> countAgreement(const Tensor& moves, const Tensor& given) {
  const int64_t rows = moves.shape()[0], t = moves.shape()[1], tg = given.shape().back();
  int64_t agree = 0, counted = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t s = 0; s < tg; ++s) {
      int64_t want = given.getInt(r * tg + s);
      if (want == 0) continue;
      ++counted;
      agree += s < t && moves.getInt(r * t + s) == want;
    }
  return {agree, counted};
}

/// One cairn-serve request per example (its data inputs alone, the weights
/// bound by the server: --save-weights) with the interpreter's answer to it
/// run alone as "expected": bench/serve's SPINN load and its check.
Status emitRequests(const std::string& path, const Corpus& c, const Function& f,
                    const std::vector<Tensor>& params, bool predicted) {
  std::ofstream out(path);
  for (size_t i = 0; i < c.size(); ++i) {
    Batch b = makeBatch(c, {i});
    std::vector<Tensor> data{b.tokens};
    if (!predicted) data.push_back(b.transitions);
    data.push_back(b.lengths);
    std::vector<Tensor> inputs = data;
    inputs.insert(inputs.end(), params.begin(), params.end());
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> answer, interpret(f, inputs));
    nlohmann::json req = {{"function", f.name}, {"inputs", nlohmann::json::array()}};
    for (const Tensor& t : data)
      req["inputs"].push_back(serve::tensorToJson(t));
    req["expected"] = serve::tensorToJson(answer[0]);
    out << req.dump() << "\n";
  }
  if (!out) return errorf("cannot write '{}'", path);
  return Status::ok();
}

int run(const Options& o) {
  auto corpus = loadCorpus(o.corpus);
  if (!corpus.isOk()) {
    std::cerr << "cairn-spinn: error: " << corpus.status().message() << "\n";
    return 1;
  }
  const Corpus& c = *corpus;
  if (!o.quiet)
    for (const std::string& w : c.warnings)
      std::cerr << "cairn-spinn: warning: " << w << "\n";

  // cairn-serve's example endpoints: the model, its weights and this data's
  // vocabulary in one directory each (tools/cairn-serve/ExampleBundle.h).
  if (!o.exportSnli.empty() || !o.exportTagger.empty()) {
    if (!o.exportSnli.empty()) {
      if (c.format != Format::Snli) {
        std::cerr << "cairn-spinn: error: --export-snli needs --format snli\n";
        return 1;
      }
      SpinnConfig cfg = o.model;
      cfg.trackerSize = cfg.trackerSize > 0 ? cfg.trackerSize : 32;
      if (Status s = serve::writeSnliBundle(o.exportSnli, c.vocab, cfg, o.corpus.seed, o.params);
          !s.isOk()) {
        std::cerr << "cairn-spinn: error: --export-snli: " << s.message() << "\n";
        return 1;
      }
    }
    if (!o.exportTagger.empty()) {
      BiRnnConfig cfg;
      cfg.embed = o.model.embed;
      cfg.hidden = o.model.hidden;
      std::vector<std::string> tags = o.tags.empty() ? serve::universalPosTags() : o.tags;
      if (Status s = serve::writeTaggerBundle(o.exportTagger, c.vocab, cfg, tags, o.corpus.seed);
          !s.isOk()) {
        std::cerr << "cairn-spinn: error: --export-tagger: " << s.message() << "\n";
        return 1;
      }
    }
    if (!o.quiet)
      std::cout << fmt::format("cairn-spinn: exported (vocabulary of {} tokens)\n", c.vocab.size());
    return 0;
  }

  Module m;
  ParamStore ps;
  Function* f = nullptr;
  try {
    f = buildModel(m, ps, o, c);
  } catch (const BuildError& e) {
    std::cerr << "cairn-spinn: error: " << e.what() << "\n";
    return 1;
  }
  if (o.printIr) {
    std::cout << printModule(m);
    return 0;
  }
  if (!o.emitIr.empty()) {
    std::ofstream out(o.emitIr);
    out << printModule(m);
    if (!out) {
      std::cerr << "cairn-spinn: error: cannot write '" << o.emitIr << "'\n";
      return 1;
    }
  }

  std::vector<Tensor> params;
  if (!o.params.empty()) {
    auto loaded = loadParams(o.params, ps);
    if (!loaded.isOk()) {
      std::cerr << "cairn-spinn: error: " << loaded.status().message() << "\n";
      return 1;
    }
    params = std::move(*loaded);
  } else {
    params = ps.initialize(o.corpus.seed);
  }
  if (!o.saveWeights.empty()) {
    SafetensorsData d;
    d.names = ps.names();
    d.tensors = params;
    d.metadata["model"] = f->name;
    if (Status s = writeSafetensors(o.saveWeights, d); !s.isOk()) {
      std::cerr << "cairn-spinn: error: " << s.message() << "\n";
      return 1;
    }
  }
  if (!o.emitRequests.empty()) {
    if (o.model.training) {
      std::cerr
          << "cairn-spinn: error: --emit-requests needs a deterministic model (no --sample)\n";
      return 1;
    }
    Status s = emitRequests(o.emitRequests, c, *f, params,
                            o.model.predictTransitions && c.format != Format::Sst);
    if (!s.isOk()) {
      std::cerr << "cairn-spinn: error: " << s.message() << "\n";
      return 1;
    }
    if (!o.quiet)
      std::cout << fmt::format("cairn-spinn: {} requests written to {}\n", c.size(),
                               o.emitRequests);
  }

  const bool sst = c.format == Format::Sst;
  const bool predicted = o.model.predictTransitions && !sst;
  const bool sampled = predicted && o.model.training;
  Tensor rng =
      Tensor::fromInts(TensorType(DType::I64, {2}), {static_cast<int64_t>(o.corpus.seed), 0});
  auto batches = data::bucketByLength(c.lengths(), o.batch, o.corpus.seed);
  if (!o.quiet)
    std::cout << fmt::format("cairn-spinn: {} examples, vocab {}, {} batches of <= {}, @{} ({} "
                             "parameters)\n",
                             c.size(), c.vocab.size(), batches.size(), o.batch, f->name, ps.size());

  int64_t correct = 0, seen = 0, agree = 0, counted = 0;
  double seconds = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    Batch b = makeBatch(c, batches[i]);
    std::vector<Tensor> inputs{b.tokens};
    if (!predicted) inputs.push_back(b.transitions);
    inputs.push_back(b.lengths);
    if (sampled) inputs.push_back(rng);
    inputs.insert(inputs.end(), params.begin(), params.end());
    auto start = std::chrono::steady_clock::now();
    auto out = interpret(*f, inputs);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!out.isOk()) {
      std::cerr << "cairn-spinn: error: batch " << i << ": " << out.status().message() << "\n";
      return 1;
    }
    seconds += dt;
    correct += training::countCorrect((*out)[0], b.labels);
    seen += b.rows();
    if (predicted) {
      auto [a, n] = countAgreement((*out)[1], b.transitions);
      agree += a;
      counted += n;
    }
    if (sampled) rng = out->back();
    if (!o.quiet)
      std::cout << fmt::format("batch {}/{}: {} examples, N {}, {:.3f} s, {:.1f} ex/s, accuracy "
                               "so far {:.4f}\n",
                               i + 1, batches.size(), b.rows(), b.width(), dt, b.rows() / dt,
                               static_cast<double>(correct) / static_cast<double>(seen));
  }
  std::cout << fmt::format("accuracy {:.4f} ({}/{}), {:.1f} examples/s ({:.3f} s in the "
                           "reference interpreter)\n",
                           static_cast<double>(correct) / static_cast<double>(seen), correct, seen,
                           static_cast<double>(seen) / seconds, seconds);
  if (predicted && counted)
    std::cout << fmt::format("predicted transitions agree with the data's on {:.4f} of {} steps\n",
                             static_cast<double>(agree) / static_cast<double>(counted), counted);
  return 0;
}

} // namespace

static int runTool(int argc, char** argv) {
  CLI::App app{"Run a SPINN classifier forward with Cairn's reference interpreter"};
  Options o;
  o.model.embed = 64;
  o.model.hidden = 64;
  o.model.trackerSize = 32;
  o.model.mlpHidden = 128;
  o.model.mlpLayers = 1;
  int64_t trackerSize = 32;
  app.add_option("--data", o.corpus.path,
                 "Examples (.jsonl[.gz] SNLI, label<TAB>parse ListOps, "
                 "PTB-tree SST); default: generated ListOps");
  app.add_option("--format", o.format, "snli | listops | sst")->capture_default_str();
  app.add_option("--batch", o.batch, "Examples per batch")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--limit", o.corpus.limit, "Use the first N examples (0 = all; generated: 512)");
  app.add_option("--seed", o.corpus.seed, "Seed of generated data, batching and weights")
      ->capture_default_str();
  app.add_flag("--tracker,!--no-tracker", o.tracker, "Use the tracker LSTM (default on)");
  app.add_flag("--predict-transitions", o.predict,
               "Predict transitions (argmax) instead of "
               "reading the data's");
  app.add_flag("--sample", o.sample, "With --predict-transitions: sample moves (training mode)");
  app.add_option("--params", o.params, "Directory of <name>.npy weights");
  app.add_flag("--print-ir", o.printIr, "Print the model's IR and exit");
  app.add_option("--emit-ir", o.emitIr, "Also write the model's IR to this file");
  app.add_option("--embed", o.model.embed, "Embedding size")->capture_default_str();
  app.add_option("--hidden", o.model.hidden, "Hidden size H")->capture_default_str();
  app.add_option("--tracker-size", trackerSize, "Tracker size")->capture_default_str();
  app.add_option("--mlp-hidden", o.model.mlpHidden, "Classifier hidden size")
      ->capture_default_str();
  app.add_option("--mlp-layers", o.model.mlpLayers, "Classifier hidden layers")
      ->capture_default_str();
  app.add_option("--save-weights", o.saveWeights,
                 "Write the weights (seeded or --params) to this .safetensors file, named as the "
                 "model's arguments (cairn-serve --weights)");
  app.add_option("--emit-requests", o.emitRequests,
                 "Write one cairn-serve request per example (JSON lines, batch of one, with the "
                 "interpreter's answer as \"expected\") to this file");
  app.add_option("--export-snli", o.exportSnli,
                 "Write cairn-serve's SNLI endpoint bundle (the pair classifier with given and "
                 "predicted transitions, its weights: seeded or --params with the predictor's, "
                 "and this data's vocabulary) to this directory, and exit (cairn-serve --snli)");
  app.add_option("--export-tagger", o.exportTagger,
                 "Write cairn-serve's tagging endpoint bundle (a BiLSTM tagger of --embed and "
                 "--hidden over this data's vocabulary, seeded weights) to this directory, and "
                 "exit (cairn-serve --tagger)");
  app.add_option("--tags", o.tags,
                 "With --export-tagger: the tag names (default: the 17 "
                 "universal POS tags)")
      ->delimiter(',');
  app.add_flag("--quiet", o.quiet, "Only the summary");
  CLI11_PARSE(app, argc, argv);

  auto format = parseFormat(o.format);
  if (!format.isOk()) {
    std::cerr << "cairn-spinn: error: " << format.status().message() << "\n";
    return 1;
  }
  o.corpus.format = *format;
  if (o.predict && !o.tracker) {
    std::cerr << "cairn-spinn: error: --predict-transitions needs the tracker\n";
    return 1;
  }
  if (o.sample && !o.predict) {
    std::cerr << "cairn-spinn: error: --sample needs --predict-transitions\n";
    return 1;
  }
  if (*format == Format::Sst && o.predict && !o.quiet)
    std::cerr << "cairn-spinn: note: sst runs TreeLSTM sentiment (no tracker, given "
                 "transitions)\n";
  o.model.trackerSize = o.tracker ? trackerSize : 0;
  o.model.predictTransitions = o.predict;
  o.model.training = o.sample;
  return run(o);
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-spinn", [&] { return runTool(argc, argv); });
}
