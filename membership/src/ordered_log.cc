// OrderedLog and RecoveryPlan (src/ordered_log.h).
#include "ordered_log.h"

#include <algorithm>

#include "rain/core/assert.h"

namespace rain::membership {

bool OrderedLog::Insert(DataMessage m) {
  if (m.seq == 0 || Holds(m.seq)) return false;
  uint64_t seq = m.seq;
  entries_.emplace(seq, std::move(m));
  while (entries_.count(aru_ + 1) > 0) ++aru_;
  return true;
}

const DataMessage* OrderedLog::Find(uint64_t seq) const {
  auto it = entries_.find(seq);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> OrderedLog::Extras(size_t max) const {
  std::vector<uint64_t> out;
  for (auto it = entries_.upper_bound(aru_); it != entries_.end() && out.size() < max; ++it)
    out.push_back(it->first);
  return out;
}

std::vector<uint64_t> OrderedLog::Missing(uint64_t upto, size_t max) const {
  std::vector<uint64_t> out;
  for (uint64_t s = aru_ + 1; s <= upto && out.size() < max; ++s) {
    if (entries_.count(s) == 0) out.push_back(s);
  }
  return out;
}

const DataMessage* OrderedLog::NextDeliverable(uint64_t safe_upto) const {
  const DataMessage* m = Find(delivered_ + 1);
  if (m == nullptr) return nullptr;
  if (m->service == Service::kSafe && m->seq > safe_upto) return nullptr;
  return m;
}

void OrderedLog::MarkDelivered(uint64_t seq) {
  RAIN_CHECK(seq > delivered_, "delivering out of order");
  delivered_ = seq;
}

void OrderedLog::Collect(uint64_t upto) {
  upto = std::min({upto, delivered_, aru_});
  while (!entries_.empty() && entries_.begin()->first <= upto) entries_.erase(entries_.begin());
  collected_ = std::max(collected_, upto);
}

RecoveryPlan::RecoveryPlan(std::vector<RecoveryRecord> group) : group_(std::move(group)) {
  std::sort(group_.begin(), group_.end(),
            [](const RecoveryRecord& a, const RecoveryRecord& b) { return a.node < b.node; });
  RAIN_CHECK(!group_.empty(), "recovery plan of an empty group");
  min_aru_ = group_.front().aru;
  for (const RecoveryRecord& r : group_) {
    max_aru_ = std::max(max_aru_, r.aru);
    min_aru_ = std::min(min_aru_, r.aru);
  }
  for (const RecoveryRecord& r : group_) {
    for (uint64_t s : r.extras) {
      if (s > max_aru_) extras_.insert(s);
    }
  }
}

std::vector<uint64_t> RecoveryPlan::UnionAbove(uint64_t from) const {
  std::vector<uint64_t> out;
  for (uint64_t s = from + 1; s <= max_aru_; ++s) out.push_back(s);
  for (auto it = extras_.upper_bound(from); it != extras_.end(); ++it) out.push_back(*it);
  return out;
}

NodeId RecoveryPlan::Responsible(uint64_t seq) const {
  for (const RecoveryRecord& r : group_) {
    if (r.Holds(seq)) return r.node;
  }
  return kNoNode;
}

std::vector<NodeId> RecoveryPlan::Lacking(uint64_t seq) const {
  std::vector<NodeId> out;
  for (const RecoveryRecord& r : group_) {
    if (!r.Holds(seq)) out.push_back(r.node);
  }
  return out;
}

const RecoveryRecord* RecoveryPlan::RecordOf(NodeId n) const {
  for (const RecoveryRecord& r : group_) {
    if (r.node == n) return &r;
  }
  return nullptr;
}

}  // namespace rain::membership
