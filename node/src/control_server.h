// The control endpoint of raind (docs/raind.md §3): a Unix stream socket carrying one JSON object
// per line each way. One thread polls the listening socket, the clients and a wakeup pipe; each
// complete request line goes to the Dispatcher (on this thread) and its answer is queued for the
// client in order. `watch` turns a connection into an event stream fed by Broadcast from any
// thread. A request may be answered later (ControlReply::deferred, then Answer from any thread):
// the connection's later answers wait behind it, so each connection sees its answers in request
// order, while other connections are served meanwhile.
//
// Limits are named: at most kClientsMax connections (more are accepted and closed with an
// error line), request lines up to kRequestLineBytesMax, and kClientBacklogBytesMax of unsent
// answers/events per client; a watcher that does not read is disconnected rather than letting
// the daemon's memory grow.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain::node {

inline constexpr size_t kClientsMax = 64;
// A data_set of a 1 MiB value is 1.4 MB of base64 plus the JSON around it.
inline constexpr size_t kRequestLineBytesMax = 2 << 20;
// Requests of one connection not answered yet (deferred ones and the answers queued behind them);
// past it the connection gets ResourceExhausted answers for new requests.
inline constexpr size_t kClientPendingAnswersMax = 1024;
inline constexpr size_t kClientBacklogBytesMax = 4 << 20;
inline constexpr size_t kBroadcastQueueMax = 4096;  // events waiting for the control thread

struct ControlReply {
  nlohmann::json answer;
  bool start_watch = false;    // after the answer, stream Broadcast lines to this client
  bool then_shutdown = false;  // after the answer is written, call the shutdown callback
  // Non-zero: `answer` is ignored; the answer comes later through ControlServer::Answer with
  // this id (unique per server; the dispatcher picks it).
  uint64_t deferred = 0;
};

class ControlServer {
 public:
  using Dispatcher = std::function<ControlReply(const nlohmann::json& request)>;

  // Binds `path` with mode 0600 (a stale socket file nobody listens on is replaced;
  // AlreadyExists if a daemon answers there) and starts the thread. `on_shutdown` runs on the
  // control thread once a shutdown answer has been written.
  static Result<std::unique_ptr<ControlServer>> Start(std::string path, Dispatcher dispatch,
                                                      std::function<void()> on_shutdown);
  // Stops the thread, closes every connection, removes the socket file.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Thread-safe: sends `event` (one line) to every watching client. Dropped (counted) when the
  // control thread is kBroadcastQueueMax lines behind.
  void Broadcast(const nlohmann::json& event);

  // Thread-safe: the answer of the request whose ControlReply had `deferred == id`. Dropped if
  // its connection closed meanwhile.
  void Answer(uint64_t id, const nlohmann::json& answer);

  // An error answer in the documented form.
  static nlohmann::json Error(const Status& status);

 private:
  // One answer of a connection, in request order: ready text, or waiting for Answer(id).
  struct Slot {
    uint64_t id = 0;
    std::string text;
    bool ready = false;
  };
  struct Client {
    int fd = -1;
    std::deque<Slot> slots;  // answers behind a deferred one (empty: answers go straight out)
    std::string in;
    std::string out;
    bool watching = false;
    bool shutdown_after_write = false;
    bool close_after_write = false;
  };

  ControlServer(std::string path, int listen_fd, int wake_read, int wake_write, Dispatcher dispatch,
                std::function<void()> on_shutdown);
  void Loop();
  void Accept();
  // False when the client must be closed.
  bool ReadFrom(Client& c);
  bool WriteTo(Client& c);
  void HandleLine(Client& c, const std::string& line);
  void TakeBroadcasts();
  // Fills deferred slots with the answers that arrived and moves ready answers out in order.
  void TakeAnswers();
  void Wake();

  std::string path_;
  int listen_fd_;
  int wake_read_;
  int wake_write_;
  Dispatcher dispatch_;
  std::function<void()> on_shutdown_;
  std::vector<Client> clients_;  // control thread only
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards broadcasts_
  std::vector<std::string> broadcasts_;
  std::vector<std::pair<uint64_t, std::string>> answers_;  // deferred answers (guarded by mu_)
  uint64_t broadcasts_dropped_ = 0;
  std::thread thread_;
};

}  // namespace rain::node
