// safetensors: round trips of every dtype (scalars and zero-size tensors
// included), the exact bytes of a small file, and one named error per kind of
// corruption.
#include <fstream>

#include <gtest/gtest.h>

#include "TrainingTestUtil.h"
#include "runtime/Safetensors.h"

namespace cairn {
namespace {

/// A file from header text and data bytes.
std::string file(const std::string& header, const std::string& data = "") {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

/// decodeSafetensors must fail with a message containing every part.
void expectError(const std::string& bytes, const std::vector<std::string>& parts) {
  StatusOr<SafetensorsData> r = decodeSafetensors(bytes);
  ASSERT_FALSE(r.isOk()) << "decoded corrupt input";
  for (const std::string& p : parts)
    EXPECT_NE(r.status().message().find(p), std::string::npos)
        << "'" << p << "' not in: " << r.status().message();
}

SafetensorsData everyDType() {
  SafetensorsData d;
  uint32_t seed = 1;
  for (DType dt : kAllDTypes) {
    std::string n(dtypeName(dt));
    d.names.push_back(n + ".matrix");
    d.tensors.push_back(testing::randomTensorOf(TensorType(dt, {2, 3}), seed++, 100.0));
    d.names.push_back(n + ".scalar");
    d.tensors.push_back(testing::randomTensorOf(TensorType(dt, {}), seed++, 100.0));
    d.names.push_back(n + ".empty");
    d.tensors.push_back(Tensor(TensorType(dt, {4, 0, 2})));
  }
  d.metadata = {{"format", "pt"}, {"note", "ünïcödé ok"}};
  return d;
}

TEST(SafetensorsTest, RoundTripEveryDTypeScalarsAndEmpty) {
  SafetensorsData d = everyDType();
  StatusOr<std::string> bytes = encodeSafetensors(d);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
  StatusOr<SafetensorsData> back = decodeSafetensors(*bytes);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back->names, d.names);
  ASSERT_EQ(back->tensors.size(), d.tensors.size());
  for (size_t i = 0; i < d.tensors.size(); ++i)
    EXPECT_EQ(back->tensors[i], d.tensors[i]) << d.names[i];
  EXPECT_EQ(back->metadata, d.metadata);
  EXPECT_EQ(*back, d);
  ASSERT_NE(back->find("bf16.scalar"), nullptr);
  EXPECT_EQ(back->find("nope"), nullptr);
}

TEST(SafetensorsTest, FileRoundTrip) {
  SafetensorsData d = everyDType();
  std::string path = testing::tempPath("roundtrip.safetensors");
  ASSERT_TRUE(writeSafetensors(path, d).isOk());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  StatusOr<SafetensorsData> back = readSafetensors(path);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(*back, d);
  std::filesystem::remove(path);
  StatusOr<SafetensorsData> missing = readSafetensors(path);
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

TEST(SafetensorsTest, ExactBytesOfASmallFile) {
  SafetensorsData d;
  d.names = {"b", "a"};
  d.tensors = {Tensor::fromDoubles(TensorType(DType::F32, {2}), {1.0, -2.0}),
               Tensor::fromInts(TensorType(DType::I1, {}), {1})};
  StatusOr<std::string> bytes = encodeSafetensors(d);
  ASSERT_TRUE(bytes.isOk());
  std::string header = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("a":{"dtype":"BOOL","shape":[],"data_offsets":[8,9]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0\x01", 9);
  EXPECT_EQ(*bytes, file(header, data));
  EXPECT_EQ((bytes->size() - data.size()) % 8, 0u); // data section aligned
}

TEST(SafetensorsTest, ReadsFilesOfOtherWriters) {
  // Unsorted header keys, unpadded header, data in an order unlike the
  // header's, a non-canonical bool byte: all fine.
  std::string header = R"({"__metadata__":{"k":"v"},"z":{"dtype":"I32","shape":[1],)"
                       R"("data_offsets":[1,5]},"y":{"shape":[1],"dtype":"BOOL",)"
                       R"("data_offsets":[0,1]}})";
  StatusOr<SafetensorsData> r = decodeSafetensors(file(header, std::string("\x07\x05\0\0\0", 5)));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->names, (std::vector<std::string>{"y", "z"}));
  EXPECT_EQ(r->tensors[0].toInts(), std::vector<int64_t>{1});
  EXPECT_EQ(r->tensors[0].rawData()[0], std::byte{1});
  EXPECT_EQ(r->tensors[1].toInts(), std::vector<int64_t>{5});
  EXPECT_EQ(r->metadata.at("k"), "v");
}

TEST(SafetensorsTest, TruncatedAndBadLength) {
  expectError("", {"too short"});
  expectError(std::string("\x05\0\0\0", 4), {"too short"});
  std::string f = file(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", "abcd");
  f[0] = static_cast<char>(0xff);
  expectError(f, {"header length", "beyond the file"});
  expectError(std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10), {"beyond the file"});
  expectError(file(""), {"does not start with '{'"});
  expectError(file("[1,2]"), {"does not start with '{'"});
}

TEST(SafetensorsTest, BadJson) {
  expectError(file(R"({"a": {"dtype": "F32",)"), {"not valid JSON"});
  expectError(file("{\"a\xff\": 1}"), {"not valid JSON"});
  expectError(file(R"({"a": 1})"), {"tensor 'a'", "instead of an object"});
  expectError(file(R"({"__metadata__": {"k": 3}})"), {"__metadata__", "'k'", "string"});
  expectError(file(R"({"__metadata__": []})"), {"__metadata__"});
}

TEST(SafetensorsTest, BadEntries) {
  expectError(file(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})", "x"),
              {"tensor 'w'", "unsupported dtype 'U8'"});
  expectError(file(R"({"w": {"shape": [1], "data_offsets": [0, 1]}})", "x"),
              {"tensor 'w'", "no dtype"});
  expectError(file(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "xxxx"),
              {"tensor 'w'", "non-negative integer"});
  expectError(file(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", "xxxx"),
              {"tensor 'w'", "shape"});
  expectError(file(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", "xxxx"),
              {"tensor 'w'", "no shape"});
  expectError(file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", "xxxx"),
              {"tensor 'w'", "data_offsets"});
  expectError(file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", "xxxx"),
              {"tensor 'w'", "begin after end"});
  expectError(
      file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}})", "xxxx"),
      {"tensor 'w'", "unexpected key 'x'"});
  expectError(file(R"({"": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", "xxxx"),
              {"empty name"});
}

TEST(SafetensorsTest, ShapeByteCountMismatch) {
  expectError(file(R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})",
                   std::string(12, 'x')),
              {"tensor 'w'", "shape [2, 2]", "needs 16 bytes", "span 12"});
  // A product that would overflow 64 bits is a mismatch, not a crash.
  expectError(file(R"({"w": {"dtype": "F64", "shape": [1152921504606846976, 2],)"
                   R"( "data_offsets": [0, 8]}})",
                   std::string(8, 'x')),
              {"tensor 'w'", "needs more than 2^64 bytes"});
  expectError(file(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296, 16],)"
                   R"( "data_offsets": [0, 8]}})",
                   std::string(8, 'x')),
              {"tensor 'w'", "more than 2^63 elements"});
  // So is a zero-size shape whose other dims overflow int64.
  expectError(file(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 0],)"
                   R"( "data_offsets": [0, 0]}})"),
              {"tensor 'w'", "more than 2^63 elements"});
}

TEST(SafetensorsTest, OffsetsOutOfBoundsOverlapHolesTrailing) {
  expectError(file(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", "xxxx"),
              {"tensor 'w'", "beyond the 4-byte data section"});
  expectError(file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                   R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}})",
                   std::string(6, 'x')),
              {"tensor 'b'", "overlaps tensor 'a'"});
  expectError(file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                   R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [6, 10]}})",
                   std::string(10, 'x')),
              {"hole", "[4, 6)", "tensor 'b'"});
  expectError(
      file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", std::string(7, 'x')),
      {"3 trailing bytes"});
  expectError(file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                   R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                   std::string(4, 'x')),
              {"overlaps"});
}

TEST(SafetensorsTest, DuplicateNames) {
  expectError(file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                   R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                   std::string(8, 'x')),
              {"duplicate tensor name 'a'"});
  expectError(file(R"({"a": {"dtype": "F32", "dtype": "F32", "shape": [1],)"
                   R"( "data_offsets": [0, 4]}})",
                   std::string(4, 'x')),
              {"duplicate key 'dtype'"});
}

TEST(SafetensorsTest, WriterRejectsBadNames) {
  Tensor t(TensorType(DType::F32, {1}));
  EXPECT_FALSE(encodeSafetensors({{"a", "a"}, {t, t}, {}}).isOk());
  EXPECT_FALSE(encodeSafetensors({{"__metadata__"}, {t}, {}}).isOk());
  EXPECT_FALSE(encodeSafetensors({{""}, {t}, {}}).isOk());
  EXPECT_FALSE(encodeSafetensors({{"a"}, {t, t}, {}}).isOk());
  StatusOr<std::string> bad = encodeSafetensors({{"bad\xff"}, {t}, {}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("UTF-8"), std::string::npos) << bad.status().message();
  EXPECT_TRUE(encodeSafetensors({{}, {}, {}}).isOk()); // an empty file is valid
}

} // namespace
} // namespace cairn
