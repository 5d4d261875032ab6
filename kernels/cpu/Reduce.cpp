#include "kernels/cpu/Reduce.h"

namespace cairn::kernels::cpu {

bool isFastReduceSum(const Tensor& x, const std::vector<int64_t>& dims) {
  if (x.dtype() != DType::F32 && x.dtype() != DType::F64) return false;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= x.rank()) return false;
    if (i > 0 && dims[i] != dims[i - 1] + 1) return false;
  }
  return true;
}

Shape reducedShape(const Shape& x, const std::vector<int64_t>& dims) {
  Shape out;
  for (size_t d = 0, k = 0; d < x.size(); ++d) {
    if (k < dims.size() && dims[k] == static_cast<int64_t>(d)) {
      ++k;
      continue;
    }
    out.push_back(x[d]);
  }
  return out;
}

namespace {

template <typename T>
void sumAxis(const T* x, int64_t outer, int64_t reduced, int64_t inner, T* out,
             std::vector<double>& acc) {
  for (int64_t a = 0; a < outer; ++a) {
    const T* block = x + a * reduced * inner;
    T* o = out + a * inner;
    if (inner == 1) {
      double s = 0; // in index order: the reference's result, bit for bit
      for (int64_t r = 0; r < reduced; ++r)
        s += static_cast<double>(block[r]);
      o[0] = static_cast<T>(s);
      continue;
    }
    acc.assign(static_cast<size_t>(inner), 0.0);
    double* ac = acc.data();
    for (int64_t r = 0; r < reduced; ++r) {
      const T* row = block + r * inner;
      for (int64_t c = 0; c < inner; ++c)
        ac[c] += static_cast<double>(row[c]);
    }
    for (int64_t c = 0; c < inner; ++c)
      o[c] = static_cast<T>(ac[c]);
  }
}

} // namespace

void reduceSumInto(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out) {
  const Shape& s = x.shape();
  int64_t outer = 1, reduced = 1, inner = 1;
  int64_t first = dims.empty() ? x.rank() : dims.front();
  int64_t last = dims.empty() ? x.rank() - 1 : dims.back();
  for (int64_t d = 0; d < x.rank(); ++d)
    (d < first ? outer : d <= last ? reduced : inner) *= s[static_cast<size_t>(d)];
  if (out.numElements() == 0) return;
  std::vector<double> acc;
  if (x.dtype() == DType::F32)
    sumAxis(x.data<float>(), outer, reduced, inner, out.data<float>(), acc);
  else
    sumAxis(x.data<double>(), outer, reduced, inner, out.data<double>(), acc);
}

} // namespace cairn::kernels::cpu
