// ONNX recurrent layers (LSTM, GRU, RNN) as loops of Cairn ops: not yet
// converted; the table has no entry, so a model using them is reported
// unsupported, naming the node.
#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {

void registerRnnOps(ConverterTable&) {}

} // namespace cairn::onnx_import
