// Checkpoints: parameters and optimizer state in one safetensors file
// (runtime/Safetensors.h), readable by the safetensors Python package and
// therefore by PyTorch and JAX tools.
//
// A training checkpoint holds each parameter under its ParamStore name and
// each optimizer state tensor under "optimizer.<state name>" (e.g.
// "optimizer.step", "optimizer.proj.weight.exp_avg"), plus string metadata
// (the writer adds "format": "cairn-checkpoint-v1"). Loading checks that every
// expected tensor is present with the expected dtype and shape and names the
// first that is not; extra tensors are ignored, so a parameters-only loader
// can read a full training checkpoint.
//
// The .npy-directory format of Params.h (saveParams/loadParams) stays as is,
// for exchanging single tensors with NumPy.
//
// Thread-safety: pure apart from the file touched.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontend/layers/Params.h"
#include "frontend/training/Optimizers.h"
#include "runtime/Safetensors.h"

namespace cairn::training {

using Metadata = std::map<std::string, std::string>;

/// Writes tensors named `names` and `metadata` to `path` (safetensors).
Status saveCheckpoint(const std::string& path, const std::vector<std::string>& names,
                      const std::vector<Tensor>& tensors, const Metadata& metadata = {});
/// Reads every tensor and the metadata of `path`.
StatusOr<SafetensorsData> loadCheckpoint(const std::string& path);

/// The tensors `names` of `types` from `ckpt`, in that order; `what` ("parameter",
/// "optimizer state") words the error for a missing tensor or a wrong type.
StatusOr<std::vector<Tensor>> takeTensors(const SafetensorsData& ckpt,
                                          const std::vector<std::string>& names,
                                          const std::vector<TensorType>& types,
                                          const std::string& what);

/// Writes the store's parameters (checked against their declared types).
Status saveParamsCheckpoint(const std::string& path, const ParamStore& store,
                            const std::vector<Tensor>& values, const Metadata& metadata = {});
/// Reads the store's parameters, in store order.
StatusOr<std::vector<Tensor>> loadParamsCheckpoint(const std::string& path,
                                                   const ParamStore& store);

/// What a training checkpoint restores.
struct TrainingState {
  std::vector<Tensor> params; ///< store order
  std::vector<Tensor> state;  ///< optimizer state, in the layout of the specs given
  Metadata metadata;
};
/// Writes parameters and optimizer state (`specs` from Optimizer::stateSpecs
/// or TrainStep::state).
Status saveTrainingCheckpoint(const std::string& path, const ParamStore& store,
                              const std::vector<Tensor>& params,
                              const std::vector<StateSpec>& specs, const std::vector<Tensor>& state,
                              Metadata metadata = {});
StatusOr<TrainingState> loadTrainingCheckpoint(const std::string& path, const ParamStore& store,
                                               const std::vector<StateSpec>& specs);

} // namespace cairn::training
