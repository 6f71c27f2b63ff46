// SPDX-License-Identifier: MIT
// libFuzzer target: the input is a ring's shared memory as a hostile peer left it (header
// and data). The identity check runs over it as given; then, with a valid identity
// stamped over it, the record walker walks it and a reader and a writer attach and work
// on the rest (the same code the ring, ipcx ls/stat and the last side out use). Nothing may read or
// write outside the region, and every call must return.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <new>

#include "ipcx/detail/ring_layout.hpp"
#include "ring_core.hpp"

namespace rl = ipcx::detail::ring;
using ipcx::detail::RingConfig;
using ipcx::detail::RingReader;
using ipcx::detail::RingWriter;
using ipcx::detail::Step;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::uint64_t kCapacity = 4096;
  // Page-aligned, as a mapping is (the header's types are 128-byte aligned).
  struct Mem {
    std::byte* p = static_cast<std::byte*>(::operator new(rl::kHeaderSize + kCapacity, std::align_val_t{4096}));
    ~Mem() { ::operator delete(p, std::align_val_t{4096}); }
    std::byte* data() const { return p; }
    static std::size_t size() { return rl::kHeaderSize + kCapacity; }
  } mem;
  std::memset(mem.data(), 0, mem.size());
  std::memcpy(mem.data(), data, std::min(size, mem.size()));

  // 1. The identity as the peer wrote it.
  (void)ipcx::detail::read_identity(mem.data(), mem.size(), "fuzz");

  // 2. A valid identity; every index, cursor, claim and record as the peer wrote them.
  RingConfig cfg;
  const std::uint8_t sel = size > 0 ? data[0] : 0;
  cfg.pattern = static_cast<rl::Pattern>(1 + sel % 3);
  cfg.policy = (sel / 3) % 2 ? rl::Policy::drop : rl::Policy::block;
  cfg.slots = cfg.pattern == rl::Pattern::spsc ? 1 : 4;
  cfg.capacity = kCapacity;
  cfg.max_message = rl::max_payload(kCapacity) - (sel % 2 ? 1000 : 0);
  cfg.total_size = rl::kHeaderSize + kCapacity;
  rl::Identity id{};
  id.magic = rl::kMagic;
  id.version = rl::kLayoutVersion;
  id.header_size = rl::kHeaderSize;
  id.capacity = cfg.capacity;
  id.max_message = cfg.max_message;
  id.total_size = cfg.total_size;
  id.pattern = static_cast<std::uint32_t>(cfg.pattern);
  id.policy = static_cast<std::uint32_t>(cfg.policy);
  id.slots = cfg.slots;
  id.record_align = rl::kRecordAlign;
  std::memcpy(mem.data(), &id, sizeof id);
  auto checked = ipcx::detail::read_identity(mem.data(), mem.size(), "fuzz");
  if (!checked) __builtin_trap();  // a valid identity must pass

  // 3. The record walker (the last side's "messages left?", ipcx ls/stat) from wherever the
  // peer's positions say, bounded by a ring's worth of records.
  {
    const auto* h = reinterpret_cast<const rl::Header*>(mem.data());
    for (std::uint64_t from : {h->consumer.head.load(std::memory_order_relaxed),
                               h->producer.tail.load(std::memory_order_relaxed), std::uint64_t{0}}) {
      const auto w = ipcx::detail::walk_records(mem.data(), *checked, from, ~std::uint64_t{0},
                                                kCapacity / rl::kRecordAlign + 1);
      if (w.messages > w.records || w.records > kCapacity / rl::kRecordAlign + 1) __builtin_trap();
    }
  }

  const std::byte* lo = mem.data() + rl::kHeaderSize;
  const std::byte* hi = mem.data() + mem.size();
  RingReader reader(mem.data(), *checked, 1, false);
  if (reader.attach() == Step::ok) {
    for (int i = 0; i < 64; ++i) {
      RingReader::View v;
      if (reader.try_read(v) != Step::ok) {
        (void)reader.skip_dead_claim(~std::uint64_t{0});
        (void)reader.stalled();
        (void)reader.readable();
        break;
      }
      if (v.data < lo || v.data + v.len > hi) __builtin_trap();
      if (i % 2) {
        reader.finish_read(v);
      } else {
        reader.unread(v);
        if (reader.try_read(v) != Step::ok) break;
        reader.finish_read(v);
      }
    }
  }
  // A batch read: the first message as a read, the rest read ahead, released at once.
  RingReader batch(mem.data(), *checked, 1, false);
  if (batch.attach() == Step::ok) {
    RingReader::View v;
    if (batch.try_read(v) == Step::ok) {
      if (v.data < lo || v.data + v.len > hi) __builtin_trap();
      const std::uint64_t from = v.pos;
      std::uint64_t at = v.next;
      for (int i = 0; i < 64 && batch.try_read_ahead(at, checked->max_message, v); ++i) {
        if (v.data < lo || v.data + v.len > hi || v.next != at) __builtin_trap();
      }
      batch.finish_reads(from, at);
    }
  }
  RingWriter writer(mem.data(), *checked, 2, false);
  if (writer.attach() == Step::ok) {
    for (int i = 0; i < 32; ++i) {
      RingWriter::Reservation r;
      const std::uint64_t len = (static_cast<std::uint64_t>(i) * 397) % (checked->max_message + 1);
      if (writer.try_reserve(len, r) != Step::ok) break;
      if (r.data < lo || r.data + r.capacity > hi) __builtin_trap();
      std::memset(r.data, 0xab, r.capacity);
      if (i % 3 == 2) {
        writer.abandon(r);
      } else {
        writer.commit(r, len / 2);
      }
    }
    // A batch's run (the single producer's: spsc).
    RingWriter::Reservation r;
    if (checked->pattern == rl::Pattern::spsc && writer.try_reserve(0, r) == Step::ok) {
      writer.begin_run();
      writer.commit_in_run(r, 0);
      for (int i = 1; i < 16; ++i) {
        const std::uint64_t len = (static_cast<std::uint64_t>(i) * 211) % (checked->max_message + 1);
        if (writer.try_reserve_in_run(len, r) != Step::ok) break;
        if (r.data < lo || r.data + r.capacity > hi) __builtin_trap();
        std::memset(r.data, 0xcd, r.capacity);
        writer.commit_in_run(r, len);
      }
      writer.publish_run();
    }
  }
  return 0;
}
