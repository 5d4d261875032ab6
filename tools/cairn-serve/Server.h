// cairn-serve's HTTP face (cpp-httplib, Debian's libcpp-httplib-dev):
//   GET  /v1/models                     every model, its functions and signatures
//   POST /v1/models/{name}:predict      {"function": "f", "inputs": [tensor...],
//                                        "timeout_ms": 50} -> {"outputs": [tensor...]}
//   GET  /healthz                       200 while the process serves
//   GET  /readyz                        200 when models are loaded and it is not draining
//   GET  /v1/stats                      requests in flight, answered, failed; batches
//   POST /v1/models/{name}:classify     the SNLI example endpoint (TextEndpoint.h)
//   POST /v1/models/{name}:tag          the tagging example endpoint
// With batching on (ServerOptions::batch, Batcher.h), the requests for a
// function whose results lead with a dynamic batch dim run in batches.
// Errors are JSON {"error": "...", "code": "..."} with a 4xx/5xx status: 400
// a malformed request or inputs that do not fit the signature, 404 an
// unknown model or function, 413 a body or tensor past the limits or a run
// past the memory cap, 422 a run that failed (an index out of range, a loop
// past its bound), 504 a run past its deadline, 503 while draining.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "Batcher.h"
#include "ServedModel.h"
#include "TextEndpoint.h"

namespace httplib {
class Server;
struct Response;
} // namespace httplib

namespace cairn::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080; ///< 0: any free port (written to portFile)
  std::string portFile;
  int threads = 8;                        ///< requests served at once
  size_t maxBodyBytes = 16 << 20;         ///< larger bodies get 413
  int64_t maxElements = 16 << 20;         ///< per input tensor
  int64_t maxTokens = 256;                ///< per sentence of a text endpoint's request
  int64_t timeoutMs = 10000;              ///< default and upper bound of a request's deadline
  int64_t maxBytes = 0;                   ///< memory cap of one run (0: none)
  BatchOptions batch;                     ///< maxRows 0: every request runs alone
};

class Server {
public:
  /// `endpoints`: the text endpoints, by the name of their model in `models`.
  Server(ServerOptions options, std::map<std::string, std::unique_ptr<ServedModel>> models,
         std::map<std::string, std::unique_ptr<TextEndpoint>> endpoints = {});
  ~Server();
  /// Binds and serves until stop(); false when it cannot bind (message on stderr).
  bool run();
  /// Stops accepting; requests already accepted are answered first. Safe
  /// from another thread (a signal-handling one).
  void stop();

private:
  void routes();
  /// Runs `function` of model `name` for one request: through its batcher
  /// if it has one, else alone.
  StatusOr<std::vector<Tensor>> runOne(const std::string& name, const ServedModel& model,
                                       const std::string& function, std::vector<Tensor> inputs,
                                       const RunLimits& limits);
  ServerOptions o_;
  std::map<std::string, std::unique_ptr<ServedModel>> models_;
  std::map<std::string, std::unique_ptr<TextEndpoint>> endpoints_;
  /// By model, then function: the batchable functions when batching is on.
  std::map<std::string, std::map<std::string, std::unique_ptr<Batcher>>> batchers_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> inFlight_{0}, answered_{0}, failed_{0};
  /// Answered :predict requests, their time in the handler (body parsed to
  /// response body written) and the part of it in runOne (the model, and a
  /// batch's wait): the difference is the server's own work per request,
  /// /v1/stats "predict" (HTTP parsing and socket I/O, httplib's, excluded).
  std::atomic<int64_t> predicted_{0}, predictNanos_{0}, predictRunNanos_{0};

  /// One request in flight for its lifetime; counted answered or failed by
  /// its response's status when it ends.
  struct InFlight {
    Server& s;
    const httplib::Response& res;
    InFlight(Server& server, const httplib::Response& r) : s(server), res(r) { ++s.inFlight_; }
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
  };
};

} // namespace cairn::serve
