// ONNX TensorProto -> Cairn Tensor: initializers, Constant nodes' values and
// the test data of ONNX's conformance suite all come through here.
//
// Data may sit in raw_data (little-endian bytes, what exporters write), in
// the typed repeated fields (float_data, int32_data for bool/f16/bf16 bits,
// int64_data, double_data), or in an external file (data_location EXTERNAL,
// with location/offset/length keys). Every size is checked against the dims
// before a byte is copied: a malformed tensor is an error, never a read past
// the end.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "frontend/onnx/OnnxInternal.h"
#include "runtime/ReadFile.h"

namespace cairn::onnx_import {
namespace {

/// Largest tensor we accept, in elements: guards the multiplication of dims
/// and keeps a corrupt file from asking for terabytes.
constexpr int64_t kMaxElements = int64_t(1) << 34;

StatusOr<std::string> readExternal(const onnx::TensorProto& t, const std::string& baseDir,
                                   int64_t wantBytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    try {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    } catch (const std::exception&) {
      return errorf("external data key '{}' has a malformed value '{}'", kv.key(), kv.value());
    }
  }
  if (location.empty()) return errorf("external data without a 'location'");
  if (baseDir.empty())
    return errorf("external data '{}' but no model folder to find it in", location);
  std::filesystem::path rel(location);
  if (rel.is_absolute()) return errorf("external data location '{}' must be relative", location);
  for (const auto& part : rel)
    if (part == "..")
      return errorf("external data location '{}' leaves the model's folder", location);
  std::filesystem::path full = std::filesystem::path(baseDir) / rel;
  if (std::filesystem::is_directory(full))
    return errorf("external data location '{}' is a directory", location);
  std::ifstream in(full, std::ios::binary);
  if (!in) return errorf("cannot open external data file '{}'", full.string());
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  if (length < 0) length = size - offset;
  if (offset < 0 || offset > size || length != wantBytes || offset + length > size)
    return errorf("external data '{}' (offset {}, length {}, file size {}) does not hold the {} "
                  "bytes the tensor needs",
                  location, offset, length, size, wantBytes);
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) return errorf("cannot read external data file '{}'", full.string());
  return bytes;
}

template <typename Field> Status checkCount(const Field& field, int64_t n, const char* name) {
  if (static_cast<int64_t>(field.size()) != n)
    return errorf("{} holds {} values, the dims need {}", name, field.size(), n);
  return Status::ok();
}

} // namespace

StatusOr<Tensor> tensorFromProto(const onnx::TensorProto& t, const std::string& baseDir) {
  auto what = [&](const Status& s) { return errorf("tensor '{}': {}", t.name(), s.message()); };
  CAIRN_ASSIGN_OR_RETURN(DType dt, dtypeFromOnnx(t.data_type()));
  Shape shape;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) return what(errorf("negative dim {}", d));
    if (d != 0 && n > kMaxElements / d) return what(errorf("too many elements"));
    n *= d;
    shape.push_back(d);
  }
  if (t.has_segment()) return what(errorf("segmented tensors are not supported"));
  const int64_t bytes = n * dtypeSize(dt);
  // Check that the data is all there before allocating: corrupt dims must
  // not make us allocate what the file does not hold.
  if (t.data_location() != onnx::TensorProto::EXTERNAL) {
    int64_t have = 0;
    if (t.has_raw_data()) {
      if (static_cast<int64_t>(t.raw_data().size()) != bytes)
        return what(errorf("raw data has {} bytes, the dims and dtype need {}", t.raw_data().size(),
                           bytes));
      have = n;
    } else {
      switch (dt) {
      case DType::F32:
        have = t.float_data_size();
        break;
      case DType::F64:
        have = t.double_data_size();
        break;
      case DType::I64:
        have = t.int64_data_size();
        break;
      default:
        have = t.int32_data_size();
        break;
      }
    }
    if (have < n) return what(errorf("holds {} values, the dims need {}", have, n));
  }
  std::optional<std::string> external; // read (and size-checked) before allocating
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    StatusOr<std::string> raw = readExternal(t, baseDir, bytes);
    if (!raw.isOk()) return what(raw.status());
    external = std::move(*raw);
  }
  Tensor out(TensorType(dt, shape));
  auto copyRaw = [&](const std::string& raw) -> Status {
    if (static_cast<int64_t>(raw.size()) != bytes)
      return errorf("raw data has {} bytes, the dims and dtype need {}", raw.size(), bytes);
    // Cairn stores i1 as one byte, as ONNX's raw bool data is; x86-64 is
    // little-endian like ONNX's raw data.
    if (bytes) std::memcpy(out.rawData(), raw.data(), static_cast<size_t>(bytes));
    if (dt == DType::I1)
      for (int64_t i = 0; i < n; ++i)
        out.data<bool>()[i] = reinterpret_cast<const uint8_t*>(raw.data())[i] != 0;
    return Status::ok();
  };
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    Status s = copyRaw(*external);
    if (!s.isOk()) return what(s);
    return out;
  }
  if (t.has_raw_data()) {
    Status s = copyRaw(t.raw_data());
    if (!s.isOk()) return what(s);
    return out;
  }
  Status s = Status::ok();
  switch (dt) {
  case DType::F32:
    if (!(s = checkCount(t.float_data(), n, "float_data")).isOk()) break;
    for (int64_t i = 0; i < n; ++i)
      out.data<float>()[i] = t.float_data(static_cast<int>(i));
    break;
  case DType::F64:
    if (!(s = checkCount(t.double_data(), n, "double_data")).isOk()) break;
    for (int64_t i = 0; i < n; ++i)
      out.data<double>()[i] = t.double_data(static_cast<int>(i));
    break;
  case DType::I64:
    if (!(s = checkCount(t.int64_data(), n, "int64_data")).isOk()) break;
    for (int64_t i = 0; i < n; ++i)
      out.data<int64_t>()[i] = t.int64_data(static_cast<int>(i));
    break;
  case DType::I32:
  case DType::I1:
    if (!(s = checkCount(t.int32_data(), n, "int32_data")).isOk()) break;
    for (int64_t i = 0; i < n; ++i)
      out.setInt(i, t.int32_data(static_cast<int>(i)));
    break;
  case DType::F16:
  case DType::BF16: {
    // int32_data holds the 16-bit patterns, one per entry.
    if (!(s = checkCount(t.int32_data(), n, "int32_data")).isOk()) break;
    auto* p = reinterpret_cast<uint16_t*>(out.rawData());
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<uint16_t>(t.int32_data(static_cast<int>(i)));
    break;
  }
  }
  if (!s.isOk()) return what(s);
  return out;
}

StatusOr<DType> dtypeFromOnnx(int32_t elemType) {
  switch (elemType) {
  case onnx::TensorProto::FLOAT:
    return DType::F32;
  case onnx::TensorProto::DOUBLE:
    return DType::F64;
  case onnx::TensorProto::FLOAT16:
    return DType::F16;
  case onnx::TensorProto::BFLOAT16:
    return DType::BF16;
  case onnx::TensorProto::BOOL:
    return DType::I1;
  case onnx::TensorProto::INT32:
    return DType::I32;
  case onnx::TensorProto::INT64:
    return DType::I64;
  default:
    break;
  }
  std::string name =
      onnx::TensorProto::DataType_IsValid(elemType)
          ? onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(elemType))
          : fmt::format("#{}", elemType);
  return errorf("element type {} is not supported (Cairn has f32, f64, f16, bf16, bool, int32, "
                "int64)",
                name);
}

} // namespace cairn::onnx_import

namespace cairn {

StatusOr<Tensor> readOnnxTensorFile(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, readWholeFile(path));
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes))
    return errorf("{}: not a valid TensorProto (truncated or corrupt)", path);
  StatusOr<Tensor> out = onnx_import::tensorFromProto(t, "");
  if (!out.isOk()) return errorf("{}: {}", path, out.status().message());
  return out;
}

} // namespace cairn
