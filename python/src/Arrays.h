// NumPy arrays <-> Cairn Tensors, for the Python bindings.
//
// In: any CPU array nanobind can see (NumPy, or anything with DLPack) of a
// dtype Cairn has; strided (non-contiguous) arrays are gathered into the
// Tensor's row-major storage, so one copy is made whatever the layout (a
// Tensor owns its bytes; the executor borrows Tensors, never raw pointers).
// Out: a result Tensor is moved to the heap and handed to NumPy as the
// owner of the array's memory: no copy.
#pragma once

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

} // namespace cairn::python
