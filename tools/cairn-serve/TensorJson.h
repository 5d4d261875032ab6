// Tensors in requests and answers: {"dtype": "f32", "shape": [2, 3],
// "data": [row-major numbers]} (i1 as true/false or 0/1). Every field of a
// request is checked before anything is allocated: an unknown dtype, a bad
// shape, a size past the request's element limit or a data array of the
// wrong length is an error naming the input.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::serve {

/// Input `index` of a request; `maxElements` bounds its element count.
StatusOr<Tensor> tensorFromJson(const nlohmann::json& j, size_t index, int64_t maxElements);

nlohmann::json tensorToJson(const Tensor& t);

/// A type as the server describes signatures: {"dtype": "f32", "shape": [-1, 3]}.
nlohmann::json typeToJson(const TensorType& t);

} // namespace cairn::serve
