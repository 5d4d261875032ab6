// Reading and writing NumPy .npy files, the interchange format for inputs and
// outputs of cairn-run and of differential tests against NumPy/PyTorch.
//
// Supported: format versions 1.0, 2.0 and 3.0 (3.0 only differs in allowing a
// UTF-8 header), C order, little-endian dtypes '<f4' (f32), '<f8' (f64),
// '<f2' (f16), '<i4' (i32), '<i8' (i64) and '|b1' (i1). Everything else is a
// clear error: Fortran order, big-endian data, other dtypes such as '|u1', a
// truncated or corrupt file. bf16 has no NumPy dtype, so writing it fails
// (cast to f32 first). Writing uses version 1.0 unless the header needs 2.0.
//
// Thread-safety: the functions are pure apart from the file they touch.
#pragma once

#include <string>
#include <string_view>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn {

/// Parses a whole .npy file held in memory.
StatusOr<Tensor> decodeNpy(std::string_view bytes);
/// The .npy encoding of `t` (fails for bf16).
StatusOr<std::string> encodeNpy(const Tensor& t);

/// Reads the .npy file at `path`; errors name the path.
StatusOr<Tensor> readNpy(const std::string& path);
/// Writes `t` to `path` as .npy; errors name the path.
Status writeNpy(const std::string& path, const Tensor& t);

} // namespace cairn
