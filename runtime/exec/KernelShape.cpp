#include "runtime/exec/KernelShape.h"

#include <algorithm>

#include <fmt/format.h>

namespace cairn::exec {

Extent Extent::operator*(const Extent& o) const {
  Extent r{factor * o.factor, syms};
  r.syms.insert(r.syms.end(), o.syms.begin(), o.syms.end());
  std::sort(r.syms.begin(), r.syms.end());
  return r;
}

std::string Extent::toString() const {
  std::vector<std::string> parts;
  if (factor != 1 || syms.empty()) parts.push_back(std::to_string(factor));
  for (int32_t s : syms)
    parts.push_back(fmt::format("s{}", s));
  return fmt::format("{}", fmt::join(parts, "*"));
}

namespace {

bool evaluate(const Extent& e, const std::vector<int64_t>& sizes, int64_t& out) {
  int64_t v = e.factor;
  for (int32_t s : e.syms)
    if (__builtin_mul_overflow(v, sizes[static_cast<size_t>(s)], &v)) return false;
  out = v;
  return true;
}

} // namespace

bool evaluateKernelShape(const KernelShape& k, const std::vector<const Tensor*>& inputs,
                         KernelExtents& out) {
  return evaluateKernelShape(
      k, [&](const SizeSource& src, int64_t& v) {
        if (src.input < 0 || static_cast<size_t>(src.input) >= inputs.size()) return false;
        const Tensor& t = *inputs[static_cast<size_t>(src.input)];
        if (src.dim < 0) {
          if (t.rank() != 0 || !isInteger(t.dtype())) return false;
          v = t.getInt(0);
        } else {
          if (src.dim >= t.rank()) return false;
          v = t.shape()[static_cast<size_t>(src.dim)];
        }
        return true;
      },
      out);
}

bool evaluateKernelShape(const KernelShape& k, const SizeReader& read, KernelExtents& out) {
  thread_local std::vector<int64_t> sizes; // kept: this runs before every dynamic kernel
  sizes.clear();
  for (const SizeSource& src : k.sizes) {
    int64_t v = 0;
    if (!read(src, v) || v < 0) return false;
    sizes.push_back(v);
  }
  for (const ShapeCheck& c : k.checks) {
    int64_t a = 0, b = 0;
    if (!evaluate(c.a, sizes, a) || !evaluate(c.b, sizes, b) || a != b) return false;
  }
  out.params.resize(k.params.size());
  for (size_t i = 0; i < k.params.size(); ++i)
    if (!evaluate(k.params[i], sizes, out.params[i])) return false;
  out.outputs.resize(k.outputs.size());
  for (size_t o = 0; o < k.outputs.size(); ++o) {
    Shape& s = out.outputs[o];
    s.resize(k.outputs[o].size());
    int64_t total = 1;
    for (size_t d = 0; d < s.size(); ++d)
      if (!evaluate(k.outputs[o][d], sizes, s[d]) || __builtin_mul_overflow(total, s[d], &total))
        return false;
  }
  return true;
}

} // namespace cairn::exec
