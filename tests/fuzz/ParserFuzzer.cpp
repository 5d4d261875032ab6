// libFuzzer target for the text form: any input must parse or fail cleanly
// (no crash, hang, leak or out-of-bounds read), and whatever parses must
// print to text that parses again and prints identically (the round-trip
// promise of ir/Printer.h).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ir/Parser.h"
#include "ir/Printer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string first;
  {
    auto parsed = cairn::parseModule(text, "fuzz");
    if (!parsed.isOk()) return 0;
    first = cairn::printModule(**parsed);
  } // free the first module before building the second: constants can be large
  auto reparsed = cairn::parseModule(first, "printed");
  if (!reparsed.isOk()) {
    std::fprintf(stderr, "printed IR does not parse: %s\n--- printed ---\n%s",
                 reparsed.status().message().c_str(), first.c_str());
    std::abort();
  }
  std::string second = cairn::printModule(**reparsed);
  if (first != second) {
    std::fprintf(stderr, "print is not stable\n--- first ---\n%s--- second ---\n%s", first.c_str(),
                 second.c_str());
    std::abort();
  }
  return 0;
}
