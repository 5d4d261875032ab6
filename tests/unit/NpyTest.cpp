// Tests of the .npy reader/writer: round trips for every supported dtype, the
// exact bytes NumPy writes, and clear errors (never crashes) for unsupported
// or corrupt input.
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "runtime/Npy.h"

namespace cairn {
namespace {

/// A .npy file with `header` (padded as NumPy does) and raw `data`.
std::string makeNpy(const std::string& header, const std::string& data, int major = 1) {
  std::string h = header;
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64)
    h += ' ';
  h += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i)
    out += static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + data;
}

std::string bytesOf(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

std::string decodeError(const std::string& bytes) {
  auto t = decodeNpy(bytes);
  EXPECT_FALSE(t.isOk());
  return t.isOk() ? "" : t.status().message();
}

TEST(Npy, RoundTripEveryDType) {
  std::vector<Tensor> tensors = {
      Tensor::fromDoubles(TensorType(DType::F32, {2, 3}), {1, -2, 3.5, 0, 1e30, -0.25}),
      Tensor::fromDoubles(TensorType(DType::F64, {3}), {1e-300, -2, 3}),
      Tensor::fromDoubles(TensorType(DType::F16, {2}), {0.5, -65504}),
      Tensor::fromInts(TensorType(DType::I32, {2, 1}), {INT32_MIN, 7}),
      Tensor::fromInts(TensorType(DType::I64, {1}), {INT64_MAX}),
      Tensor::fromInts(TensorType(DType::I1, {3}), {1, 0, 1}),
      Tensor::fromDoubles(TensorType(DType::F32, {}), {4}),
      Tensor(TensorType(DType::F32, {0, 5})),
      Tensor::fromDoubles(TensorType(DType::F64, {2, 2, 2}), {1, 2, 3, 4, 5, 6, 7, 8}),
  };
  for (const Tensor& t : tensors) {
    auto bytes = encodeNpy(t);
    ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
    EXPECT_EQ(bytes->size() % 64, static_cast<size_t>(t.byteSize() % 64));
    auto back = decodeNpy(*bytes);
    ASSERT_TRUE(back.isOk()) << back.status().message();
    EXPECT_EQ(*back, t) << t.type().toString();
  }
}

TEST(Npy, WritesNumPysExactHeader) {
  Tensor t = Tensor::fromInts(TensorType(DType::I32, {3}), {1, 2, 3});
  auto bytes = encodeNpy(t);
  ASSERT_TRUE(bytes.isOk());
  // np.save(f, np.array([1, 2, 3], dtype="<i4")) with NumPy 2.4 writes these
  // 128 + 12 bytes (the dict, room for dim 0 to grow, padding, '\n').
  int32_t data[] = {1, 2, 3};
  std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict +
                         std::string(128 - 10 - dict.size() - 1, ' ') + "\n" + bytesOf(data, 12);
  EXPECT_EQ(*bytes, expected);
  Tensor m = Tensor(TensorType(DType::F64, {2, 3}));
  EXPECT_NE(encodeNpy(m)->find("'shape': (2, 3), }"), std::string::npos);
  Tensor s = Tensor(TensorType(DType::I1, {}));
  EXPECT_NE(encodeNpy(s)->find("{'descr': '|b1', 'fortran_order': False, 'shape': (), }"),
            std::string::npos);
}

TEST(Npy, ReadsVersion2AndOtherKeyOrders) {
  float data[] = {1.5f, -2.0f};
  std::string bytes =
      makeNpy("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}", bytesOf(data, 8), 2);
  auto t = decodeNpy(bytes);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->toDoubles(), (std::vector<double>{1.5, -2.0}));
}

TEST(Npy, ReadsPython2LongDims) {
  int64_t data[] = {5, 6};
  auto t = decodeNpy(
      makeNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 1L), }", bytesOf(data, 16)));
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->type().toString(), "tensor<2x1xi64>");
}

TEST(Npy, BoolBytesAreNormalized) {
  unsigned char data[] = {0, 2, 1};
  auto t = decodeNpy(
      makeNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", bytesOf(data, 3)));
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->toInts(), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(t->data<uint8_t>()[1], 1);
}

TEST(Npy, FortranOrderIsAnError) {
  EXPECT_NE(decodeError(makeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                                std::string(4, '\0')))
                .find("Fortran order"),
            std::string::npos);
}

TEST(Npy, BigEndianIsAnError) {
  EXPECT_NE(decodeError(makeNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                std::string(4, '\0')))
                .find("big-endian"),
            std::string::npos);
}

TEST(Npy, UnsupportedDTypesAreErrors) {
  for (const char* d : {"|u1", "<u4", "<c8", "|i1", "<U3", "|O"}) {
    std::string msg = decodeError(
        makeNpy(std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (1,), }",
                std::string(16, '\0')));
    EXPECT_NE(msg.find("unsupported .npy dtype"), std::string::npos) << d << ": " << msg;
  }
}

TEST(Npy, BF16CannotBeSaved) {
  auto r = encodeNpy(Tensor(TensorType(DType::BF16, {2})));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("bf16 has no NumPy dtype"), std::string::npos);
}

TEST(Npy, TruncatedAndCorruptFilesAreErrors) {
  std::string good =
      makeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", std::string(32, 'x'));
  ASSERT_TRUE(decodeNpy(good).isOk());
  // Every proper prefix of a valid file is an error, not a crash.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decodeNpy(good.substr(0, n)).isOk()) << n;
  EXPECT_NE(decodeError(good.substr(0, good.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(decodeError(good + "extra").find("corrupt"), std::string::npos);
  EXPECT_NE(decodeError("PK\x03\x04 not npy at all").find("not a .npy file"), std::string::npos);
  std::string badVersion = good;
  badVersion[6] = 9;
  EXPECT_NE(decodeError(badVersion).find("version 9.0"), std::string::npos);
}

TEST(Npy, HugeDimsBesideAZeroDimAreAnError) {
  // 2^40 x 2^40 x 0 holds no data, but its dims overflow int64 when multiplied.
  std::string e = decodeError(makeNpy(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776, 0), }", ""));
  EXPECT_NE(e.find("more than 2^62 elements"), std::string::npos) << e;
}

TEST(Npy, NeverCrashesOnSingleByteMutations) {
  std::string good =
      makeNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1), }", std::string(8, '\1'));
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'\0', '\x7f', '\xff', '(', ')', '\'', ',', '9', 'L', '}'}) {
      std::string bad = good;
      bad[i] = c;
      auto t = decodeNpy(bad); // ok or an error; either way no crash
      if (t.isOk()) {
        EXPECT_LE(t->byteSize(), bad.size());
      }
    }
  }
}

TEST(Npy, MalformedHeadersAreErrors) {
  for (const char* h : {"{'descr': '<f4', 'fortran_order': False}",
                        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,}",
                        "{'descr': '<f4 , 'fortran_order': False, 'shape': (1,)}",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
                        "['descr', '<f4']", "", "{'shape': (99999999999999999999,)}"}) {
    std::string msg = decodeError(makeNpy(h, std::string(4, '\0')));
    EXPECT_FALSE(msg.empty()) << h;
  }
}

TEST(Npy, HugeShapeDoesNotAllocate) {
  std::string msg = decodeError(makeNpy(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", "abcd"));
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(Npy, ZeroDimWithHugeOtherDimIsEmpty) {
  auto t = decodeNpy(
      makeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296), }", ""));
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->numElements(), 0);
}

TEST(Npy, FileRoundTripAndMissingFile) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("cairn_npy_test_" + std::to_string(::getpid()) + ".npy"))
                         .string();
  Tensor t = Tensor::fromDoubles(TensorType(DType::F32, {2}), {3, 4});
  ASSERT_TRUE(writeNpy(path, t).isOk());
  auto back = readNpy(path);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(*back, t);
  std::remove(path.c_str());
  auto missing = readNpy(path);
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
  EXPECT_FALSE(writeNpy("/nonexistent-dir/x.npy", t).isOk());
}

} // namespace
} // namespace cairn
