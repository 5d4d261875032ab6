// Python bindings of Cairn's C++ models and data: the SPINN tree classifier
// (frontend/models/Spinn.h), the bidirectional LSTM/GRU classifier and
// tagger (BiRnn.h) and TreeLSTM sentiment (TreeLstmSentiment.h), each built
// into a module with its parameters' initial values; the corpora
// (frontend/data/Corpus.h: generated ListOps, SNLI, SST and ListOps files)
// with their padded batches, bucketing by length and the pieces of
// cairn-train's evaluation sets; the golden cases and safetensors
// checkpoints. They let Python train the C++ models, and check the models
// written in Python (cairn.nn, examples/python/spinn_model.py) against them.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "Arrays.h"
#include "Handles.h"
#include "frontend/data/Corpus.h"
#include "frontend/models/BiRnn.h"
#include "frontend/models/Spinn.h"
#include "frontend/models/TreeLstmSentiment.h"
#include "frontend/training/Progress.h"
#include "runtime/Safetensors.h"
#include "tests/golden/GoldenCases.h"

namespace cairn::python {

namespace {

nb::list arrays(std::vector<Tensor> ts) {
  nb::list out;
  for (Tensor& t : ts)
    out.append(arrayFromTensor(std::move(t)));
  return out;
}

/// (parameter names, initial values) of a model just built into `ps`.
nb::tuple namesAndValues(const ParamStore& ps, uint64_t seed) {
  return nb::make_tuple(ps.names(), arrays(ps.initialize(seed)));
}

void checkFree(const ModuleHandle& h, const std::string& name) {
  if (h.module->lookup(name)) throw BuildError("the module already has a function @" + name);
}

} // namespace

void bindModels(nb::module_& m) {
  m.def(
      "spinn_tree_classifier",
      [](ModuleHandle& h, int64_t vocab, int64_t embed, int64_t hidden, int64_t tracker,
         int64_t mlpHidden, int64_t mlpLayers, int64_t classes, bool loss, const std::string& name,
         uint64_t seed) {
        checkFree(h, name);
        SpinnConfig cfg;
        cfg.vocab = vocab;
        cfg.embed = embed;
        cfg.hidden = hidden;
        cfg.trackerSize = tracker;
        cfg.mlpHidden = mlpHidden;
        cfg.mlpLayers = mlpLayers;
        ParamStore ps;
        if (loss)
          buildSpinnTreeClassifierLoss(*h.module, ps, cfg, classes, name);
        else
          buildSpinnTreeClassifier(*h.module, ps, cfg, classes, name);
        return namesAndValues(ps, seed);
      },
      nb::arg("module"), nb::arg("vocab"), nb::arg("embed"), nb::arg("hidden"), nb::arg("tracker"),
      nb::arg("mlp_hidden"), nb::arg("mlp_layers"), nb::arg("classes"), nb::arg("loss"),
      nb::arg("name"), nb::arg("seed"));

  m.def(
      "birnn",
      [](ModuleHandle& h, const std::string& cell, int64_t vocab, int64_t embed, int64_t hidden,
         int64_t layers, int64_t classes, bool tag, bool compactRows, const std::string& name,
         uint64_t seed) {
        checkFree(h, name);
        BiRnnConfig cfg;
        if (cell == "lstm")
          cfg.cell = BiRnnConfig::Lstm;
        else if (cell == "gru")
          cfg.cell = BiRnnConfig::Gru;
        else
          throw nb::value_error(("cairn: unknown cell '" + cell + "' (lstm, gru)").c_str());
        cfg.vocab = vocab;
        cfg.embed = embed;
        cfg.hidden = hidden;
        cfg.layers = layers;
        cfg.classes = classes;
        cfg.compactRows = compactRows;
        ParamStore ps;
        if (tag)
          buildBiRnnTagger(*h.module, ps, cfg, name);
        else
          buildBiRnnClassifier(*h.module, ps, cfg, name);
        return namesAndValues(ps, seed);
      },
      nb::arg("module"), nb::arg("cell"), nb::arg("vocab"), nb::arg("embed"), nb::arg("hidden"),
      nb::arg("layers"), nb::arg("classes"), nb::arg("tag"), nb::arg("compact_rows"),
      nb::arg("name"), nb::arg("seed"));

  m.def(
      "tree_lstm_sentiment",
      [](ModuleHandle& h, int64_t vocab, int64_t embed, int64_t hidden, int64_t classes,
         bool compactReduce, const std::string& name, uint64_t seed) {
        checkFree(h, name);
        TreeLstmConfig cfg;
        cfg.vocab = vocab;
        cfg.embed = embed;
        cfg.hidden = hidden;
        cfg.classes = classes;
        cfg.compactReduce = compactReduce;
        ParamStore ps;
        buildTreeLstmSentiment(*h.module, ps, cfg, name);
        return namesAndValues(ps, seed);
      },
      nb::arg("module"), nb::arg("vocab"), nb::arg("embed"), nb::arg("hidden"), nb::arg("classes"),
      nb::arg("compact_reduce"), nb::arg("name"), nb::arg("seed"));

  // The golden cases (tests/golden): real SNLI/SST batches, the C++ model
  // and its parameters, whose PyTorch outputs are stored beside them; the
  // Python models are checked against both.
  m.def("golden_have_data", &golden::haveData, nb::arg("data_dir"));
  m.def(
      "golden_case",
      [](const std::string& name, const std::string& dataDir) {
        golden::GoldenCase c = take(golden::makeCase(name, dataDir));
        ModuleHandle h;
        std::string fn = c.function->name;
        h.module = std::shared_ptr<Module>(std::move(c.module));
        nb::dict out;
        out["module"] = nb::cast(std::move(h));
        out["function"] = fn;
        out["input_names"] = c.inputNames;
        out["inputs"] = arrays(std::move(c.inputs));
        out["param_names"] = c.params.names();
        out["params"] = arrays(std::move(c.paramValues));
        out["output_names"] = c.outputNames;
        return out;
      },
      nb::arg("name"), nb::arg("data_dir"));

  // Checkpoints: safetensors files (runtime/Safetensors.h), as cairn-train
  // writes them.
  m.def(
      "save_safetensors",
      [](const std::string& path, const std::vector<std::string>& names,
         const std::vector<InArray>& arrays, const std::map<std::string, std::string>& metadata) {
        if (names.size() != arrays.size())
          throw nb::value_error("names and arrays differ in count");
        SafetensorsData d;
        d.names = names;
        for (const InArray& a : arrays)
          d.tensors.push_back(tensorFromArray(a));
        d.metadata = metadata;
        check(writeSafetensors(path, d));
      },
      nb::arg("path"), nb::arg("names"), nb::arg("arrays"), nb::arg("metadata"));
  m.def(
      "load_safetensors",
      [](const std::string& path) {
        SafetensorsData d = take(readSafetensors(path));
        nb::dict tensors;
        for (size_t i = 0; i < d.names.size(); ++i)
          tensors[d.names[i].c_str()] = arrayFromTensor(std::move(d.tensors[i]));
        return nb::make_tuple(tensors, d.metadata);
      },
      nb::arg("path"));

  nb::class_<data::Corpus>(m, "Corpus")
      .def_static(
          "listops",
          // preset "paper": data::listOpsPaperConfig; a bound given (>= 0)
          // overrides the preset's.
          [](size_t count, uint64_t seed, int maxDepth, int maxArgs, int maxLength, int minLength,
             const std::string& preset) {
            data::CorpusOptions o;
            o.format = data::Format::ListOps;
            o.generated = count;
            o.seed = seed;
            if (preset == "paper") {
              o.listops = data::listOpsPaperConfig();
            } else if (!preset.empty()) {
              throw nb::value_error(
                  fmt::format("listops: unknown preset '{}' (paper)", preset).c_str());
            } else { // the Python function's defaults
              o.listops.maxDepth = 4;
              o.listops.maxArgs = 5;
              o.listops.maxLength = 60;
              o.listops.minLength = 3;
            }
            for (auto [given, field] : {std::pair{maxDepth, &o.listops.maxDepth},
                                        {maxArgs, &o.listops.maxArgs},
                                        {maxLength, &o.listops.maxLength},
                                        {minLength, &o.listops.minLength}})
              if (given >= 0) *field = given;
            return take(data::loadCorpus(o));
          },
          nb::arg("count"), nb::arg("seed") = 1, nb::arg("max_depth") = -1, nb::arg("max_args") = -1,
          nb::arg("max_length") = -1, nb::arg("min_length") = -1, nb::arg("preset") = "")
      .def_static(
          "load",
          [](const std::string& path, const std::string& format, size_t limit) {
            data::CorpusOptions o;
            o.path = path;
            o.format = take(data::parseFormat(format));
            o.limit = limit;
            return take(data::loadCorpus(o));
          },
          nb::arg("path"), nb::arg("format"), nb::arg("limit") = 0)
      .def_static(
          "generate_listops",
          // More ListOps with an existing corpus's vocabulary (its ids), as
          // cairn-train makes its held-out set (excluding the training
          // examples) and its longer/deeper set.
          [](const data::Corpus& like, uint64_t seed, size_t count, int maxDepth, int maxArgs,
             int minLength, int maxLength, double nestProbability, const data::Corpus* exclude) {
            data::ListOpsConfig c;
            c.maxDepth = maxDepth;
            c.maxArgs = maxArgs;
            c.minLength = minLength;
            c.maxLength = maxLength;
            c.nestProbability = nestProbability;
            return take(data::generateListOpsCorpus(c, seed, count, like.vocab, exclude));
          },
          nb::arg("like"), nb::arg("seed"), nb::arg("count"), nb::arg("max_depth"),
          nb::arg("max_args"), nb::arg("min_length"), nb::arg("max_length"),
          nb::arg("nest_probability") = 0.5, nb::arg("exclude").none() = nb::none())
      .def(
          "truncate",
          [](data::Corpus& c, size_t n) {
            if (n < c.pairs.size()) c.pairs.resize(n);
            if (n < c.trees.size()) c.trees.resize(n);
          },
          nb::arg("count"))
      .def("first_tokens",
           // Each example's first token (ListOps: the root's operator,
           // "[MAX" ..., or the digit of a one-token example): what
           // cairn-train's accuracy by root operator groups by.
           [](const data::Corpus& c) {
             std::vector<std::string> out;
             for (const data::TreeExample& t : c.trees)
               out.push_back(t.sentence.tokens.empty() ? "" : t.sentence.tokens[0]);
             for (const data::NliExample& p : c.pairs)
               out.push_back(p.premise.tokens.empty() ? "" : p.premise.tokens[0]);
             return out;
           })
      .def_prop_ro("format", [](const data::Corpus& c) { return data::formatName(c.format); })
      .def_prop_ro("warnings", [](const data::Corpus& c) { return c.warnings; })
      .def("__len__", &data::Corpus::size)
      .def_prop_ro("vocab_size", [](const data::Corpus& c) { return c.vocab.size(); })
      .def_prop_ro("classes", &data::Corpus::classes)
      .def("lengths", &data::Corpus::lengths)
      .def("split_tail", &data::Corpus::splitTail)
      .def("batch", [](const data::Corpus& c, const std::vector<size_t>& indices) {
        for (size_t i : indices)
          if (i >= c.size()) throw nb::index_error("example index out of range");
        data::Batch b = data::makeBatch(c, indices);
        return nb::make_tuple(
            arrayFromTensor(std::move(b.tokens)), arrayFromTensor(std::move(b.transitions)),
            arrayFromTensor(std::move(b.lengths)), arrayFromTensor(std::move(b.labels)));
      });

  // Batches of similar length, as cairn-train draws them (a fresh order per
  // seed: every index once).
  m.def("bucket_by_length", &data::bucketByLength, nb::arg("lengths"), nb::arg("batch_size"),
        nb::arg("seed"));
  m.def("format_duration", &training::formatDuration, nb::arg("seconds"));
}

} // namespace cairn::python
