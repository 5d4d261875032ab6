// Reads text files line by line through zlib, which passes plain files
// through unchanged, so `.jsonl` and `.jsonl.gz` take the same path. The
// file is streamed in large chunks (SNLI train is ~470 MB unpacked), and the
// malformed-line policy of ReadOptions lives here, once for every reader.
#include <cerrno>
#include <cstring>
#include <memory>

#include <zlib.h>

#include "frontend/data/DataInternal.h"

namespace cairn::data {
namespace {

constexpr unsigned kChunk = 1u << 20;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

/// zlib's description of the stream's error, or "" when there is none.
/// A truncated stream leaves Z_BUF_ERROR ("unexpected end of file") behind.
std::string gzErrorText(gzFile f) {
  int code = Z_OK;
  const char* text = gzerror(f, &code);
  if (code == Z_OK) return "";
  if (code == Z_ERRNO) return std::strerror(errno);
  return text && *text ? text : fmt::format("zlib error {}", code);
}

bool isBlank(std::string_view line) {
  for (char c : line)
    if (c != ' ' && c != '\t') return false;
  return true;
}

} // namespace

Status forEachLine(const std::string& path, const ReadOptions& opts,
                   const std::function<Status(std::string_view, int64_t)>& onLine) {
  errno = 0;
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file)
    return errorf("{}: cannot open: {}", path, errno ? std::strerror(errno) : "out of memory");
  gzbuffer(file.get(), 1u << 18);

  std::string buffer;
  size_t start = 0; // first byte of the current (incomplete) line in buffer
  int64_t lineNumber = 0;
  bool eof = false;
  auto handle = [&](std::string_view line) -> Status {
    ++lineNumber;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (isBlank(line)) return Status::ok();
    Status s = onLine(line, lineNumber);
    if (s.isOk()) return s;
    std::string message = fmt::format("{}:{}: {}", path, lineNumber, s.message());
    if (!opts.skipMalformed) return Status::error(std::move(message));
    if (opts.warnings) opts.warnings->push_back(std::move(message));
    return Status::ok();
  };

  while (!eof) {
    // Keep the unfinished tail, then append the next chunk after it.
    buffer.erase(0, start);
    start = 0;
    size_t old = buffer.size();
    buffer.resize(old + kChunk);
    int got = gzread(file.get(), buffer.data() + old, kChunk);
    std::string zerr = gzErrorText(file.get());
    if (got < 0 || !zerr.empty())
      return errorf("{}: read failed after line {}: {}", path, lineNumber,
                    zerr.empty() ? "unknown error" : zerr);
    buffer.resize(old + static_cast<size_t>(got));
    eof = got == 0;

    size_t scanFrom = old;
    for (;;) {
      size_t nl = buffer.find('\n', scanFrom);
      if (nl == std::string::npos) break;
      CAIRN_RETURN_IF_ERROR(handle(std::string_view(buffer).substr(start, nl - start)));
      start = nl + 1;
      scanFrom = start;
    }
  }
  if (start < buffer.size()) // a last line without '\n'
    CAIRN_RETURN_IF_ERROR(handle(std::string_view(buffer).substr(start)));
  return Status::ok();
}

} // namespace cairn::data
