// The simulated disk of the GDM's Storage seam (gdm_storage.h).
#include "rain/membership/gdm_storage.h"

namespace rain::membership {

void MemoryGdmStorage::ApplyTo(GdmState& s, const PersistBatch& b) {
  if (b.replace_all) s.items.clear();
  for (const auto& [id, item] : b.items) {
    if (item) {
      s.items[id] = *item;
    } else {
      s.items.erase(id);
    }
  }
  s.index = b.meta.index;
  s.digest = b.meta.digest;
  s.epoch = b.meta.epoch;
  s.leader = b.meta.leader;
  s.last_primary = b.meta.last_primary;
}

Status MemoryGdmStorage::Apply(const PersistBatch& batch) {
  Stage(batch);
  SyncThrough(batch.ticket);
  return Status::Ok();
}

void MemoryGdmStorage::SyncThrough(uint64_t ticket) {
  while (!staged_.empty() && staged_.front().ticket <= ticket) {
    ApplyTo(durable_, staged_.front());
    staged_.pop_front();
  }
}

}  // namespace rain::membership
