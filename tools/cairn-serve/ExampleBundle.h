// The example endpoints' models on disk (docs/serving.md, "Text endpoints"):
// a directory with
//
//   model.cairn           the model's text IR
//   weights.safetensors   its parameters, named as the IR's arguments
//   vocab.txt             the vocabulary, one token per line in id order
//                         (<pad>, <unk>, then the data's tokens)
//   tags.txt              (tagger) the tag names, one per line in class order
//
// cairn-spinn writes them (--export-snli, --export-tagger) with the
// vocabulary of the data it reads; cairn-serve loads them (--snli,
// --tagger); the tests write them directly. A vocabulary or tag file is
// text without a format of its own, so a token may not contain a newline
// (SNLI's parse tokens never do: they are split on spaces).
#pragma once

#include <string>
#include <vector>

#include "frontend/data/Dataset.h"
#include "frontend/models/BiRnn.h"
#include "frontend/models/Spinn.h"
#include "ir/Status.h"

namespace cairn::serve {

inline constexpr const char* kBundleModel = "model.cairn";
inline constexpr const char* kBundleWeights = "weights.safetensors";
inline constexpr const char* kBundleVocab = "vocab.txt";
inline constexpr const char* kBundleTags = "tags.txt";

/// The SNLI pair classifier of `cfg` (sizes; vocab from `vocab`, tracker
/// required) as two functions over one set of weights:
///   @snli_parsed(%tokens: tensor<2x?x?xi32>, %transitions: tensor<2x?x?xi32>,
///                %lengths: tensor<2x?xi32>, params...) -> tensor<?x3xf32>
///   @snli_predicted(%tokens, %lengths, params...) -> tensor<?x3xf32>
/// (the tracker's predictor chooses the moves, argmax). Weights: seeded with
/// `seed`, or the predicted-mode model's `<name>.npy` files in `paramsDir`.
Status writeSnliBundle(const std::string& dir, const data::Vocab& vocab, SpinnConfig cfg,
                       uint64_t seed, const std::string& paramsDir = "");

/// A BiLSTM tagger (frontend/models/BiRnn.h, one layer):
///   @tag(%tokens: tensor<?x?xi32>, %lengths: tensor<?xi32>, params...)
///       -> tensor<?x?xTxf32>, T = tags.size()
/// with weights seeded with `seed`.
Status writeTaggerBundle(const std::string& dir, const data::Vocab& vocab, BiRnnConfig cfg,
                         const std::vector<std::string>& tags, uint64_t seed);

/// The 17 universal part-of-speech tags (Universal Dependencies).
std::vector<std::string> universalPosTags();

/// One entry per line (a final newline optional); errors name the file.
StatusOr<std::vector<std::string>> readLines(const std::string& path);
Status writeLines(const std::string& path, const std::vector<std::string>& lines);

} // namespace cairn::serve
