// Running one ONNX node-test case, in-process or in a forked child.
//
// Classification: an import error that says the model uses something Cairn
// does not support (an op, a dtype, a sequence type) is Unsupported, with
// the importer's message as the reason; any other import error, a run-time
// error or a wrong value is Fail; a child that dies of a signal is Crash,
// one that runs out of its CPU-time limit is Timeout.
#include "RunCase.h"

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "compiler/codegen/cpu/CompileExecutable.h"
#include "frontend/onnx/OnnxImport.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

std::string oneLine(std::string s, size_t limit = 300) {
  for (char& c : s)
    if (c == '\n' || c == '\t' || c == '|') c = ' ';
  if (s.size() > limit) s = s.substr(0, limit) + "...";
  return s;
}

bool saysUnsupported(const std::string& m) {
  return m.find("unsupported") != std::string::npos || m.find("not supported") != std::string::npos;
}

/// First mismatch between `got` and `want`, or "" when they agree.
std::string compare(const Tensor& got, const Tensor& want, const CaseOptions& o) {
  if (got.dtype() != want.dtype() || got.shape() != want.shape())
    return fmt::format("got {}, expected {}", got.type().toString(), want.type().toString());
  for (int64_t i = 0; i < want.numElements(); ++i) {
    if (isFloat(want.dtype())) {
      double g = got.getDouble(i), w = want.getDouble(i);
      if (std::isnan(w) && std::isnan(g)) continue;
      if (std::isinf(w) && g == w) continue;
      if (!(std::fabs(g - w) <= o.atol + o.rtol * std::fabs(w)))
        return fmt::format("element {}: got {}, expected {}", i, g, w);
    } else if (got.getInt(i) != want.getInt(i)) {
      return fmt::format("element {}: got {}, expected {}", i, got.getInt(i), want.getInt(i));
    }
  }
  return "";
}

std::string compareAll(const std::vector<Tensor>& got, const std::vector<Tensor>& want,
                       const CaseOptions& o) {
  if (got.size() != want.size())
    return fmt::format("{} outputs, expected {}", got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    if (std::string m = compare(got[i], want[i], o); !m.empty())
      return fmt::format("output {}: {}", i, m);
  return "";
}

std::string stripPath(const std::string& message, const std::string& path) {
  if (message.rfind(path, 0) == 0 && message.size() > path.size() + 2)
    return message.substr(path.size() + 2);
  return message;
}

} // namespace

const char* resultName(CaseResult r) {
  switch (r) {
  case CaseResult::Pass:
    return "pass";
  case CaseResult::Fail:
    return "fail";
  case CaseResult::Unsupported:
    return "unsupported";
  case CaseResult::Crash:
    return "crash";
  case CaseResult::Timeout:
    return "timeout";
  }
  return "?";
}

CaseReport runCase(const std::string& dir, const CaseOptions& o) {
  namespace fs = std::filesystem;
  std::string model = (fs::path(dir) / "model.onnx").string();
  StatusOr<std::unique_ptr<Module>> m = importOnnxFile(model);
  if (!m.isOk()) {
    std::string msg = stripPath(m.status().message(), model);
    return {saysUnsupported(msg) ? CaseResult::Unsupported : CaseResult::Fail,
            oneLine("import: " + msg)};
  }
  fs::path data = fs::path(dir) / "test_data_set_0";
  std::vector<Tensor> inputs, expected;
  for (int i = 0;; ++i) {
    fs::path p = data / fmt::format("input_{}.pb", i);
    if (!fs::exists(p)) break;
    StatusOr<Tensor> t = readOnnxTensorFile(p.string());
    if (!t.isOk()) return {CaseResult::Unsupported, oneLine("input: " + t.status().message())};
    inputs.push_back(std::move(*t));
  }
  for (int i = 0;; ++i) {
    fs::path p = data / fmt::format("output_{}.pb", i);
    if (!fs::exists(p)) break;
    StatusOr<Tensor> t = readOnnxTensorFile(p.string());
    if (!t.isOk()) return {CaseResult::Unsupported, oneLine("output: " + t.status().message())};
    expected.push_back(std::move(*t));
  }
  const Function& f = *(*m)->functions().front();
  InterpreterOptions io;
  io.defaultMaxTrip = o.maxTrip;
  StatusOr<std::vector<Tensor>> out = interpret(f, inputs, io);
  if (!out.isOk()) return {CaseResult::Fail, oneLine("interpreter: " + out.status().message())};
  if (std::string d = compareAll(*out, expected, o); !d.empty())
    return {CaseResult::Fail, oneLine("interpreter: " + d)};
  if (!o.compiled) return {CaseResult::Pass, ""};
  auto exe = codegen::cpu::compileExecutable(**m);
  if (!exe.isOk()) return {CaseResult::Fail, oneLine("compile: " + exe.status().message())};
  exec::ExecOptions eo;
  eo.defaultMaxTrip = o.maxTrip;
  StatusOr<std::vector<Tensor>> cout = (*exe)->run(f.name, inputs, eo);
  if (!cout.isOk()) return {CaseResult::Fail, oneLine("compiled: " + cout.status().message())};
  if (std::string d = compareAll(*cout, expected, o); !d.empty())
    return {CaseResult::Fail, oneLine("compiled: " + d)};
  return {CaseResult::Pass, "interpreted and compiled"};
}

CaseReport runCaseIsolated(const std::string& dir, const CaseOptions& o, int seconds,
                           int memoryMiB) {
  int fds[2];
  if (pipe(fds) != 0) return {CaseResult::Crash, "pipe failed"};
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return {CaseResult::Crash, "fork failed"};
  if (pid == 0) {
    close(fds[0]);
    rlimit cpu{static_cast<rlim_t>(seconds), static_cast<rlim_t>(seconds) + 1};
    setrlimit(RLIMIT_CPU, &cpu);
    rlimit mem{static_cast<rlim_t>(memoryMiB) << 20, static_cast<rlim_t>(memoryMiB) << 20};
    setrlimit(RLIMIT_AS, &mem);
    // A wall-clock bound too: a child blocked without using CPU still ends.
    alarm(static_cast<unsigned>(seconds * 4));
    CaseReport r = runCase(dir, o);
    std::string line = fmt::format("{}\t{}", static_cast<int>(r.result), r.detail);
    ssize_t ignored = write(fds[1], line.data(), line.size());
    (void)ignored;
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string line;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    line.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGXCPU || sig == SIGALRM)
      return {CaseResult::Timeout, fmt::format("over the {} s limit", seconds)};
    return {CaseResult::Crash, fmt::format("killed by signal {} ({})", sig, strsignal(sig))};
  }
  size_t tab = line.find('\t');
  if (tab == std::string::npos)
    return {CaseResult::Crash,
            fmt::format("exited with status {} and no report", WEXITSTATUS(status))};
  return {static_cast<CaseResult>(std::stoi(line.substr(0, tab))), line.substr(tab + 1)};
}

} // namespace cairn
