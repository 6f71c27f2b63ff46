// SPDX-License-Identifier: MIT
// Messages that prove themselves, for the crash matrix and the stress tests: each carries
// its producer's id, a sequence number, its payload size and a checksum over all of them,
// and a Tally per producer tells lost, duplicated, reordered and corrupt deliveries apart.
//
//   auto m = checked_message(producer, seq, payload_size);   // send m
//   tally.take(received_bytes, lost);                        // on the other side
//   EXPECT_EQ(tally.corrupt, 0u);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace ipcx::test {

struct CheckedHeader {
  std::uint32_t producer;
  std::uint32_t size;  // payload bytes after the header
  std::uint64_t seq;
  std::uint64_t sum;   // FNV-1a over producer, size, seq and the payload
};
static_assert(sizeof(CheckedHeader) == 24, "no padding: the header is hashed as bytes");

inline std::uint64_t fnv1a(std::span<const std::byte> b, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (std::byte c : b) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// The payload of (producer, seq): bytes that differ with both, so a message stitched from
// two others fails its checksum or its size.
inline void fill_payload(std::span<std::byte> p, std::uint32_t producer, std::uint64_t seq) {
  std::uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15ull ^ producer;
  for (auto& b : p) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
}

inline std::uint64_t checksum_of(const CheckedHeader& h, std::span<const std::byte> payload) {
  std::array<std::byte, 16> head{};
  std::memcpy(head.data(), &h.producer, 4);
  std::memcpy(head.data() + 4, &h.size, 4);
  std::memcpy(head.data() + 8, &h.seq, 8);
  return fnv1a(payload, fnv1a(head));
}

// Writes the message into `out` (at least sizeof(CheckedHeader) + payload bytes).
inline std::size_t write_checked(std::span<std::byte> out, std::uint32_t producer, std::uint64_t seq,
                                 std::size_t payload) {
  CheckedHeader h{producer, static_cast<std::uint32_t>(payload), seq, 0};
  auto body = out.subspan(sizeof h, payload);
  fill_payload(body, producer, seq);
  h.sum = checksum_of(h, body);
  std::memcpy(out.data(), &h, sizeof h);
  return sizeof h + payload;
}

inline std::vector<std::byte> checked_message(std::uint32_t producer, std::uint64_t seq, std::size_t payload) {
  std::vector<std::byte> m(sizeof(CheckedHeader) + payload);
  write_checked(m, producer, seq, payload);
  return m;
}

// Parses and checks one received message; false if it is not exactly a message that
// write_checked made (short, long, or a checksum that does not match).
inline bool read_checked(std::span<const std::byte> m, CheckedHeader& h) {
  if (m.size() < sizeof h) return false;
  std::memcpy(&h, m.data(), sizeof h);
  if (m.size() != sizeof h + h.size) return false;
  return checksum_of(h, m.subspan(sizeof h)) == h.sum;
}

// What one consumer saw, per producer. A lossless transport has no gaps; a dropping one
// (shm pubsub, policy=drop) has exactly as many as it reported lost.
struct Tally {
  std::vector<std::uint64_t> next;  // per producer: the sequence number expected next
  std::uint64_t received = 0;
  std::uint64_t corrupt = 0;
  std::uint64_t duplicated = 0;     // seq below the expected one (duplicate or reordered)
  std::uint64_t gaps = 0;           // messages skipped over (lost, or dropped by policy)
  std::uint64_t reported_lost = 0;  // what the transport said it dropped

  explicit Tally(std::size_t producers) : next(producers, 0) {}

  // Returns false for a corrupt message or a producer id out of range.
  bool take(std::span<const std::byte> m, std::uint64_t transport_lost = 0) {
    CheckedHeader h{};
    reported_lost += transport_lost;
    if (!read_checked(m, h) || h.producer >= next.size()) {
      ++corrupt;
      return false;
    }
    ++received;
    auto& n = next[h.producer];
    if (h.seq < n) {
      ++duplicated;
    } else {
      gaps += h.seq - n;
      n = h.seq + 1;
    }
    return true;
  }
};

}  // namespace ipcx::test
