// fork + a pipe: the child writes its SeedReport, the parent reads it back.
#include "Isolation.h"

#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace cairn {
namespace {

void putString(std::string& out, const std::string& s) {
  uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += s;
}

bool getString(std::string_view& in, std::string& s) {
  uint64_t n;
  if (in.size() < sizeof n) return false;
  std::memcpy(&n, in.data(), sizeof n);
  in.remove_prefix(sizeof n);
  if (in.size() < n) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

} // namespace

SeedReport runIsolated(uint64_t seed, const std::function<SeedReport()>& check) {
  int fds[2];
  if (pipe(fds) != 0) return check();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return check();
  }
  if (pid == 0) {
    close(fds[0]);
    SeedReport r = check();
    std::string out(1, static_cast<char>(r.outcome));
    for (const std::string* s : {&r.backend, &r.message, &r.program, &r.compiled})
      putString(out, *s);
    for (size_t done = 0; done < out.size();) {
      ssize_t n = write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) _exit(3);
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string in;
  char buf[1 << 16];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    in.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  SeedReport r;
  r.seed = seed;
  std::string_view view = in;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !view.empty()) {
    r.outcome = static_cast<SeedReport::Outcome>(view[0]);
    view.remove_prefix(1);
    if (getString(view, r.backend) && getString(view, r.message) && getString(view, r.program) &&
        getString(view, r.compiled))
      return r;
  }
  r.outcome = SeedReport::Outcome::Crash;
  r.message = WIFSIGNALED(status) ? fmt::format("crashed: signal {} ({})", WTERMSIG(status),
                                                strsignal(WTERMSIG(status)))
                                  : fmt::format("child exited with status {}", WEXITSTATUS(status));
  return r;
}

} // namespace cairn
