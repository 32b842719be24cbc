// GdmSim (gdm_sim.h): GDM + election on the GCM harness, a simulated disk, and the checkers.
#include "gdm_sim.h"

#include <algorithm>
#include <cstring>

#include "rain/core/crc32c.h"

namespace rain::membership::testing {
namespace {

std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

}  // namespace

GdmSim::GdmSim(GdmSimConfig cfg) : cfg_(cfg), rng_(cfg.seed * 0x2545f4914f6cdd1dULL + 3) {
  SimConfig sc{.nodes = cfg.nodes, .seed = cfg.seed};
  sc.cluster_id = cfg.gdm.cluster_id;
  nodes_.resize(static_cast<size_t>(cfg.nodes));
  cluster_ = std::make_unique<Cluster>(sc);
  for (NodeId n : ids()) Boot(n);
}

GdmSim::~GdmSim() = default;

void GdmSim::Boot(NodeId n) {
  Node& s = node(n);
  auto restored = s.disk.Load();
  s.gdm = std::make_unique<Gdm>(n, cfg_.gdm, restored.ok() ? *restored : GdmState{});
  s.election = std::make_unique<election::Election>(n, s.stable_epoch);
  s.views_seen = s.deliveries_seen = 0;
  s.received_seen = cluster_->Received(n).size();  // the harness keeps them across restarts
  s.failures_seen = cluster_->DirectFailures(n);
  s.delivered_seen = cluster_->DirectDelivered(n).size();
  s.disk_ops.clear();
  s.outcomes.clear();
  s.op_values.clear();
}

void GdmSim::Crash(NodeId n) {
  if (!up(n)) return;
  cluster_->Crash(n);
  Node& s = node(n);
  s.disk.Crash();  // unsynced writes are gone
  s.disk_ops.clear();
  s.gdm.reset();
  s.election.reset();
}

void GdmSim::Restart(NodeId n) {
  if (up(n)) return;
  cluster_->Restart(n);
  Boot(n);
  Pump();
}

void GdmSim::RunFor(Duration d) {
  cluster_->RunUntil(
      [&] {
        Pump();
        return false;
      },
      d);
  Pump();
}

bool GdmSim::RunUntil(const std::function<bool()>& pred, Duration max) {
  return cluster_->RunUntil(
      [&] {
        Pump();
        return !violations_.empty() || pred();
      },
      max);
}

Result<OpId> GdmSim::Do(NodeId n, const Command& cmd, std::string checked_value) {
  if (!up(n)) return UnavailableError("sim: node down");
  Pump();
  auto op = cmd(gdm(n), now());
  fed_ = true;
  if (op.ok() && !checked_value.empty()) node(n).op_values[*op] = std::move(checked_value);
  Flush(n);
  return op;
}

std::optional<Status> GdmSim::Outcome(NodeId n, OpId op) const {
  const Node& s = node(n);
  auto it = s.outcomes.find(op);
  if (it == s.outcomes.end()) return std::nullopt;
  return it->second;
}

// Feeds every node what happened since the last call, then runs every node's outputs.
void GdmSim::Pump() {
  if (pumping_) return;  // Multicast/Send inside Flush re-enter through the harness: no
  pumping_ = true;
  for (NodeId n : ids()) {
    if (!up(n)) continue;
    Node& s = node(n);
    // The disk finishes fsyncs in order.
    uint64_t synced = 0;
    while (!s.disk_ops.empty() && s.disk_ops.front().due <= now()) {
      uint64_t t = s.disk_ops.front().ticket;
      s.disk_ops.pop_front();
      s.disk.SyncThrough(t);
      fed_ = true;
      if (cfg_.persisted_through) {
        synced = t;
      } else {
        s.gdm->HandlePersisted(now(), t, Status::Ok());
      }
    }
    if (synced != 0) s.gdm->HandlePersistedThrough(now(), synced, Status::Ok());
    // GCM events in their original order: a delivery of view X comes after X's install.
    const auto& views = cluster_->Views(n);
    const auto& dels = cluster_->Deliveries(n);
    for (; s.deliveries_seen < dels.size(); ++s.deliveries_seen) {
      const DeliveryRecord d = dels[s.deliveries_seen];  // a copy: feeding appends to the list
      for (; s.views_seen < views.size() && views[s.views_seen].id <= d.view; ++s.views_seen)
        Feed(n, ViewInstalled{View(views[s.views_seen])}, false);
      Delivered e{d.sender, d.view,
                  d.seq,    Service::kAgreed,
                  d.safe,   std::vector<uint8_t>(d.payload.begin(), d.payload.end())};
      Feed(n, e, true);
    }
    for (; s.views_seen < views.size(); ++s.views_seen)
      Feed(n, ViewInstalled{View(views[s.views_seen])}, false);
    const auto& rec = cluster_->Received(n);
    for (; s.received_seen < rec.size(); ++s.received_seen) {
      const std::string r = rec[s.received_seen];
      size_t colon = r.find(':');
      NodeId from{static_cast<uint32_t>(std::stoul(r.substr(1, colon - 1)))};
      membership::Received e{
          from, true, std::vector<uint8_t>(r.begin() + static_cast<ptrdiff_t>(colon) + 1, r.end())};
      Feed(n, e, false);
    }
    // Acknowledged snapshot chunks: the donor encodes the next (docs/gdm.md "State transfer").
    const auto& acked = cluster_->DirectDelivered(n);
    for (; s.delivered_seen < acked.size(); ++s.delivered_seen) {
      const DirectSendDelivered d = acked[s.delivered_seen];  // a copy: feeding appends
      Feed(n, d, false);
    }
    // The harness counts failed reliable sends without naming the peer: tell the Gdm each
    // other member may have missed something.
    for (int f = cluster_->DirectFailures(n); s.failures_seen < f; ++s.failures_seen) {
      for (NodeId m : ids()) {
        if (m != n) Feed(n, DirectSendFailed{m}, false);
      }
    }
    Flush(n);
  }
  // Checks only when a Gdm had an input (most harness events are token passes).
  if (fed_) {
    for (NodeId n : ids()) {
      if (up(n)) CheckNode(n);
    }
    CheckLocks();
    fed_ = false;
  }
  pumping_ = false;
}

void GdmSim::Feed(NodeId n, const Event& e, bool check_replica) {
  Node& s = node(n);
  fed_ = true;
  bool active_before = s.gdm->mode() == GdmMode::kActive;
  if (const auto* d = std::get_if<Delivered>(&e)) {
    if (d->view != s.chain_view) s.chain_view = d->view, s.chain = 0;
    s.chain = s.chain * 0x9e3779b97f4a7c15ULL + d->seq + 1;
  }
  (void)s.gdm->HandleGcmEvent(now(), e);
  if (auto* v = std::get_if<ViewInstalled>(&e)) s.election->HandleView(v->view);
  if (check_replica && active_before && s.gdm->mode() == GdmMode::kActive) {
    // Replicas identical after the same delivered message.
    const auto& d = std::get<Delivered>(e);
    uint64_t fp = Fingerprint(s.gdm->state());
    auto key = std::make_tuple(d.view, d.seq, s.chain);
    auto [it, fresh] = after_message_.emplace(key, std::make_pair(n, fp));
    applied_checks_++;
    if (!fresh && it->second.second != fp)
      Violation("replicas differ after message " + ToString(d.view) + "#" + std::to_string(d.seq) +
                ": " + ToString(it->second.first) + " vs " + ToString(n) + " (index " +
                std::to_string(s.gdm->state().index) + ")");
  }
  Flush(n);
}

void GdmSim::Flush(NodeId n) {
  if (!up(n)) return;
  Node& s = node(n);
  while (auto c = s.gdm->PollGcmCommand()) {
    if (auto* m = std::get_if<GcmMulticast>(&*c)) {
      Status st = cluster_->Multicast(n, Str(m->payload), m->service);
      if (!st.ok()) s.gdm->HandleCommandRefused(m->op, st);
    } else {
      auto& snd = std::get<GcmSend>(*c);
      (void)cluster_->Send(n, snd.to, Str(snd.payload), true, snd.notify_delivered);
    }
    if (!up(n)) return;
  }
  while (auto b = s.gdm->PollPersist()) {
    Duration lat(rng_.Between(cfg_.fsync_min.count(), cfg_.fsync_max.count()));
    Instant due = now() + lat;
    if (!s.disk_ops.empty()) due = std::max(due, s.disk_ops.back().due);
    s.disk_ops.push_back({b->ticket, due});
    s.disk.Stage(std::move(*b));
  }
  while (auto e = s.gdm->PollEvent()) OnGdmEvent(n, *e);
  while (auto e = s.election->PollEvent()) {
    if (auto* lc = std::get_if<election::LeaderChanged>(&*e)) {
      const auto& l = lc->leadership;
      auto [it, fresh] = leaders_.emplace(l.epoch, std::make_pair(l.leader, l.view));
      if (!fresh && (it->second.first != l.leader || it->second.second != l.view))
        Violation("two leaders for epoch " + std::to_string(l.epoch) + ": " +
                  ToString(it->second.first) + " in " + ToString(it->second.second) + " and " +
                  ToString(l.leader) + " in " + ToString(l.view));
      if (l.epoch <= s.max_epoch_seen)
        Violation("epoch went back at " + ToString(n) + ": " + std::to_string(l.epoch));
      s.max_epoch_seen = l.epoch;
    }
  }
  s.stable_epoch = s.election->stable_epoch();  // "persisted" after every input
}

void GdmSim::OnGdmEvent(NodeId n, GdmEvent& e) {
  Node& s = node(n);
  if (auto* c = std::get_if<ItemChanged>(&e)) {
    if (const Item* item = s.gdm->Find(c->id))
      value_versions_[{n, Str(item->bytes)}] = {c->id, c->version};
  } else if (auto* cr = std::get_if<ItemCreated>(&e)) {
    if (const Item* item = s.gdm->Find(cr->id))
      value_versions_[{n, Str(item->bytes)}] = {cr->id, item->version};
  } else if (auto* d = std::get_if<OpCompleted>(&e)) {
    s.outcomes[d->op] = d->status;
    auto v = s.op_values.find(d->op);
    if (d->status.ok() && v != s.op_values.end()) {
      auto vv = value_versions_.find({n, v->second});
      if (vv == value_versions_.end()) {
        Violation(ToString(n) + " acked op " + std::to_string(d->op) + " it never applied");
      } else {
        auto [item, version] = vv->second;
        auto& a = acked_[item];
        if (version > a.first) a = {version, v->second};
        acked_count_++;
      }
    }
    if (v != s.op_values.end()) s.op_values.erase(v);
  } else if (auto* ed = std::get_if<EpochDurable>(&e)) {
    Status st = s.election->HandleEpochDurable(*ed);
    if (!st.ok()) Violation(ToString(n) + ": " + st.ToString());
  } else if (auto* sf = std::get_if<StorageFailed>(&e)) {
    Violation(ToString(n) + " storage failed: " + sf->status.ToString());
  }
}

uint64_t GdmSim::Fingerprint(const GdmState& st) const {
  GdmState copy = st;
  copy.last_primary = ViewId{};  // a per-member fact, equal anyway after a sync point
  std::vector<uint8_t> bytes = EncodeState(copy);
  return Crc32c(bytes) | (uint64_t{static_cast<uint32_t>(bytes.size())} << 32);
}

void GdmSim::CheckNode(NodeId n) {
  // Transactions all or nothing: items A and B are only ever written together.
  const Gdm& g = gdm(n);
  const Item* a = g.Find(kTxnItemA);
  const Item* b = g.Find(kTxnItemB);
  if ((a == nullptr) != (b == nullptr) || (a && a->bytes != b->bytes))
    Violation("transaction seen in part at " + ToString(n) + ": A=" + (a ? Str(a->bytes) : "-") +
              " B=" + (b ? Str(b->bytes) : "-"));
}

void GdmSim::CheckLocks() {
  // At most one holder per lock among the members of one view.
  std::map<std::pair<ViewId, ItemId>, NodeId> holders;
  for (NodeId n : ids()) {
    if (!up(n)) continue;
    auto v = cluster_->CurrentView(n);
    if (!v) continue;
    for (const auto& [id, item] : gdm(n).state().items) {
      if (item.kind != ItemKind::kLock || !gdm(n).HoldsLock(id)) continue;
      auto [it, fresh] = holders.emplace(std::make_pair(v->id, id), n);
      if (!fresh)
        Violation("lock " + std::to_string(id) + " held by " + ToString(it->second) + " and " +
                  ToString(n) + " in " + ToString(v->id));
    }
  }
}

bool GdmSim::AllActiveAndEqual() {
  const GdmState* first = nullptr;
  std::optional<ViewId> view;
  for (NodeId n : ids()) {
    if (!up(n)) continue;
    if (gdm(n).mode() != GdmMode::kActive) return false;
    auto v = cluster_->CurrentView(n);
    if (!v || (view && *view != v->id)) return false;
    view = v->id;
    if (first == nullptr) {
      first = &gdm(n).state();
    } else if (!(gdm(n).state() == *first)) {
      return false;
    }
  }
  return first != nullptr && cluster_->Converged();
}

void GdmSim::CheckAckedWrites() {
  for (NodeId n : ids()) {
    if (!up(n)) continue;
    for (const auto& [id, acked] : acked_) {
      const Item* item = gdm(n).Find(id);
      if (item == nullptr || item->version < acked.first ||
          (item->version == acked.first && Str(item->bytes) != acked.second))
        Violation("acknowledged write lost at " + ToString(n) + ": item " + std::to_string(id) +
                  " acked '" + acked.second + "' at version " + std::to_string(acked.first) +
                  ", holds " +
                  (item ? "'" + Str(item->bytes) + "' v" + std::to_string(item->version)
                        : std::string("nothing")));
    }
  }
}

void GdmSim::Violation(const std::string& s) {
  if (violations_.size() < 20) violations_.push_back(s);
}

std::string GdmSim::Describe(const GdmState& st) {
  std::string out = "{index " + std::to_string(st.index) + " epoch " + std::to_string(st.epoch) +
                    " leader " + ToString(st.leader) + " last_primary " +
                    ToString(st.last_primary) + ":";
  for (const auto& [id, item] : st.items) {
    out += " " + std::to_string(id) + "=" + Str(item.bytes) + "/v" + std::to_string(item.version);
    if (item.kind == ItemKind::kLock) out += "/h" + ToString(item.holder);
  }
  return out + "}";
}

std::string GdmSim::Report() const {
  std::string out;
  for (const auto& v : violations_) out += "  GDM VIOLATION: " + v + "\n";
  for (NodeId n : cluster_->ids()) {
    if (!cluster_->up(n)) continue;
    const Gdm& g = *node(n).gdm;
    out += "  " + ToString(n) + " gdm " + ToString(g.mode()) + " durable " +
           std::to_string(g.durable_index()) + " " + Describe(g.state()) + "\n";
  }
  out += cluster_->Report();
  return out;
}

}  // namespace rain::membership::testing
