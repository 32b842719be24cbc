// Invariant checks that stay on in release builds (DESIGN.md §3 rule 4, as in TigerBeetle).
// A failed check is a bug: it prints where and why, then aborts. Never use it for bad input;
// bad input gets a Status.
#pragma once

namespace rain::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* message, const char* file, int line);
}  // namespace rain::internal

#define RAIN_CHECK(cond, message)                                          \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::rain::internal::CheckFailed(#cond, (message), __FILE__, __LINE__); \
  } while (0)
