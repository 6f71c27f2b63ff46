// SPDX-License-Identifier: MIT
// The measurement harness of ipcx-bench: what a case is, how two processes measure it,
// and what a measurement reports.
//
// Every row is measured the same way (docs/benchmark.md says it in full):
//   the driver forks a server and a client, pinned to two cores (or one, or none);
//   the server sets up its end and says "ready" through a pipe; the client connects;
//   warm-up round trips, then timed round trips (one sample each) until the time budget or
//   the iteration cap; then one-way messages client -> server, timed by the receiver;
//   every message carries a header (sequence number, size, kind) and a body the receiver
//   compares with the expected pattern, so a lost, reordered, truncated or corrupt message
//   fails the row instead of being timed.
// A Link is one process's end of a mechanism: send/receive whole messages, blocking the
// way the row's wait strategy says. A Case makes Links and removes what it created.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ipcx::bench {

// Why a step could not go on: the row is then "failed: why" or "skipped: why".
struct Problem {
  enum class Kind : std::uint8_t { failed, skipped };
  Kind kind = Kind::failed;
  std::string why;
};
template <typename T>
using Res = std::expected<T, Problem>;
inline std::unexpected<Problem> failed(std::string why) {
  return std::unexpected<Problem>(Problem{Problem::Kind::failed, std::move(why)});
}
inline std::unexpected<Problem> skipped(std::string why) {
  return std::unexpected<Problem>(Problem{Problem::Kind::skipped, std::move(why)});
}
// "op: strerror(errno)" as a failure.
std::unexpected<Problem> failed_errno(std::string_view op, int err);

// --- messages ------------------------------------------------------------------------

// Header at the start of every message (all sizes are at least kMinSize).
enum class Kind : std::uint32_t { rtt = 1, to_oneway = 2, oneway = 3, end = 4, fin = 5, credit = 6 };
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kMinSize = kHeaderSize;

struct Header {
  std::uint64_t seq;
  std::uint32_t size;
  Kind kind;
};
static_assert(sizeof(Header) == kHeaderSize);

Header read_header(std::span<const std::byte> msg) noexcept;
void write_header(std::span<std::byte> msg, std::uint64_t seq, Kind kind) noexcept;

// The body every message of `size` bytes carries after its header: a fixed pseudo-random
// pattern, so a shifted, truncated or foreign byte is caught by one memcmp.
class Pattern {
 public:
  explicit Pattern(std::size_t size);
  // A message of the pattern's size with this header.
  void fill(std::span<std::byte> msg, std::uint64_t seq, Kind kind) const noexcept;
  // Empty if `msg` is a whole, intact message of `kind` with sequence number `seq`.
  std::string check(std::span<const std::byte> msg, std::uint64_t seq, Kind kind) const;
  std::size_t size() const noexcept { return ref_.size(); }

 private:
  std::vector<std::byte> ref_;
};

// --- links and cases -----------------------------------------------------------------

enum class Mode : std::uint8_t { rtt, oneway };

class Link {
 public:
  virtual ~Link() = default;
  // One whole message; blocks as the row's wait strategy says.
  virtual Res<void> send(std::span<const std::byte> msg) = 0;
  // One whole message into `buf` (at least the row's size); returns its size.
  virtual Res<std::size_t> receive(std::span<std::byte> buf) = 0;
  // Both ends call this at the same point of the protocol: round trips -> one-way
  // (client sends, server receives) and back. Peers that use one socket pattern per
  // direction of traffic switch sockets here.
  virtual Res<void> set_mode(Mode) { return {}; }

  // Zero-copy receive, for transports that can hand out a message where it lies (the shm
  // ring's ReadView). When in_place() is true the protocol calls receive_in_place() instead
  // of receive(): the span stays valid, and the transport keeps the message's space, until
  // release_in_place(). The protocol checks the message there (every byte, as ever) and the
  // server echoes it by send() straight from that span.
  virtual bool in_place() const { return false; }
  virtual Res<std::span<const std::byte>> receive_in_place() { return failed("no in-place receive"); }
  virtual void release_in_place() {}

  // Messages the transport dropped by design before the last one received (shm pubsub
  // with policy=drop: a slow subscriber loses the oldest). The one-way phase counts them as
  // sent and not received, still checking the order of what arrives; round trips, with one
  // message in flight, must lose none.
  virtual std::uint64_t lost() const { return 0; }

  // Batches, for rows with RunSpec::batch > 0: the one-way phase sends that many messages
  // per send_batch and receives with receive_batch, which returns how many whole messages
  // (>= 1) batch_message(i) holds until the next receive_batch. Round trips stay one by
  // one. The defaults send one by one and have no batch receive.
  virtual Res<void> send_batch(std::span<const std::span<const std::byte>> msgs) {
    for (auto m : msgs) {
      if (auto r = send(m); !r) return r;
    }
    return {};
  }
  virtual Res<std::size_t> receive_batch() { return failed("this link receives no batches"); }
  virtual std::span<const std::byte> batch_message(std::size_t /*i*/) const { return {}; }
  // Server side, after the last round trip: waits for what this end started (processes of
  // its own) and says whether they did their part; a failure fails the row.
  virtual Res<void> finish() { return {}; }
  // Server side, after finish(): a remark for the row's note (losses, …), or empty.
  virtual std::string remark() const { return {}; }
};

// CPU placement of the two processes.
struct Placement {
  enum class Kind : std::uint8_t { two_cores, same_core, none } kind = Kind::two_cores;
  int server_cpu = -1;
  int client_cpu = -1;
  std::string describe() const;   // "cpu 0 and cpu 1", "cpu 0 (both)", "not pinned"
  std::string json() const;       // "0,1", "0,0", "no"
};

struct Budget {
  std::chrono::nanoseconds warmup{std::chrono::milliseconds(100)};
  std::chrono::nanoseconds rtt{std::chrono::milliseconds(1000)};
  std::chrono::nanoseconds oneway{std::chrono::milliseconds(500)};
  std::chrono::nanoseconds floor{std::chrono::milliseconds(150)};
  std::uint64_t warmup_iterations = 1000;
  // Caps besides the time budgets: the samples a row keeps (8 bytes each), and the
  // one-way messages (unbounded: the time decides). --iterations sets both.
  std::uint64_t max_round_trips = 1'000'000;
  std::uint64_t max_oneway = UINT64_MAX;
};

// What one measurement is: handed to every Case hook.
struct RunSpec {
  std::size_t size = 64;
  std::string stem;               // unique per measurement: "ipcxb-<pid>-<n>"
  Placement placement;
  Budget budget;
  std::size_t batch = 0;          // one-way messages per batch (Link::send_batch); 0: one at a time
};

class Case {
 public:
  Case(std::string name, std::string impl, std::string wait, std::string note = {})
      : name_(std::move(name)), impl_(std::move(impl)), wait_(std::move(wait)), note_(std::move(note)) {}
  virtual ~Case() = default;

  const std::string& name() const noexcept { return name_; }
  const std::string& impl() const noexcept { return impl_; }   // "raw", "ipcx" or "peer"
  const std::string& wait() const noexcept { return wait_; }   // spin yield sleep poll kernel
  // Whether its one-way phase moves batches (of ipcx-bench --batch messages).
  virtual bool batched() const { return false; }
  // A tuned setting or a remark, shown beside the row.
  virtual std::string note(std::size_t /*size*/) const { return note_; }

  // Why this row cannot be measured at all or at this size ("limit: …", a missing
  // library); empty if it can.
  virtual std::string skip_reason(std::size_t /*size*/) const { return {}; }

  // Driver, once before the first size and once after the last (a daemon to run).
  virtual Res<void> begin_series() { return {}; }
  virtual void end_series() {}
  // Driver, before forking: objects both processes inherit, names to use.
  virtual Res<void> prepare(const RunSpec&) { return {}; }
  // Driver, after forking both: drop its copies of inherited objects.
  virtual void after_fork() {}
  // Server process: create or bind; `rendezvous` travels to the client (a port, …).
  virtual Res<void> server_setup(const RunSpec&, std::string& /*rendezvous*/) { return {}; }
  // Server process, after "ready": accept, and return the server's end.
  virtual Res<std::unique_ptr<Link>> server_link(const RunSpec&) = 0;
  // Client process, after the server is ready.
  virtual Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string& rendezvous) = 0;
  // Driver, after both processes are gone (also after a failure): remove every object
  // this measurement created.
  virtual void cleanup(const RunSpec&) {}

 private:
  std::string name_;
  std::string impl_;
  std::string wait_;
  std::string note_;
};

// --- results -------------------------------------------------------------------------

struct Latency {
  std::uint64_t p50 = 0, p99 = 0, p999 = 0, max = 0, samples = 0;  // nanoseconds
};
struct Throughput {
  double msgs_per_s = 0;
  double mb_per_s = 0;  // 10^6 bytes per second
};

struct Outcome {
  std::string status;  // "ok", "skipped: why", "failed: why"
  std::optional<Latency> rtt;
  std::optional<Throughput> throughput;
  std::string remark;  // from the server's Link, appended to the row's note
  bool ok() const noexcept { return status == "ok"; }
};

// Measures one row at one size: forks the two processes, runs the protocol, collects.
// `rtt_only` skips the one-way phase (the floor beside each row).
Outcome measure(Case& c, const RunSpec& spec, bool rtt_only = false);

// A flag the driver's signal handler sets: measure() then kills its two processes, cleans
// up and reports the row as interrupted.
void set_stop_flag(const std::atomic<bool>* flag) noexcept;

// Nearest-rank percentiles of every sample (sorts `samples`).
Latency summarize(std::vector<std::uint64_t>& samples);

// --- helpers for cases ---------------------------------------------------------------

// An anonymous MAP_SHARED mapping made in the driver and inherited by both processes.
class SharedRegion {
 public:
  SharedRegion() = default;
  static Res<SharedRegion> make(std::size_t bytes);
  SharedRegion(SharedRegion&& o) noexcept;
  SharedRegion& operator=(SharedRegion&& o) noexcept;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion();
  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  void reset() noexcept;

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// A spin-wait hint for the CPU (pause on x86).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The process's unique name prefix "ipcxb-<pid>-" (every object the benchmark names
// starts with it, so the final sweep can find what a failed case left).
std::string name_prefix();
// Reads a small number from /proc/sys (e.g. "fs/mqueue/msgsize_max"); nullopt if absent.
std::optional<long long> read_proc_number(const char* path);
// clock_gettime(id) in nanoseconds (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, ...).
std::int64_t clock_ns(clockid_t id) noexcept;

// The CPU time this process used (CLOCK_PROCESS_CPUTIME_ID: user + system, spinning
// included) over a stretch of wall time, from start() to stop(). Plain data, so that it
// can live in memory shared with the driver.
struct Busy {
  std::int64_t cpu0 = 0, wall0 = 0, cpu_ns = 0, wall_ns = 0;
  void start() noexcept {
    cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    wall0 = clock_ns(CLOCK_MONOTONIC);
  }
  void stop() noexcept {
    if (wall0 == 0) return;  // never started
    cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;
  }
  // Percent of one CPU; nullopt if not measured.
  std::optional<double> percent() const noexcept {
    if (wall_ns <= 0) return std::nullopt;
    return 100.0 * static_cast<double>(cpu_ns) / static_cast<double>(wall_ns);
  }
};

}  // namespace ipcx::bench
