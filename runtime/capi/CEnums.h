// The C API's enums (cairn_dtype, cairn_code) and their C++ counterparts
// (DType, StatusCode), converted one way in the C API and the other way in
// callers written in C++ over it (cairn-serve's AOT models). Internal to
// Cairn: it needs ir/, which an embedder of cairn.h does not have.
#pragma once

#include <cstring>
#include <type_traits>

#include "ir/Status.h"
#include "ir/Types.h"
#include "runtime/capi/cairn.h"

namespace cairn::capi {

/// The DType of a caller's cairn_dtype; a value outside the enum (a C
/// caller's 99) is an error. Taken by reference and read as an integer:
/// loading 99 as a cairn_dtype, even to pass it by value, is undefined
/// behaviour (UBSan's -fsanitize=enum reports it).
inline StatusOr<DType> dtypeOf(const cairn_dtype& d) {
  std::underlying_type_t<cairn_dtype> raw;
  std::memcpy(&raw, &d, sizeof raw);
  switch (raw) {
  case CAIRN_F32: return DType::F32;
  case CAIRN_F64: return DType::F64;
  case CAIRN_I32: return DType::I32;
  case CAIRN_I64: return DType::I64;
  case CAIRN_I1: return DType::I1;
  }
  return errorf("unknown cairn_dtype {}", static_cast<long long>(raw));
}

/// The cairn_dtype of `d`; f16 and bf16 have none.
inline StatusOr<cairn_dtype> cDtypeOf(DType d) {
  switch (d) {
  case DType::F32: return CAIRN_F32;
  case DType::F64: return CAIRN_F64;
  case DType::I32: return CAIRN_I32;
  case DType::I64: return CAIRN_I64;
  case DType::I1: return CAIRN_I1;
  default: break;
  }
  return errorf("dtype {} has no C API equivalent", dtypeName(d));
}

/// The cairn_code of a failed Status: its resource, deadline and
/// cancellation codes carry over; a plain error becomes `otherwise` (what
/// failed decides: a caller's bad input or a failed run).
inline cairn_code cCodeOf(const Status& s, cairn_code otherwise) {
  switch (s.code()) {
  case StatusCode::kResourceExhausted: return CAIRN_RESOURCE_EXHAUSTED;
  case StatusCode::kDeadlineExceeded: return CAIRN_DEADLINE_EXCEEDED;
  case StatusCode::kCancelled: return CAIRN_CANCELLED;
  case StatusCode::kError: break;
  }
  return otherwise;
}

/// The StatusCode of a cairn_code from the C API: the inverse of cCodeOf,
/// every other code a plain error.
inline StatusCode statusCodeOf(cairn_code c) {
  switch (c) {
  case CAIRN_RESOURCE_EXHAUSTED: return StatusCode::kResourceExhausted;
  case CAIRN_DEADLINE_EXCEEDED: return StatusCode::kDeadlineExceeded;
  case CAIRN_CANCELLED: return StatusCode::kCancelled;
  default: return StatusCode::kError;
  }
}

} // namespace cairn::capi
