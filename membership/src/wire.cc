// Encoders and decoders of the GCM messages (include/rain/membership/wire.h). Byte layouts are
// in docs/membership.md "Wire format"; keep the two in step.
#include "rain/membership/wire.h"

#include <algorithm>

#include "frame.h"
#include "rain/core/codec.h"
#include "rain/core/crc32c.h"

static_assert(rain::membership::kHeaderBytes == rain::membership::internal::kFrameHeaderBytes);

namespace rain::membership {
namespace {

void PutBallot(Writer& w, const Ballot& b) {
  w.U64(b.epoch);
  w.U32(ToInt(b.node));
}
Ballot GetBallot(Reader& r) {
  Ballot b;
  b.epoch = r.U64("ballot.epoch");
  b.node = NodeId{r.U32("ballot.node")};
  return b;
}
void PutView(Writer& w, const ViewId& v) {
  w.U64(v.epoch);
  w.U32(ToInt(v.ringer));
  w.U64(v.seq);
  w.U32(ToInt(v.creator));
}
ViewId GetView(Reader& r) {
  ViewId v;
  v.epoch = r.U64("view.epoch");
  v.ringer = NodeId{r.U32("view.ringer")};
  v.seq = r.U64("view.seq");
  v.creator = NodeId{r.U32("view.creator")};
  return v;
}
void PutNodes(Writer& w, const std::vector<NodeId>& v) {
  w.U16(static_cast<uint16_t>(v.size()));
  for (NodeId n : v) w.U32(ToInt(n));
}
std::vector<NodeId> GetNodes(Reader& r, size_t max, const char* field) {
  uint16_t n = r.U16(field);
  r.Expect(n <= max, std::string(field) + ": too many entries");
  std::vector<NodeId> out;
  if (!r.ok()) return out;
  out.reserve(n);
  for (uint16_t i = 0; i < n && r.ok(); ++i) {
    NodeId id{r.U32(field)};
    r.Expect(id != kNoNode, std::string(field) + ": node 0");
    out.push_back(id);
  }
  return out;
}
void PutSeqs(Writer& w, const std::vector<uint64_t>& v) {
  w.U16(static_cast<uint16_t>(v.size()));
  for (uint64_t s : v) w.U64(s);
}
std::vector<uint64_t> GetSeqs(Reader& r, const char* field) {
  uint16_t n = r.U16(field);
  std::vector<uint64_t> out;
  // Each entry needs 8 bytes: refuse counts the buffer cannot hold before allocating.
  r.Expect(static_cast<size_t>(n) * 8 <= r.remaining(), std::string(field) + ": truncated");
  if (!r.ok()) return out;
  out.reserve(n);
  for (uint16_t i = 0; i < n; ++i) out.push_back(r.U64(field));
  return out;
}

void EncodeBody(Writer& w, const Token& t) {
  PutBallot(w, t.ballot);
  w.U64(t.hop_seq);
  PutView(w, t.view);
  PutView(w, t.prev_primary);
  w.U8(static_cast<uint8_t>(t.phase));
  w.U8(t.primary ? 1 : 0);
  PutNodes(w, t.members);
  w.U64(t.msg_seq);
  w.U64(t.aru);
  w.U32(ToInt(t.aru_setter));
  w.U32(t.busy_hops);
  PutSeqs(w, t.rtr);
  w.U32(ToInt(t.lock_holder));
  PutNodes(w, t.lock_queue);
  w.U16(static_cast<uint16_t>(t.records.size()));
  for (const RecoveryRecord& rec : t.records) {
    w.U32(ToInt(rec.node));
    PutView(w, rec.old_view);
    w.U64(rec.aru);
    PutSeqs(w, rec.extras);
  }
}
void EncodeBody(Writer& w, const DataBatch& b) {
  PutView(w, b.view);
  w.U32(static_cast<uint32_t>(b.messages.size()));
  for (const DataMessage& m : b.messages) {
    w.U64(m.seq);
    w.U32(ToInt(m.sender));
    w.U8(static_cast<uint8_t>(m.service));
    w.U32(static_cast<uint32_t>(m.payload.size()));
    w.Bytes(m.payload);
  }
}
void EncodeBody(Writer& w, const Call911& c) {
  PutBallot(w, c.ballot);
  w.U8(static_cast<uint8_t>(c.mode));
  PutView(w, c.last_view);
  PutView(w, c.known_primary);
}
void EncodeBody(Writer& w, const Reply911& c) {
  PutBallot(w, c.ballot);
  w.U8(static_cast<uint8_t>(c.kind));
  PutBallot(w, c.promised);
  w.U8(c.caller_is_member ? 1 : 0);
  PutView(w, c.last_view);
  PutView(w, c.known_primary);
}
void EncodeBody(Writer& w, const Probe& p) { PutView(w, p.view); }
void EncodeBody(Writer& w, const Wake& p) { PutView(w, p.view); }
void EncodeBody(Writer& w, const TokenAlive& p) { PutView(w, p.view); }
void EncodeBody(Writer& w, const Direct& d) {
  w.U32(static_cast<uint32_t>(d.payload.size()));
  w.Bytes(d.payload);
}

MsgType TypeOf(const Message& m) {
  struct V {
    MsgType operator()(const Token&) { return MsgType::kToken; }
    MsgType operator()(const DataBatch&) { return MsgType::kData; }
    MsgType operator()(const Call911&) { return MsgType::kCall911; }
    MsgType operator()(const Reply911&) { return MsgType::kReply911; }
    MsgType operator()(const Probe& p) { return p.reply ? MsgType::kProbeReply : MsgType::kProbe; }
    MsgType operator()(const Wake&) { return MsgType::kWake; }
    MsgType operator()(const Direct&) { return MsgType::kDirect; }
    MsgType operator()(const TokenAlive&) { return MsgType::kTokenAlive; }
  };
  return std::visit(V{}, m);
}

Token DecodeToken(Reader& r) {
  Token t;
  t.ballot = GetBallot(r);
  t.hop_seq = r.U64("hop_seq");
  t.view = GetView(r);
  t.prev_primary = GetView(r);
  uint8_t phase = r.U8("phase");
  r.Expect(phase >= 1 && phase <= 3, "token: bad phase");
  t.phase = static_cast<TokenPhase>(phase);
  uint8_t primary = r.U8("primary");
  r.Expect(primary <= 1, "token: bad primary flag");
  t.primary = primary == 1;
  t.members = GetNodes(r, kWireMaxMembers, "members");
  r.Expect(!t.members.empty() || !r.ok(), "token: no members");
  t.msg_seq = r.U64("msg_seq");
  t.aru = r.U64("aru");
  t.aru_setter = NodeId{r.U32("aru_setter")};
  t.busy_hops = r.U32("busy_hops");
  t.rtr = GetSeqs(r, "rtr");
  t.lock_holder = NodeId{r.U32("lock_holder")};
  t.lock_queue = GetNodes(r, kWireMaxMembers, "lock_queue");
  uint16_t nrec = r.U16("records");
  r.Expect(nrec <= kWireMaxMembers, "token: too many records");
  for (uint16_t i = 0; i < nrec && r.ok(); ++i) {
    RecoveryRecord rec;
    rec.node = NodeId{r.U32("record.node")};
    rec.old_view = GetView(r);
    rec.aru = r.U64("record.aru");
    rec.extras = GetSeqs(r, "record.extras");
    t.records.push_back(std::move(rec));
  }
  // Semantic checks the protocol relies on.
  std::vector<NodeId> sorted = t.members;
  std::sort(sorted.begin(), sorted.end());
  r.Expect(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
           "token: duplicate member");
  r.Expect(t.aru <= t.msg_seq, "token: aru above msg_seq");
  return t;
}

DataBatch DecodeData(Reader& r) {
  DataBatch b;
  b.view = GetView(r);
  uint32_t n = r.U32("batch.count");
  // Each message needs at least 17 bytes.
  r.Expect(static_cast<size_t>(n) * 17 <= r.remaining(), "data: count exceeds the buffer");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    DataMessage m;
    m.seq = r.U64("msg.seq");
    m.sender = NodeId{r.U32("msg.sender")};
    uint8_t service = r.U8("msg.service");
    r.Expect(service == 1 || service == 2, "data: bad service");
    m.service = static_cast<Service>(service);
    uint32_t len = r.U32("msg.length");
    r.Expect(len <= kWireMaxPayloadBytes, "data: payload too large");
    auto bytes = r.Bytes(len, "msg.payload");
    m.payload.assign(bytes.begin(), bytes.end());
    r.Expect(m.seq != 0, "data: seq 0");
    b.messages.push_back(std::move(m));
  }
  return b;
}

}  // namespace

bool RecoveryRecord::Holds(uint64_t seq) const {
  return seq <= aru || std::binary_search(extras.begin(), extras.end(), seq);
}

std::vector<uint8_t> Encode(const Message& m, uint64_t cluster_id) {
  Writer w(64);
  internal::BeginFrame(w, kWireVersion, static_cast<uint8_t>(TypeOf(m)), cluster_id);
  std::visit([&w](const auto& body) { EncodeBody(w, body); }, m);
  return internal::SealFrame(w);
}

Result<Message> Decode(std::span<const uint8_t> bytes, uint64_t cluster_id) {
  Reader r(bytes);
  RAIN_ASSIGN_OR_RETURN(uint8_t type,
                        internal::OpenFrame(r, bytes, kWireVersion, cluster_id, "gcm"));
  Message m;
  switch (static_cast<MsgType>(type)) {
    case MsgType::kToken:
      m = DecodeToken(r);
      break;
    case MsgType::kData:
      m = DecodeData(r);
      break;
    case MsgType::kCall911: {
      Call911 c;
      c.ballot = GetBallot(r);
      uint8_t mode = r.U8("mode");
      r.Expect(mode >= 1 && mode <= 3, "911: bad mode");
      c.mode = static_cast<Call911Mode>(mode);
      c.last_view = GetView(r);
      c.known_primary = GetView(r);
      m = c;
      break;
    }
    case MsgType::kReply911: {
      Reply911 c;
      c.ballot = GetBallot(r);
      uint8_t kind = r.U8("kind");
      r.Expect(kind >= 1 && kind <= 3, "911 reply: bad kind");
      c.kind = static_cast<Reply911Kind>(kind);
      c.promised = GetBallot(r);
      uint8_t member = r.U8("caller_is_member");
      r.Expect(member <= 1, "911 reply: bad flag");
      c.caller_is_member = member == 1;
      c.last_view = GetView(r);
      c.known_primary = GetView(r);
      m = c;
      break;
    }
    case MsgType::kProbe:
    case MsgType::kProbeReply: {
      Probe p;
      p.view = GetView(r);
      p.reply = static_cast<MsgType>(type) == MsgType::kProbeReply;
      m = p;
      break;
    }
    case MsgType::kWake:
      m = Wake{GetView(r)};
      break;
    case MsgType::kTokenAlive:
      m = TokenAlive{GetView(r)};
      break;
    case MsgType::kDirect: {
      uint32_t len = r.U32("direct.length");
      r.Expect(len <= kWireMaxPayloadBytes, "direct: payload too large");
      auto b = r.Bytes(len, "direct.payload");
      m = Direct{std::vector<uint8_t>(b.begin(), b.end())};
      break;
    }
    default:
      return CorruptionError("gcm: unknown message type " + std::to_string(type));
  }
  if (!r.ok()) return r.status();
  if (r.remaining() != 0) return CorruptionError("gcm: trailing bytes");
  return m;
}

}  // namespace rain::membership
