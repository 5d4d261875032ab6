// TreeLSTM sentiment (SST): the SPINN encoder without a tracker, reading the
// tree's transitions (PI mode), and a linear layer from the root h to the five
// sentiment classes (docs/models.md). It is SpinnEncoder with a smaller
// configuration, not a second implementation.
#pragma once

#include <string>

#include "frontend/Builder.h"
#include "frontend/layers/Params.h"

namespace cairn {

struct TreeLstmConfig {
  int64_t vocab = 0;
  int64_t embed = 0;
  int64_t hidden = 0;
  int64_t classes = 5;
  /// Reduce only the reducing rows at each step (SpinnConfig::compactReduce).
  bool compactReduce = false;
};

/// `@<name>(%tokens: tensor<?x?xi32>, %transitions: tensor<?x?xi32>,
/// %lengths: tensor<?xi32>, params...) -> tensor<?x5xf32>`; parameters
/// `embed`, `projection`, `reduce` (as the SPINN encoder) then `out`
/// (Linear H -> classes). One `while`.
Function* buildTreeLstmSentiment(Module& m, ParamStore& ps, const TreeLstmConfig& cfg,
                                 const std::string& name = "treelstm_sentiment");

} // namespace cairn
