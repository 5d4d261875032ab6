// runCommand and TempDir (Subprocess.h).
#include "compiler/codegen/Subprocess.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

extern char** environ; // for posix_spawnp

namespace cairn::codegen {

StatusOr<TempDir> TempDir::create(const std::string& stem) {
  const char* env = std::getenv("TMPDIR");
  std::string pattern = fmt::format("{}/{}-XXXXXX", env && *env ? env : "/tmp", stem);
  if (!::mkdtemp(pattern.data()))
    return errorf("cannot make a temporary directory {}: {}", pattern, std::strerror(errno));
  return TempDir(pattern);
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec; // best effort: a leftover temporary is no error
  std::filesystem::remove_all(path_, ec);
}

Status runCommand(const std::vector<std::string>& args) {
  if (args.empty()) return Status::error("runCommand: no command");
  std::string shown = fmt::format("{}", fmt::join(args, " "));
  CAIRN_ASSIGN_OR_RETURN(TempDir dir, TempDir::create("cairn-cmd"));
  std::string errPath = dir.path() + "/stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int e = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (e != 0) return errorf("cannot run '{}': {}", args[0], std::strerror(e));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errorf("'{}': waitpid: {}", shown, std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  std::ifstream in(errPath);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kTail = 2000; // enough for the first errors, not a flood
  if (err.size() > kTail) err = "..." + err.substr(err.size() - kTail);
  std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                      : fmt::format("signal {}", WTERMSIG(status));
  return errorf("'{}' failed ({}){}{}", shown, how, err.empty() ? "" : ":\n", err);
}

} // namespace cairn::codegen
