// The device executor's row kernels: gather and scatter (scatter_add) along
// an axis, one thread per element, a fixed set compiled once per process
// (compiler/codegen/cuda/LowerToDevice.h lowers them; the runtime names and
// launches them). Every gather and scatter of the IR maps onto one launch:
//
//   x: [B..., P..., A, R...]  indices: [B..., Q...]  rows: [B..., P..., Q..., R...]
//   gather:      rows[b, p, q, r]  = x[b, p, idx[b, q], r]
//   scatter:     x[b, p, idx[b, q], r]  = rows[b, p, q, r]   (x updated in place)
//   scatter_add: x[b, p, idx[b, q], r] += rows[b, p, q, r]   (atomic adds)
//
// ABI: (ptr x, ptr indices, ptr rows, ptr errorFlag, i64 B, i64 P, i64 A,
// i64 Q, i64 R, i64 tag, i64 n = B*P*Q*R). An index outside [0, A) is
// skipped (a gather writes 0) and recorded: errorFlag[0] = tag,
// errorFlag[1] = the index; the executor reads the flag at its next
// synchronization and reports the op. A scatter with repeated indices keeps
// one of the rows, which one is unspecified on a GPU (the reference keeps
// the last); a scatter_add's float sums depend on the order of the atomics.
//
// The dynamic slices read their starts from device memory (no host read),
// rank 1 to 4 (lower ranks padded with leading dims of size 1):
//
//   slice:        rows[i] = x[start + i]      (i over the slice's sizes)
//   update_slice: x[start + i] = rows[i]      (x updated in place)
//
// ABI: (ptr x, ptr rows, ptr start0 .. start3 (null: 0), ptr errorFlag,
// i64 D0..D3 (x's dims), i64 S0..S3 (the slice's), i64 tag, i64 n). A start
// with start < 0 or start + size > dim is recorded as an index fault (the
// element skipped; a slice writes 0).
//
// The reductions over one axis (or contiguous dims folded into one), one
// thread per result element, in the reference's order and precision (so
// bit for bit): x [P, A, R] -> out [P, R].
//
//   reduce_sum: f32/f64, summed in f64 from a = 0 up, rounded once
//   argmax:     the first index of the maximum (a NaN counts as the
//               maximum, the first one wins), written as i32 or i64
//
// ABI: (ptr x, ptr out, i64 P, i64 A, i64 R, i64 n = P*R). A must be > 0
// for argmax (the executor leaves A = 0 to the reference's error).
//
// A strided copy moves every element of the result from x at strides of the
// executor's choosing: a transpose (x's strides permuted) and a broadcast
// (stride 0 along repeated dims) are each one launch. Rank up to 6 (lower
// ranks padded with leading dims of size 1):
//
//   strided: out[e] = x[sum_d unravel(e, D)_d * S_d]
//
// ABI: (ptr x, ptr out, i64 D0..D5 (out's dims), i64 S0..S5 (x's strides in
// elements), i64 n).
//
// iota writes each element's coordinate along one axis, converted to the
// result's dtype (i32, i64, f32, f64) as the reference converts it:
//
//   iota: out[p, a, r] = a        ABI: (ptr out, i64 A, i64 R, i64 n)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Types.h"

namespace cairn::device {

enum class RowKernelKind : uint8_t {
  Gather,
  Scatter,
  ScatterAdd,
  Slice,
  UpdateSlice,
  ReduceSum,
  Argmax,
  Strided,
  Iota
};

/// The highest rank a slice kernel takes.
constexpr int kMaxSliceRank = 4;
/// The highest rank a strided copy takes.
constexpr int kMaxStridedRank = 6;

struct RowKernelDesc {
  RowKernelKind kind = RowKernelKind::Gather;
  /// The moves (gathers, scatters, slices, strided copies) move bytes: one
  /// dtype stands for each size (i1: 1, f16: 2, i32: 4, i64: 8 bytes).
  /// ScatterAdd adds f32, f64, i32 or i64; ReduceSum sums f32 or f64;
  /// Argmax compares f32, f64, i32 or i64; Iota writes i32, i64, f32, f64.
  DType dtype = DType::I32;
  /// Of the indices or starts, or argmax's result: i32 or i64 (i32 for
  /// ReduceSum, Strided and Iota, which have none).
  DType indexType = DType::I32;
  bool operator==(const RowKernelDesc&) const = default;
};

/// The kernel that runs `kind` on elements of `element` indexed by `index`
/// (an element of any dtype moved by a gather maps to the integer type of
/// its size); false when there is none (scatter_add of i1, an index not i32/i64).
bool rowKernelFor(RowKernelKind kind, DType element, DType index, RowKernelDesc* out);

/// Every row kernel: what a device loads.
const std::vector<RowKernelDesc>& allRowKernels();

/// "cairn_rows_gather_b4_i64", "cairn_rows_scatter_add_f32_i32": the entry's name.
std::string rowKernelName(const RowKernelDesc& k);

} // namespace cairn::device
