// gdm_apply_bench: the sans-IO GDM's CPU cost per applied 1 KiB update, in process (no network,
// no disk): decode, apply, digest, persist-batch cut, events. It tells whether the GDM target
// (<= 0.2 % CPU per node at 500 updates/s/node x 5 nodes, i.e. 2,500 applies/s per node, and
// >= 50,000 updates/s across 5 nodes, i.e. every node applying 50,000/s) is reachable.
// Usage: gdm_apply_bench [updates] [items]   (docs/benchmarks.md "GDM apply cost")
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rain/membership/gdm.h"

using namespace rain;
using namespace rain::membership;

int main(int argc, char** argv) {
  const uint64_t updates = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const uint64_t items = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10000;
  const uint64_t kCluster = 7;
  Instant now{};
  Gdm g(NodeId{1}, GdmOptions{.cluster_id = kCluster});
  View v{ViewId{1, NodeId{1}, 1, NodeId{1}}, {NodeId{1}}, true, {}};
  (void)g.HandleGcmEvent(now, ViewInstalled{v});
  uint64_t seq = 0;
  auto deliver = [&](std::vector<uint8_t> payload) {
    (void)g.HandleGcmEvent(
        now, Delivered{NodeId{1}, v.id, ++seq, Service::kSafe, true, std::move(payload)});
  };
  // The summary reaches the sync point; then the items exist.
  while (auto c = g.PollGcmCommand()) deliver(std::get<GcmMulticast>(*c).payload);
  std::vector<uint8_t> value(1024, 0xab);
  for (uint64_t i = 1; i <= items; ++i) {
    CommitMsg m{NodeId{2}, i, 0, i, {ItemOp{.kind = OpKind::kCreate, .item = i, .bytes = value}}};
    deliver(EncodeGdm(kCluster, m));
  }
  while (auto b = g.PollPersist()) g.HandlePersisted(now, b->ticket, Status::Ok());
  while (g.PollEvent()) {
  }
  // Pre-encode the updates as the GCM's Delivered events (the GCM hands the GDM an event that
  // owns the payload; encoding is the writer's cost, and copying the payload per update would
  // time the bench, not the GDM).
  std::vector<Event> msgs;
  msgs.reserve(1024);
  for (uint64_t i = 0; i < 1024; ++i) {
    value[0] = static_cast<uint8_t>(i);
    CommitMsg m{NodeId{2},
                items + i,
                0,
                items + i,
                {ItemOp{.kind = OpKind::kWrite, .item = 1 + (i * 7919) % items, .bytes = value}}};
    msgs.emplace_back(
        Delivered{NodeId{1}, v.id, ++seq, Service::kSafe, true, EncodeGdm(kCluster, m)});
  }
  // Thread CPU time, so that other processes on a shared machine do not inflate the figure.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  double t0 = cpu_now();
  for (uint64_t i = 0; i < updates; ++i) {
    (void)g.HandleGcmEvent(now, msgs[i % msgs.size()]);
    // One persist batch per input, as the host drains after every input, reported durable at
    // once (the disk's cost is gdm_storage_bench's).
    while (auto b = g.PollPersist()) g.HandlePersisted(now, b->ticket, Status::Ok());
    while (g.PollEvent()) {
    }
  }
  double secs = cpu_now() - t0;
  double ns = secs * 1e9 / static_cast<double>(updates);
  std::printf(
      "gdm apply: %llu updates of 1 KiB over %llu items: %.0f ns/update, %.0f updates/s "
      "per core\n",
      static_cast<unsigned long long>(updates), static_cast<unsigned long long>(items), ns,
      1e9 / ns);
  std::printf("  at 2,500 applies/s per node (500/s/node x 5): %.3f %% CPU\n", ns * 2500 / 1e7);
  std::printf("  at 50,000 applies/s per node: %.1f %% CPU\n", ns * 50000 / 1e7);
  return g.state().index > items ? 0 : 1;
}
