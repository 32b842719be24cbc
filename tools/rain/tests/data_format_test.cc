// `rain data`'s pure half (data_format.h): id parsing and display, the daemon's refusals turned
// into statuses and advice, and the listing table.
#include "data_format.h"

#include <gtest/gtest.h>

namespace rain::cli {
namespace {

TEST(DataFormat, ParsesDecimalAndHexIdsOverTheWholeRange) {
  EXPECT_EQ(*ParseItemId("0"), 0u);
  EXPECT_EQ(*ParseItemId("42"), 42u);
  EXPECT_EQ(*ParseItemId("0x2a"), 42u);
  EXPECT_EQ(*ParseItemId("0X2A"), 42u);
  EXPECT_EQ(*ParseItemId("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(*ParseItemId("0xffffffffffffffff"), UINT64_MAX);
  EXPECT_EQ(*ParseItemId("0x8000000000000001"), (uint64_t{1} << 63) + 1);
}

TEST(DataFormat, RefusesIdsThatAreNotWholeNumbers) {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1x", "0x", "0xg", "abc", "1.5",
                          "18446744073709551616", "0x10000000000000000"}) {
    Result<uint64_t> id = ParseItemId(bad);
    ASSERT_FALSE(id.ok()) << "'" << bad << "'";
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(id.status().message().find(bad), std::string::npos);
  }
}

TEST(DataFormat, ShowsAutoIdsInHexAndParsesThemBack) {
  EXPECT_EQ(FormatItemId(7), "7");
  EXPECT_EQ(FormatItemId((uint64_t{1} << 63) - 1), "9223372036854775807");
  const uint64_t auto_id = (uint64_t{1} << 63) | 0x10002;
  EXPECT_EQ(FormatItemId(auto_id), "0x8000000000010002");
  EXPECT_EQ(*ParseItemId(FormatItemId(auto_id)), auto_id);
}

TEST(DataFormat, AnswerStatusMapsTheCodeName) {
  EXPECT_TRUE(AnswerStatus({{"ok", true}}).ok());
  Status s = AnswerStatus({{"ok", false}, {"code", "Unavailable"}, {"error", "no primary view"}});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "no primary view");
  EXPECT_EQ(AnswerStatus({{"ok", false}, {"code", "FailedPrecondition"}, {"error", "x"}}).code(),
            StatusCode::kFailedPrecondition);
  // A refusal without a known code is still a failure, never success.
  EXPECT_EQ(AnswerStatus({{"ok", false}, {"code", "Bogus"}}).code(), StatusCode::kInternal);
  EXPECT_EQ(AnswerStatus(nlohmann::json::object()).code(), StatusCode::kInternal);
}

TEST(DataFormat, ExplainsWhatTheCallerShouldDo) {
  std::string u = ExplainDataError(UnavailableError("not active"), "set 1 on node 2");
  EXPECT_EQ(u.rfind("set 1 on node 2: no primary view", 0), 0u) << u;
  EXPECT_NE(u.find("retry"), std::string::npos);
  EXPECT_NE(u.find("Unavailable: not active"), std::string::npos);
  std::string a = ExplainDataError(AbortedError("view changed"), "set 1");
  EXPECT_NE(a.find("outcome is unknown"), std::string::npos) << a;
  std::string other = ExplainDataError(IoError("connect", ECONNREFUSED), "ls");
  EXPECT_EQ(other.rfind("ls: IoError: connect", 0), 0u) << other;
}

TEST(DataFormat, TableHasOneRowPerItemWithLockHolders) {
  nlohmann::json items = nlohmann::json::array();
  items.push_back({{"id", 5}, {"kind", "data"}, {"size", 1024}, {"version", 77}});
  items.push_back({{"id", (uint64_t{1} << 63) | 3},
                   {"kind", "lock"},
                   {"size", 0},
                   {"version", 80},
                   {"holder", 2},
                   {"waiters", {3, 4}}});
  items.push_back({{"id", 9}, {"kind", "lock"}, {"size", 0}, {"version", 81}, {"holder", 0}});
  items.push_back("not an item");
  std::string table = FormatDataTable(items);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2 + 3) << table;
  EXPECT_NE(table.find("id"), std::string::npos);
  EXPECT_NE(table.find("holder"), std::string::npos);
  EXPECT_NE(table.find("1024"), std::string::npos);
  EXPECT_NE(table.find("0x8000000000000003"), std::string::npos);
  EXPECT_NE(table.find("2 (+2 waiting)"), std::string::npos) << table;
  EXPECT_NE(table.find("free"), std::string::npos);
}

TEST(DataFormat, StaleNoteOnlyWhenStale) {
  EXPECT_EQ(StaleNote(3, {{"stale", false}, {"mode", "active"}}), "");
  EXPECT_EQ(StaleNote(3, {{"stale", true}, {"mode", "catching_up"}}),
            "node 3 is catching_up: the data may be stale");
  EXPECT_NE(StaleNote(4, {{"stale", true}}).find("may be stale"), std::string::npos);
}

}  // namespace
}  // namespace rain::cli
