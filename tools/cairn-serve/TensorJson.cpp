#include "TensorJson.h"

#include <cmath>

#include <fmt/format.h>

namespace cairn::serve {

StatusOr<Tensor> tensorFromJson(const nlohmann::json& j, size_t index, int64_t maxElements) {
  auto bad = [&](const std::string& what) { return errorf("input #{}: {}", index, what); };
  if (!j.is_object()) return bad("must be an object with dtype, shape and data");
  auto dt = j.find("dtype"), sh = j.find("shape"), da = j.find("data");
  if (dt == j.end() || !dt->is_string()) return bad("needs \"dtype\" (f32, f64, i32, i64, i1)");
  std::optional<DType> dtype = parseDType(dt->get<std::string>());
  if (!dtype || *dtype == DType::F16 || *dtype == DType::BF16)
    return bad(fmt::format("unknown dtype '{}' (f32, f64, i32, i64, i1)", dt->get<std::string>()));
  if (sh == j.end() || !sh->is_array()) return bad("needs \"shape\", an array of sizes");
  if (sh->size() > 32) return bad(fmt::format("rank {} is over 32", sh->size()));
  Shape shape;
  int64_t elements = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return bad("shape entries must be integers >= 0");
    int64_t v = d.get<int64_t>();
    if (__builtin_mul_overflow(elements, v, &elements) || elements > maxElements)
      return Status::error(
          fmt::format("input #{}: more than the server's limit of {} elements", index, maxElements),
          StatusCode::kResourceExhausted);
    shape.push_back(v);
  }
  if (da == j.end() || !da->is_array()) return bad("needs \"data\", a flat array of numbers");
  if (static_cast<int64_t>(da->size()) != elements)
    return bad(fmt::format("shape {} has {} elements, data has {}", nlohmann::json(*sh).dump(),
                           elements, da->size()));
  Tensor t(TensorType(*dtype, shape));
  for (int64_t i = 0; i < elements; ++i) {
    const nlohmann::json& v = (*da)[static_cast<size_t>(i)];
    if (*dtype == DType::I1) {
      if (v.is_boolean()) t.setInt(i, v.get<bool>());
      else if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
        t.setInt(i, v.get<int64_t>());
      else return bad(fmt::format("element {} is not a boolean", i));
    } else if (isInteger(*dtype)) {
      if (!v.is_number_integer()) return bad(fmt::format("element {} is not an integer", i));
      int64_t x = v.get<int64_t>();
      if (*dtype == DType::I32 && (x < INT32_MIN || x > INT32_MAX))
        return bad(fmt::format("element {} ({}) does not fit i32", i, x));
      t.setInt(i, x);
    } else {
      if (!v.is_number()) return bad(fmt::format("element {} is not a number", i));
      t.setDouble(i, v.get<double>());
    }
  }
  return t;
}

nlohmann::json typeToJson(const TensorType& t) {
  return {{"dtype", std::string(dtypeName(t.dtype))}, {"shape", t.shape}};
}

nlohmann::json tensorToJson(const Tensor& t) {
  nlohmann::json j = typeToJson(t.type());
  nlohmann::json data = nlohmann::json::array();
  for (int64_t i = 0; i < t.numElements(); ++i) {
    if (t.dtype() == DType::I1) data.push_back(t.getInt(i) != 0);
    else if (isInteger(t.dtype())) data.push_back(t.getInt(i));
    else {
      double v = t.getDouble(i);
      // JSON has no NaN or infinity: they go as null, which a client sees.
      if (std::isfinite(v)) data.push_back(v);
      else data.push_back(nullptr);
    }
  }
  j["data"] = std::move(data);
  return j;
}

} // namespace cairn::serve
