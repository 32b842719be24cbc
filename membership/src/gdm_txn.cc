// Transactions (research/RAINCORE.md §1: "transactions whose writes are not synchronized until
// the transaction concludes"): writes are kept on the issuing node until Commit sends them as
// one multicast, which every member applies all or nothing (gdm_items.cc). Abort just forgets
// them. Nothing is locked while a transaction is open: two transactions touching the same items
// are serialised by the GCM's total order, the later one seeing the earlier one's result.
#include "rain/membership/gdm.h"

namespace rain::membership {

Result<TxnId> Gdm::Begin() {
  if (txns_.size() >= options_.max_open_txns)
    return ResourceExhaustedError("gdm: too many open transactions");
  TxnId id = next_txn_++;
  txns_[id];
  return id;
}

namespace {
Status Add(std::map<TxnId, std::vector<ItemOp>>& txns, TxnId txn, ItemOp op, size_t max_ops,
           size_t max_bytes) {
  auto it = txns.find(txn);
  if (it == txns.end()) return NotFoundError("gdm: no open transaction " + std::to_string(txn));
  if (it->second.size() >= max_ops) return ResourceExhaustedError("gdm: transaction too large");
  if (op.bytes.size() > max_bytes || op.offset > max_bytes)
    return InvalidArgumentError("gdm: value larger than max_item_bytes");
  it->second.push_back(std::move(op));
  return Status::Ok();
}
}  // namespace

Status Gdm::TxnCreate(TxnId txn, ItemId id, std::vector<uint8_t> bytes) {
  return Add(txns_, txn, ItemOp{.kind = OpKind::kCreate, .item = id, .bytes = std::move(bytes)},
             options_.max_ops_per_txn, options_.max_item_bytes);
}
Status Gdm::TxnWrite(TxnId txn, ItemId id, std::vector<uint8_t> bytes) {
  return Add(txns_, txn, ItemOp{.kind = OpKind::kWrite, .item = id, .bytes = std::move(bytes)},
             options_.max_ops_per_txn, options_.max_item_bytes);
}
Status Gdm::TxnWriteAt(TxnId txn, ItemId id, uint64_t offset, std::vector<uint8_t> bytes) {
  return Add(
      txns_, txn,
      ItemOp{.kind = OpKind::kWriteAt, .item = id, .offset = offset, .bytes = std::move(bytes)},
      options_.max_ops_per_txn, options_.max_item_bytes);
}
Status Gdm::TxnDelete(TxnId txn, ItemId id) {
  return Add(txns_, txn, ItemOp{.kind = OpKind::kDelete, .item = id}, options_.max_ops_per_txn,
             options_.max_item_bytes);
}

Result<OpId> Gdm::Commit(Instant /*now*/, TxnId txn, uint64_t fence) {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return NotFoundError("gdm: no open transaction " + std::to_string(txn));
  std::vector<ItemOp> ops = std::move(it->second);
  txns_.erase(it);  // committed or refused, the transaction is over
  return Issue(std::move(ops), fence);
}

Status Gdm::Abort(TxnId txn) {
  if (txns_.erase(txn) == 0)
    return NotFoundError("gdm: no open transaction " + std::to_string(txn));
  return Status::Ok();
}

}  // namespace rain::membership
