// The raind runtime (include/rain/node/daemon.h): driver + NodeStack + data_dir files + control
// endpoint + view logging.
#include "rain/node/daemon.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <optional>

#include "control_server.h"
#include "cpu_contention.h"
#include "data_commands.h"
#include "gdm_load.h"
#include "gdm_persister.h"
#include "load.h"
#include "rain/comm/driver.h"
#include "rain/core/log.h"
#include "rain/membership/gdm_storage_rocksdb.h"
#include "rain/node/stable_store.h"
#include "rain/node/stack.h"

namespace rain::node {
namespace {

uint64_t WallClockNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

const char* StateName(membership::NodeState s) {
  switch (s) {
    case membership::NodeState::kStarved:
      return "starved";
    case membership::NodeState::kChaos:
      return "chaos";
    case membership::NodeState::kReserve:
      return "reserve";
    case membership::NodeState::kAgreement:
      return "agreement";
  }
  return "starved";
}

nlohmann::json RingCountersJson(const membership::GcmCounters& c) {
  return {{"token_visits", c.token_visits},
          {"token_pass_failures", c.token_pass_failures},
          {"token_losses", c.token_losses},
          {"recovery_timeouts", c.recovery_timeouts},
          {"token_alive_sent", c.token_alive_sent},
          {"busy_holds", c.busy_holds},
          {"token_held_ms",
           std::chrono::duration_cast<std::chrono::milliseconds>(c.token_held).count()}};
}

nlohmann::json NodeIds(const std::vector<NodeId>& ids) {
  nlohmann::json a = nlohmann::json::array();
  for (NodeId n : ids) a.push_back(ToInt(n));
  return a;
}

// The node stack (GCM, GDM, election) as the driver's upper layer, plus what the daemon observes
// of it (the installed view, the leader, the load counters, the data commands waiting for their
// commit). Every member runs on the I/O thread; the control thread gets at it only through
// TransportDriver::Run/Post, the storage thread only through Post.
class StackLayer : public comm::UpperLayer {
 public:
  StackLayer(ControlServer** control, std::function<void(Status)> on_fatal, uint64_t seed)
      : control_(control),
        on_fatal_(std::move(on_fatal)),
        gdm_load_(seed),
        data_([this](uint64_t id, const nlohmann::json& answer) {
          if (*control_ != nullptr) (*control_)->Answer(id, answer);
        }) {}

  void Attach(std::unique_ptr<NodeStack> stack, GdmPersister* persister) {
    stack_ = std::move(stack);
    persister_ = persister;
  }
  // Called once, on the I/O thread, before the Transport shuts down: its failed sends must not
  // make the GCM edit views on the way out.
  void Detach() { stopping_ = true; }

  void HandleTransportEvent(comm::Transport& t, Instant now, comm::Event e) override {
    if (active()) stack_->HandleTransportEvent(t, now, std::move(e));
  }
  void HandleTimeout(comm::Transport& t, Instant now) override {
    if (!active()) return;
    // The deadline may be the gdm_load pacing's; Flush pumps the load.
    if (std::optional<Instant> d = stack_->PollDeadline(); d && *d <= now) {
      stack_->HandleTimeout(t, now);
    }
  }
  bool Flush(comm::Transport& t, Instant now) override {
    if (!active()) return false;
    // Piggybacks on the flushes that events cause anyway (at least each token visit): no timer.
    if (std::optional<bool> c = contention_.Sample(now)) stack_->gcm().SetCpuContended(now, *c);
    bool progress = load_.Pump(stack_->gcm(), now);
    progress = gdm_load_.Pump(*stack_->gdm(), now) || progress;
    progress = stack_->Flush(t, now) || progress;
    while (std::optional<membership::Event> e = stack_->PollEvent()) OnGcmEvent(std::move(*e));
    // GDM events can re-issue data commands and free the load's window: flush again.
    while (std::optional<membership::GdmEvent> e = stack_->PollGdmEvent()) {
      data_.OnEvent(*stack_->gdm(), *e, now);
      gdm_load_.OnEvent(*e, now);
      progress = true;
    }
    while (std::optional<election::ElectionEvent> e = stack_->PollElectionEvent()) {
      OnElectionEvent(*e);
    }
    while (std::optional<membership::PersistBatch> b = stack_->PollPersist()) {
      unsubmitted_.push_back(std::move(*b));
    }
    SubmitPersists();
    if (!stack_->health().ok() && !fatal_reported_) {
      fatal_reported_ = true;
      RAIN_LOG(kError, "raind", stack_->health().ToString());
      on_fatal_(stack_->health());
    }
    return progress;
  }
  std::optional<Instant> PollDeadline() const override {
    if (!active()) return std::nullopt;
    std::optional<Instant> a = stack_->PollDeadline();
    std::optional<Instant> b = stack_->health().ok() ? gdm_load_.PollDeadline() : std::nullopt;
    return !a ? b : !b ? a : std::min(*a, *b);
  }

  // The storage thread wrote `tickets` (in order) with `status` (posted to the I/O thread).
  void OnPersisted(Instant now, const std::vector<uint64_t>& tickets, const Status& status) {
    if (!active()) return;
    // The storage thread wrote them as one synced journal record: one durable ack covers them all
    // (a failure is reported against the oldest, which stops the Gdm).
    if (!tickets.empty()) {
      if (status.ok()) {
        stack_->HandlePersistedThrough(now, tickets.back(), status);
      } else {
        stack_->HandlePersisted(now, tickets.front(), status);
      }
    }
    SubmitPersists();  // room again in the storage queue
  }

  NodeStack& stack() { return *stack_; }
  LoadGenerator& load() { return load_; }
  GdmLoad& gdm_load() { return gdm_load_; }
  GdmPersister* persister() { return persister_; }
  DataCommands& data() { return data_; }

  nlohmann::json LeaderEventJson() const {
    return {{"event", "leader"},
            {"mono_ns", ToNanos(MonotonicClock::now())},
            {"leader", LeaderJson(*stack_->election())}};
  }

  nlohmann::json ViewJson() const {
    if (!view_) return nullptr;
    return {{"id", membership::ToString(view_->id)},
            {"members", NodeIds(view_->members)},
            {"primary", view_->primary},
            {"installed_mono_ns", view_installed_ns_}};
  }

 private:
  bool active() const { return stack_ != nullptr && !stopping_; }

  // Hands the batches the storage thread has room for, in ticket order.
  void SubmitPersists() {
    while (!unsubmitted_.empty() && persister_->Submit(unsubmitted_.front())) {
      unsubmitted_.pop_front();
    }
  }

  void OnElectionEvent(const election::ElectionEvent& e) {
    if (const auto* c = std::get_if<election::LeaderChanged>(&e)) {
      RAIN_LOG(kInfo, "raind",
               "leader " + std::to_string(ToInt(c->leadership.leader)) + " epoch " +
                   std::to_string(c->leadership.epoch) + (c->self_is_leader ? " (this node)" : ""));
    } else if (const auto* l = std::get_if<election::LeaderLost>(&e)) {
      RAIN_LOG(kInfo, "raind", "leader lost (epoch " + std::to_string(l->epoch) + " ended)");
    }
    if (*control_ != nullptr) (*control_)->Broadcast(LeaderEventJson());
  }

  void OnGcmEvent(membership::Event e) {
    if (auto* v = std::get_if<membership::ViewInstalled>(&e)) {
      view_ = v->view;
      view_installed_ns_ = ToNanos(MonotonicClock::now());
      std::string members;
      for (NodeId n : v->view.members)
        members += (members.empty() ? "" : " ") + std::to_string(ToInt(n));
      // The counters say which way the ring changed (docs/raind.md §6).
      const membership::GcmCounters& c = stack_->gcm().counters();
      RAIN_LOG(kInfo, "raind",
               "view " + membership::ToString(v->view.id) + " members [" + members + "] primary " +
                   (v->view.primary ? "yes" : "no") + " (so far: pass failures " +
                   std::to_string(c.token_pass_failures) + ", token losses " +
                   std::to_string(c.token_losses) + ")");
      if (*control_ != nullptr) {
        (*control_)->Broadcast(
            {{"event", "view"}, {"mono_ns", view_installed_ns_}, {"view", ViewJson()}});
      }
    } else if (auto* d = std::get_if<membership::Delivered>(&e)) {
      load_.OnDelivered(d->payload, ToNanos(MonotonicClock::now()));
    }
    // Received / DirectSendFailed / lock events: no user of them in raind yet (GDM, election).
  }

  ControlServer** control_;  // set once the control server runs; outlives the layer's use
  std::function<void(Status)> on_fatal_;
  std::unique_ptr<NodeStack> stack_;
  bool stopping_ = false;
  bool fatal_reported_ = false;
  LoadGenerator load_;
  GdmLoad gdm_load_;
  DataCommands data_;
  GdmPersister* persister_ = nullptr;
  CpuContention contention_;  // sampled on the I/O thread, which runs this layer
  // Batches the storage queue had no room for, in ticket order (bounded by the Gdm's own
  // pending state: each is one input's changes, and completions free the queue).
  std::deque<membership::PersistBatch> unsubmitted_;
  std::optional<membership::View> view_;
  int64_t view_installed_ns_ = 0;
};

}  // namespace

class Daemon::Impl {
 public:
  explicit Impl(NodeConfig config) : config_(std::move(config)) {}

  Status Start() {
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec) return IoError("creating data_dir " + config_.data_dir, ec.value());
    RAIN_ASSIGN_OR_RETURN(incarnation_, NextIncarnation(config_.data_dir, WallClockNs()));
    storage_ = std::make_unique<FileStableStorage>(
        (std::filesystem::path(config_.data_dir) / "gcm.state").string());
    RAIN_ASSIGN_OR_RETURN(membership::StableState stable, storage_->Load());
    epoch_storage_ = std::make_unique<FileEpochStorage>(
        (std::filesystem::path(config_.data_dir) / "election.state").string());
    RAIN_ASSIGN_OR_RETURN(uint64_t stable_epoch, epoch_storage_->Load());
    const std::string gdm_dir = (std::filesystem::path(config_.data_dir) / "gdm").string();
    RAIN_ASSIGN_OR_RETURN(gdm_storage_, membership::RocksDbGdmStorage::Open(gdm_dir));
    Result<membership::GdmState> restored = gdm_storage_->Load();
    if (!restored.ok()) return restored.status().WithContext(gdm_dir);
    started_ = MonotonicClock::now();

    layer_ = std::make_shared<StackLayer>(
        &control_raw_, [this](Status s) { RequestShutdown(std::move(s)); }, incarnation_);
    comm::DriverOptions d;
    d.transport = config_.transport;
    d.transport.incarnation = incarnation_;
    RAIN_ASSIGN_OR_RETURN(driver_, comm::TransportDriver::Start(std::move(d), layer_));

    // The storage thread reports back on the I/O thread. A Post that fails means the driver
    // stopped: nothing waits for the acknowledgement any more.
    persister_ = std::make_unique<GdmPersister>(
        gdm_storage_.get(), [this](std::vector<uint64_t> tickets, const Status& st) {
          driver_
              ->Post([this, tickets = std::move(tickets), st](comm::Transport&, Instant now) {
                layer_->OnPersisted(now, tickets, st);
              })
              .IgnoreError();
        });

    NodeStackOptions so{.gcm = config_.gcm};
    Rng rng(incarnation_ ^ (uint64_t{ToInt(config_.self)} << 48));
    // Group commit: while one persist is at the disk, changes accumulate (each item once) into
    // the next batch, so a busy node fsyncs and acks once per disk round trip, not per update.
    DataLayerStart data{.gdm = {.max_item_bytes = 0, .max_persists_in_flight = 1},
                        .restored = std::move(*restored),
                        .stable_epoch = stable_epoch,
                        .epoch_storage = epoch_storage_.get()};
    RAIN_RETURN_IF_ERROR(driver_->Run([&](comm::Transport& t, Instant now) -> Status {
      RAIN_RETURN_IF_ERROR(AddPeers(t, config_));
      RAIN_ASSIGN_OR_RETURN(
          std::unique_ptr<NodeStack> stack,
          NodeStack::Create(t, so, std::move(rng), now, stable, storage_.get(), std::move(data)));
      layer_->Attach(std::move(stack), persister_.get());
      return Status::Ok();
    }));

    RAIN_ASSIGN_OR_RETURN(control_, ControlServer::Start(
                                        config_.control_socket,
                                        [this](const nlohmann::json& r) { return Dispatch(r); },
                                        [this] { RequestShutdown(Status::Ok()); }));
    // Published for view broadcasts through Run, so the I/O thread sees it after this point.
    RAIN_RETURN_IF_ERROR(driver_->Run([this](comm::Transport&, Instant) {
      control_raw_ = control_.get();
      return Status::Ok();
    }));
    std::string addrs;
    for (const comm::Address& a : driver_->LocalAddresses()) {
      addrs += (addrs.empty() ? "" : " ") + a.ToString();
    }
    RAIN_LOG(kInfo, "raind",
             "node " + std::to_string(ToInt(config_.self)) + " of cluster " + config_.cluster +
                 " started: incarnation " + std::to_string(incarnation_) + ", addresses " + addrs +
                 ", control " + config_.control_socket);
    return Status::Ok();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    if (driver_ != nullptr) {
      driver_
          ->Run([this](comm::Transport&, Instant) {
            control_raw_ = nullptr;
            layer_->Detach();
            return Status::Ok();
          })
          .IgnoreError();  // the driver may have stopped already; Detach then does not matter
    }
    control_.reset();    // closes the connections, removes the socket file
    persister_.reset();  // writes what is queued; its reports reach a detached layer
    driver_.reset();     // Transport::Shutdown, sockets closed, I/O thread joined
    gdm_storage_.reset();
    RAIN_LOG(kInfo, "raind", "node " + std::to_string(ToInt(config_.self)) + " stopped");
  }

  void RequestShutdown(Status reason) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_requested_) return;
      shutdown_requested_ = true;
      shutdown_reason_ = std::move(reason);
    }
    cv_.notify_all();
  }

  Status WaitForShutdownRequest() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return shutdown_requested_; });
    return shutdown_reason_;
  }

  uint64_t incarnation() const { return incarnation_; }

 private:
  ControlReply Dispatch(const nlohmann::json& r) {
    const std::string cmd = r["cmd"].get<std::string>();
    ControlReply reply;
    if (cmd == "status") {
      reply.answer = OnIo([this](comm::Transport& t) { return StatusJson(t); });
    } else if (cmd == "watch") {
      reply.answer = {{"ok", true}};
      reply.start_watch = true;
    } else if (cmd == "shutdown") {
      reply.answer = {{"ok", true}};
      reply.then_shutdown = true;
    } else if (cmd == "mcast") {
      reply.answer = StartLoad(r);
    } else if (cmd == "mcast_stats") {
      reply.answer = OnIo([this](comm::Transport&) { return layer_->load().Stats(); });
    } else if (cmd == "mcast_reset") {
      reply.answer = OnIo([this](comm::Transport&) {
        layer_->load().Reset();
        return nlohmann::json{{"ok", true}};
      });
    } else if (cmd == "data_ls") {
      reply.answer = OnIo([&](comm::Transport&) { return layer_->data().Ls(Gdm(), r); });
    } else if (cmd == "data_get") {
      reply.answer = OnIo([&](comm::Transport&) { return layer_->data().Get(Gdm(), r); });
    } else if (cmd == "data_set" || cmd == "data_rm") {
      // Answered when the commit is durable everywhere (DataCommands -> ControlServer::Answer).
      const uint64_t id = next_answer_id_.fetch_add(1) + 1;
      bool deferred = false;
      nlohmann::json err = OnIo([&](comm::Transport&, Instant now) -> nlohmann::json {
        std::optional<nlohmann::json> e = cmd == "data_set" ? layer_->data().Set(Gdm(), r, id, now)
                                                            : layer_->data().Rm(Gdm(), r, id, now);
        deferred = !e.has_value();
        return e.value_or(nullptr);
      });
      if (deferred) {
        reply.deferred = id;
      } else {
        reply.answer = err;
      }
    } else if (cmd == "gdm_load") {
      reply.answer = StartGdmLoad(r);
    } else if (cmd == "gdm_stats") {
      reply.answer = OnIo([this](comm::Transport&) {
        nlohmann::json j = layer_->gdm_load().Stats(layer_->stack().gdm()->state().index);
        // What the load cost the storage thread over the same window (gdm_reset starts both).
        if (GdmPersister* p = layer_->persister()) {
          const GdmPersistStats st = p->Stats();
          j["persist_batches"] = st.batches;
          j["persist_groups"] = st.groups;
          j["persist_us_p50"] = st.write_us_p50;
          j["persist_us_p99"] = st.write_us_p99;
          j["persist_us_max"] = st.write_us_max;
        }
        // The journal since this raind started (gdm_reset does not touch these).
        const membership::RocksDbGdmStorageStats js = gdm_storage_->Stats();
        j["journal_replayed_batches"] = js.replayed_batches;
        j["journal_records"] = js.journal_records;
        j["journal_bytes"] = js.journal_bytes;
        j["checkpoints"] = js.checkpoints;
        j["checkpoint_items"] = js.checkpoint_items;
        return j;
      });
    } else if (cmd == "gdm_reset") {
      reply.answer = OnIo([this](comm::Transport&) {
        layer_->gdm_load().Reset();
        if (GdmPersister* p = layer_->persister()) p->ResetStats();
        return nlohmann::json{{"ok", true}};
      });
    } else {
      reply.answer = ControlServer::Error(InvalidArgumentError(
          "unknown command \"" + cmd +
          "\" (known: status, watch, shutdown, mcast, mcast_stats, mcast_reset, data_ls, "
          "data_get, data_set, data_rm, gdm_load, gdm_stats, gdm_reset)"));
    }
    return reply;
  }

  membership::Gdm& Gdm() { return *layer_->stack().gdm(); }

  nlohmann::json StartGdmLoad(const nlohmann::json& r) {
    GdmLoadParams p;
    const std::pair<const char*, uint64_t*> fields[] = {
        {"id_base", &p.id_base},         {"items", &p.items},
        {"item_bytes", &p.item_bytes},   {"rate", &p.rate},
        {"duration_ms", &p.duration_ms}, {"window", &p.window}};
    for (auto [key, out] : fields) {
      if (!r.contains(key)) continue;
      if (!r[key].is_number_integer() || r[key].get<int64_t>() < 0) {
        return ControlServer::Error(
            InvalidArgumentError(std::string("\"") + key + "\" must be a non-negative integer"));
      }
      *out = r[key].get<uint64_t>();
    }
    if (r.contains("create")) {
      if (!r["create"].is_boolean()) {
        return ControlServer::Error(InvalidArgumentError("\"create\" must be true or false"));
      }
      p.create = r["create"].get<bool>();
    }
    Status valid = ValidateGdmLoad(p, GdmItemBytesMax(config_.gcm.options));
    if (!valid.ok()) return ControlServer::Error(valid);
    return OnIo([&](comm::Transport&, Instant now) {
      layer_->gdm_load().Start(p, now);
      return nlohmann::json{{"ok", true}};
    });
  }

  // Runs `fn` on the I/O thread and returns its answer (or the error of getting there).
  nlohmann::json OnIo(std::function<nlohmann::json(comm::Transport&, Instant)> fn) {
    nlohmann::json answer;
    Status s = driver_->Run([&](comm::Transport& t, Instant now) {
      answer = fn(t, now);
      return Status::Ok();
    });
    return s.ok() ? answer : ControlServer::Error(s);
  }
  nlohmann::json OnIo(std::function<nlohmann::json(comm::Transport&)> fn) {
    return OnIo([&](comm::Transport& t, Instant) { return fn(t); });
  }

  nlohmann::json StartLoad(const nlohmann::json& r) {
    auto count_of = [&](const char* key, uint64_t dflt) -> std::optional<uint64_t> {
      if (!r.contains(key)) return dflt;
      if (!r[key].is_number_integer() || r[key].get<int64_t>() < 0) return std::nullopt;
      return r[key].get<uint64_t>();
    };
    std::optional<uint64_t> bytes = count_of("bytes", 64);
    std::optional<uint64_t> count = count_of("count", 1);
    const uint64_t max_bytes = config_.gcm.options.max_message_bytes;
    if (!bytes || *bytes < kLoadHeaderBytes || *bytes > max_bytes) {
      return ControlServer::Error(InvalidArgumentError("\"bytes\" must be an integer in " +
                                                       std::to_string(kLoadHeaderBytes) + ".." +
                                                       std::to_string(max_bytes)));
    }
    if (!count || *count < 1 || *count > kLoadCountMax) {
      return ControlServer::Error(InvalidArgumentError("\"count\" must be an integer in 1.." +
                                                       std::to_string(kLoadCountMax)));
    }
    membership::Service service = membership::Service::kAgreed;
    std::string svc = r.contains("service") && r["service"].is_string()
                          ? r["service"].get<std::string>()
                          : (r.contains("service") ? "?" : "agreed");
    if (svc == "safe") {
      service = membership::Service::kSafe;
    } else if (svc != "agreed") {
      return ControlServer::Error(
          InvalidArgumentError("\"service\" must be \"agreed\" or \"safe\""));
    }
    return OnIo([&](comm::Transport&) {
      layer_->load().Start(*bytes, *count, service);
      return nlohmann::json{{"ok", true}};
    });
  }

  nlohmann::json StatusJson(comm::Transport& t) {
    const membership::Gcm& gcm = layer_->stack().gcm();
    nlohmann::json peers = nlohmann::json::array();
    for (const NodeEntry& e : config_.nodes) {
      if (e.id == config_.self) continue;
      nlohmann::json links = nlohmann::json::array();
      for (const comm::LinkStatus& l : t.Links(e.id)) {
        links.push_back({{"local", l.path.local.ToString()},
                         {"remote", l.path.remote.ToString()},
                         {"up", l.up}});
      }
      peers.push_back(
          {{"node", ToInt(e.id)}, {"reachable", t.IsReachable(e.id)}, {"links", links}});
    }
    return {{"ok", true},
            {"node", ToInt(config_.self)},
            {"cluster", config_.cluster},
            {"pid", static_cast<int64_t>(::getpid())},
            {"incarnation", incarnation_},
            {"uptime_ms",
             std::chrono::duration_cast<std::chrono::milliseconds>(MonotonicClock::now() - started_)
                 .count()},
            {"state", StateName(gcm.state())},
            {"view", layer_->ViewJson()},
            {"eligible", NodeIds(gcm.EligibleMembership())},
            {"master_lock", gcm.master_lock_held()},
            {"ring", RingCountersJson(gcm.counters())},
            {"cpu_contended", gcm.cpu_contended()},
            {"peers", peers},
            {"gdm", GdmStatusJson(*layer_->stack().gdm())},
            {"leader", LeaderJson(*layer_->stack().election())}};
  }

  NodeConfig config_;
  uint64_t incarnation_ = 0;
  Instant started_{};
  std::unique_ptr<FileStableStorage> storage_;
  std::unique_ptr<FileEpochStorage> epoch_storage_;
  std::unique_ptr<membership::RocksDbGdmStorage> gdm_storage_;
  std::unique_ptr<GdmPersister> persister_;
  std::atomic<uint64_t> next_answer_id_{0};
  std::shared_ptr<StackLayer> layer_;
  std::unique_ptr<comm::TransportDriver> driver_;
  std::unique_ptr<ControlServer> control_;
  ControlServer* control_raw_ = nullptr;  // I/O thread's view of control_ (see Start/Stop)
  bool stopped_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_requested_ = false;
  Status shutdown_reason_;
};

Result<std::unique_ptr<Daemon>> Daemon::Start(const NodeConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  Status s = impl->Start();
  if (!s.ok()) {
    impl->Stop();
    return s;
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() { impl_->Stop(); }
Status Daemon::WaitForShutdownRequest() { return impl_->WaitForShutdownRequest(); }
void Daemon::RequestShutdown(Status reason) { impl_->RequestShutdown(std::move(reason)); }
void Daemon::Stop() { impl_->Stop(); }
uint64_t Daemon::incarnation() const { return impl_->incarnation(); }

}  // namespace rain::node
