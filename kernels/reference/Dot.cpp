// The DotGeneral reference kernel: for every result element, a plain loop
// over the contracting index space, summed in f64 in index order and
// rounded once. O(result * contraction) and nothing clever, by design; the
// one concession is that a single contracting dim is walked by strides,
// several results at a time, in the same order and to the same bits, so
// that folding a constant product at compile time (fold-gathered-products'
// tables) takes a fraction of a second.
#include "kernels/reference/Dot.h"

#include <algorithm>

#include "kernels/reference/Elementwise.h"
#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {

DotDims DotDims::fromAttrs(const AttrMap& attrs, int64_t lhsRank) {
  DotDims d;
  auto get = [&](const char* name, std::vector<int64_t>& out) {
    auto it = attrs.find(name);
    if (it == attrs.end()) return false;
    if (auto* v = std::get_if<std::vector<int64_t>>(&it->second))
      out = *v;
    else if (auto* i = std::get_if<int64_t>(&it->second))
      out = {*i};
    return true;
  };
  get("lhs_batch", d.lhsBatch);
  get("rhs_batch", d.rhsBatch);
  if (!get("lhs_contract", d.lhsContract)) d.lhsContract = {lhsRank - 1};
  if (!get("rhs_contract", d.rhsContract)) d.rhsContract = {0};
  return d;
}

/// Each listed dim distinct and below rank; returns the free dims in order.
static StatusOr<std::vector<int64_t>> freeDims(const char* side, int64_t rank,
                                               const std::vector<int64_t>& batch,
                                               const std::vector<int64_t>& contract) {
  std::vector<int> uses(rank, 0);
  for (const auto* list : {&batch, &contract})
    for (int64_t d : *list) {
      if (d < 0 || d >= rank) return errorf("{} dim {} is out of range for rank {}", side, d, rank);
      if (uses[d]++) return errorf("{} dim {} is listed twice", side, d);
    }
  std::vector<int64_t> free;
  for (int64_t d = 0; d < rank; ++d)
    if (!uses[d]) free.push_back(d);
  return free;
}

StatusOr<Shape> dotShape(const Shape& lhs, const Shape& rhs, const DotDims& dims) {
  if (dims.lhsBatch.size() != dims.rhsBatch.size())
    return errorf("{} lhs batch dims but {} rhs batch dims", dims.lhsBatch.size(),
                  dims.rhsBatch.size());
  if (dims.lhsContract.size() != dims.rhsContract.size())
    return errorf("{} lhs contracting dims but {} rhs contracting dims", dims.lhsContract.size(),
                  dims.rhsContract.size());
  int64_t lr = static_cast<int64_t>(lhs.size()), rr = static_cast<int64_t>(rhs.size());
  CAIRN_ASSIGN_OR_RETURN(auto lf, freeDims("lhs", lr, dims.lhsBatch, dims.lhsContract));
  CAIRN_ASSIGN_OR_RETURN(auto rf, freeDims("rhs", rr, dims.rhsBatch, dims.rhsContract));
  Shape out;
  for (size_t i = 0; i < dims.lhsBatch.size(); ++i) {
    int64_t a = lhs[dims.lhsBatch[i]], b = rhs[dims.rhsBatch[i]];
    if (a != b)
      return errorf("batch dim sizes differ: lhs dim {} is {}, rhs dim {} is {}", dims.lhsBatch[i],
                    a, dims.rhsBatch[i], b);
    out.push_back(a);
  }
  for (size_t i = 0; i < dims.lhsContract.size(); ++i) {
    int64_t a = lhs[dims.lhsContract[i]], b = rhs[dims.rhsContract[i]];
    if (a != b)
      return errorf("contracting dim sizes differ: lhs dim {} is {}, rhs dim {} is {}",
                    dims.lhsContract[i], a, dims.rhsContract[i], b);
  }
  for (int64_t d : lf)
    out.push_back(lhs[d]);
  for (int64_t d : rf)
    out.push_back(rhs[d]);
  return out;
}

StatusOr<Tensor> dot(const Tensor& a, const Tensor& b, const DotDims& dims) {
  if (a.dtype() != b.dtype())
    return errorf("operand dtypes differ: {} vs {}", dtypeName(a.dtype()), dtypeName(b.dtype()));
  if (a.dtype() == DType::I1) return errorf("'dot' does not accept i1 operands");
  CAIRN_ASSIGN_OR_RETURN(Shape shape, dotShape(a.shape(), b.shape(), dims));
  CAIRN_ASSIGN_OR_RETURN(auto lf, freeDims("lhs", a.rank(), dims.lhsBatch, dims.lhsContract));
  CAIRN_ASSIGN_OR_RETURN(auto rf, freeDims("rhs", b.rank(), dims.rhsBatch, dims.rhsContract));
  Shape contractShape;
  for (int64_t d : dims.lhsContract)
    contractShape.push_back(a.shape()[d]);
  int64_t nb = static_cast<int64_t>(dims.lhsBatch.size());
  int64_t nlf = static_cast<int64_t>(lf.size());

  // Element offsets, in a and b, of every point of the contracting index
  // space (row-major), computed once: the inner loop is then a plain sum.
  std::vector<int64_t> as = a.strides(), bs = b.strides();
  std::vector<int64_t> aOff, bOff;
  for (int64_t c = 0; c < numElements(contractShape); ++c) {
    std::vector<int64_t> ci = unravel(c, contractShape);
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < ci.size(); ++i) {
      ao += ci[i] * as[dims.lhsContract[i]];
      bo += ci[i] * bs[dims.rhsContract[i]];
    }
    aOff.push_back(ao);
    bOff.push_back(bo);
  }
  bool isInt = isInteger(a.dtype());
  // Integer results accumulate in uint64 (wrapping), floats in double; both
  // land in a wide tensor that one cast narrows at the end.
  Tensor acc(TensorType(isInt ? DType::I64 : DType::F64, shape));
  std::vector<double> af = isInt ? std::vector<double>() : a.toDoubles();
  std::vector<double> bf = isInt ? std::vector<double>() : b.toDoubles();
  std::vector<int64_t> ai = isInt ? a.toInts() : std::vector<int64_t>();
  std::vector<int64_t> bi = isInt ? b.toInts() : std::vector<int64_t>();
  // Offsets of result element o's batch and free indices in a and b.
  auto bases = [&](int64_t o, int64_t& aBase, int64_t& bBase) {
    std::vector<int64_t> res = unravel(o, shape);
    aBase = 0, bBase = 0;
    for (int64_t i = 0; i < nb; ++i) {
      aBase += res[i] * as[dims.lhsBatch[i]];
      bBase += res[i] * bs[dims.rhsBatch[i]];
    }
    for (int64_t i = 0; i < nlf; ++i)
      aBase += res[nb + i] * as[lf[i]];
    for (size_t i = 0; i < rf.size(); ++i)
      bBase += res[nb + nlf + i] * bs[rf[i]];
  };
  if (!isInt && dims.lhsContract.size() == 1 && aOff.size() > 1) {
    // One contracting dim (constant folding's large products): the same
    // sums in the same order, with strides instead of the offset tables,
    // and kBlock results at once so that their additions overlap.
    constexpr int64_t kBlock = 8;
    int64_t n = static_cast<int64_t>(aOff.size()), sa = aOff[1], sb = bOff[1];
    int64_t total = acc.numElements();
    double* out = acc.data<double>();
    for (int64_t o0 = 0; o0 < total; o0 += kBlock) {
      int64_t m = std::min(kBlock, total - o0);
      const double* pa[kBlock];
      const double* pb[kBlock];
      double sum[kBlock] = {};
      for (int64_t j = 0; j < m; ++j) {
        int64_t aBase, bBase;
        bases(o0 + j, aBase, bBase);
        pa[j] = af.data() + aBase;
        pb[j] = bf.data() + bBase;
      }
      for (int64_t c = 0; c < n; ++c)
        for (int64_t j = 0; j < m; ++j)
          sum[j] += pa[j][c * sa] * pb[j][c * sb];
      for (int64_t j = 0; j < m; ++j)
        out[o0 + j] = sum[j];
    }
    return cast(acc, a.dtype());
  }
  for (int64_t o = 0; o < acc.numElements(); ++o) {
    int64_t aBase, bBase;
    bases(o, aBase, bBase);
    if (isInt) {
      uint64_t sum = 0;
      for (size_t c = 0; c < aOff.size(); ++c)
        sum +=
            static_cast<uint64_t>(ai[aBase + aOff[c]]) * static_cast<uint64_t>(bi[bBase + bOff[c]]);
      acc.data<int64_t>()[o] = static_cast<int64_t>(sum);
    } else {
      double sum = 0;
      for (size_t c = 0; c < aOff.size(); ++c)
        sum += af[aBase + aOff[c]] * bf[bBase + bOff[c]];
      acc.data<double>()[o] = sum;
    }
  }
  return cast(acc, a.dtype());
}

} // namespace cairn::kernels
