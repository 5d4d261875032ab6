// Printing is a fixed point for every valid `.cairn` text in the repository:
// for each file (split on `// -----` like cairn-opt --split-input-file) that
// parses and verifies, print(parse(print(parse(f)))) == print(parse(f)).
// Invalid chunks (expected-error tests) are skipped; a file must have at
// least one valid chunk unless it is a diagnostics test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ir/DiagnosticVerifier.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> repoCairnFiles() {
  std::vector<fs::path> files;
  fs::path root(CAIRN_SOURCE_DIR);
  for (const char* dir : {"examples", "tests", "docs"})
    for (auto& e : fs::recursive_directory_iterator(root / dir))
      if (e.is_regular_file() && e.path().extension() == ".cairn") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST(RepoCairnFiles, PrintingIsAFixedPoint) {
  auto files = repoCairnFiles();
  ASSERT_GE(files.size(), 40u);
  int valid = 0;
  for (const fs::path& file : files) {
    std::string text = readFile(file);
    int validInFile = 0;
    for (const std::string& chunk : splitInputFile(text)) {
      auto m = parseModule(chunk, file.string());
      if (!m.isOk() || !verify(**m).isOk()) continue;
      std::string once = printModule(**m);
      auto again = parseModule(once, "printed");
      ASSERT_TRUE(again.isOk()) << file << ": printed form does not parse: "
                                << again.status().message() << "\n" << once;
      EXPECT_TRUE(verify(**again).isOk()) << file;
      EXPECT_EQ(printModule(**again), once) << file;
      ++validInFile;
    }
    // Error tests and the fuzz corpus hold invalid IR on purpose.
    bool diagnosticsTest = text.find("expected-error") != std::string::npos ||
                           text.find("not cairn-") != std::string::npos ||
                           file.string().find("/fuzz/") != std::string::npos;
    EXPECT_TRUE(validInFile > 0 || diagnosticsTest) << file << " has no valid IR";
    valid += validInFile;
  }
  EXPECT_GE(valid, 40);
}

TEST(RepoCairnFiles, PrintedExamplesRoundTripByteForByte) {
  // Files under examples/ are kept in printed form.
  for (auto& e : fs::directory_iterator(fs::path(CAIRN_SOURCE_DIR) / "examples")) {
    if (e.path().extension() != ".cairn") continue;
    std::string text = readFile(e.path());
    auto m = parseModule(text, e.path().string());
    ASSERT_TRUE(m.isOk()) << m.status().message();
    EXPECT_EQ(printModule(**m), text) << e.path();
  }
}
