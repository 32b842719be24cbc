// Result<T>: a value or a non-ok Status. Returned instead of out-parameters (STYLE.md).
#pragma once

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>

#include "rain/core/assert.h"
#include "rain/core/status.h"

namespace rain {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value and from an error status, so `return value;` and `return status;`
  // both work. Constructing from an ok Status is a bug.
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    RAIN_CHECK(!status_.ok(), "Result constructed from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Accessors assert ok(): reading the value of an error is a bug, caught in release too.
  T& value() & {
    RAIN_CHECK(ok(), status_.ToString().c_str());
    return *value_;
  }
  const T& value() const& {
    RAIN_CHECK(ok(), status_.ToString().c_str());
    return *value_;
  }
  T&& value() && {
    RAIN_CHECK(ok(), status_.ToString().c_str());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace rain

// Declares `lhs` from a Result expression, or returns its error status.
#define RAIN_ASSIGN_OR_RETURN(lhs, expr)                        \
  auto RAIN_STATUS_CONCAT(rain_result_, __LINE__) = (expr);     \
  if (!RAIN_STATUS_CONCAT(rain_result_, __LINE__).ok())         \
    return RAIN_STATUS_CONCAT(rain_result_, __LINE__).status(); \
  lhs = std::move(RAIN_STATUS_CONCAT(rain_result_, __LINE__)).value()
