// SPDX-License-Identifier: MIT
// The rows ipcx-bench measures, in the order it prints them. Each file of cases adds its
// own; the registry orders them as kCaseNames does (then raw, ipcx, peer).
#pragma once

#include <sys/types.h>

#include <array>
#include <memory>
#include <string_view>
#include <vector>

#include "harness.hpp"

namespace ipcx::bench {

using CaseList = std::vector<std::unique_ptr<Case>>;

// Case names, as --cases takes them and the output prints them.
inline constexpr std::array<std::string_view, 22> kCaseNames = {
    "floor",   "futex-floor", "pipe",    "fifo", "unix",   "unixgram",   "unixpacket", "tcp",     "udp",    "posixmq",
    "sysvmq",  "eventfd",     "shm",     "shm-zc", "shm-pubsub", "boost-mq", "zmq-ipc",  "zmq-tcp", "nats",
    "bridge-nats", "nng-ipc", "iceoryx"};

// Every row, ordered.
CaseList all_cases();

// The floor (two processes spinning on shared cache lines, copying the message), measured
// beside every row.
std::unique_ptr<Case> make_floor();

// A row that is never measured: every run of it is skipped for `why` (a library not found
// at build time, a mechanism with no Channel).
std::unique_ptr<Case> make_skipped(std::string name, std::string impl, std::string wait, std::string why);

// Per file.
void add_shared_memory_raw(CaseList& out);  // floor, futex-floor, eventfd (cases_shm.cpp)
void add_kernel_raw(CaseList& out);         // pipe … sysvmq, raw system calls (cases_raw.cpp)
void add_ipcx(CaseList& out);               // ipcx Channel over every scheme (cases_ipcx.cpp)
void add_ring(CaseList& out);               // shm-zc, shm-pubsub: the ring's own API (cases_ring.cpp)
void add_peers(CaseList& out);              // Boost, ZeroMQ, nng, iceoryx (peers*.cpp)
void add_remote(CaseList& out);             // nats, bridge-nats, zmq-* through ipcx (cases_remote.cpp)

// Shared limits: why a mechanism cannot carry `size`-byte messages here, or empty. The raw
// and the ipcx rows of one mechanism use the same function, so they agree.
std::string limit_udp(std::size_t size);
std::string limit_unix_dgram(std::size_t size, bool seqpacket);
std::string limit_posixmq(std::size_t size);
std::string limit_sysvmq(std::size_t size);
// The shm ring rows' capacity for `size`-byte messages: at least 1 MiB and room for four
// messages (the ring takes messages up to half its capacity).
std::size_t ring_capacity(std::size_t size);
// POSIX mq queue depth used by both rows.
long posixmq_depth();

// A SysV message queue with a key of this run (0x5 tag, the driver's pid, a counter).
struct SysvQueue {
  int id;
  key_t key;
};
Res<SysvQueue> create_sysv_queue();
constexpr std::uint32_t sysv_key_base() { return 0x50000000u; }

}  // namespace ipcx::bench
