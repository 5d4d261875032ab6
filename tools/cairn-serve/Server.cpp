#include "Server.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "TensorJson.h"
#include "runtime/reference/OpEval.h"

namespace cairn::serve {

namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void fail(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  reply(res, status, {{"error", message}, {"code", code}});
}

/// Whether `inputs` fit `f`'s arguments: the client's mistake (400), told
/// apart from a run that fails later (422).
std::string signatureMismatch(const FunctionInfo& f, const std::vector<Tensor>& inputs) {
  if (inputs.size() != f.args.size())
    return fmt::format("function '{}' takes {} input(s), got {}", f.name, f.args.size(),
                       inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (std::string m = interp::typeMismatch(f.args[i], inputs[i].type()); !m.empty())
      return fmt::format("input #{}: {}", i, m);
  return "";
}

/// The request's limits: the server's deadline, or the request's shorter
/// `timeout_ms`, and the memory cap; nullopt for a bad `timeout_ms`.
std::optional<RunLimits> limitsOf(const json& body, std::chrono::steady_clock::time_point start,
                                  const ServerOptions& o) {
  int64_t timeoutMs = o.timeoutMs;
  if (auto t = body.find("timeout_ms"); t != body.end()) {
    if (!t->is_number_integer() || t->get<int64_t>() <= 0) return std::nullopt;
    timeoutMs = std::min(timeoutMs, t->get<int64_t>());
  }
  RunLimits limits = RunLimits().withTimeout(std::chrono::milliseconds(timeoutMs), start);
  limits.maxBytes = o.maxBytes;
  return limits;
}

} // namespace

Server::Server(ServerOptions options, std::map<std::string, std::unique_ptr<ServedModel>> models,
               std::map<std::string, std::unique_ptr<TextEndpoint>> endpoints)
    : o_(std::move(options)), models_(std::move(models)), endpoints_(std::move(endpoints)),
      http_(std::make_unique<httplib::Server>()) {
  o_.batch.inFlight = [this] { return inFlight_.load(); };
  if (o_.batch.maxRows > 0)
    for (const auto& [name, m] : models_) {
      auto e = endpoints_.find(name);
      for (const FunctionInfo& f : m->functions()) {
        if (e == endpoints_.end()) {
          if (Batcher::batchable(f))
            batchers_[name][f.name] = std::make_unique<Batcher>(*m, f, o_.batch);
          continue;
        }
        // An example endpoint's functions ignore padding (TextEndpoint.h):
        // its requests batch padded whatever --batch-pad says.
        std::vector<std::string> used = e->second->functions();
        if (std::find(used.begin(), used.end(), f.name) == used.end()) continue;
        BatchOptions padded = o_.batch;
        padded.pad = true;
        batchers_[name][f.name] = std::make_unique<Batcher>(*m, f, padded);
      }
    }
  routes();
}

StatusOr<std::vector<Tensor>> Server::runOne(const std::string& name, const ServedModel& model,
                                             const std::string& function,
                                             std::vector<Tensor> inputs, const RunLimits& limits) {
  if (auto bm = batchers_.find(name); bm != batchers_.end())
    if (auto bf = bm->second.find(function); bf != bm->second.end())
      return bf->second->run(std::move(inputs), limits);
  return model.run(function, inputs, limits);
}

Server::~Server() = default;

Server::InFlight::~InFlight() {
  --s.inFlight_;
  ++(res.status < 400 ? s.answered_ : s.failed_);
}

void Server::routes() {
  httplib::Server& s = *http_;
  int threads = o_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(o_.maxBodyBytes);
  // Answers go out at once: without it, Nagle's algorithm held a response's
  // body behind its headers until the client's delayed ACK, 40 ms per
  // request (bench/serve/run.sh: p50 42 ms at concurrency 1).
  s.set_tcp_nodelay(true);
  // A keep-alive connection serves many requests (httplib closes it after 5
  // by default): reconnecting clients overflowed the listen backlog and
  // waited out SYN retransmits, 1 s, 3 s, 7 s (bench/serve/run.sh's p99 at
  // concurrency 64).
  s.set_keep_alive_max_count(1000);
  s.set_read_timeout(5, 0); // a client that stops sending mid-request is dropped
  s.set_write_timeout(5, 0);
  size_t maxBody = o_.maxBodyBytes;
  s.set_error_handler([maxBody](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    // httplib's own refusals: 404 for no route, 413 for a large body. It
    // also refuses form-encoded bodies past 8 KB (a limit compiled into
    // Debian's library), which is what `curl -d` sends without a
    // Content-Type: say so, or a 20 KB request looks over a 16 MB limit.
    if (res.status != 413)
      fail(res, res.status, "NOT_FOUND", "no such endpoint");
    else if (req.get_header_value("Content-Type") == "application/x-www-form-urlencoded" &&
             req.get_header_value<uint64_t>("Content-Length") <= maxBody)
      fail(res, 413, "BODY_TOO_LARGE",
           "form-encoded bodies are limited to 8 KB by the HTTP library; send the request with "
           "'Content-Type: application/json' (up to " +
               std::to_string(maxBody) + " bytes)");
    else
      fail(res, 413, "BODY_TOO_LARGE",
           "request body is larger than the server's limit of " + std::to_string(maxBody) + " bytes");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::bad_alloc&) {
      what = "out of memory";
    } catch (const std::exception& e) {
      what = e.what();
    }
    fail(res, 500, "INTERNAL", what);
  });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "ok"}});
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (draining_) return fail(res, 503, "DRAINING", "the server is shutting down");
    reply(res, 200, {{"status", "ready"}, {"models", models_.size()}});
  });
  s.Get("/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
    Batcher::Stats b;
    for (const auto& [model, fns] : batchers_)
      for (const auto& [fn, batcher] : fns) {
        Batcher::Stats one = batcher->stats();
        b.requests += one.requests;
        b.batches += one.batches;
        b.rows += one.rows;
        b.retriedAlone += one.retriedAlone;
        b.paddedBatches += one.paddedBatches;
      }
    // Means over the answered :predict requests, in microseconds.
    int64_t n = predicted_.load();
    double handler = n ? predictNanos_.load() / 1e3 / static_cast<double>(n) : 0.0;
    double run = n ? predictRunNanos_.load() / 1e3 / static_cast<double>(n) : 0.0;
    json predictStats = {{"answered", n},
                         {"handler_us_mean", handler},
                         {"run_us_mean", run},
                         {"server_us_mean", handler - run}};
    reply(res, 200, {{"in_flight", inFlight_.load()}, {"answered", answered_.load()},
                     {"failed", failed_.load()}, {"draining", draining_.load()},
                     {"batching", {{"max_rows", o_.batch.maxRows},
                                   {"requests", b.requests},
                                   {"batches", b.batches},
                                   {"rows", b.rows},
                                   {"retried_alone", b.retriedAlone},
                                   {"pad", o_.batch.pad},
                                   {"padded_batches", b.paddedBatches}}},
                     {"predict", predictStats}});
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const auto& [name, m] : models_) {
      json fns = json::array();
      for (const FunctionInfo& f : m->functions()) {
        json args = json::array(), results = json::array();
        for (const TensorType& t : f.args) args.push_back(typeToJson(t));
        for (const TensorType& t : f.results) results.push_back(typeToJson(t));
        fns.push_back({{"name", f.name}, {"inputs", args}, {"outputs", results}});
      }
      json entry = {{"name", name}, {"kind", m->kind()}, {"functions", fns}};
      if (auto e = endpoints_.find(name); e != endpoints_.end())
        entry["endpoint"] = std::string(":") + e->second->verb();
      list.push_back(std::move(entry));
    }
    reply(res, 200, {{"models", list}});
  });
  s.Post(R"(/v1/models/([^/:]+):predict)", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    // Not refused while draining: a request accepted before the stop is
    // answered (the listening socket is closed, so no new one arrives).
    auto start = std::chrono::steady_clock::now();
    InFlight count(*this, res);
    auto it = models_.find(req.matches[1].str());
    if (it == models_.end())
      return fail(res, 404, "NOT_FOUND", fmt::format("no model '{}'", req.matches[1].str()));
    const ServedModel& model = *it->second;
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object())
      return fail(res, 400, "BAD_REQUEST", "the body is not a JSON object");
    std::string function = model.functions().empty() ? "" : model.functions()[0].name;
    if (auto f = body.find("function"); f != body.end()) {
      if (!f->is_string()) return fail(res, 400, "BAD_REQUEST", "\"function\" must be a string");
      function = f->get<std::string>();
    }
    const FunctionInfo* info = nullptr;
    for (const FunctionInfo& f : model.functions())
      if (f.name == function) info = &f;
    if (!info)
      return fail(res, 404, "NOT_FOUND",
                  fmt::format("model '{}' has no function '{}'", it->first, function));
    auto in = body.find("inputs");
    if (in == body.end() || !in->is_array())
      return fail(res, 400, "BAD_REQUEST", "\"inputs\" must be an array of tensors");
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < in->size(); ++i) {
      StatusOr<Tensor> t = tensorFromJson((*in)[i], i, o_.maxElements);
      if (!t.isOk())
        return fail(res, t.status().code() == StatusCode::kResourceExhausted ? 413 : 400,
                    t.status().code() == StatusCode::kResourceExhausted ? "TOO_LARGE"
                                                                        : "BAD_REQUEST",
                    t.status().message());
      inputs.push_back(std::move(t).value());
    }
    if (std::string m = signatureMismatch(*info, inputs); !m.empty())
      return fail(res, 400, "BAD_REQUEST", m);
    std::optional<RunLimits> limits = limitsOf(body, start, o_);
    if (!limits)
      return fail(res, 400, "BAD_REQUEST", "\"timeout_ms\" must be a positive integer");
    auto runStart = std::chrono::steady_clock::now();
    StatusOr<std::vector<Tensor>> out =
        runOne(it->first, model, function, std::move(inputs), *limits);
    auto runEnd = std::chrono::steady_clock::now();
    if (!out.isOk()) {
      TextReply r = runFailure(out.status());
      return reply(res, r.status, r.body);
    }
    json outputs = json::array();
    for (const Tensor& t : *out) outputs.push_back(tensorToJson(t));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    reply(res, 200, {{"model", it->first}, {"function", function}, {"outputs", outputs},
                     {"elapsed_ms", ms}});
    auto nanos = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
    predictRunNanos_ += nanos(runEnd - runStart);
    predictNanos_ += nanos(std::chrono::steady_clock::now() - start);
    ++predicted_;
  });
  s.Post(R"(/v1/models/([^/:]+):(classify|tag))", [this](const httplib::Request& req,
                                                         httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    InFlight count(*this, res);
    const std::string name = req.matches[1].str(), verb = req.matches[2].str();
    auto m = models_.find(name);
    if (m == models_.end()) return fail(res, 404, "NOT_FOUND", fmt::format("no model '{}'", name));
    auto e = endpoints_.find(name);
    if (e == endpoints_.end() || verb != e->second->verb())
      return fail(res, 404, "NOT_FOUND",
                  fmt::format("model '{}' has no :{} endpoint{}", name, verb,
                              e == endpoints_.end() ? " (its inputs are tensors: use :predict)"
                                                    : ""));
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object())
      return fail(res, 400, "BAD_REQUEST", "the body is not a JSON object");
    std::optional<RunLimits> limits = limitsOf(body, start, o_);
    if (!limits)
      return fail(res, 400, "BAD_REQUEST", "\"timeout_ms\" must be a positive integer");
    const ServedModel& model = *m->second;
    TextReply r = e->second->answer(
        body, o_.maxTokens, [&](const std::string& function, std::vector<Tensor> inputs) {
          return runOne(name, model, function, std::move(inputs), *limits);
        });
    if (r.status == 200)
      r.body["elapsed_ms"] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
    reply(res, r.status, r.body);
  });
}

namespace {

/// Debian's cpp-httplib is compiled with a listen backlog of 5: a burst of
/// clients connecting at once overflowed it (connections reset, or waiting
/// out SYN retransmits of 1 and 3 s). Listening again on the bound socket
/// raises the backlog (Linux updates it); the socket is found by its port,
/// as httplib does not hand it out.
void raiseListenBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    int bound = addr.ss_family == AF_INET
                    ? ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port)
                    : addr.ss_family == AF_INET6
                          ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                          : -1;
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

} // namespace

bool Server::run() {
  int port = o_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(o_.host);
    if (port < 0) port = -1;
  } else if (!http_->bind_to_port(o_.host, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "cairn-serve: error: cannot listen on %s:%d\n", o_.host.c_str(), o_.port);
    return false;
  }
  raiseListenBacklog(port);
  if (!o_.portFile.empty()) {
    std::ofstream f(o_.portFile + ".tmp");
    f << port << "\n";
    f.close();
    std::rename((o_.portFile + ".tmp").c_str(), o_.portFile.c_str()); // readers see it whole
  }
  std::printf("cairn-serve: %zu model(s) on http://%s:%d\n", models_.size(), o_.host.c_str(), port);
  std::fflush(stdout);
  http_->listen_after_bind();
  return true;
}

void Server::stop() {
  draining_ = true;
  http_->stop();
}

} // namespace cairn::serve
