// Status and StatusOr: how user-facing failures travel in Cairn.
//
// A user error (malformed IR, wrong input shape, exceeded trip count) is a
// Status carrying a message, returned up the stack; it never aborts. A broken
// internal invariant is a bug in Cairn and aborts loudly via CAIRN_CHECK.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace cairn {

/// What kind of failure an error is, for callers that must tell them apart
/// (a service answers a bad request, an overrun deadline and an exhausted
/// memory cap differently). Almost every error is kError; the others come
/// from the limits a run is given (exec::RunLimits).
enum class StatusCode {
  kError,             ///< bad input, IR or model; a failed run
  kResourceExhausted, ///< a size past int64 or a memory cap, or allocation failure
  kDeadlineExceeded,  ///< the run's deadline passed
  kCancelled,         ///< the run's cancellation flag was set
};

/// Ok, or an error with a human-readable message and a code. Cheap to move.
class [[nodiscard]] Status {
public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message, StatusCode code = StatusCode::kError) {
    Status s;
    s.message_ = std::move(message);
    s.code_ = code;
    return s;
  }
  bool isOk() const { return !message_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const std::string& message() const {
    static const std::string empty;
    return message_ ? *message_ : empty;
  }
  /// kError for ok statuses too; ask isOk() first.
  StatusCode code() const { return code_; }
  /// The same kind of error with a new message (context added by a caller).
  Status withMessage(std::string message) const { return error(std::move(message), code_); }

private:
  std::optional<std::string> message_;
  StatusCode code_ = StatusCode::kError;
};

template <typename... Args>
Status errorf(fmt::format_string<Args...> f, Args&&... args) {
  return Status::error(fmt::format(f, std::forward<Args>(args)...));
}

/// A value or an error Status.
template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : v_(std::move(value)) {}
  StatusOr(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).isOk()) {
      std::fprintf(stderr, "internal error: StatusOr built from an ok Status\n");
      std::abort();
    }
  }
  bool isOk() const { return v_.index() == 0; }
  explicit operator bool() const { return isOk(); }
  const Status& status() const {
    static const Status okStatus;
    return isOk() ? okStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, Status> v_;
};

[[noreturn]] inline void internalError(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "cairn internal error at %s:%d: %s\n", file, line, what.c_str());
  std::abort();
}

} // namespace cairn

/// Aborts on a broken internal invariant (a Cairn bug, never a user error).
#define CAIRN_CHECK(cond, ...)                                                                     \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ::cairn::internalError(__FILE__, __LINE__,                                                   \
                             std::string(#cond) + " " + ::fmt::format("" __VA_ARGS__));            \
  } while (0)

/// Propagates a non-ok Status to the caller.
#define CAIRN_RETURN_IF_ERROR(expr)                                                                \
  do {                                                                                             \
    ::cairn::Status cairnStatus_ = (expr);                                                         \
    if (!cairnStatus_.isOk()) return cairnStatus_;                                                 \
  } while (0)

#define CAIRN_CONCAT_INNER(a, b) a##b
#define CAIRN_CONCAT(a, b) CAIRN_CONCAT_INNER(a, b)
/// `CAIRN_ASSIGN_OR_RETURN(auto x, f());` binds x or returns f()'s error.
#define CAIRN_ASSIGN_OR_RETURN(decl, expr)                                                         \
  auto CAIRN_CONCAT(cairnOr_, __LINE__) = (expr);                                                  \
  if (!CAIRN_CONCAT(cairnOr_, __LINE__).isOk()) return CAIRN_CONCAT(cairnOr_, __LINE__).status(); \
  decl = std::move(CAIRN_CONCAT(cairnOr_, __LINE__)).value()
