// SPDX-License-Identifier: MIT
// The shared-memory layout of an shm:// ring: an ABI between processes that may run
// different builds of ipcx. docs/shm-ring-layout.md describes it in prose; every offset
// below is pinned by a static_assert, and a change to any of them is a new kLayoutVersion.
//
//   auto* h = reinterpret_cast<ipcx::detail::ring::Header*>(mapping);
//   h->identity.magic == ipcx::detail::ring::kMagic;     // checked before anything else
//   std::byte* data = mapping + h->identity.header_size;  // capacity bytes of records
//
// Users never name this header: it is here (not in src/) so that the layout document,
// the tests and the fuzz target see the same definitions.
//
// Nothing in this memory is trusted by a reader: the peer may crash mid-write, run a
// different version, or lie. Every value read from it is checked before it is used as an
// index or a length (src/ring_core.cpp), and the identity is copied once at open and never
// read again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace ipcx::detail::ring {

// "IPCXRNG1" read as a little-endian u64.
inline constexpr std::uint64_t kMagic = 0x31474e5258435049ULL;
inline constexpr std::uint32_t kLayoutVersion = 3;

// Ring NAME is the file kFileDir/kFilePrefix + NAME, /dev/shm/ipcx.ring.NAME (the POSIX shm
// name "/ipcx.ring.NAME"): how every process, whatever its language, finds it.
inline constexpr std::string_view kFileDir = "/dev/shm";
inline constexpr std::string_view kFilePrefix = "ipcx.ring.";

inline constexpr std::size_t kLine = 64;            // one cache line
inline constexpr std::size_t kPage = 4096;
inline constexpr std::size_t kRecordAlign = 16;     // every record starts 16-byte aligned
inline constexpr std::size_t kRecordHeader = 16;    // so every payload is 16-byte aligned too
inline constexpr std::uint32_t kMaxSlots = 64;      // producers (mpsc) or subscribers (pubsub)
inline constexpr std::uint64_t kMinCapacity = 4096;
inline constexpr std::uint64_t kMaxCapacity = 1ULL << 40;  // 1 TiB; positions never wrap u64

enum class Pattern : std::uint32_t { spsc = 1, mpsc = 2, pubsub = 3 };
enum class Policy : std::uint32_t { block = 0, drop = 1 };

// Record kinds, in the low 4 bits of a record's stamp (positions are 16-byte multiples).
inline constexpr std::uint64_t kKindMessage = 1;
inline constexpr std::uint64_t kKindPadding = 2;    // skipped: the end of the buffer, or a shrunk loan
inline constexpr std::uint64_t kKindAbandoned = 3;  // skipped: a loan dropped without commit (mpsc)
inline constexpr std::uint64_t kKindMask = 0xf;

// Session states of the single side (consumer in spsc/mpsc, publisher in pubsub).
inline constexpr std::uint32_t kSingleNever = 0;
inline constexpr std::uint32_t kSingleAttached = 1;
inline constexpr std::uint32_t kSingleDetached = 2;

// Slot states.
inline constexpr std::uint32_t kSlotFree = 0;
inline constexpr std::uint32_t kSlotUsed = 1;

// A subscriber's cursor: a position (multiple of 16) plus flags in its low bits.
inline constexpr std::uint64_t kCursorPinned = 1;    // the subscriber is reading the record here
inline constexpr std::uint64_t kCursorJoining = ~std::uint64_t{0} & ~kCursorPinned;  // no position yet
inline constexpr std::uint64_t kClaimIdle = ~std::uint64_t{0};  // mpsc: the producer holds no reservation

// Byte offsets of the OFD (open file description) locks taken on the segment's descriptor.
// A lock is released by the kernel when its holder dies, whatever PID namespace it is in.
inline constexpr long kLockGate = 0;     // shared while attaching, exclusive to unlink
inline constexpr long kLockSingle = 1;   // the consumer (spsc/mpsc) or the publisher (pubsub)
inline constexpr long kLockSlot0 = 2;    // slot i is byte kLockSlot0 + i

// Line 0: written once by the creator before the name is published, read-only after.
struct Identity {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t header_size;   // offset of the data region: a multiple of kPage
  std::uint64_t capacity;      // bytes of the data region: a power of two
  std::uint64_t max_message;   // largest payload; a record of it fits in half the capacity
  std::uint64_t total_size;    // header_size + capacity: the segment's size
  std::uint32_t pattern;       // Pattern
  std::uint32_t policy;        // Policy (pubsub)
  std::uint32_t slots;         // usable slots, 1..kMaxSlots
  std::uint32_t record_align;  // kRecordAlign, stated for readers of other languages
  std::uint64_t reserved;
};
static_assert(sizeof(Identity) == 64);
static_assert(offsetof(Identity, magic) == 0);
static_assert(offsetof(Identity, version) == 8);
static_assert(offsetof(Identity, header_size) == 12);
static_assert(offsetof(Identity, capacity) == 16);
static_assert(offsetof(Identity, max_message) == 24);
static_assert(offsetof(Identity, total_size) == 32);
static_assert(offsetof(Identity, pattern) == 40);
static_assert(offsetof(Identity, policy) == 44);
static_assert(offsetof(Identity, slots) == 48);
static_assert(offsetof(Identity, record_align) == 52);

// Written by the producer side on every message; read by others only off the hot path.
struct ProducerLine {
  std::atomic<std::uint64_t> tail;      // spsc/pubsub: next record position; mpsc: reservations end here
  std::atomic<std::uint64_t> tail_seq;  // pubsub: messages published (the next message's sequence number)
  std::atomic<std::uint32_t> version;   // pubsub: seqlock over (tail, tail_seq); odd while updating
  std::uint32_t pad0;
};
static_assert(offsetof(ProducerLine, tail) == 0);
static_assert(offsetof(ProducerLine, tail_seq) == 8);
static_assert(offsetof(ProducerLine, version) == 16);

// Written by the consumer (spsc/mpsc) when it releases a record.
struct ConsumerLine {
  std::atomic<std::uint64_t> head;  // every record before this position is consumed
};
static_assert(offsetof(ConsumerLine, head) == 0);

// A futex word and the count of those sleeping on it: a waker calls futex_wake only when
// the count is non-zero, and only once per round of sleep: the first waker sets `kicked`,
// and a sleeper clears it before it announces itself. Without it every message sent while
// a woken sleeper waits for a CPU would make one more futex_wake.
//
// `wake_at` (space_wait only) lets a single writer that found the ring full (the spsc
// producer, the pubsub publisher with policy=block) sleep until the read position it waits
// for is reached, rather than being woken by every message a reader frees: a reader kicks
// only when its own position crosses it. 0 means "wake me on any progress" (mpsc, drop).
// A wrong value can only cost a wake-up; the sleeper looks again within kSleepChunk anyway.
struct WaitLine {
  std::atomic<std::uint32_t> futex;    // bumped by a waker before futex_wake
  std::atomic<std::uint32_t> waiters;  // processes/threads asleep (or about to sleep) on it
  std::atomic<std::uint32_t> kicked;   // 1: woken since the last sleeper went to sleep
  std::uint32_t reserved;
  std::atomic<std::uint64_t> wake_at;  // space_wait: the read position the writer waits for
};
static_assert(offsetof(WaitLine, futex) == 0);
static_assert(offsetof(WaitLine, waiters) == 4);
static_assert(offsetof(WaitLine, kicked) == 8);
static_assert(offsetof(WaitLine, wake_at) == 16);

// Who is attached; read by each side when it finds nothing to do.
struct SessionLine {
  std::atomic<std::uint32_t> single_state;  // kSingle*
  std::atomic<std::uint32_t> many_live;     // slots attached and not cleanly detached
  std::atomic<std::uint32_t> many_ever;     // 1 once any slot holder attached
  std::uint32_t pad0;
};
static_assert(offsetof(SessionLine, single_state) == 0);
static_assert(offsetof(SessionLine, many_live) == 4);
static_assert(offsetof(SessionLine, many_ever) == 8);

// One producer (spsc/mpsc) or one subscriber (pubsub). Its own line: a subscriber writes
// its cursor on every message. 128 bytes apart so that the adjacent-line prefetcher does
// not couple two slots.
struct alignas(2 * kLine) Slot {
  std::atomic<std::uint32_t> state;       // kSlotFree / kSlotUsed
  std::uint32_t pad0;
  std::atomic<std::uint64_t> cursor;      // pubsub: the next record to read (+ kCursor* flags)
  std::atomic<std::uint64_t> claim_pos;   // mpsc: start of the reservation in progress, or kClaimIdle
  std::atomic<std::uint64_t> claim_len;   // mpsc: its length in bytes
  std::atomic<std::uint64_t> join_seq;    // pubsub: sequence number at the cursor the publisher assigned
};
static_assert(sizeof(Slot) == 128);
static_assert(offsetof(Slot, state) == 0);
static_assert(offsetof(Slot, cursor) == 8);
static_assert(offsetof(Slot, claim_pos) == 16);
static_assert(offsetof(Slot, claim_len) == 24);
static_assert(offsetof(Slot, join_seq) == 32);

// The header. The hot lines (producer, consumer) have an unused line between them and
// their neighbours, so that neither false sharing nor the adjacent-line prefetcher makes
// one side's stores slow the other's loads.
struct Header {
  alignas(kLine) Identity identity;     // 0
  char spare1[kLine];                   // 64: keeps the producer line's neighbours quiet
  alignas(kLine) ProducerLine producer; // 128
  char spare3[kLine - sizeof(ProducerLine)];
  char spare3b[kLine];                  // 192
  alignas(kLine) ConsumerLine consumer; // 256
  char spare4[kLine - sizeof(ConsumerLine)];
  char spare5[kLine];                   // 320
  alignas(kLine) WaitLine data_wait;    // 384: the consumer side sleeps here for data
  char spare6[kLine - sizeof(WaitLine)];
  alignas(kLine) WaitLine space_wait;   // 448: the producer side sleeps here for space
  char spare7[kLine - sizeof(WaitLine)];
  alignas(kLine) SessionLine session;   // 512
  char spare8[kLine - sizeof(SessionLine)];
  char spare9[7 * kLine];               // 576 .. 1024: room for later versions
  Slot slots[kMaxSlots];                // 1024 .. 9216 (Slot is 128-byte aligned)
};

// One record in the data region, at a 16-byte aligned position. The payload follows.
struct RecordHeader {
  // position | kind, stored last with release: the record is complete when the stamp
  // equals its own absolute position plus a kind. A stale stamp from an earlier lap holds
  // an older position, so it never matches.
  std::atomic<std::uint64_t> stamp;
  std::atomic<std::uint32_t> len;    // payload bytes (padding: bytes after this header)
  std::atomic<std::uint32_t> seq32;  // pubsub: low 32 bits of the message's sequence number
};
static_assert(sizeof(RecordHeader) == kRecordHeader);
static_assert(offsetof(RecordHeader, stamp) == 0);
static_assert(offsetof(RecordHeader, len) == 8);
static_assert(offsetof(RecordHeader, seq32) == 12);

static_assert(offsetof(Header, identity) == 0);
static_assert(offsetof(Header, producer) == 128);
static_assert(offsetof(Header, consumer) == 256);
static_assert(offsetof(Header, data_wait) == 384);
static_assert(offsetof(Header, space_wait) == 448);
static_assert(offsetof(Header, session) == 512);
static_assert(offsetof(Header, slots) == 1024);
static_assert(sizeof(Header) == 1024 + kMaxSlots * sizeof(Slot));

// The data region starts on the first page after the header.
inline constexpr std::size_t kHeaderSize = (sizeof(Header) + kPage - 1) / kPage * kPage;
static_assert(kHeaderSize == 12288);

// Shared memory needs atomics that are plain loads and stores of the word, with no lock
// inside the process: another process would not see that lock.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint64_t>) == 8 && sizeof(std::atomic<std::uint32_t>) == 4);
static_assert(std::is_standard_layout_v<Header> && std::is_standard_layout_v<RecordHeader>);

// Bytes a record of `len` payload bytes takes, header included.
constexpr std::uint64_t record_span(std::uint64_t len) noexcept {
  return (kRecordHeader + len + kRecordAlign - 1) & ~std::uint64_t{kRecordAlign - 1};
}
// Whether a stamp says "the record at `pos` is complete". Kind 0 never is: a zero-filled
// ring must not read as a record at position 0.
constexpr bool stamped(std::uint64_t stamp, std::uint64_t pos) noexcept {
  return (stamp & ~kKindMask) == pos && (stamp & kKindMask) != 0;
}
// The largest payload a ring of `capacity` bytes accepts: its record takes at most half
// the ring, so that a record always fits after padding to the end of the buffer.
constexpr std::uint64_t max_payload(std::uint64_t capacity) noexcept { return capacity / 2 - kRecordHeader; }

}  // namespace ipcx::detail::ring
