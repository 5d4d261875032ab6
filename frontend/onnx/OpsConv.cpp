// ONNX convolution and pooling (Conv, MaxPool, AveragePool) on static
// shapes, written as a sum over kernel offsets: Cairn has no convolution op,
// and a window op would be a new op family. For each offset of the kernel,
// a strided `slice` of the padded input lines up the input elements that
// offset sees in every output position; MaxPool takes their elementwise max,
// AveragePool their sum over a count, Conv a `dot` with the weights' slice at
// that offset (contracting the channels). Kernels of exported models are
// small (3x3, 5x5): tens of slices, each fused or a GEMM.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

struct Window {
  std::vector<int64_t> kernel, strides, dilations, padBegin, padEnd, out;
  /// padEnd before the room added for ceil-mode windows (which is not
  /// padding an average counts).
  std::vector<int64_t> padEndDeclared;
};

/// Output sizes and paddings of a window op over x's spatial dims (2..).
Window windowOf(NodeContext& c, const Val& x, std::vector<int64_t> kernel, bool ceilMode) {
  const int64_t nd = x.rank() - 2;
  if (nd < 1 || static_cast<int64_t>(kernel.size()) != nd)
    throw InvalidModel("kernel_shape does not match the input's spatial dims");
  if (!x.type().hasStaticShape()) throw Unsupported("convolution or pooling of a dynamic shape");
  Window w;
  w.kernel = kernel;
  w.strides = c.attrInts("strides");
  w.dilations = c.attrInts("dilations");
  if (w.strides.empty()) w.strides.assign(nd, 1);
  if (w.dilations.empty()) w.dilations.assign(nd, 1);
  std::vector<int64_t> pads = c.attrInts("pads");
  if (pads.empty()) pads.assign(2 * nd, 0);
  if (static_cast<int64_t>(pads.size()) != 2 * nd || static_cast<int64_t>(w.strides.size()) != nd ||
      static_cast<int64_t>(w.dilations.size()) != nd)
    throw InvalidModel("pads, strides or dilations have the wrong length");
  std::string autoPad = c.attrString("auto_pad", "NOTSET");
  int64_t offsets = 1;
  for (int64_t k : w.kernel)
    offsets = k > 4096 ? 4097 : std::min<int64_t>(offsets * std::max<int64_t>(k, 0), 4097);
  if (offsets > 4096) throw Unsupported("a kernel of more than 4096 positions");
  for (int64_t i = 0; i < nd; ++i) {
    int64_t n = x.shape()[2 + i], k = w.kernel[i], s = w.strides[i], d = w.dilations[i];
    int64_t span = (k - 1) * d + 1;
    if (k <= 0 || s <= 0 || d <= 0)
      throw InvalidModel("kernel, strides and dilations must be positive");
    int64_t pb = pads[i], pe = pads[nd + i], o;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      o = (n + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (o - 1) * s + span - n);
      pb = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (autoPad == "VALID") {
      pb = pe = 0;
      o = (n - span) / s + 1;
    } else if (autoPad == "NOTSET") {
      int64_t room = n + pb + pe - span;
      o = (ceilMode ? (room + s - 1) / s : room / s) + 1;
      // A window must start inside the input or its leading padding.
      if (ceilMode && (o - 1) * s >= n + pb) --o;
      pe = std::max(pe, (o - 1) * s + span - n - pb); // room for ceil-mode windows
    } else {
      throw InvalidModel(fmt::format("unknown auto_pad '{}'", autoPad));
    }
    if (o <= 0) throw InvalidModel("the kernel is larger than the padded input");
    w.padBegin.push_back(pb);
    w.padEndDeclared.push_back(autoPad == "NOTSET" ? pads[nd + i] : pe);
    w.padEnd.push_back(pe);
    w.out.push_back(o);
  }
  return w;
}

/// x padded with `value` in its spatial dims.
Val padSpatial(const Val& x, const Window& w, double value) {
  Val r = x;
  for (size_t i = 0; i < w.kernel.size(); ++i) {
    int64_t d = static_cast<int64_t>(i) + 2;
    ValueList parts;
    auto block = [&](int64_t size) {
      Shape s = r.shape();
      s[d] = size;
      return r.builder().constant(value, TensorType(r.dtype(), s));
    };
    if (w.padBegin[i] > 0) parts.push_back(block(w.padBegin[i]));
    parts.push_back(r);
    if (w.padEnd[i] > 0) parts.push_back(block(w.padEnd[i]));
    if (parts.size() > 1) r = concat(parts, d);
  }
  return r;
}

/// Calls f(offset, slice) for every kernel offset, with the strided slice
/// of the padded input that offset sees: [N, C, out...].
void forEachOffset(const Val& padded, const Window& w,
                   const std::function<void(const std::vector<int64_t>&, const Val&)>& f) {
  const size_t nd = w.kernel.size();
  std::vector<int64_t> off(nd, 0);
  while (true) {
    std::vector<int64_t> start(padded.rank(), 0), limit = padded.shape(), stride(padded.rank(), 1);
    for (size_t i = 0; i < nd; ++i) {
      start[2 + i] = off[i] * w.dilations[i];
      limit[2 + i] = start[2 + i] + (w.out[i] - 1) * w.strides[i] + 1;
      stride[2 + i] = w.strides[i];
    }
    f(off, slice(padded, start, limit, stride));
    size_t i = nd;
    while (i > 0 && ++off[i - 1] == w.kernel[i - 1])
      off[--i] = 0;
    if (i == 0) return;
  }
}

template <bool Max> ValueList pool(NodeContext& c) {
  Val x = c.input(0);
  if (c.numOutputs() > 1 && c.wantsOutput(1)) throw Unsupported("MaxPool's indices output");
  if (!isFloat(x.dtype())) throw Unsupported("pooling of non-float values");
  Window w = windowOf(c, x, c.attrInts("kernel_shape"), c.attrInt("ceil_mode", 0) != 0);
  if (!Max && c.hasAttr("dilations")) throw Unsupported("AveragePool with dilations");
  double padValue = Max ? -std::numeric_limits<double>::infinity() : 0.0;
  Val padded = padSpatial(x, w, padValue);
  Val acc;
  forEachOffset(padded, w, [&](const std::vector<int64_t>&, const Val& s) {
    acc = !acc.valid() ? s : Max ? max(acc, s) : acc + s;
  });
  if (Max) return {acc};
  // The divisor of each output position: the window's size, or (without
  // count_include_pad) the number of input elements it covers.
  bool includePad = c.attrInt("count_include_pad", 0) != 0;
  Shape outShape(w.out.begin(), w.out.end());
  checkHostTable(numElements(outShape), "the average's counts");
  Tensor count(TensorType(x.dtype(), outShape));
  for (int64_t p = 0; p < count.numElements(); ++p) {
    int64_t rest = p, n = 1;
    for (size_t i = w.out.size(); i-- > 0;) {
      int64_t o = rest % w.out[i];
      rest /= w.out[i];
      int64_t lo = o * w.strides[i] - w.padBegin[i], hi = lo + w.kernel[i];
      int64_t size = x.shape()[2 + i];
      if (includePad)
        n *= std::min(hi, size + w.padEndDeclared[i]) - std::max(lo, -w.padBegin[i]);
      else
        n *= std::min(hi, size) - std::max<int64_t>(lo, 0);
    }
    count.setDouble(p, static_cast<double>(n));
  }
  Sizes full = sizesOf(acc);
  std::vector<int64_t> dims;
  for (size_t i = 0; i < w.out.size(); ++i)
    dims.push_back(static_cast<int64_t>(i) + 2);
  return {acc / broadcastInDim(c.b.constant(count), full, dims)};
}

/// One group's convolution: padded x [N, C, ...] with weights [M, C, k...].
Val convGroup(const Val& padded, const Val& wt, const Window& w) {
  const int64_t m = wt.shape()[0], ch = wt.shape()[1];
  Val acc;
  forEachOffset(padded, w, [&](const std::vector<int64_t>& off, const Val& s) {
    std::vector<int64_t> start(wt.rank(), 0), limit = wt.shape();
    for (size_t i = 0; i < off.size(); ++i) {
      start[2 + i] = off[i];
      limit[2 + i] = off[i] + 1;
    }
    Val k = reshape(slice(wt, start, limit), {m, ch}); // [M, C]
    DotDims dd;
    dd.lhsContract = {1};
    dd.rhsContract = {1};
    Val term = dot(s, k, dd); // [N, out..., M]
    acc = acc.valid() ? acc + term : term;
  });
  return moveAxis(acc, acc.rank() - 1, 1);
}

ValueList conv(NodeContext& c) {
  Val x = c.input(0), wt = c.input(1);
  if (x.rank() < 3 || !wt.type().hasStaticShape() || wt.rank() != x.rank())
    throw InvalidModel("weights must be [M, C, k...] with a static shape");
  std::vector<int64_t> kernel(wt.shape().begin() + 2, wt.shape().end());
  if (c.hasAttr("kernel_shape") && c.attrInts("kernel_shape") != kernel)
    throw InvalidModel("kernel_shape disagrees with the weights");
  Window w = windowOf(c, x, kernel, false);
  Val padded = padSpatial(x, w, 0.0);
  const int64_t groups = c.attrInt("group", 1), m = wt.shape()[0];
  const int64_t ch = padded.shape()[1];
  if (groups <= 0 || ch % groups != 0 || m % groups != 0 || wt.shape()[1] * groups != ch)
    throw InvalidModel("channels do not split into the groups");
  Val y;
  if (groups == 1) {
    y = convGroup(padded, wt, w);
  } else { // each group: its slice of the channels with its slice of the filters
    ValueList parts;
    for (int64_t g = 0; g < groups; ++g)
      parts.push_back(convGroup(sliceAxis(padded, 1, g * ch / groups, (g + 1) * ch / groups),
                                sliceAxis(wt, 0, g * m / groups, (g + 1) * m / groups), w));
    y = concat(parts, 1);
  }
  if (c.hasInput(2)) {
    Sizes full = sizesOf(y);
    y = y + broadcastInDim(c.input(2), full, {1});
  }
  return {y};
}

/// x with `size` zeros inserted along `axis` (static), before or after.
Val zeroPad(const Val& x, int64_t axis, int64_t before, int64_t after) {
  ValueList parts;
  auto zeros = [&](int64_t n) {
    Shape s = x.shape();
    s[axis] = n;
    return x.builder().constant(0.0, TensorType(x.dtype(), s));
  };
  if (before > 0) parts.push_back(zeros(before));
  parts.push_back(x);
  if (after > 0) parts.push_back(zeros(after));
  return parts.size() == 1 ? x : concat(parts, axis);
}

/// ConvTranspose: every input element spreads over the output through the
/// kernel. Per kernel offset, the channel product x W[:, :, off] is spread to
/// every s-th position (zeros interleaved by a pad and reshape), shifted by
/// off * dilation, and summed; then the pads are cropped.
ValueList convTranspose(NodeContext& c) {
  Val x = c.input(0), wt = c.input(1);
  if (c.attrInt("group", 1) != 1) throw Unsupported("grouped ConvTranspose");
  if (x.rank() < 3 || wt.rank() != x.rank())
    throw InvalidModel("ConvTranspose needs [N, C, ...] data and [C, M, k...] weights");
  if (!x.type().hasStaticShape() || !wt.type().hasStaticShape())
    throw Unsupported("ConvTranspose of dynamic shapes");
  const int64_t nd = x.rank() - 2, cin = wt.shape()[0], cout = wt.shape()[1];
  if (x.shape()[1] != cin) throw InvalidModel("input channels disagree with the weights");
  auto orDefault = [&](const char* name, int64_t dflt) {
    std::vector<int64_t> v = c.attrInts(name);
    if (v.empty()) v.assign(nd, dflt);
    if (static_cast<int64_t>(v.size()) != nd)
      throw InvalidModel(fmt::format("{} has the wrong length", name));
    return v;
  };
  std::vector<int64_t> strides = orDefault("strides", 1), dil = orDefault("dilations", 1),
                       outPad = orDefault("output_padding", 0);
  std::vector<int64_t> pads = c.attrInts("pads"), outShape = c.attrInts("output_shape");
  if (pads.empty()) pads.assign(2 * nd, 0);
  std::string autoPad = c.attrString("auto_pad", "NOTSET");
  int64_t offsets = 1;
  for (int64_t i = 0; i < nd; ++i)
    offsets = std::min<int64_t>(offsets * std::max<int64_t>(wt.shape()[2 + i], 0), 4097);
  if (offsets > 4096) throw Unsupported("a kernel of more than 4096 positions");
  std::vector<int64_t> full(nd), in(nd), kernel(nd);
  for (int64_t i = 0; i < nd; ++i) {
    in[i] = x.shape()[2 + i];
    kernel[i] = wt.shape()[2 + i];
    full[i] = strides[i] * (in[i] - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1;
    if (!outShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t want = outShape.empty() ? in[i] * strides[i] : outShape[outShape.size() - nd + i];
      int64_t total = full[i] - want;
      if (total < 0) { // a larger output_shape adds zeros at the end, as output_padding does
        full[i] -= total;
        total = 0;
      }
      bool upper = autoPad == "SAME_UPPER";
      pads[i] = upper ? total / 2 : total - total / 2;
      pads[nd + i] = total - pads[i];
    }
  }
  Val acc;
  std::vector<int64_t> off(nd, 0);
  while (true) {
    std::vector<int64_t> start(wt.rank(), 0), limit = wt.shape();
    for (int64_t i = 0; i < nd; ++i) {
      start[2 + i] = off[i];
      limit[2 + i] = off[i] + 1;
    }
    Val k = reshape(slice(wt, start, limit), {cin, cout});
    DotDims dd;
    dd.lhsContract = {1};
    dd.rhsContract = {0};
    Val t = moveAxis(dot(x, k, dd), x.rank() - 1, 1); // [N, Cout, in...]
    for (int64_t i = 0; i < nd; ++i) {
      int64_t axis = 2 + i, s = strides[i];
      if (s > 1) { // interleave s - 1 zeros after every element
        Shape sh = t.shape();
        Shape split = sh;
        split.insert(split.begin() + axis + 1, 1);
        Val col = zeroPad(reshape(t, Sizes(split.begin(), split.end())), axis + 1, 0, s - 1);
        sh[axis] *= s;
        t = sliceAxis(reshape(col, Sizes(sh.begin(), sh.end())), axis, 0, (in[i] - 1) * s + 1);
      }
      int64_t shift = off[i] * dil[i];
      t = zeroPad(t, axis, shift, full[i] - shift - ((in[i] - 1) * s + 1));
    }
    acc = acc.valid() ? acc + t : t;
    int64_t i = nd;
    while (i > 0 && ++off[i - 1] == kernel[i - 1])
      off[--i] = 0;
    if (i == 0) break;
  }
  for (int64_t i = 0; i < nd; ++i)
    acc = sliceAxis(acc, 2 + i, pads[i], full[i] - pads[nd + i]);
  if (c.hasInput(2)) {
    Sizes all = sizesOf(acc);
    acc = acc + broadcastInDim(c.input(2), all, {1});
  }
  return {acc};
}

} // namespace

void registerConvOps(ConverterTable& t) {
  t["Conv"] = conv;
  t["MaxPool"] = pool<true>;
  t["AveragePool"] = pool<false>;
  t["ConvTranspose"] = convTranspose;
}

} // namespace cairn::onnx_import
