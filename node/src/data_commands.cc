// The data commands of the control endpoint (data_commands.h).
#include "data_commands.h"

#include <algorithm>
#include <cstdio>

#include "control_server.h"
#include "rain/core/base64.h"

namespace rain::node {
namespace {

using membership::Gdm;
using membership::Item;
using membership::ItemId;
using nlohmann::json;

// A u64 field: absent -> dflt, not a non-negative integer -> nullopt.
std::optional<uint64_t> U64Field(const json& r, const char* key, uint64_t dflt) {
  if (!r.contains(key)) return dflt;
  const json& v = r[key];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

json BadField(const char* key) {
  return ControlServer::Error(
      InvalidArgumentError(std::string("\"") + key + "\" must be a non-negative integer"));
}

const char* KindName(membership::ItemKind k) {
  return k == membership::ItemKind::kLock ? "lock" : "data";
}

}  // namespace

const char* GdmModeName(membership::GdmMode m) {
  switch (m) {
    case membership::GdmMode::kNoView:
      return "no_view";
    case membership::GdmMode::kNonPrimary:
      return "non_primary";
    case membership::GdmMode::kSyncing:
      return "syncing";
    case membership::GdmMode::kCatchingUp:
      return "catching_up";
    case membership::GdmMode::kActive:
      return "active";
  }
  return "no_view";
}

json GdmStatusJson(const Gdm& gdm) {
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx",
                static_cast<unsigned long long>(gdm.state().digest));
  return {{"mode", GdmModeName(gdm.mode())},
          {"stale", gdm.stale()},
          {"items", gdm.state().items.size()},
          {"index", gdm.state().index},
          {"digest", digest},
          {"durable_index", gdm.durable_index()}};
}

json LeaderJson(const election::Election& e) {
  if (!e.current()) return nullptr;
  const election::Leadership& l = *e.current();
  return {{"node", ToInt(l.leader)},
          {"epoch", l.epoch},
          {"view", membership::ToString(l.view)},
          {"self", e.IsLeader()}};
}

json DataCommands::Ls(const Gdm& gdm, const json& r) const {
  std::optional<uint64_t> after = U64Field(r, "after", 0);
  std::optional<uint64_t> limit = U64Field(r, "limit", kDataLsLimitDefault);
  if (!after) return BadField("after");
  if (!limit || *limit < 1 || *limit > kDataLsLimitMax) {
    return ControlServer::Error(InvalidArgumentError("\"limit\" must be an integer in 1.." +
                                                     std::to_string(kDataLsLimitMax)));
  }
  // The items live in a hash map: pick the `limit` smallest ids above `after`.
  std::vector<ItemId> ids;
  for (const auto& [id, item] : gdm.state().items) {
    if (id > *after) ids.push_back(id);
  }
  const bool more = ids.size() > *limit;
  if (more) {
    std::nth_element(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(*limit), ids.end());
    ids.resize(*limit);
  }
  std::sort(ids.begin(), ids.end());
  json items = json::array();
  for (ItemId id : ids) {
    const Item& it = gdm.state().items.at(id);
    json j = {{"id", id},
              {"kind", KindName(it.kind)},
              {"size", it.bytes.size()},
              {"version", it.version}};
    if (it.kind == membership::ItemKind::kLock) {
      json waiters = json::array();
      for (NodeId n : it.waiters) waiters.push_back(ToInt(n));
      j["holder"] = ToInt(it.holder);
      j["waiters"] = waiters;
    }
    items.push_back(std::move(j));
  }
  return {{"ok", true},
          {"stale", gdm.stale()},
          {"mode", GdmModeName(gdm.mode())},
          {"index", gdm.state().index},
          {"items", items},
          {"more", more}};
}

json DataCommands::Get(const Gdm& gdm, const json& r) const {
  std::optional<uint64_t> id = U64Field(r, "id", 0);
  std::optional<uint64_t> offset = U64Field(r, "offset", 0);
  std::optional<uint64_t> length = U64Field(r, "length", UINT64_MAX);
  if (!id || !r.contains("id")) return BadField("id");
  if (!offset) return BadField("offset");
  if (!length) return BadField("length");
  const Item* item = gdm.Find(*id);
  if (item == nullptr) {
    return ControlServer::Error(NotFoundError("item " + std::to_string(*id) + " does not exist"));
  }
  Result<std::vector<uint8_t>> bytes = gdm.Read(*id, *offset, *length);
  if (!bytes.ok()) return ControlServer::Error(bytes.status());
  return {{"ok", true},
          {"id", *id},
          {"kind", KindName(item->kind)},
          {"version", item->version},
          {"size", item->bytes.size()},
          {"stale", gdm.stale()},
          {"value_b64", Base64Encode(*bytes)}};
}

std::optional<json> DataCommands::Set(Gdm& gdm, const json& r, uint64_t answer_id, Instant now) {
  Waiting w{.answer_id = answer_id, .issued = now};
  std::optional<uint64_t> id = U64Field(r, "id", 0);
  std::optional<uint64_t> offset = U64Field(r, "offset", 0);
  std::optional<uint64_t> fence = U64Field(r, "fence", 0);
  if (!id) return BadField("id");
  if (!offset) return BadField("offset");
  if (!fence) return BadField("fence");
  if (!r.contains("value_b64") || !r["value_b64"].is_string()) {
    return ControlServer::Error(
        InvalidArgumentError("\"value_b64\" (a base64 string) is required"));
  }
  Result<std::vector<uint8_t>> bytes = Base64Decode(r["value_b64"].get_ref<const std::string&>());
  if (!bytes.ok()) return ControlServer::Error(bytes.status());
  w.id = *id;
  w.offset = *offset;
  w.has_offset = r.contains("offset");
  w.fence = *fence;
  w.bytes = std::move(*bytes);
  return Issue(gdm, std::move(w), now);
}

std::optional<json> DataCommands::Rm(Gdm& gdm, const json& r, uint64_t answer_id, Instant now) {
  std::optional<uint64_t> id = U64Field(r, "id", 0);
  std::optional<uint64_t> fence = U64Field(r, "fence", 0);
  if (!id || !r.contains("id")) return BadField("id");
  if (!fence) return BadField("fence");
  return Issue(
      gdm,
      Waiting{.answer_id = answer_id, .issued = now, .remove = true, .id = *id, .fence = *fence},
      now);
}

std::optional<json> DataCommands::Issue(Gdm& gdm, Waiting w, Instant now) {
  if (waiting_.size() >= kDeferredDataMax) {
    return ControlServer::Error(ResourceExhaustedError(
        "more than " + std::to_string(kDeferredDataMax) + " data commands waiting for commit"));
  }
  Result<membership::OpId> op = InternalError("unreachable");
  if (w.remove) {
    op = gdm.Delete(now, w.id, w.fence);
  } else if (w.id == membership::kAutoId || gdm.Find(w.id) == nullptr) {
    // Absent here: create it (an offset must then be 0; a write at O > 0 needs the item).
    w.created = true;
    op = w.offset == 0 ? gdm.Create(now, w.id, w.bytes, w.fence)
                       : gdm.WriteAt(now, w.id, w.offset, w.bytes, w.fence);
  } else {
    w.created = false;
    op = w.has_offset ? gdm.WriteAt(now, w.id, w.offset, w.bytes, w.fence)
                      : gdm.Write(now, w.id, w.bytes, w.fence);
  }
  if (!op.ok()) return ControlServer::Error(op.status());
  waiting_.emplace(*op, std::move(w));
  return std::nullopt;
}

void DataCommands::OnEvent(Gdm& gdm, const membership::GdmEvent& e, Instant now) {
  const auto* c = std::get_if<membership::OpCompleted>(&e);
  if (c == nullptr) return;
  auto it = waiting_.find(c->op);
  if (it == waiting_.end()) return;
  Waiting w = std::move(it->second);
  waiting_.erase(it);
  const StatusCode code = c->status.code();
  // Another node created (or deleted) the item between our look and our commit: the set is
  // still meant, so issue it once more the other way round.
  if (!w.remove && !w.retried &&
      ((w.created && code == StatusCode::kAlreadyExists) ||
       (!w.created && code == StatusCode::kNotFound))) {
    w.retried = true;
    uint64_t answer_id = w.answer_id;
    if (std::optional<json> err = Issue(gdm, std::move(w), now)) sink_(answer_id, *err);
    return;
  }
  if (!c->status.ok()) {
    sink_(w.answer_id, ControlServer::Error(c->status));
    return;
  }
  if (w.remove) {
    sink_(w.answer_id, {{"ok", true}, {"id", w.id}});
    return;
  }
  const ItemId id = c->item != 0 ? c->item : w.id;
  const Item* item = gdm.Find(id);
  sink_(w.answer_id,
        {{"ok", true},
         {"id", id},
         {"created", w.created},
         {"version", item != nullptr ? item->version : 0},
         {"commit_us",
          std::chrono::duration_cast<std::chrono::microseconds>(now - w.issued).count()}});
}

}  // namespace rain::node
