#include "runtime/device/RowKernels.h"

#include <fmt/format.h>

namespace cairn::device {

bool rowKernelFor(RowKernelKind kind, DType element, DType index, RowKernelDesc* out) {
  if (index != DType::I32 && index != DType::I64) return false;
  DType d = element;
  if (kind == RowKernelKind::ReduceSum) {
    if (d != DType::F32 && d != DType::F64) return false;
    index = DType::I32;
  } else if (kind == RowKernelKind::Iota) {
    if (d != DType::F32 && d != DType::F64 && d != DType::I32 && d != DType::I64) return false;
    index = DType::I32;
  } else if (kind == RowKernelKind::ScatterAdd || kind == RowKernelKind::Argmax) {
    if (d != DType::F32 && d != DType::F64 && d != DType::I32 && d != DType::I64) return false;
  } else {
    switch (dtypeSize(element)) { // one representative dtype per size
    case 1:
      d = DType::I1;
      break;
    case 2:
      d = DType::F16;
      break;
    case 4:
      d = DType::I32;
      break;
    case 8:
      d = DType::I64;
      break;
    default:
      return false;
    }
    if (kind == RowKernelKind::Strided) index = DType::I32;
  }
  *out = RowKernelDesc{kind, d, index};
  return true;
}

const std::vector<RowKernelDesc>& allRowKernels() {
  static const std::vector<RowKernelDesc> all = [] {
    std::vector<RowKernelDesc> v;
    for (DType index : {DType::I32, DType::I64}) {
      for (RowKernelKind kind : {RowKernelKind::Gather, RowKernelKind::Scatter,
                                 RowKernelKind::Slice, RowKernelKind::UpdateSlice})
        for (DType d : {DType::I1, DType::F16, DType::I32, DType::I64})
          v.push_back({kind, d, index});
      for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64}) {
        v.push_back({RowKernelKind::ScatterAdd, d, index});
        v.push_back({RowKernelKind::Argmax, d, index});
      }
    }
    for (DType d : {DType::F32, DType::F64})
      v.push_back({RowKernelKind::ReduceSum, d, DType::I32});
    for (DType d : {DType::I1, DType::F16, DType::I32, DType::I64})
      v.push_back({RowKernelKind::Strided, d, DType::I32});
    for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64})
      v.push_back({RowKernelKind::Iota, d, DType::I32});
    return v;
  }();
  return all;
}

std::string rowKernelName(const RowKernelDesc& k) {
  static const char* const kinds[] = {"gather", "scatter",      "scatter_add",
                                      "slice",  "update_slice", "reduce_sum",
                                      "argmax", "strided",      "iota"};
  const char* kind = kinds[static_cast<int>(k.kind)];
  bool moves = k.kind == RowKernelKind::Gather || k.kind == RowKernelKind::Scatter ||
               k.kind == RowKernelKind::Slice || k.kind == RowKernelKind::UpdateSlice ||
               k.kind == RowKernelKind::Strided;
  std::string element = moves ? fmt::format("b{}", dtypeSize(k.dtype)) // moves: bytes
                              : std::string(dtypeName(k.dtype));
  return fmt::format("cairn_rows_{}_{}_{}", kind, element, dtypeName(k.indexType));
}

} // namespace cairn::device
