// SPDX-License-Identifier: MIT
// ipcx::inspect: shm:// rings, /dev/shm/ipcx.ring.NAME (docs/shm-ring-layout.md). The ring's
// own module (ring_core.hpp) checks the file and the header and walks the records; this
// reads what it finds, and which sides hold their liveness locks.
#include "inspect_internal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "ipcx/detail/ring_layout.hpp"
#include "ipcx/mapping.hpp"
#include "ipcx/ring.hpp"
#include "ring_core.hpp"
#include "sys/io.hpp"
#include "sys/ofd_lock.hpp"

namespace ipcx::inspect::internal {
namespace {

// Whether another open file description holds a lock on `byte`: a side attached there.
bool lock_held(int fd, long byte) {
  auto c = sys::ofd_conflict(fd, sys::LockKind::write, byte, 1);
  return c && *c;
}

// Reads the ring's header through a read-only mapping (nothing in it is trusted: it is
// checked as the ring checks it when it opens), counts the messages waiting (spsc/mpsc),
// and asks the kernel which sides hold their liveness locks. The mapping and descriptor
// are gone before the process scan.
void read_ring(Object& o) {
  namespace r = detail::ring;
  auto fd = sys::open(o.path.c_str(), O_RDONLY);
  if (!fd) {
    // Told apart from "not a ring": a ring another user keeps to itself is still a ring.
    const bool denied = fd.error().code() == EACCES || fd.error().code() == EPERM;
    o.details.emplace_back("header", fmt::format("{}: {}", denied ? "permission denied" : "not readable",
                                                 fd.error().message()));
    return;
  }
  auto st = sys::fstat(fd->get());
  if (!st) {
    o.details.emplace_back("header", fmt::format("not readable: {}", st.error().message()));
    return;
  }
  auto size = detail::check_ring_file(*st, o.url);
  if (!size) {
    o.details.emplace_back("header", fmt::format("not a ring: {}", size.error().detail()));
    return;
  }
  auto map = Mapping::map(fd->get(), *size, Access::read_only, 0, 0, o.path);
  if (!map) {
    o.details.emplace_back("header", fmt::format("not readable: {}", map.error().message()));
    return;
  }
  const auto* base = static_cast<const std::byte*>(map->data());
  auto cfg = detail::read_identity(base, map->size(), o.url);
  if (!cfg) {
    o.details.emplace_back("header", fmt::format("not a valid ring: {}", cfg.error().detail()));
    return;
  }
  const auto* h = reinterpret_cast<const r::Header*>(base);
  const RingInfo info = detail::describe(*cfg);
  const bool pubsub = cfg->pattern == r::Pattern::pubsub;
  o.capacity = cfg->capacity;
  o.max_message = cfg->max_message;
  o.details.emplace_back("pattern", std::string(to_string(info.pattern)));
  if (pubsub) o.details.emplace_back("policy", std::string(to_string(info.policy)));
  o.details.emplace_back("slots", std::to_string(cfg->slots));

  // Sides: the single side (consumer, or publisher for pubsub) on byte 1, slot i on 2 + i.
  const bool single_live = lock_held(fd->get(), r::kLockSingle);
  // acquire: as a peer reads it (a side's detach after everything it did).
  const std::uint32_t single_state = h->session.single_state.load(std::memory_order_acquire);
  const char* single_name = pubsub ? "publisher" : "consumer";
  std::string single = single_live                               ? "attached"
                       : single_state == r::kSingleNever         ? "never attached"
                       : single_state == r::kSingleDetached      ? "detached"
                                                                 : "gone (died attached)";
  o.details.emplace_back(single_name, single);
  unsigned many_live = 0, many_dead = 0;
  for (std::uint32_t i = 0; i < cfg->slots; ++i) {
    // acquire: as the sides read a slot's state.
    bool used = h->slots[i].state.load(std::memory_order_acquire) == r::kSlotUsed;
    bool held = lock_held(fd->get(), r::kLockSlot0 + static_cast<long>(i));
    if (held) ++many_live;
    else if (used) ++many_dead;
  }
  const char* many_name = pubsub ? "subscribers" : "producers";
  o.details.emplace_back(many_name, fmt::format("{} attached of {}{}", many_live, cfg->slots,
                                                many_dead ? fmt::format(", {} died attached", many_dead) : ""));
  o.details.emplace_back("sides_attached", std::to_string(many_live + (single_live ? 1 : 0)));

  // acquire: the records before the positions are complete when these are seen.
  const std::uint64_t tail = h->producer.tail.load(std::memory_order_acquire);
  if (pubsub) {
    o.details.emplace_back("published", std::to_string(h->producer.tail_seq.load(std::memory_order_acquire)));
    return;
  }
  const std::uint64_t head = h->consumer.head.load(std::memory_order_acquire);
  if (tail < head || tail - head > cfg->capacity) {
    o.details.emplace_back("data", fmt::format("inconsistent positions (head {}, tail {})", head, tail));
    return;
  }
  o.details.emplace_back("queued_bytes", std::to_string(tail - head));
  // The complete messages from head to tail, up to the first record not yet complete (an
  // mpsc producer filling it) or that fails a check.
  const auto walk = detail::walk_records(base, *cfg, head, tail, std::uint64_t{1} << 20);
  o.depth = walk.messages;
  // spsc publishes its tail only after each record's stamp: the walk must end exactly at
  // the tail. Short of it, a record has no stamp; past it, a length led astray.
  const char* why = walk.step == detail::Step::corrupt ? walk.why : nullptr;
  if (!why && cfg->pattern == r::Pattern::spsc && walk.records < (std::uint64_t{1} << 20) && walk.end != tail) {
    why = walk.end < tail ? "a record below the producer's published tail has no valid stamp (overwritten)"
                          : "a record's length runs past the producer's published tail (overwritten)";
  }
  if (why) o.details.emplace_back("data", fmt::format("corrupt: {}", why));
}

}  // namespace

bool is_ring_file(std::string_view entry) {
  return entry.starts_with(detail::ring::kFilePrefix) && entry.size() > detail::ring::kFilePrefix.size();
}

void ring_object(Object& o, const std::string& entry, const struct stat& st) {
  o.kind = Kind::ring;
  o.name = entry.substr(detail::ring::kFilePrefix.size());
  o.url = ring_url(url_escape(o.name));
  o.path = ring_path(o.name);
  o.size = static_cast<std::uint64_t>(st.st_size);
  read_ring(o);  // cheap: a header and the records between head and tail
}

Result<Object> stat_ring(const Url& u) {
  if (!u.options.empty()) {
    return fail(Errc::invalid_argument, "stat", u.text, "a ring is named by shm://NAME alone; its options are fixed at creation");
  }
  std::string entry = std::string(detail::ring::kFilePrefix) + u.name;
  std::string path = ring_path(u.name);
  auto st = sys::lstat(path.c_str());
  if (!st) {
    if (st.error().code() == ENOENT) return not_found(u, fmt::format("no ring {} ({} does not exist)", u.name, path));
    return fail_errno("stat", st.error().code(), path);
  }
  if (!S_ISREG(st->st_mode)) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a regular file", path));
  Object o;
  fill_from_stat(o, *st);
  ring_object(o, entry, *st);
  return finish(std::move(o));
}

}  // namespace ipcx::inspect::internal
