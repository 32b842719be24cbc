#include "data_format.h"

#include <charconv>

#include "rain/bench/report.h"

namespace rain::cli {
namespace {

constexpr uint64_t kAutoIdBit = uint64_t{1} << 63;  // docs/raind.md §3.1: auto ids set bit 63

StatusCode CodeFromName(std::string_view name) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kIoError); ++c) {
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}

}  // namespace

Result<uint64_t> ParseItemId(std::string_view text) {
  std::string_view digits = text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  uint64_t id = 0;
  // from_chars accepts no sign, space or prefix of its own, and reports overflow.
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return InvalidArgumentError("item id '" + std::string(text) +
                                "' is not a decimal or 0x-hex number below 2^64");
  }
  return id;
}

std::string FormatItemId(uint64_t id) {
  if ((id & kAutoIdBit) == 0) return std::to_string(id);
  char hex[19];
  std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(id));
  return hex;
}

Status AnswerStatus(const nlohmann::json& answer) {
  if (answer.value("ok", false)) return Status::Ok();
  std::string code = answer.contains("code") && answer["code"].is_string()
                         ? answer["code"].get<std::string>()
                         : std::string();
  std::string error = answer.contains("error") && answer["error"].is_string()
                          ? answer["error"].get<std::string>()
                          : "the daemon refused without saying why: " + answer.dump();
  return Status(CodeFromName(code), std::move(error));
}

std::string ExplainDataError(const Status& status, std::string_view what) {
  std::string advice;
  switch (status.code()) {
    case StatusCode::kUnavailable:
      advice = "no primary view (or the view has not reached its sync point); retry";
      break;
    case StatusCode::kAborted:
      advice =
          "the view changed before every member confirmed the change: the outcome is unknown; "
          "read the item, then retry";
      break;
    case StatusCode::kNotFound:
      advice = "no such item";
      break;
    case StatusCode::kOutOfRange:
      advice = "offset past the end of the item";
      break;
    case StatusCode::kFailedPrecondition:
      advice = "refused (a stale --fence epoch, or a lock misuse); do not retry as is";
      break;
    case StatusCode::kResourceExhausted:
      advice = "the node has too many pending commands; retry later";
      break;
    case StatusCode::kDeadlineExceeded:
      advice = "no answer in time (a change may still commit; read the item before retrying)";
      break;
    default:
      break;
  }
  std::string out(what);
  out += ": ";
  if (!advice.empty()) out += advice + " (";
  out += std::string(StatusCodeName(status.code())) + ": " + status.message();
  if (!advice.empty()) out += ")";
  return out;
}

std::string FormatDataTable(const nlohmann::json& items) {
  bench::Table t;
  t.AddColumn("id", bench::Table::Align::kRight);
  t.AddColumn("kind", bench::Table::Align::kLeft);
  t.AddColumn("size", bench::Table::Align::kRight);
  t.AddColumn("version", bench::Table::Align::kRight);
  t.AddColumn("holder", bench::Table::Align::kLeft);
  if (items.is_array()) {
    for (const nlohmann::json& item : items) {
      if (!item.is_object()) continue;
      const std::string kind = item.value("kind", std::string("?"));
      std::string holder = "-";
      if (kind == "lock") {
        const uint64_t node = item.value("holder", uint64_t{0});
        holder = node == 0 ? "free" : std::to_string(node);
        const size_t waiters =
            item.contains("waiters") && item["waiters"].is_array() ? item["waiters"].size() : 0;
        if (waiters > 0) holder += " (+" + std::to_string(waiters) + " waiting)";
      }
      t.AddRow({FormatItemId(item.value("id", uint64_t{0})), kind,
                std::to_string(item.value("size", uint64_t{0})),
                std::to_string(item.value("version", uint64_t{0})), holder});
    }
  }
  return t.Render();
}

std::string StaleNote(int node, const nlohmann::json& answer) {
  if (!answer.value("stale", false)) return "";
  return "node " + std::to_string(node) + " is " + answer.value("mode", std::string("not active")) +
         ": the data may be stale";
}

}  // namespace rain::cli
