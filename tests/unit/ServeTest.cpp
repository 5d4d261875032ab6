// cairn-serve from the outside, on loopback, bounded in time: the binary is
// started with --port 0 and a port file, driven with httplib's client, and
// stopped with SIGTERM. Models: tests/unit/Inputs/limits.cairn, as the AOT
// shared object the build makes (through the C API) and as text (the JIT).
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "ServeTestUtil.h"
#include "runtime/Safetensors.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using cairn::DType;
using cairn::SafetensorsData;
using cairn::Tensor;
using cairn::TensorType;
using cairn::serve_test::kServe;
using cairn::serve_test::post;
using cairn::serve_test::ServeProcess;

const std::string kSo = std::string(CAIRN_BINARY_DIR) + "/tests/limits.so";
const std::string kText = std::string(CAIRN_SOURCE_DIR) + "/tests/unit/Inputs/limits.cairn";
const std::string kRagged = std::string(CAIRN_SOURCE_DIR) + "/tests/unit/Inputs/ragged.cairn";

json scalar(const char* dtype, json v) { return {{"dtype", dtype}, {"shape", json::array()}, {"data", {v}}}; }

json fillRequest(int64_t n, int64_t k) {
  return {{"function", "fill"},
          {"inputs", {scalar("f32", 2.5), scalar("i64", n), scalar("i64", k)}}};
}

TEST(ServeTest, ServesAotAndJitModels) {
  ServeProcess s({"--model", "aot=" + kSo, "--model", "jit=" + kText});
  ASSERT_GT(s.port(), 0) << s.log();
  auto c = s.client();
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  json m = json::parse(models->body);
  ASSERT_EQ(m["models"].size(), 2u);
  EXPECT_EQ(m["models"][0]["name"], "aot");
  EXPECT_EQ(m["models"][0]["kind"], "aot");
  for (const char* model : {"aot", "jit"}) {
    json out;
    ASSERT_EQ(post(s, std::string("/v1/models/") + model + ":predict", fillRequest(2, 3).dump(), &out), 200)
        << out.dump();
    EXPECT_EQ(out["outputs"][0]["shape"], json({2, 3}));
    EXPECT_EQ(out["outputs"][0]["data"][5], 2.5);
  }
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

/// @project's request: `rows` rows of x (row r filled with base + r) and w =
/// scale * I, so y = scale * x exactly.
json projectRequest(int64_t rows, double base, double scale) {
  json x = json::array(), w = json::array();
  for (int64_t r = 0; r < rows; ++r)
    for (int k = 0; k < 64; ++k)
      x.push_back(base + static_cast<double>(r) + k / 64.0);
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 64; ++j)
      w.push_back(i == j ? scale : 0.0);
  return {{"function", "project"},
          {"inputs",
           {{{"dtype", "f32"}, {"shape", {rows, 64}}, {"data", x}},
            {{"dtype", "f32"}, {"shape", {64, 64}}, {"data", w}}}}};
}

/// Whether `out` is @project's answer to projectRequest(rows, base, scale).
::testing::AssertionResult projected(const json& out, int64_t rows, double base, double scale) {
  const json& y = out["outputs"][0];
  if (y["shape"] != json({rows, 64})) return ::testing::AssertionFailure() << out.dump().substr(0, 300);
  for (int64_t r = 0; r < rows; ++r)
    for (int k = 0; k < 64; ++k) {
      double want = static_cast<float>(scale * static_cast<float>(base + r + k / 64.0));
      if (y["data"][static_cast<size_t>(r * 64 + k)].get<double>() != want)
        return ::testing::AssertionFailure() << "row " << r << " col " << k << ": "
                                             << y["data"][static_cast<size_t>(r * 64 + k)];
    }
  return ::testing::AssertionSuccess();
}

// What `curl -d` sends without a Content-Type is form-encoded, and httplib
// refuses such bodies past 8 KB itself, far below the server's limit: the
// answer says what to send instead of blaming the server's limit.
TEST(ServeTest, AFormEncodedBodyPastTheLibrarysLimitSaysWhatToSend) {
  ServeProcess s({"--model", "m=" + kText});
  ASSERT_GT(s.port(), 0) << s.log();
  std::string body = projectRequest(1, 0.0, 1.0).dump();
  ASSERT_GT(body.size(), 8192u);
  json out;
  EXPECT_EQ(post(s, "/v1/models/m:predict", body, &out, "application/x-www-form-urlencoded"), 413);
  EXPECT_NE(out["error"].get<std::string>().find("Content-Type: application/json"), std::string::npos)
      << out.dump();
  EXPECT_EQ(post(s, "/v1/models/m:predict", body, &out), 200) << out.dump();
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// Dynamic batching: four one-row requests wait (up to 20 s, never reached;
// not eager: no early start while the others are still arriving) until four
// rows that fit are queued, run as one, and each gets its own row.
TEST(ServeTest, RequestsThatFitRunAsOneBatch) {
  ServeProcess s({"--model", "m=" + kText, "--batch-max-rows", "4", "--batch-wait-us", "20000000",
                  "--batch-eager", "false"});
  ASSERT_GT(s.port(), 0) << s.log();
  std::vector<std::thread> clients;
  std::vector<json> outs(4);
  std::vector<int> codes(4, 0);
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      codes[size_t(i)] = post(s, "/v1/models/m:predict", projectRequest(1, 10.0 * i, 0.5).dump(),
                              &outs[size_t(i)]);
    });
  for (std::thread& t : clients)
    t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(codes[size_t(i)], 200) << outs[size_t(i)].dump();
    EXPECT_TRUE(projected(outs[size_t(i)], 1, 10.0 * i, 0.5));
  }
  json stats;
  auto r = s.client().Get("/v1/stats");
  ASSERT_TRUE(r);
  stats = json::parse(r->body);
  EXPECT_EQ(stats["batching"]["requests"], 4);
  EXPECT_EQ(stats["batching"]["batches"], 1);
  EXPECT_EQ(stats["batching"]["rows"], 4);
  // The server's own time per answered request: the handler's, less the run's
  // (which here includes the wait for the batch to fill).
  const json& predict = stats["predict"];
  EXPECT_EQ(predict["answered"], 4);
  EXPECT_GT(predict["run_us_mean"].get<double>(), 0.0);
  EXPECT_GE(predict["handler_us_mean"].get<double>(), predict["run_us_mean"].get<double>());
  EXPECT_DOUBLE_EQ(predict["server_us_mean"].get<double>(),
                   predict["handler_us_mean"].get<double>() - predict["run_us_mean"].get<double>());
  // A function that cannot be batched (@fill: no argument leads with `?`) runs alone.
  json out;
  EXPECT_EQ(post(s, "/v1/models/m:predict", fillRequest(2, 3).dump(), &out), 200);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// Eager batching (the default): a lone request does not wait for others
// that cannot come. Waiting would outlast its 5 s deadline (504).
TEST(ServeTest, ALoneRequestDoesNotWaitForABatch) {
  ServeProcess s({"--model", "m=" + kText, "--batch-max-rows", "8", "--batch-wait-us",
                  "60000000", "--timeout-ms", "5000"});
  ASSERT_GT(s.port(), 0) << s.log();
  for (int i = 0; i < 3; ++i) {
    json out;
    ASSERT_EQ(post(s, "/v1/models/m:predict", projectRequest(2, i, 2.0).dump(), &out), 200)
        << out.dump();
    EXPECT_TRUE(projected(out, 2, i, 2.0));
  }
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// Many concurrent requests of different row counts and weights, batched as
// they come (no wait): each answer is its own, whatever batch it ran in.
TEST(ServeTest, BatchesNeverMixRequestsThatDoNotFit) {
  ServeProcess s({"--model", "m=" + kText, "--batch-max-rows", "16", "--batch-wait-us", "0",
                  "--threads", "16"});
  ASSERT_GT(s.port(), 0) << s.log();
  // More clients than --threads, connecting at once: with httplib's listen
  // backlog of 5 some were reset ("Read" errors) before the server raised it.
  constexpr int kClients = 24;
  std::vector<std::thread> clients;
  std::vector<json> outs(kClients);
  std::vector<int> codes(kClients, 0);
  auto rowsOf = [](int i) { return int64_t{1} + i % 3; };
  auto scaleOf = [](int i) { return i % 2 ? 0.5 : 2.0; };
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      codes[size_t(i)] = post(s, "/v1/models/m:predict",
                              projectRequest(rowsOf(i), 100.0 * i, scaleOf(i)).dump(),
                              &outs[size_t(i)]);
    });
  for (std::thread& t : clients)
    t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(codes[size_t(i)], 200) << i << " " << outs[size_t(i)].dump() << s.log();
    EXPECT_TRUE(projected(outs[size_t(i)], rowsOf(i), 100.0 * i, scaleOf(i))) << i;
  }
  auto r = s.client().Get("/v1/stats");
  ASSERT_TRUE(r);
  json stats = json::parse(r->body);
  EXPECT_EQ(stats["batching"]["requests"], kClients);
  EXPECT_EQ(stats["batching"]["rows"], kClients / 3 * (1 + 2 + 3));
  EXPECT_EQ(s.stop(), 0) << s.log();
}

/// @rowstats's request: `rows` rows of `width` values (row r, column k:
/// base + r + k / 2), every row scaled by `w`.
json rowstatsRequest(int64_t rows, int64_t width, double base, double w) {
  std::vector<double> x;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < width; ++k)
      x.push_back(base + static_cast<double>(r) + static_cast<double>(k) / 2);
  return {{"function", "rowstats"},
          {"inputs",
           {{{"dtype", "f32"}, {"shape", {rows, width}}, {"data", x}},
            {{"dtype", "f32"}, {"shape", json::array()}, {"data", {w}}}}}};
}

/// Whether `out` is @rowstats's answer to rowstatsRequest(rows, width, base, w)
/// run alone (small halves: every sum is exact in f32).
::testing::AssertionResult rowstatsOf(const json& out, int64_t rows, int64_t width, double base,
                                      double w) {
  const json& y = out["outputs"][0];
  if (y["shape"] != json({rows, 2})) return ::testing::AssertionFailure() << out.dump().substr(0, 300);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0, squares = 0;
    for (int64_t k = 0; k < width; ++k) {
      double v = base + static_cast<double>(r) + static_cast<double>(k) / 2;
      sum += v;
      squares += v * v;
    }
    if (y["data"][size_t(2 * r)].get<double>() != sum * w ||
        y["data"][size_t(2 * r + 1)].get<double>() != squares * w)
      return ::testing::AssertionFailure() << "row " << r << ": " << y["data"].dump();
  }
  return ::testing::AssertionSuccess();
}

// Padded batching: four requests of different lengths (1 to 7 values a
// row) wait until six rows are queued (not eager), run as one batch padded
// to the longest, and each gets what it gets alone; a request with another
// weight never joins them.
TEST(ServeTest, RequestsOfDifferentLengthsRunAsOnePaddedBatch) {
  ServeProcess s({"--model", "r=" + kRagged, "--batch-max-rows", "6", "--batch-wait-us",
                  "20000000", "--batch-eager", "false", "--batch-pad", "--threads", "8"});
  ASSERT_GT(s.port(), 0) << s.log();
  auto rowsOf = [](int i) { return int64_t{1} + i % 2; };
  auto widthOf = [](int i) { return int64_t{1} + 2 * i; };
  std::vector<std::thread> clients;
  std::vector<json> outs(4);
  std::vector<int> codes(4, 0);
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      codes[size_t(i)] = post(s, "/v1/models/r:predict",
                              rowstatsRequest(rowsOf(i), widthOf(i), 10.0 * i, 0.5).dump(),
                              &outs[size_t(i)]);
    });
  for (std::thread& t : clients)
    t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(codes[size_t(i)], 200) << outs[size_t(i)].dump();
    EXPECT_TRUE(rowstatsOf(outs[size_t(i)], rowsOf(i), widthOf(i), 10.0 * i, 0.5)) << i;
  }
  auto r = s.client().Get("/v1/stats");
  ASSERT_TRUE(r);
  json stats = json::parse(r->body);
  EXPECT_EQ(stats["batching"]["pad"], true);
  EXPECT_EQ(stats["batching"]["requests"], 4);
  EXPECT_EQ(stats["batching"]["batches"], 1);
  EXPECT_EQ(stats["batching"]["padded_batches"], 1);
  EXPECT_EQ(stats["batching"]["rows"], 6);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// SPINN's layout: pairs [2, rows, length] batch along dim 1 and pad along
// dim 2; three requests (rows 1, 1, 2; lengths 2, 5, 3) run as one batch.
TEST(ServeTest, PairsBatchAlongTheirBatchDim) {
  ServeProcess s({"--model", "r=" + kRagged, "--batch-max-rows", "4", "--batch-wait-us",
                  "20000000", "--batch-eager", "false", "--batch-pad", "--threads", "6"});
  ASSERT_GT(s.port(), 0) << s.log();
  const int64_t rows[] = {1, 1, 2}, lengths[] = {2, 5, 3};
  auto request = [&](int i) {
    std::vector<double> x; // x[p][r][k] = 100 p + 10 r + k + i
    for (int64_t p = 0; p < 2; ++p)
      for (int64_t r = 0; r < rows[i]; ++r)
        for (int64_t k = 0; k < lengths[i]; ++k)
          x.push_back(double(100 * p + 10 * r + k + i));
    return json{{"function", "pairsum"},
                {"inputs", {{{"dtype", "f32"}, {"shape", {2, rows[i], lengths[i]}}, {"data", x}}}}};
  };
  std::vector<std::thread> clients;
  std::vector<json> outs(3);
  std::vector<int> codes(3, 0);
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([&, i] {
      codes[size_t(i)] = post(s, "/v1/models/r:predict", request(i).dump(), &outs[size_t(i)]);
    });
  for (std::thread& t : clients)
    t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(codes[size_t(i)], 200) << outs[size_t(i)].dump();
    const json& y = outs[size_t(i)]["outputs"][0];
    ASSERT_EQ(y["shape"], json({rows[i], 2}));
    for (int64_t r = 0; r < rows[i]; ++r)
      for (int64_t p = 0; p < 2; ++p) {
        double want = 0;
        for (int64_t k = 0; k < lengths[i]; ++k)
          want += double(100 * p + 10 * r + k + i);
        EXPECT_EQ(y["data"][size_t(2 * r + p)].get<double>(), want) << i << " " << r << " " << p;
      }
  }
  json stats = json::parse(s.client().Get("/v1/stats")->body);
  EXPECT_EQ(stats["batching"]["batches"], 1);
  EXPECT_EQ(stats["batching"]["padded_batches"], 1);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

// Without --batch-pad, requests of different lengths never share a batch;
// with it, requests of different weights still do not: every answer is the
// request's own either way.
TEST(ServeTest, PaddingNeverMixesWhatMustNotBeMixed) {
  for (bool pad : {false, true}) {
    SCOPED_TRACE(pad ? "--batch-pad" : "no padding");
    std::vector<std::string> args = {"--model", "r=" + kRagged, "--batch-max-rows", "16",
                                     "--batch-wait-us", "2000", "--threads", "12"};
    if (pad) args.push_back("--batch-pad");
    ServeProcess s(args);
    ASSERT_GT(s.port(), 0) << s.log();
    constexpr int kClients = 12;
    auto rowsOf = [](int i) { return int64_t{1} + i % 3; };
    auto widthOf = [](int i) { return int64_t{1} + i % 4; };
    auto weightOf = [](int i) { return i % 2 ? 0.5 : 2.0; };
    std::vector<std::thread> clients;
    std::vector<json> outs(kClients);
    std::vector<int> codes(kClients, 0);
    for (int i = 0; i < kClients; ++i)
      clients.emplace_back([&, i] {
        codes[size_t(i)] =
            post(s, "/v1/models/r:predict",
                 rowstatsRequest(rowsOf(i), widthOf(i), 3.0 * i, weightOf(i)).dump(),
                 &outs[size_t(i)]);
      });
    for (std::thread& t : clients)
      t.join();
    for (int i = 0; i < kClients; ++i) {
      ASSERT_EQ(codes[size_t(i)], 200) << outs[size_t(i)].dump();
      EXPECT_TRUE(rowstatsOf(outs[size_t(i)], rowsOf(i), widthOf(i), 3.0 * i, weightOf(i))) << i;
    }
    auto r = s.client().Get("/v1/stats");
    ASSERT_TRUE(r);
    json stats = json::parse(r->body);
    EXPECT_EQ(stats["batching"]["requests"], kClients);
    if (!pad) {
      EXPECT_EQ(stats["batching"]["padded_batches"], 0);
    }
    EXPECT_EQ(s.stop(), 0) << s.log();
  }
}

TEST(ServeTest, BadRequestsGetAClearStatus) {
  ServeProcess s({"--model", "m=" + kSo, "--max-body-bytes", "4096", "--max-elements", "1000"});
  ASSERT_GT(s.port(), 0) << s.log();
  json out;
  EXPECT_EQ(post(s, "/v1/models/m:predict", "{not json", &out), 400);
  EXPECT_EQ(out["code"], "BAD_REQUEST");
  EXPECT_EQ(post(s, "/v1/models/m:predict", "[1, 2]", &out), 400);
  EXPECT_EQ(post(s, "/v1/models/nope:predict", fillRequest(1, 1).dump(), &out), 404);
  json req = fillRequest(1, 1);
  req["function"] = "nope";
  EXPECT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 404);
  req = fillRequest(1, 1);
  req["inputs"][1]["dtype"] = "f32"; // wrong dtype for the signature
  EXPECT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 400);
  EXPECT_NE(out["error"].get<std::string>().find("input #1"), std::string::npos) << out.dump();
  req = fillRequest(1, 1);
  req["inputs"][0]["dtype"] = "q7";
  EXPECT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 400);
  req = fillRequest(1, 1);
  req["inputs"][0]["shape"] = {3}; // three elements declared, one given
  EXPECT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 400);
  req = fillRequest(1, 1);
  req["inputs"][0] = {{"dtype", "f32"}, {"shape", {2000}}, {"data", json::array()}};
  EXPECT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 413); // past --max-elements
  EXPECT_EQ(post(s, "/v1/models/m:predict", std::string(8000, ' '), &out), 413); // body
  req = fillRequest(1, 1);
  req.erase("inputs");
  EXPECT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 400);
  // A run that fails, and one whose output passes the int64 byte count.
  EXPECT_EQ(post(s, "/v1/models/m:predict", fillRequest(-1, 1).dump(), &out), 422);
  EXPECT_EQ(post(s, "/v1/models/m:predict", fillRequest(int64_t{1} << 62, 16).dump(), &out), 413);
  // Still serving.
  EXPECT_EQ(post(s, "/v1/models/m:predict", fillRequest(1, 1).dump(), &out), 200);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(ServeTest, ARequestPastItsDeadlineIs504AndTheServerGoesOn) {
  ServeProcess s({"--model", "m=" + kSo});
  ASSERT_GT(s.port(), 0) << s.log();
  json spin = {{"function", "spin"}, {"inputs", {scalar("f32", 0)}}, {"timeout_ms", 50}};
  json out;
  EXPECT_EQ(post(s, "/v1/models/m:predict", spin.dump(), &out), 504);
  EXPECT_EQ(out["code"], "DEADLINE_EXCEEDED");
  EXPECT_EQ(post(s, "/v1/models/m:predict", fillRequest(2, 2).dump(), &out), 200);
}

TEST(ServeTest, AClientThatDisconnectsMidRequestDoesNotHurtOthers) {
  ServeProcess s({"--model", "m=" + kSo});
  ASSERT_GT(s.port(), 0) << s.log();
  for (int i = 0; i < 5; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(s.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::string partial = "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"fun";
    ASSERT_GT(::write(fd, partial.data(), partial.size()), 0);
    ::close(fd);
  }
  json out;
  EXPECT_EQ(post(s, "/v1/models/m:predict", fillRequest(3, 1).dump(), &out), 200);
  EXPECT_EQ(s.stop(), 0) << s.log();
}

TEST(ServeTest, SigtermUnderLoadAnswersEveryAcceptedRequest) {
  ServeProcess s({"--model", "m=" + kSo, "--threads", "12"}); // room for /v1/stats beside the eight
  ASSERT_GT(s.port(), 0) << s.log();
  // Eight requests that each run until their 2 s deadline: in flight when
  // the signal comes (the server's /v1/stats says so before it is sent).
  json spin = {{"function", "spin"}, {"inputs", {scalar("f32", 0)}}, {"timeout_ms", 2000}};
  std::vector<int> codes(8, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&, i] { codes[static_cast<size_t>(i)] = post(s, "/v1/models/m:predict", spin.dump()); });
  bool allInFlight = false;
  for (int i = 0; i < 2000 && !allInFlight; ++i) {
    auto r = s.client().Get("/v1/stats");
    allInFlight = r && json::parse(r->body)["in_flight"] == 8;
    if (!allInFlight) std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(allInFlight);
  EXPECT_EQ(s.stop(), 0) << s.log();
  for (auto& t : clients) t.join();
  EXPECT_EQ(codes, std::vector<int>(8, 504)); // each answered (at its deadline), none lost
}

// Weights loaded once (--weights): @project's %w bound, requests send only
// %x, through the JIT and the C API (argument names from
// cairn_model_function_arg_name); weights that fit no argument, or that
// no function takes, stop the server naming them.
TEST(ServeTest, BoundWeightsAreNotSentByRequests) {
  fs::path dir = fs::temp_directory_path() / ("cairn-serve-weights-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& file, const std::string& name, Tensor t) {
    SafetensorsData d;
    d.names = {name};
    d.tensors = {std::move(t)};
    EXPECT_TRUE(cairn::writeSafetensors((dir / file).string(), d).isOk());
    return (dir / file).string();
  };
  Tensor w(TensorType(DType::F32, {64, 64}));
  for (int64_t i = 0; i < 64; ++i)
    w.setDouble(i * 64 + i, 2.0);
  std::string good = write("good.safetensors", "w", w);
  for (const std::string& model : {kText, kSo}) {
    ServeProcess s({"--model", "m=" + model, "--weights", "m=" + good});
    ASSERT_GT(s.port(), 0) << s.log();
    auto models = s.client().Get("/v1/models");
    ASSERT_TRUE(models);
    json listed = json::parse(models->body);
    for (const json& f : listed["models"][0]["functions"])
      if (f["name"] == "project") {
        EXPECT_EQ(f["inputs"].size(), 1u) << f.dump();
      }
    json req = projectRequest(2, 1.0, 2.0);
    req["inputs"].erase(1); // %w is the server's
    json out;
    ASSERT_EQ(post(s, "/v1/models/m:predict", req.dump(), &out), 200) << out.dump();
    EXPECT_TRUE(projected(out, 2, 1.0, 2.0)) << model;
    EXPECT_EQ(post(s, "/v1/models/m:predict", projectRequest(2, 1.0, 2.0).dump(), &out), 400)
        << "the weight sent anyway is one input too many";
    EXPECT_EQ(s.stop(), 0) << s.log();
  }
  std::string wrongShape = write("wrong.safetensors", "w", Tensor(TensorType(DType::F32, {3, 3})));
  std::string unknown = write("unknown.safetensors", "nope", w);
  for (auto [file, says] : {std::pair{wrongShape, "'w' does not fit argument #1 of @project"},
                            std::pair{unknown, "no function of the model takes 'nope'"},
                            std::pair{(dir / "missing").string(), "missing"}}) {
    ServeProcess s({"--model", "m=" + kText, "--weights", "m=" + file});
    EXPECT_EQ(s.port(), 0);
    ASSERT_TRUE(WIFEXITED(s.exitStatus())) << file;
    EXPECT_EQ(WEXITSTATUS(s.exitStatus()), 1) << file;
    EXPECT_NE(s.log().find(says), std::string::npos) << s.log();
  }
  fs::remove_all(dir);
}

TEST(ServeTest, AModelThatDoesNotLoadStopsTheServerBeforeItListens) {
  fs::path bad = fs::temp_directory_path() / ("cairn-serve-bad-" + std::to_string(::getpid()) + ".so");
  {
    std::ofstream f(bad);
    f << "this is not a shared object";
  }
  for (std::string model : {bad.string(), std::string("/nonexistent.so"), std::string("/tmp")}) {
    ServeProcess s({"--model", "m=" + model});
    EXPECT_EQ(s.port(), 0);
    ASSERT_TRUE(WIFEXITED(s.exitStatus())) << model;
    EXPECT_EQ(WEXITSTATUS(s.exitStatus()), 1) << model;
    EXPECT_NE(s.log().find("cairn-serve: error: model '" + model + "'"), std::string::npos) << s.log();
  }
  fs::remove(bad);
}

TEST(ServeTest, LoopPairsPolicyIsAutoOnOrOff) {
  for (const char* policy : {"on", "off", "auto"}) {
    ServeProcess s({"--model", "m=" + kText, "--pairs", policy});
    ASSERT_GT(s.port(), 0) << s.log();
    json out;
    EXPECT_EQ(post(s, "/v1/models/m:predict", projectRequest(2, 1.0, 2.0).dump(), &out), 200)
        << policy << ": " << out.dump();
    EXPECT_TRUE(projected(out, 2, 1.0, 2.0)) << policy;
    EXPECT_EQ(s.stop(), 0) << s.log();
  }
  ServeProcess bad({"--model", "m=" + kText, "--pairs", "sometimes"});
  EXPECT_EQ(bad.port(), 0);
  ASSERT_TRUE(WIFEXITED(bad.exitStatus()));
  EXPECT_EQ(WEXITSTATUS(bad.exitStatus()), 1);
  EXPECT_NE(bad.log().find("--pairs must be auto, on or off, not 'sometimes'"), std::string::npos)
      << bad.log();
}

} // namespace
