// Every tool's main() runs its body through toolMain, so that running out
// of memory or any other C++ exception ends the tool with a message and
// exit status 1, never with std::terminate's abort and core dump.
#pragma once

#include <cstdio>
#include <exception>
#include <new>

namespace cairn {

template <typename Body> int toolMain(const char* tool, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory\n", tool);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
  }
  return 1;
}

} // namespace cairn
