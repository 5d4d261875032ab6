// NumPy arrays <-> Cairn Tensors, for the Python bindings.
//
// Out: a result Tensor is moved to the heap and handed to NumPy as the
// owner of the array's memory: no copy. Such arrays are remembered (by data
// pointer) while they live.
// In: a Tensor owns its bytes (a std::vector; ir/Tensor.h) and the executor
// borrows Tensors, never raw pointers, so an arbitrary NumPy array is copied
// into a Tensor once per call; strided ones are gathered into row-major
// order. An array that is a whole Cairn result (its data, dtype, shape and
// row-major strides those of a live result Tensor) is not copied: its Tensor
// is moved into the run's inputs and back afterwards. That covers what a
// loop feeds back: a train step's parameters and optimizer state, a
// recurrent state.
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

/// The inputs of one run: a Tensor per array, copied (tensorFromArray), or
/// for an array that is a whole Cairn result, that result's own Tensor moved
/// in for the run and moved back when this object dies. The arrays must
/// outlive it (the caller's argument list holds them). Safe when other
/// threads pass the same array at once: the second finds the Tensor moved
/// out and copies from the array's memory, which stays valid.
class RunInputs {
public:
  explicit RunInputs(const std::vector<InArray>& arrays); // needs the GIL
  ~RunInputs();
  RunInputs(const RunInputs&) = delete;
  RunInputs& operator=(const RunInputs&) = delete;
  const std::vector<Tensor>& tensors() const { return tensors_; }

private:
  void collect(const std::vector<InArray>& arrays);
  void restore() noexcept;
  std::vector<Tensor> tensors_;
  std::vector<std::pair<size_t, Tensor*>> borrowed_; ///< input index, the result it came from
};

/// Counters for tests (a debug hook): arrays copied into Tensors and their
/// bytes, and arrays passed without a copy, since the process started.
struct InputStats {
  int64_t copied = 0, copiedBytes = 0, borrowed = 0;
};
InputStats inputStats();

} // namespace cairn::python
