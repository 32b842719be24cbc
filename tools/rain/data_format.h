// The pure half of `rain data ls|get|set|rm` (docs/cli.md): item ids as typed and as shown, the
// daemon's `ok: false` answers turned into a Status and then into a sentence that says what to do,
// and the `data_ls` listing (docs/raind.md §3.1) as a table. No I/O, so it is unit-tested
// without a daemon (tools/rain/tests/data_format_test.cc); data_cmd.cc does the talking.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::cli {

// Parses an item id as typed on the command line: decimal ("42") or hexadecimal with a 0x/0X
// prefix ("0x8000000000000001"), the whole u64 range. InvalidArgument (naming the text) for
// anything else: empty, signs, spaces, trailing characters, overflow.
Result<uint64_t> ParseItemId(std::string_view text);

// How ids are shown: decimal, except auto-allocated ids (bit 63 set, docs/raind.md §3.1), which
// read better as 0x + 16 hex digits. ParseItemId accepts both forms back.
std::string FormatItemId(uint64_t id);

// The Status an answer line stands for: Ok for `"ok": true`; otherwise the code named by
// `"code"` (Internal when it is missing or unknown) with `"error"` as the message.
Status AnswerStatus(const nlohmann::json& answer);

// One sentence for a failed data command, saying what the code means for the caller: e.g.
// Unavailable → "no primary view; retry ...", Aborted → the outcome is unknown, read and retry.
// `what` names the request ("set 42 on node 3"); the daemon's own message is appended.
std::string ExplainDataError(const Status& status, std::string_view what);

// The `data_ls` items as a table with the columns id, kind, size, version, holder (locks: the
// holding node or "free", and the number of waiters; data items: "-"). Items that are not
// objects are skipped. Ends with a newline.
std::string FormatDataTable(const nlohmann::json& items);

// "node 3 is catching_up: the data may be stale" when `answer` has "stale": true, else "".
std::string StaleNote(int node, const nlohmann::json& answer);

}  // namespace rain::cli
