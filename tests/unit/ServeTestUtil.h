// cairn-serve driven from the outside for ServeTest and ServeTextTest: the
// binary started with --port 0 and a port file, driven with httplib's
// client on loopback, stopped with SIGTERM.
#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace cairn::serve_test {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

inline const std::string kServe = std::string(CAIRN_BINARY_DIR) + "/bin/cairn-serve";

/// A running cairn-serve; stopped (SIGTERM) and reaped by the destructor.
class ServeProcess {
public:
  explicit ServeProcess(std::vector<std::string> extra) {
    dir_ = fs::temp_directory_path() /
           ("cairn-serve-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    std::vector<std::string> args = {kServe, "--port", "0", "--port-file", portFile()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen((dir_ / "log.txt").c_str(), "w", stderr);
      std::freopen("/dev/null", "w", stdout);
      std::vector<char*> argv;
      for (std::string& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kServe.c_str(), argv.data());
      std::_Exit(127);
    }
    // Up when the port file appears (or gone when the process exits).
    for (int i = 0; i < 3000 && port_ == 0; ++i) {
      std::ifstream f(portFile());
      if (!(f >> port_)) port_ = 0;
      int status = 0;
      if (port_ == 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        exitStatus_ = status;
        pid_ = -1;
        return;
      }
      if (port_ == 0) std::this_thread::sleep_for(10ms);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) stop();
    fs::remove_all(dir_);
  }
  int port() const { return port_; }
  /// SIGTERM and wait; the exit status.
  int stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, &exitStatus_, 0);
      pid_ = -1;
    }
    return exitStatus_;
  }
  int exitStatus() const { return exitStatus_; }
  std::string log() const {
    std::ifstream f(dir_ / "log.txt");
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

private:
  std::string portFile() const { return (dir_ / "port").string(); }
  static inline int counter_ = 0;
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exitStatus_ = -1;
};

inline int post(const ServeProcess& s, const std::string& path, const std::string& body,
                json* out = nullptr, const char* contentType = "application/json") {
  auto c = s.client();
  auto r = c.Post(path.c_str(), body, contentType);
  if (!r) {
    if (out) *out = json{{"client_error", httplib::to_string(r.error())}};
    return -1;
  }
  if (out) *out = json::parse(r->body, nullptr, false);
  return r->status;
}

} // namespace cairn::serve_test
