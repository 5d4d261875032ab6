#include "ExampleBundle.h"

#include <filesystem>
#include <fstream>

#include "frontend/layers/Params.h"
#include "ir/Printer.h"
#include "runtime/Safetensors.h"

namespace cairn::serve {
namespace {

namespace fs = std::filesystem;

std::string in(const std::string& dir, const char* file) {
  return (fs::path(dir) / file).string();
}

Status writeBundle(const std::string& dir, const Module& m, const ParamStore& ps,
                   std::vector<Tensor> params, const data::Vocab& vocab, const std::string& kind) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errorf("cannot create '{}': {}", dir, ec.message());
  std::ofstream ir(in(dir, kBundleModel));
  ir << printModule(m);
  if (!ir) return errorf("cannot write '{}'", in(dir, kBundleModel));
  SafetensorsData d;
  d.names = ps.names();
  d.tensors = std::move(params);
  d.metadata["model"] = kind;
  CAIRN_RETURN_IF_ERROR(writeSafetensors(in(dir, kBundleWeights), d));
  return writeLines(in(dir, kBundleVocab), vocab.tokens());
}

} // namespace

Status writeSnliBundle(const std::string& dir, const data::Vocab& vocab, SpinnConfig cfg,
                       uint64_t seed, const std::string& paramsDir) {
  if (cfg.trackerSize <= 0)
    return Status::error("the SNLI endpoint's model needs the tracker (it predicts the moves)");
  cfg.vocab = vocab.size();
  cfg.training = false;
  cfg.compactReduce = true;
  cfg.compactTracker = true;
  cfg.splitPairs = false;
  Module m;
  // Two functions over one set of weights: the given-moves model's
  // parameters are the predicted one's without the predictor, same names.
  ParamStore given, predicted;
  try {
    SpinnConfig pi = cfg;
    pi.predictTransitions = false;
    buildSpinnSnli(m, given, pi, "snli_parsed");
    SpinnConfig pred = cfg;
    pred.predictTransitions = true;
    pred.logitsOnly = true;
    buildSpinnSnli(m, predicted, pred, "snli_predicted");
  } catch (const BuildError& e) {
    return Status::error(e.what());
  }
  for (const ParamSpec& g : given.specs()) {
    bool found = false;
    for (const ParamSpec& p : predicted.specs())
      found = found || (p.name == g.name && p.type == g.type);
    if (!found) return errorf("internal: parameter '{}' differs between the two models", g.name);
  }
  std::vector<Tensor> params;
  if (paramsDir.empty()) {
    params = predicted.initialize(seed);
  } else {
    CAIRN_ASSIGN_OR_RETURN(params, loadParams(paramsDir, predicted));
  }
  return writeBundle(dir, m, predicted, std::move(params), vocab, "snli");
}

Status writeTaggerBundle(const std::string& dir, const data::Vocab& vocab, BiRnnConfig cfg,
                         const std::vector<std::string>& tags, uint64_t seed) {
  if (tags.empty()) return Status::error("a tagger needs at least one tag");
  cfg.vocab = vocab.size();
  cfg.classes = static_cast<int64_t>(tags.size());
  Module m;
  ParamStore ps;
  try {
    buildBiRnnTagger(m, ps, cfg, "tag");
  } catch (const BuildError& e) {
    return Status::error(e.what());
  }
  CAIRN_RETURN_IF_ERROR(writeBundle(dir, m, ps, ps.initialize(seed), vocab, "tagger"));
  return writeLines(in(dir, kBundleTags), tags);
}

std::vector<std::string> universalPosTags() {
  return {"ADJ",  "ADP",  "ADV",   "AUX",   "CCONJ", "DET", "INTJ", "NOUN", "NUM",
          "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"};
}

StatusOr<std::vector<std::string>> readLines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errorf("cannot read '{}'", path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);)
    lines.push_back(std::move(line));
  if (f.bad()) return errorf("cannot read '{}'", path);
  return lines;
}

Status writeLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream f(path, std::ios::binary);
  for (const std::string& l : lines) {
    if (l.find('\n') != std::string::npos) return errorf("'{}': an entry contains a newline", path);
    f << l << '\n';
  }
  if (!f) return errorf("cannot write '{}'", path);
  return Status::ok();
}

} // namespace cairn::serve
