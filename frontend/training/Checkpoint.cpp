// Checkpoints through safetensors: naming, type checks (Checkpoint.h).
#include "frontend/training/Checkpoint.h"

namespace cairn::training {

namespace {

constexpr const char* kStatePrefix = "optimizer.";

Status checkValues(const std::string& path, const std::vector<std::string>& names,
                   const std::vector<TensorType>& types, const std::vector<Tensor>& values,
                   const std::string& what) {
  if (values.size() != names.size())
    return errorf("{}: {} {} values for {} {}s", path, values.size(), what, names.size(), what);
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].type() != types[i])
      return errorf("{}: {} '{}' is {} but the value given is {}", path, what, names[i],
                    types[i].toString(), values[i].type().toString());
  return Status::ok();
}

} // namespace

Status saveCheckpoint(const std::string& path, const std::vector<std::string>& names,
                      const std::vector<Tensor>& tensors, const Metadata& metadata) {
  return writeSafetensors(path, SafetensorsData{names, tensors, metadata});
}

StatusOr<SafetensorsData> loadCheckpoint(const std::string& path) {
  return readSafetensors(path);
}

StatusOr<std::vector<Tensor>> takeTensors(const SafetensorsData& ckpt,
                                          const std::vector<std::string>& names,
                                          const std::vector<TensorType>& types,
                                          const std::string& what) {
  CAIRN_CHECK(names.size() == types.size(), "{} names, {} types", names.size(), types.size());
  std::vector<Tensor> out;
  out.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor* t = ckpt.find(names[i]);
    if (!t) return errorf("checkpoint has no tensor for {} '{}'", what, names[i]);
    if (t->type() != types[i])
      return errorf("checkpoint holds {} for {} '{}', expected {}", t->type().toString(), what,
                    names[i], types[i].toString());
    out.push_back(*t);
  }
  return out;
}

Status saveParamsCheckpoint(const std::string& path, const ParamStore& store,
                            const std::vector<Tensor>& values, const Metadata& metadata) {
  CAIRN_RETURN_IF_ERROR(checkValues(path, store.names(), store.types(), values, "parameter"));
  Metadata md = metadata;
  md.emplace("format", "cairn-checkpoint-v1");
  return saveCheckpoint(path, store.names(), values, md);
}

StatusOr<std::vector<Tensor>> loadParamsCheckpoint(const std::string& path,
                                                   const ParamStore& store) {
  CAIRN_ASSIGN_OR_RETURN(SafetensorsData ckpt, loadCheckpoint(path));
  StatusOr<std::vector<Tensor>> params =
      takeTensors(ckpt, store.names(), store.types(), "parameter");
  if (!params.isOk()) return errorf("{}: {}", path, params.status().message());
  return params;
}

Status saveTrainingCheckpoint(const std::string& path, const ParamStore& store,
                              const std::vector<Tensor>& params,
                              const std::vector<StateSpec>& specs, const std::vector<Tensor>& state,
                              Metadata metadata) {
  CAIRN_RETURN_IF_ERROR(checkValues(path, store.names(), store.types(), params, "parameter"));
  std::vector<std::string> stateNames;
  std::vector<TensorType> stateTypes;
  for (const StateSpec& s : specs) {
    stateNames.push_back(kStatePrefix + s.name);
    stateTypes.push_back(s.type);
  }
  CAIRN_RETURN_IF_ERROR(checkValues(path, stateNames, stateTypes, state, "optimizer state"));
  std::vector<std::string> names = store.names();
  names.insert(names.end(), stateNames.begin(), stateNames.end());
  std::vector<Tensor> tensors = params;
  tensors.insert(tensors.end(), state.begin(), state.end());
  metadata.emplace("format", "cairn-checkpoint-v1");
  return saveCheckpoint(path, names, tensors, metadata);
}

StatusOr<TrainingState> loadTrainingCheckpoint(const std::string& path, const ParamStore& store,
                                               const std::vector<StateSpec>& specs) {
  CAIRN_ASSIGN_OR_RETURN(SafetensorsData ckpt, loadCheckpoint(path));
  TrainingState out;
  StatusOr<std::vector<Tensor>> params =
      takeTensors(ckpt, store.names(), store.types(), "parameter");
  if (!params.isOk()) return errorf("{}: {}", path, params.status().message());
  std::vector<std::string> stateNames;
  std::vector<TensorType> stateTypes;
  for (const StateSpec& s : specs) {
    stateNames.push_back(kStatePrefix + s.name);
    stateTypes.push_back(s.type);
  }
  StatusOr<std::vector<Tensor>> state =
      takeTensors(ckpt, stateNames, stateTypes, "optimizer state");
  if (!state.isOk()) return errorf("{}: {}", path, state.status().message());
  out.params = std::move(*params);
  out.state = std::move(*state);
  out.metadata = std::move(ckpt.metadata);
  return out;
}

} // namespace cairn::training
