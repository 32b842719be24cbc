// Status and Result<T>: errors as values across every module boundary (DESIGN.md §3 rule 4).
//
// Codes carry retry meaning (as in abseil/seastar): kUnavailable — retry the same call later;
// kAborted — retry at a higher level; kFailedPrecondition — do not retry until the state changes.
// A new code is added only when some caller branches on it. Errors are mapped to errno, HTTP or
// MPI codes at the edges only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace rain {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong; retrying the same call cannot help
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // the thing to create exists already
  kOutOfRange,          // a read or offset past the end
  kCorruption,          // stored or received bytes fail their checksum or format
  kDataLoss,            // more was lost than the redundancy can rebuild
  kUnavailable,         // transient: retry the same call later
  kAborted,             // a conflict: retry the whole operation
  kFailedPrecondition,  // the system is not in a state that allows this
  kResourceExhausted,   // a named limit was reached
  kDeadlineExceeded,    // it did not complete in time
  kUnimplemented,       // not supported by this build or this code
  kInternal,            // a bug: an invariant did not hold
  kIoError,             // the operating system refused an I/O
};

std::string_view StatusCodeName(StatusCode code);

// A status: ok, or a code plus a human-readable message that names what was wrong.
// Cheap to copy when ok; [[nodiscard]] so an error cannot be dropped silently.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "DataLoss: 3 columns lost, the code rebuilds at most 2".
  std::string ToString() const;

  // Returns a copy with `context` prefixed to the message ("reading shard 3: ...").
  Status WithContext(std::string_view context) const;

  // Explicitly ignores a status where dropping it is correct; documents the intent.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status OutOfRangeError(std::string message);
Status CorruptionError(std::string message);
Status DataLossError(std::string message);
Status UnavailableError(std::string message);
Status AbortedError(std::string message);
Status FailedPreconditionError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
// An I/O error from the OS: the message gets strerror(errno_value) appended.
Status IoError(std::string message, int errno_value);

}  // namespace rain

#define RAIN_STATUS_CONCAT_INNER(a, b) a##b
#define RAIN_STATUS_CONCAT(a, b) RAIN_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not ok.
#define RAIN_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::rain::Status rain_status_ = (expr);        \
    if (!rain_status_.ok()) return rain_status_; \
  } while (0)
