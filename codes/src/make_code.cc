// MakeCode: the one place that turns a spec string ("xcode:5", "bcode:6", "rs:10+4") into a code.
// Specs come from users and config files, so every malformed one is an InvalidArgument that
// says what is accepted, never a crash.
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

#include "rain/codes/bcode.h"
#include "rain/codes/code.h"
#include "rain/codes/reed_solomon.h"
#include "rain/codes/xcode.h"

namespace rain::codes {

namespace {

constexpr std::string_view kAcceptedForms =
    "accepted: \"xcode:N\" (N prime, 5..31), \"bcode:L\" (L = p or p-1 for an odd prime p >= 5, "
    "L <= 31), \"rs:K+M\" (K >= 1, M >= 1, K + M <= 255)";

Status Malformed(std::string_view spec, std::string_view why) {
  return InvalidArgumentError("code spec \"" + std::string(spec) + "\": " + std::string(why) +
                              "; " + std::string(kAcceptedForms));
}

// A whole decimal integer: no sign other than '-', no spaces, no trailing characters, in range.
bool ParseInt(std::string_view text, int& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

// Upcasts a concrete code's Result to Result<unique_ptr<Code>>.
template <typename T>
Result<std::unique_ptr<Code>> Upcast(Result<std::unique_ptr<T>> made) {
  if (!made.ok()) return made.status();
  return std::unique_ptr<Code>(std::move(made).value());
}

}  // namespace

Result<std::unique_ptr<Code>> MakeCode(std::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return Malformed(spec, "missing ':'");
  const std::string_view family = spec.substr(0, colon);
  const std::string_view args = spec.substr(colon + 1);

  if (family == "rs") {
    const size_t plus = args.find('+');
    int k = 0;
    int m = 0;
    if (plus == std::string_view::npos || !ParseInt(args.substr(0, plus), k) ||
        !ParseInt(args.substr(plus + 1), m)) {
      return Malformed(spec, "expected rs:K+M with two decimal integers");
    }
    return Upcast(ReedSolomon::Make(k, m));
  }
  if (family == "xcode" || family == "bcode") {
    int n = 0;
    if (!ParseInt(args, n)) return Malformed(spec, "expected one decimal integer after ':'");
    if (family == "xcode") return Upcast(XCode::Make(n));
    return Upcast(BCode::Make(n));
  }
  return Malformed(spec, "unknown code family \"" + std::string(family) + "\"");
}

}  // namespace rain::codes
