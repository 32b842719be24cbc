// Wire format of the GCM's messages (DESIGN.md §3 rule 2; byte layout in docs/membership.md).
//
// Every message starts with a 16-byte header:
//   u8 version (=1) | u8 type | u16 flags (=0) | u64 cluster_id | u32 crc32c(body)
// followed by a type-specific body, all little-endian, written field by field with
// rain::Writer. Decoders check every length against a limit before use and return
// Corruption on anything malformed: a bad packet is an error value, never a crash.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "rain/core/ids.h"
#include "rain/core/result.h"
#include "rain/membership/view.h"

namespace rain::membership {

inline constexpr uint8_t kWireVersion = 1;
inline constexpr size_t kHeaderBytes = 16;
// Decoder limits (independent of RingOptions so that any node can decode any peer's message).
inline constexpr size_t kWireMaxMembers = 1024;
inline constexpr size_t kWireMaxList = 1u << 16;  // rtr, lock queue, extras, batch count
inline constexpr size_t kWireMaxPayloadBytes = 64u << 20;

enum class MsgType : uint8_t {
  kToken = 1,
  kData = 2,
  kCall911 = 3,
  kReply911 = 4,
  kProbe = 5,
  kProbeReply = 6,
  kWake = 7,
  kDirect = 8,
  kTokenAlive = 9,
};

// Token phases = the paper's view states (RAINCORE.md §2): Chaos while the new member list
// makes its first round, Reserve while the second round retransmits the old view's messages,
// Agreement once installed (normal operation).
enum class TokenPhase : uint8_t { kChaos = 1, kReserve = 2, kAgreement = 3 };

// Ordering service of one multicast message.
enum class Service : uint8_t { kAgreed = 1, kSafe = 2 };

// What one member holds of its previous view's messages, written on its Chaos visit.
struct RecoveryRecord {
  NodeId node = kNoNode;
  ViewId old_view;               // last installed view (empty: none)
  uint64_t aru = 0;              // holds every seq in [1, aru]
  std::vector<uint64_t> extras;  // also holds these seqs > aru (ascending)

  bool Holds(uint64_t seq) const;
  friend bool operator==(const RecoveryRecord&, const RecoveryRecord&) = default;
};

struct Token {
  Ballot ballot;
  uint64_t hop_seq = 0;  // +1 on every pass
  ViewId view;
  ViewId prev_primary;
  TokenPhase phase = TokenPhase::kChaos;
  bool primary = false;
  std::vector<NodeId> members;
  // Ordered multicast of `view` (Totem-style, RAINCORE.md §3).
  uint64_t msg_seq = 0;  // highest seq assigned
  uint64_t aru = 0;      // all members hold [1, aru] (as far as this rotation knows)
  NodeId aru_setter = kNoNode;
  uint32_t busy_hops = 0;        // hops left before the token may idle
  std::vector<uint64_t> rtr;     // retransmission requests
  NodeId lock_holder = kNoNode;  // master lock
  std::vector<NodeId> lock_queue;
  std::vector<RecoveryRecord> records;  // Chaos/Reserve only

  friend bool operator==(const Token&, const Token&) = default;
};

struct DataMessage {
  uint64_t seq = 0;
  NodeId sender = kNoNode;
  Service service = Service::kAgreed;
  std::vector<uint8_t> payload;
  friend bool operator==(const DataMessage&, const DataMessage&) = default;
};

// A batch of ordered messages of one view (new ones or retransmissions).
struct DataBatch {
  ViewId view;
  std::vector<DataMessage> messages;
  friend bool operator==(const DataBatch&, const DataBatch&) = default;
};

enum class Call911Mode : uint8_t { kStarved = 1, kJoin = 2, kMerge = 3 };

struct Call911 {
  Ballot ballot;
  Call911Mode mode = Call911Mode::kStarved;
  ViewId last_view;      // caller's newest accepted view
  ViewId known_primary;  // caller's newest known primary view
  friend bool operator==(const Call911&, const Call911&) = default;
};

enum class Reply911Kind : uint8_t {
  kGrant = 1,         // promised `ballot`
  kDenyAlive = 2,     // my ring is alive; wait for the token (or to be added)
  kDenyPromised = 3,  // I promised a higher ballot (`promised`)
};

struct Reply911 {
  Ballot ballot;  // the ballot replied to
  Reply911Kind kind = Reply911Kind::kGrant;
  Ballot promised;
  bool caller_is_member = false;  // kDenyAlive: the caller is in my current member list
  ViewId last_view;
  ViewId known_primary;
  friend bool operator==(const Reply911&, const Reply911&) = default;
};

struct Probe {
  ViewId view;
  bool reply = false;  // kProbeReply
  friend bool operator==(const Probe&, const Probe&) = default;
};

struct Wake {
  ViewId view;
  friend bool operator==(const Wake&, const Wake&) = default;
};

// "The token of `view` is alive: I passed it and wait for the pass's outcome." Sent by a passer
// whose pass is not acknowledged after pass_keepalive_interval (its successor may be dead and
// the TM's failure report takes up to F), so the others' shorter token-loss timers do not fire.
struct TokenAlive {
  ViewId view;
  friend bool operator==(const TokenAlive&, const TokenAlive&) = default;
};

struct Direct {
  std::vector<uint8_t> payload;
  friend bool operator==(const Direct&, const Direct&) = default;
};

using Message = std::variant<Token, DataBatch, Call911, Reply911, Probe, Wake, Direct, TokenAlive>;

std::vector<uint8_t> Encode(const Message& m, uint64_t cluster_id);
// Corruption on a bad header, checksum, type, length or value; FailedPrecondition on a
// foreign cluster id.
Result<Message> Decode(std::span<const uint8_t> bytes, uint64_t cluster_id);

}  // namespace rain::membership
