// The Elman RNN example file through the `cairn-run` tool: the checked-in
// examples/elman_rnn.cairn is exactly what the builder prints, and running it
// with .npy inputs matches the hand-written C++ loop to 1e-6.
//
// Regenerate the example after changing the builder or printer with
//   CAIRN_UPDATE_GOLDEN=1 build/tests/cairn_unit_tests --gtest_filter='ElmanRnnCairnRun*'
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "frontend/models/ElmanRnn.h"
#include "ir/Printer.h"
#include "runtime/Npy.h"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

const fs::path kExample = fs::path(CAIRN_SOURCE_DIR) / "examples" / "elman_rnn.cairn";
const fs::path kCairnRun = fs::path(CAIRN_BINARY_DIR) / "bin" / "cairn-run";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Tensor ramp(Shape shape, double scale, double phase) {
  TensorType t(DType::F32, std::move(shape));
  std::vector<double> v(static_cast<size_t>(t.numElements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * std::sin(0.37 * static_cast<double>(i) + phase);
  return Tensor::fromDoubles(t, v);
}

} // namespace

TEST(ElmanRnnCairnRun, ExampleFileIsWhatTheBuilderPrints) {
  Module m;
  buildElmanRnn(m, 2, 3, 4);
  std::string printed = printModule(m);
  if (std::getenv("CAIRN_UPDATE_GOLDEN")) std::ofstream(kExample, std::ios::binary) << printed;
  EXPECT_EQ(readFile(kExample), printed) << "regenerate with CAIRN_UPDATE_GOLDEN=1";
}

class ElmanRnnCairnRunSteps : public ::testing::TestWithParam<int64_t> {};

TEST_P(ElmanRnnCairnRunSteps, MatchesHandWrittenLoop) {
  ASSERT_TRUE(fs::exists(kCairnRun)) << kCairnRun << " not built";
  const int64_t steps = GetParam();
  fs::path dir = fs::temp_directory_path() /
                 ("cairn_rnn_" + std::to_string(::getpid()) + "_" + std::to_string(steps));
  fs::create_directories(dir);
  std::vector<Tensor> inputs = {ramp({steps, 2, 3}, 1.0, 0.1), ramp({2, 4}, 0.5, 0.7),
                                ramp({3, 4}, 0.8, 1.3), ramp({4, 4}, 0.6, 2.1),
                                ramp({4}, 0.2, 0.4)};
  std::string cmd = kCairnRun.string() + " " + kExample.string();
  for (size_t i = 0; i < inputs.size(); ++i) {
    fs::path p = dir / ("in" + std::to_string(i) + ".npy");
    ASSERT_TRUE(writeNpy(p.string(), inputs[i]).isOk());
    cmd += " --input " + p.string();
  }
  fs::path out = dir / "h.npy";
  cmd += " --save " + out.string() + " > " + (dir / "log.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readFile(dir / "log.txt");

  auto got = readNpy(out.string());
  ASSERT_TRUE(got.isOk()) << got.status().message();
  Tensor want = elmanRnnReference(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]);
  ASSERT_EQ(got->type(), want.type());
  for (int64_t i = 0; i < want.numElements(); ++i)
    EXPECT_NEAR(got->getDouble(i), want.getDouble(i), 1e-6) << "element " << i;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Steps, ElmanRnnCairnRunSteps, ::testing::Values(0, 1, 5, 40));
