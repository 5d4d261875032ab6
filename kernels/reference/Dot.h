// Reference kernel for `dot`: XLA's DotGeneral (batch and contracting dims).
//
// Accumulation: float products are formed and summed in double, in row-major
// order of the contracting index, and the sum is rounded once to the storage
// type (compiled GEMMs accumulate in f32 and in another order, so compare
// with a tolerance). Integer products and sums wrap (two's complement). i1 is
// rejected.
#pragma once

#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

struct DotDims {
  std::vector<int64_t> lhsBatch, rhsBatch, lhsContract, rhsContract;

  /// The op's attributes lhs_batch, rhs_batch, lhs_contract, rhs_contract,
  /// each defaulting on its own (as ir/TypeInference.cpp does): batch lists
  /// to [], lhs_contract to [lhs rank - 1], rhs_contract to [0]. Without
  /// attributes that is a matrix product.
  static DotDims fromAttrs(const AttrMap& attrs, int64_t lhsRank);
};

/// The result shape: batch dims (in lhsBatch order), then lhs's free dims,
/// then rhs's free dims, each in operand order.
StatusOr<Shape> dotShape(const Shape& lhs, const Shape& rhs, const DotDims& dims);

/// a and b share a dtype; the result has it too.
StatusOr<Tensor> dot(const Tensor& a, const Tensor& b, const DotDims& dims);

} // namespace cairn::kernels
