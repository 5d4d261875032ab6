// NumPy arrays <-> Cairn Tensors, for the Python bindings.
//
// Out: a result Tensor is moved to the heap and handed to NumPy as the
// owner of the array's memory: no copy.
// In: an array that is row-major and aligned to its element size (NumPy's
// default, a result handed back, a contiguous slice) is borrowed, not
// copied: its Tensor reads the array's memory for the run (Tensor::borrow;
// the executor never writes an input, an update works on a copy). Strided
// or misaligned arrays are gathered into a row-major copy. As with
// torch.from_numpy, an array changed by another thread during a run (the
// GIL is released) gives that run undefined values.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "ir/Tensor.h"

namespace cairn::python {

namespace nb = nanobind;

using InArray = nb::ndarray<nb::ro, nb::device::cpu>;

/// The Cairn dtype of a DLPack dtype; throws nb::type_error for ones Cairn
/// has no type for (unsigned, complex, bf16 from NumPy, ...).
DType dtypeOf(nb::dlpack::dtype t);
/// A copy of `a` as a Tensor. Needs the GIL.
Tensor tensorFromArray(const InArray& a);
/// `t` as a NumPy array owning its storage (t is moved from). Needs the GIL.
nb::object arrayFromTensor(Tensor&& t);

/// `a` as a run's input: borrowed when its layout allows, else a copy. `a`
/// must outlive the Tensor (and the run). Needs the GIL.
Tensor inputFromArray(const InArray& a);

/// The inputs of one run (inputFromArray of each array). The arrays must
/// outlive it (the caller's argument list holds them).
class RunInputs {
public:
  explicit RunInputs(const std::vector<InArray>& arrays); // needs the GIL
  RunInputs(const RunInputs&) = delete;
  RunInputs& operator=(const RunInputs&) = delete;
  const std::vector<Tensor>& tensors() const { return tensors_; }

private:
  std::vector<Tensor> tensors_;
};

/// Counters for tests (a debug hook): arrays copied into Tensors and their
/// bytes, and arrays borrowed without a copy, since the process started.
struct InputStats {
  int64_t copied = 0, copiedBytes = 0, borrowed = 0;
};
InputStats inputStats();

} // namespace cairn::python
