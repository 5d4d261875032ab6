// TreeLSTM sentiment as a configuration of the SPINN encoder (see the header).
#include "frontend/models/TreeLstmSentiment.h"

#include "frontend/layers/Layers.h"
#include "frontend/models/Spinn.h"

namespace cairn {

Function* buildTreeLstmSentiment(Module& m, ParamStore& ps, const TreeLstmConfig& cfg,
                                 const std::string& name) {
  SpinnConfig enc;
  enc.vocab = cfg.vocab;
  enc.embed = cfg.embed;
  enc.hidden = cfg.hidden;
  enc.trackerSize = 0;
  enc.predictTransitions = false;
  enc.compactReduce = cfg.compactReduce;
  SpinnEncoder encoder(ps, enc);
  Linear out(ps, "out", cfg.hidden, cfg.classes);

  const TensorType grid(DType::I32, {kDynamic, kDynamic}), rows(DType::I32, {kDynamic});
  std::vector<TensorType> types{grid, grid, rows};
  std::vector<std::string> names{"tokens", "transitions", "lengths"};
  for (const TensorType& t : ps.types())
    types.push_back(t);
  for (const std::string& n : ps.names())
    names.push_back(n);
  FunctionBuilder fb(m, name, types, names);
  ps.bind(fb, 3);
  SpinnOutputs r = encoder(fb.arg(0), fb.arg(1), fb.arg(2));
  return fb.ret({out(r.h).named("class_logits")});
}

} // namespace cairn
