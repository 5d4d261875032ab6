// The .npy reader and writer. The header is a Python dict literal; it is
// parsed by a tiny recursive-descent reader of exactly the literals NumPy
// writes (strings, True/False, tuples of integers), so no eval and no crash
// on garbage: every malformed byte ends in an error Status.
#include "runtime/Npy.h"

#include "runtime/ReadFile.h"

#include <bit>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace cairn {

static_assert(std::endian::native == std::endian::little,
              "the .npy code copies little-endian data as is");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct DTypeCode {
  const char* descr;
  DType dtype;
};
constexpr DTypeCode kCodes[] = {{"<f4", DType::F32}, {"<f8", DType::F64}, {"<f2", DType::F16},
                                {"<i4", DType::I32}, {"<i8", DType::I64}, {"|b1", DType::I1}};

/// One header value: a string, a bool or a tuple of integers.
struct HeaderValue {
  enum Kind { String, Bool, Tuple } kind = String;
  std::string str;
  bool boolean = false;
  std::vector<int64_t> ints;
};

class HeaderParser {
public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  StatusOr<std::map<std::string, HeaderValue>> parseDict() {
    std::map<std::string, HeaderValue> out;
    CAIRN_RETURN_IF_ERROR(expect('{'));
    while (!peekIs('}')) {
      CAIRN_ASSIGN_OR_RETURN(HeaderValue key, parseValue());
      if (key.kind != HeaderValue::String) return fail("expected a string key");
      CAIRN_RETURN_IF_ERROR(expect(':'));
      CAIRN_ASSIGN_OR_RETURN(HeaderValue value, parseValue());
      out[key.str] = std::move(value);
      if (!peekIs('}')) CAIRN_RETURN_IF_ERROR(expect(','));
    }
    CAIRN_RETURN_IF_ERROR(expect('}'));
    skipSpace();
    if (pos_ != s_.size()) return fail("unexpected text after the header dict");
    return out;
  }

private:
  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  bool peekIs(char c) {
    skipSpace();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  Status fail(const std::string& what) {
    return errorf("malformed .npy header at byte {}: {}", pos_, what);
  }
  Status expect(char c) {
    if (!peekIs(c)) return fail(fmt::format("expected '{}'", c));
    ++pos_;
    return Status::ok();
  }
  StatusOr<HeaderValue> parseValue() {
    skipSpace();
    if (pos_ >= s_.size()) return fail("unexpected end of header");
    HeaderValue v;
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      size_t end = s_.find(c, pos_ + 1);
      if (end == std::string_view::npos) return fail("unterminated string");
      v.str = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return v;
    }
    if (s_.substr(pos_, 4) == "True" || s_.substr(pos_, 5) == "False") {
      v.kind = HeaderValue::Bool;
      v.boolean = c == 'T';
      pos_ += v.boolean ? 4 : 5;
      return v;
    }
    if (c != '(') return fail("expected a string, True, False or a tuple");
    ++pos_;
    v.kind = HeaderValue::Tuple;
    while (!peekIs(')')) {
      CAIRN_ASSIGN_OR_RETURN(int64_t n, parseInt());
      v.ints.push_back(n);
      if (!peekIs(')')) CAIRN_RETURN_IF_ERROR(expect(','));
    }
    ++pos_;
    return v;
  }
  StatusOr<int64_t> parseInt() {
    skipSpace();
    size_t start = pos_;
    int64_t n = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      int digit = s_[pos_++] - '0';
      if (n > (std::numeric_limits<int64_t>::max() - digit) / 10) return fail("dim too large");
      n = n * 10 + digit;
    }
    if (pos_ == start) return fail("expected a non-negative integer");
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_; // Python 2 long suffix
    return n;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

uint32_t readLE(std::string_view b, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

} // namespace

StatusOr<Tensor> decodeNpy(std::string_view bytes) {
  if (bytes.size() < kMagicSize + 2 ||
      bytes.substr(0, kMagicSize) != std::string_view(kMagic, kMagicSize))
    return errorf("not a .npy file (missing the \\x93NUMPY magic)");
  int major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return errorf("unsupported .npy format version {}.{} (1.0, 2.0 and 3.0 are)", major, minor);
  size_t lenSize = major == 1 ? 2 : 4;
  size_t headerStart = 8 + lenSize;
  if (bytes.size() < headerStart) return errorf("truncated .npy file: no header length");
  size_t headerLen = readLE(bytes, 8, lenSize);
  if (bytes.size() - headerStart < headerLen)
    return errorf("truncated .npy file: header of {} bytes, only {} present", headerLen,
                  bytes.size() - headerStart);
  CAIRN_ASSIGN_OR_RETURN(auto dict, HeaderParser(bytes.substr(headerStart, headerLen)).parseDict());

  auto descr = dict.find("descr");
  auto order = dict.find("fortran_order");
  auto shapeIt = dict.find("shape");
  if (descr == dict.end() || descr->second.kind != HeaderValue::String)
    return errorf("malformed .npy header: no 'descr' string");
  if (order == dict.end() || order->second.kind != HeaderValue::Bool)
    return errorf("malformed .npy header: no 'fortran_order' boolean");
  if (shapeIt == dict.end() || shapeIt->second.kind != HeaderValue::Tuple)
    return errorf("malformed .npy header: no 'shape' tuple");
  if (order->second.boolean)
    return errorf(".npy file is in Fortran order; only C order is supported "
                  "(save np.ascontiguousarray(a))");
  const std::string& d = descr->second.str;
  std::optional<DType> dtype;
  for (const DTypeCode& c : kCodes)
    if (d == c.descr) dtype = c.dtype;
  if (!dtype) {
    if (!d.empty() && d[0] == '>')
      return errorf(".npy dtype '{}' is big-endian; only little-endian is supported", d);
    return errorf("unsupported .npy dtype '{}' (supported: <f4 <f8 <f2 <i4 <i8 |b1)", d);
  }

  Shape shape = shapeIt->second.ints;
  size_t dataStart = headerStart + headerLen;
  uint64_t available = bytes.size() - dataStart;
  uint64_t elemSize = static_cast<uint64_t>(dtypeSize(*dtype)), count = 1;
  bool empty = false;
  for (int64_t n : shape)
    empty |= n == 0;
  // An empty tensor holds no data, yet its other dims must still multiply
  // without overflow: element counts are computed dim by dim elsewhere
  // (Tensor, kernels). (Non-empty shapes are bounded by the data below.)
  uint64_t nonzero = 1;
  for (int64_t n : shape) {
    if (!empty || n <= 0) continue;
    if (nonzero > (uint64_t{1} << 62) / static_cast<uint64_t>(n))
      return errorf("corrupt .npy file: shape ({}) of {} has more than 2^62 elements",
                    shapeToString(shape), d);
    nonzero *= static_cast<uint64_t>(n);
  }
  for (int64_t n : shape) {
    if (empty) {
      count = 0;
      break;
    }
    // Guard the product: the data has to fit in the bytes present anyway.
    if (count > available / elemSize / static_cast<uint64_t>(n))
      return errorf("truncated .npy file: shape ({}) of {} needs more than the {} data bytes "
                    "present",
                    shapeToString(shape), d, available);
    count *= static_cast<uint64_t>(n);
  }
  if (count * elemSize != available)
    return errorf("{} .npy file: shape ({}) of {} needs {} data bytes, found {}",
                  count * elemSize > available ? "truncated" : "corrupt", shapeToString(shape), d,
                  count * elemSize, available);
  Tensor t(TensorType(*dtype, shape));
  if (available) std::memcpy(t.rawData(), bytes.data() + dataStart, available);
  if (*dtype == DType::I1) // any non-zero byte is true; keep bool storage canonical
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
  return t;
}

StatusOr<std::string> encodeNpy(const Tensor& t) {
  const char* descr = nullptr;
  for (const DTypeCode& c : kCodes)
    if (c.dtype == t.dtype()) descr = c.descr;
  if (!descr)
    return errorf("{} has no NumPy dtype; cast to f32 before saving to .npy", dtypeName(t.dtype()));
  std::string shape = "(";
  for (int64_t i = 0; i < t.rank(); ++i)
    shape += fmt::format("{}, ", t.shape()[i]);
  if (t.rank() >= 1) shape.erase(shape.size() - (t.rank() == 1 ? 1 : 2)); // "(3,)", "(2, 3)"
  shape += ")";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  // As NumPy >= 1.23 writes it, byte for byte: room to grow dim 0 to 21
  // digits in place, then spaces and '\n' so the data starts at a multiple
  // of 64 (a full 64 spaces when already aligned: NumPy's formula).
  if (t.rank() > 0) header.append(21 - std::to_string(t.shape()[0]).size(), ' ');
  size_t hlen = header.size() + 1;
  int major = 1;
  size_t prefix = 10;
  if (hlen + 64 - (prefix + hlen) % 64 > 65535) major = 2, prefix = 12;
  header.append(64 - (prefix + hlen) % 64, ' ');
  header += '\n';
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(t.rawData()), t.byteSize());
  return out;
}

StatusOr<Tensor> readNpy(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, readWholeFile(path));
  StatusOr<Tensor> t = decodeNpy(bytes);
  if (!t.isOk()) return errorf("{}: {}", path, t.status().message());
  return t;
}

Status writeNpy(const std::string& path, const Tensor& t) {
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, encodeNpy(t));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return errorf("{}: cannot open for writing", path);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return errorf("{}: write error", path);
  return Status::ok();
}

} // namespace cairn
