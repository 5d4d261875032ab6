// Reading and writing named tensors in the safetensors format, Cairn's
// checkpoint format (the one Hugging Face, PyTorch and JAX tools exchange).
//
// Layout of a file:
//   8 bytes    N, the header length, unsigned little-endian
//   N bytes    a JSON object (UTF-8, may be padded with trailing spaces):
//                {"<name>": {"dtype": "F32", "shape": [2, 3],
//                            "data_offsets": [begin, end]}, ...,
//                 "__metadata__": {"<key>": "<string value>", ...}}
//   the rest   the data: each tensor's row-major little-endian bytes at
//              [begin, end) counted from the first byte after the header
//
// Dtypes: F32, F64, F16, BF16, I32, I64 and BOOL (Cairn's i1, one byte per
// element; a non-zero byte reads as true). Other safetensors dtypes (U8, I8,
// F8_*, ...) are rejected by name.
//
// The reader is strict and never trusts the file: every violation is an error
// Status naming the problem and, where there is one, the tensor: a header
// length beyond the file, JSON that does not parse or is not an object of
// the expected form, an unknown dtype, a shape whose byte count disagrees with
// its offsets, offsets out of the data section, tensors that overlap or leave
// holes or trailing bytes (the data must be covered exactly, as the
// reference implementation demands), duplicate names (also a duplicate key
// inside an entry). Tensors come back in data order (by begin offset), which
// is the order the writer was given.
//
// The writer lays tensors out in the given order, pads the header with
// spaces to a multiple of 8 bytes so the data section is aligned, and
// writes "__metadata__" only when there is metadata.
//
// Thread-safety: the functions are pure apart from the file they touch.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn {

/// The contents of one safetensors file: tensors with unique names (in file
/// order) and free-form string metadata.
struct SafetensorsData {
  std::vector<std::string> names;
  std::vector<Tensor> tensors; ///< tensors[i] is named names[i]
  std::map<std::string, std::string> metadata;

  /// The tensor named `name`, or nullptr.
  const Tensor* find(std::string_view name) const;
  bool operator==(const SafetensorsData&) const = default;
};

/// The safetensors spelling of a dtype ("F32", ..., "BOOL" for i1).
std::string_view safetensorsDTypeName(DType dtype);

/// Parses a whole safetensors file held in memory.
StatusOr<SafetensorsData> decodeSafetensors(std::string_view bytes);
/// The safetensors encoding of `data`. Fails on duplicate or empty-string
/// names, the reserved name "__metadata__", names or metadata that are not
/// valid UTF-8, and a names/tensors count mismatch.
StatusOr<std::string> encodeSafetensors(const SafetensorsData& data);

/// Reads the file at `path`; errors name the path.
StatusOr<SafetensorsData> readSafetensors(const std::string& path);
/// Writes `data` to `path` (through a temporary file renamed into place, so
/// an interrupted write never leaves a truncated checkpoint); errors name the
/// path.
Status writeSafetensors(const std::string& path, const SafetensorsData& data);

} // namespace cairn
