// The safetensors reader and writer (format and error policy in
// Safetensors.h). The header is parsed with nlohmann::json; a parser callback
// sees every key as it is read, which is the only way to catch duplicate
// names (a parsed json object silently keeps the last of two equal keys).
// nlohmann's exceptions stay inside this file: every one becomes a Status.
#include "runtime/Safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace cairn {

static_assert(std::endian::native == std::endian::little,
              "the safetensors code copies little-endian data as is");

namespace {

// Ordered objects: among tensors with equal offsets (zero-size ones) the
// header's order decides, so what the writer wrote comes back in its order.
using json = nlohmann::ordered_json;

constexpr std::string_view kMetadataKey = "__metadata__";
/// The reference implementation refuses headers above 100 MB; so do we, so a
/// corrupt length cannot make us parse (or allocate for) gigabytes of JSON.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", DType::F32},   {"F64", DType::F64}, {"F16", DType::F16},
                                 {"BF16", DType::BF16}, {"I32", DType::I32}, {"I64", DType::I64},
                                 {"BOOL", DType::I1}};

std::optional<DType> dtypeFromName(std::string_view name) {
  for (const DTypeName& d : kDTypes)
    if (name == d.name) return d.dtype;
  return std::nullopt;
}

/// One header entry before its data is read.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

/// A JSON value as a non-negative integer that fits int64, or nullopt.
std::optional<int64_t> asIndex(const json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i >= 0) return i;
  }
  return std::nullopt;
}

StatusOr<Entry> parseEntry(const std::string& name, const json& v) {
  if (name.empty()) return errorf("safetensors header: a tensor has an empty name");
  if (!v.is_object())
    return errorf("safetensors header: tensor '{}' is {} instead of an object with dtype, "
                  "shape and data_offsets",
                  name, v.type_name());
  for (const auto& [key, _] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      return errorf("safetensors header: tensor '{}' has unexpected key '{}' (expected dtype, "
                    "shape, data_offsets)",
                    name, key);
  Entry e;
  e.name = name;
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string())
    return errorf("safetensors header: tensor '{}' has no dtype string", name);
  std::optional<DType> dtype = dtypeFromName(dt->get<std::string>());
  if (!dtype)
    return errorf("safetensors header: tensor '{}' has unsupported dtype '{}' (Cairn reads F32, "
                  "F64, F16, BF16, I32, I64, BOOL)",
                  name, dt->get<std::string>());
  e.dtype = *dtype;
  auto shape = v.find("shape");
  if (shape == v.end() || !shape->is_array())
    return errorf("safetensors header: tensor '{}' has no shape array", name);
  for (const json& d : *shape) {
    std::optional<int64_t> n = asIndex(d);
    if (!n)
      return errorf("safetensors header: tensor '{}' has shape {} with a dim that is not a "
                    "non-negative integer",
                    name, shape->dump());
    e.shape.push_back(*n);
  }
  auto offsets = v.find("data_offsets");
  if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2 ||
      !asIndex((*offsets)[0]) || !asIndex((*offsets)[1]))
    return errorf("safetensors header: tensor '{}' needs data_offsets [begin, end] of two "
                  "non-negative integers",
                  name);
  e.begin = static_cast<uint64_t>(*asIndex((*offsets)[0]));
  e.end = static_cast<uint64_t>(*asIndex((*offsets)[1]));
  if (e.begin > e.end)
    return errorf("safetensors header: tensor '{}' has data_offsets [{}, {}] with begin after end",
                  name, e.begin, e.end);
  // Tensor sizes are int64 products, evaluated in dim order: a zero-size
  // shape like [2^40, 2^40, 0] would overflow before reaching its 0.
  int64_t nonZero = 1;
  for (int64_t n : e.shape)
    if (n != 0) {
      if (nonZero > std::numeric_limits<int64_t>::max() / n)
        return errorf("safetensors header: tensor '{}' has shape [{}], more than 2^63 elements",
                      name, fmt::join(e.shape, ", "));
      nonZero *= n;
    }
  // Byte count of the shape; a product past 64 bits is "too many" (a
  // mismatch like any other), never an overflow.
  uint64_t span = e.end - e.begin, bytes = static_cast<uint64_t>(dtypeSize(e.dtype));
  bool overflow = false;
  if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end()) bytes = 0;
  for (int64_t n : e.shape) {
    uint64_t un = static_cast<uint64_t>(n);
    if (bytes == 0 || overflow) break;
    if (bytes > std::numeric_limits<uint64_t>::max() / un)
      overflow = true;
    else
      bytes *= un;
  }
  if (overflow || bytes != span)
    return errorf("safetensors header: tensor '{}' of dtype {} and shape [{}] needs {} bytes but "
                  "its data_offsets [{}, {}] span {}",
                  name, dt->get<std::string>(), fmt::join(e.shape, ", "),
                  overflow ? std::string("more than 2^64") : std::to_string(bytes), e.begin, e.end,
                  span);
  return e;
}

StatusOr<std::map<std::string, std::string>> parseMetadata(const json& v) {
  if (!v.is_object())
    return errorf("safetensors header: __metadata__ is {} instead of an object of strings",
                  v.type_name());
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string())
      return errorf("safetensors header: __metadata__ value of '{}' is {} instead of a string", key,
                    value.type_name());
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

/// Parses the header text, rejecting duplicate keys in any object.
StatusOr<json> parseHeaderJson(std::string_view text) {
  std::vector<std::set<std::string>> seen; // keys of each open object
  std::string duplicate;
  int duplicateDepth = 0;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
      seen.emplace_back();
      break;
    case json::parse_event_t::object_end:
      if (!seen.empty()) seen.pop_back();
      break;
    case json::parse_event_t::key:
      if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second &&
          duplicate.empty()) {
        duplicate = parsed.get<std::string>();
        duplicateDepth = depth;
      }
      break;
    default:
      break;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    return errorf("safetensors header is not valid JSON: {}", e.what());
  }
  if (!duplicate.empty()) {
    if (duplicateDepth <= 1)
      return errorf("safetensors header: duplicate tensor name '{}'", duplicate);
    return errorf("safetensors header: duplicate key '{}' inside a tensor entry or __metadata__",
                  duplicate);
  }
  return header;
}

} // namespace

const Tensor* SafetensorsData::find(std::string_view name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return &tensors[i];
  return nullptr;
}

std::string_view safetensorsDTypeName(DType dtype) {
  for (const DTypeName& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  CAIRN_CHECK(false, "dtype {} has no safetensors name", dtypeName(dtype));
  return "";
}

StatusOr<SafetensorsData> decodeSafetensors(std::string_view bytes) {
  if (bytes.size() < 8)
    return errorf("not a safetensors file: {} bytes, too short for the 8-byte header length",
                  bytes.size());
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | static_cast<uint8_t>(bytes[i]);
  if (headerLen > bytes.size() - 8)
    return errorf("safetensors header length {} goes beyond the file ({} bytes after the length)",
                  headerLen, bytes.size() - 8);
  if (headerLen > kMaxHeaderBytes)
    return errorf("safetensors header length {} exceeds the {}-byte limit", headerLen,
                  kMaxHeaderBytes);
  std::string_view headerText = bytes.substr(8, headerLen);
  if (headerText.empty() || headerText[0] != '{')
    return errorf("safetensors header does not start with '{{' (not a safetensors file?)");
  CAIRN_ASSIGN_OR_RETURN(json header, parseHeaderJson(headerText));
  if (!header.is_object())
    return errorf("safetensors header is {} instead of a JSON object", header.type_name());

  SafetensorsData out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      CAIRN_ASSIGN_OR_RETURN(out.metadata, parseMetadata(value));
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(Entry e, parseEntry(name, value));
    entries.push_back(std::move(e));
  }

  // The data section must be covered exactly: sorted by offsets, each tensor
  // starts where the previous one ended, and the last ends at the file's end.
  std::string_view data = bytes.substr(8 + headerLen);
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.end > data.size())
      return errorf("safetensors: tensor '{}' has data_offsets [{}, {}] beyond the {}-byte data "
                    "section",
                    e.name, e.begin, e.end, data.size());
    if (e.begin < covered)
      return errorf("safetensors: tensor '{}' at [{}, {}] overlaps tensor '{}' at [{}, {}]", e.name,
                    e.begin, e.end, prev->name, prev->begin, prev->end);
    if (e.begin > covered)
      return errorf("safetensors: hole in the data section: bytes [{}, {}) before tensor '{}' "
                    "belong to no tensor",
                    covered, e.begin, e.name);
    covered = e.end;
    prev = &e;
  }
  if (covered != data.size())
    return errorf("safetensors: {} trailing bytes after the last tensor's data belong to no tensor",
                  data.size() - covered);

  for (const Entry& e : entries) {
    Tensor t(TensorType(e.dtype, e.shape));
    CAIRN_CHECK(t.byteSize() == e.end - e.begin, "size check above");
    if (t.byteSize()) std::memcpy(t.rawData(), data.data() + e.begin, t.byteSize());
    if (e.dtype == DType::I1) // any non-zero byte is true; keep bool storage canonical
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
    out.names.push_back(e.name);
    out.tensors.push_back(std::move(t));
  }
  return out;
}

StatusOr<std::string> encodeSafetensors(const SafetensorsData& data) {
  if (data.names.size() != data.tensors.size())
    return errorf("safetensors: {} names for {} tensors", data.names.size(), data.tensors.size());
  std::set<std::string_view> seen;
  json header = json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < data.names.size(); ++i) {
    const std::string& name = data.names[i];
    if (name.empty()) return errorf("safetensors: tensor {} has an empty name", i);
    if (name == kMetadataKey)
      return errorf("safetensors: '{}' is reserved and cannot name a tensor", kMetadataKey);
    if (!seen.insert(name).second) return errorf("safetensors: duplicate tensor name '{}'", name);
    const Tensor& t = data.tensors[i];
    json entry;
    entry["dtype"] = safetensorsDTypeName(t.dtype());
    entry["shape"] = t.shape();
    entry["data_offsets"] = {offset, offset + t.byteSize()};
    header[name] = std::move(entry);
    offset += t.byteSize();
  }
  if (!data.metadata.empty()) header[std::string(kMetadataKey)] = data.metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    return errorf("safetensors: a tensor name or metadata string is not valid UTF-8 ({})",
                  e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
  out += text;
  for (const Tensor& t : data.tensors)
    out.append(reinterpret_cast<const char*>(t.rawData()), t.byteSize());
  return out;
}

StatusOr<SafetensorsData> readSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errorf("{}: cannot open for reading", path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return errorf("{}: read error", path);
  StatusOr<SafetensorsData> d = decodeSafetensors(buf.str());
  if (!d.isOk()) return errorf("{}: {}", path, d.status().message());
  return d;
}

Status writeSafetensors(const std::string& path, const SafetensorsData& data) {
  StatusOr<std::string> bytes = encodeSafetensors(data);
  if (!bytes.isOk()) return errorf("{}: {}", path, bytes.status().message());
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return errorf("{}: cannot open for writing", tmp);
    out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    out.close();
    if (!out) return errorf("{}: write error", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return errorf("{}: cannot rename {} into place: {}", path, tmp, ec.message());
  return Status::ok();
}

} // namespace cairn
