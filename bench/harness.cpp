// SPDX-License-Identifier: MIT
#include "harness.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <new>
#include <utility>

#include <fmt/format.h>

namespace ipcx::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

// Taken once, at start-up of the driver; forked children inherit the driver's prefix.
const std::string g_prefix = fmt::format("ipcxb-{}-", ::getpid());
const std::atomic<bool>* g_stop = nullptr;
bool stopping() noexcept { return g_stop && g_stop->load(); }

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::rtt: return "rtt";
    case Kind::to_oneway: return "to-oneway";
    case Kind::oneway: return "oneway";
    case Kind::end: return "end";
    case Kind::fin: return "fin";
    case Kind::credit: return "credit";
  }
  return "unknown";
}

}  // namespace

std::unexpected<Problem> failed_errno(std::string_view op, int err) {
  return failed(fmt::format("{}: {}", op, std::strerror(err)));
}

std::string name_prefix() { return g_prefix; }
void set_stop_flag(const std::atomic<bool>* flag) noexcept { g_stop = flag; }

std::int64_t clock_ns(clockid_t id) noexcept {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::optional<long long> read_proc_number(const char* path) {
  std::ifstream in(std::string("/proc/sys/") + path);
  long long v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

// --- messages ------------------------------------------------------------------------

Header read_header(std::span<const std::byte> msg) noexcept {
  Header h{};
  if (msg.size() >= kHeaderSize) std::memcpy(&h, msg.data(), kHeaderSize);
  return h;
}

void write_header(std::span<std::byte> msg, std::uint64_t seq, Kind kind) noexcept {
  Header h{seq, static_cast<std::uint32_t>(msg.size()), kind};
  std::memcpy(msg.data(), &h, kHeaderSize);
}

Pattern::Pattern(std::size_t size) : ref_(size) {
  // splitmix64 over the word index, seeded by the size: every size has its own body.
  std::uint64_t x = 0x9e3779b97f4a7c15ULL ^ size;
  for (std::size_t i = 0; i < size; i += 8) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(ref_.data() + i, &z, std::min<std::size_t>(8, size - i));
  }
}

void Pattern::fill(std::span<std::byte> msg, std::uint64_t seq, Kind kind) const noexcept {
  std::memcpy(msg.data(), ref_.data(), std::min(msg.size(), ref_.size()));
  write_header(msg, seq, kind);
}

std::string Pattern::check(std::span<const std::byte> msg, std::uint64_t seq, Kind kind) const {
  if (msg.size() != ref_.size()) {
    return fmt::format("message {} arrived with {} bytes, {} were sent", seq, msg.size(), ref_.size());
  }
  Header h = read_header(msg);
  if (h.size != ref_.size() || h.kind != kind || h.seq != seq) {
    return fmt::format("expected message {} ({}, {} bytes), got message {} ({}, {} bytes)", seq, kind_name(kind),
                       ref_.size(), h.seq, kind_name(h.kind), h.size);
  }
  if (std::memcmp(msg.data() + kHeaderSize, ref_.data() + kHeaderSize, ref_.size() - kHeaderSize) != 0) {
    std::size_t i = kHeaderSize;
    while (i < ref_.size() && msg[i] == ref_[i]) ++i;
    return fmt::format("message {}: payload differs from what was sent at byte {}", seq, i);
  }
  return {};
}

// --- placement -----------------------------------------------------------------------

std::string Placement::describe() const {
  switch (kind) {
    case Kind::two_cores: return fmt::format("pinned: server cpu {}, client cpu {}", server_cpu, client_cpu);
    case Kind::same_core: return fmt::format("pinned: both on cpu {} (--same-core)", server_cpu);
    case Kind::none: return "not pinned (--no-pin): the scheduler places both processes";
  }
  return {};
}

std::string Placement::json() const {
  if (kind == Kind::none) return "no";
  return fmt::format("{},{}", server_cpu, client_cpu);
}

// --- shared memory -------------------------------------------------------------------

Res<SharedRegion> SharedRegion::make(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return failed_errno(fmt::format("mmap {} bytes shared", bytes), errno);
  SharedRegion r;
  r.data_ = static_cast<std::byte*>(p);
  r.size_ = bytes;
  return r;
}
SharedRegion::SharedRegion(SharedRegion&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
SharedRegion& SharedRegion::operator=(SharedRegion&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}
SharedRegion::~SharedRegion() { reset(); }
void SharedRegion::reset() noexcept {
  if (data_) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

// --- statistics ----------------------------------------------------------------------

Latency summarize(std::vector<std::uint64_t>& samples) {
  Latency l;
  l.samples = samples.size();
  if (samples.empty()) return l;
  std::sort(samples.begin(), samples.end());
  // Nearest rank: the smallest sample with at least p of all samples at or below it.
  auto rank = [&](double p) {
    auto n = static_cast<double>(samples.size());
    auto idx = static_cast<std::size_t>(std::max(1.0, std::ceil(p * n))) - 1;
    return samples[std::min(idx, samples.size() - 1)];
  };
  l.p50 = rank(0.50);
  l.p99 = rank(0.99);
  l.p999 = rank(0.999);
  l.max = samples.back();
  return l;
}

// --- the two processes ---------------------------------------------------------------

namespace {

enum class Phase : int { start, setup, connect, warmup, rtt, oneway, finish, done };
constexpr const char* kPhaseNames[] = {"starting", "setting up", "connecting", "warming up",
                                       "round trips", "one-way", "finishing", "done"};

enum class State : int { running, ok, failed, skipped };

// Lives in an anonymous shared mapping: both children write their part, the driver reads
// it after they exit.
struct Board {
  std::atomic<int> server_phase;
  std::atomic<int> client_phase;
  std::atomic<int> server_state;
  std::atomic<int> client_state;
  // Which side failed first (1 server, 2 client): the other side's failure usually follows
  // from it (the peer closed), so the first one is the row's reason.
  std::atomic<int> first_failure;
  char server_why[1024];
  char client_why[1024];
  char rendezvous[1024];
  char remark[1024];
  Latency rtt;
  std::uint64_t oneway_msgs;
  std::uint64_t oneway_ns;
};

void put(char (&dst)[1024], std::string_view s) {
  std::size_t n = std::min(s.size(), sizeof dst - 1);
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)::sched_setaffinity(0, sizeof set, &set);  // checked by the driver before the run
}

// How one end receives: in place where the transport offers it (zero-copy; the message
// then stays the transport's until release()), else copied into a buffer of the run's size.
class Receiver {
 public:
  Receiver(Link& link, std::size_t size) : link_(link), zc_(link.in_place()), rx_(zc_ ? 0 : size) {}
  Res<std::span<const std::byte>> next() {
    if (held_ < held_end_) return link_.batch_message(held_++);
    if (zc_) return link_.receive_in_place();
    auto n = link_.receive(rx_);
    if (!n) return std::unexpected(std::move(n.error()));
    return std::span<const std::byte>(rx_.data(), *n);
  }
  void release() {
    if (zc_ && held_ == held_end_) link_.release_in_place();
  }
  // Messages [from, n) of the link's last receive_batch came after the one-way phase's end
  // (the next round trip's, taken in the same batch): next() hands them out first.
  void hold_batch(std::size_t from, std::size_t n) {
    held_ = from;
    held_end_ = n;
  }

 private:
  Link& link_;
  std::size_t held_ = 0;
  std::size_t held_end_ = 0;
  bool zc_;
  std::vector<std::byte> rx_;
};

Res<void> server_protocol(Link& link, const RunSpec& spec, Board& b) {
  Pattern pat(spec.size);
  Receiver in(link, spec.size);
  std::uint64_t expect = 0;
  for (;;) {
    auto msg_in = in.next();
    if (!msg_in) return std::unexpected(std::move(msg_in.error()));
    std::span<const std::byte> msg = *msg_in;
    Header h = read_header(msg);
    if (msg.size() != spec.size || h.size != spec.size) {
      return failed(fmt::format("server: message {} arrived with {} bytes (header says {}), {} were sent", expect,
                                msg.size(), h.size, spec.size));
    }
    if (h.seq != expect || (h.kind != Kind::rtt && h.kind != Kind::to_oneway && h.kind != Kind::fin)) {
      return failed(fmt::format("server: expected message {} of the round-trip phase, got message {} ({})", expect,
                                h.seq, kind_name(h.kind)));
    }
    ++expect;
    // Zero-copy: the echo is sent straight from where the message lies (its one copy is
    // into the reply), and only then is the message's space released.
    auto s = link.send(msg);
    in.release();
    if (!s) return s;
    if (h.kind == Kind::fin) return {};
    if (h.kind != Kind::to_oneway) continue;

    // One-way: count and check every message; time from the first to the end marker.
    b.server_phase.store(static_cast<int>(Phase::oneway));
    if (auto m = link.set_mode(Mode::oneway); !m) return m;
    std::uint64_t got = 0;
    std::uint64_t t_first = 0;
    // Messages the transport dropped by design (pubsub, policy=drop) in this phase: what
    // arrives must still be the sender's messages in order, with the dropped ones skipped.
    const std::uint64_t lost0 = link.lost();
    // One message of the phase: checked, counted; true at the end marker.
    auto take = [&](std::span<const std::byte> m) -> Res<bool> {
      const std::uint64_t lost = link.lost() - lost0;
      Header mh = read_header(m);
      if (mh.kind == Kind::end && m.size() == spec.size) {
        std::uint64_t t_end = now_ns();
        if (mh.seq != got + lost) {
          if (lost == 0) return failed(fmt::format("one-way: the sender sent {} messages, {} arrived", mh.seq, got));
          return failed(fmt::format("one-way: the sender sent {} messages, {} arrived and {} were dropped", mh.seq,
                                    got, lost));
        }
        // The sender's count (the same as what arrived unless the transport dropped some).
        b.oneway_msgs = mh.seq;
        b.oneway_ns = got ? t_end - t_first : 0;
        return true;
      }
      if (got == 0) t_first = now_ns();
      auto why = pat.check(m, got + lost, Kind::oneway);
      if (!why.empty()) return failed("one-way: " + why);
      ++got;
      return false;
    };
    for (bool end = false; !end;) {
      if (spec.batch > 0) {
        auto n = link.receive_batch();
        if (!n) return std::unexpected(std::move(n.error()));
        for (std::size_t i = 0; i < *n && !end; ++i) {
          auto t = take(link.batch_message(i));
          if (!t) return std::unexpected(std::move(t.error()));
          end = *t;
          if (end) in.hold_batch(i + 1, *n);
        }
        continue;
      }
      auto r = in.next();
      if (!r) return std::unexpected(std::move(r.error()));
      auto t = take(*r);
      in.release();
      if (!t) return std::unexpected(std::move(t.error()));
      end = *t;
    }
    if (auto m = link.set_mode(Mode::rtt); !m) return m;
    b.server_phase.store(static_cast<int>(Phase::finish));
  }
}

Res<void> client_protocol(Link& link, const RunSpec& spec, bool rtt_only, Board& b) {
  const Budget& bu = spec.budget;
  Pattern pat(spec.size);
  std::vector<std::byte> tx(spec.size);
  Receiver echoes(link, spec.size);
  pat.fill(tx, 0, Kind::rtt);
  std::uint64_t seq = 0;

  auto round_trip = [&](Kind kind, std::uint64_t* ns) -> Res<void> {
    write_header(tx, seq, kind);
    std::uint64_t t0 = now_ns();
    if (auto s = link.send(tx); !s) return s;
    auto echo = echoes.next();
    std::uint64_t t1 = now_ns();
    if (!echo) return std::unexpected(std::move(echo.error()));
    if (ns) *ns = t1 - t0;
    auto why = pat.check(*echo, seq, kind);  // where it lies, when in place; then released
    echoes.release();
    if (!why.empty()) return failed("round trip: " + why);
    ++seq;
    return {};
  };

  b.client_phase.store(static_cast<int>(Phase::warmup));
  std::uint64_t warm_until = now_ns() + static_cast<std::uint64_t>(bu.warmup.count());
  for (std::uint64_t i = 0; i < bu.warmup_iterations && now_ns() < warm_until; ++i) {
    if (auto r = round_trip(Kind::rtt, nullptr); !r) return r;
  }

  b.client_phase.store(static_cast<int>(Phase::rtt));
  std::vector<std::uint64_t> samples;
  samples.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(bu.max_round_trips, 1u << 20)));
  std::uint64_t rtt_until = now_ns() + static_cast<std::uint64_t>(bu.rtt.count());
  for (std::uint64_t i = 0; i < bu.max_round_trips; ++i) {
    std::uint64_t ns = 0;
    if (auto r = round_trip(Kind::rtt, &ns); !r) return r;
    samples.push_back(ns);
    if (now_ns() >= rtt_until) break;
  }
  b.rtt = summarize(samples);

  if (!rtt_only) {
    b.client_phase.store(static_cast<int>(Phase::oneway));
    if (auto r = round_trip(Kind::to_oneway, nullptr); !r) return r;
    if (auto m = link.set_mode(Mode::oneway); !m) return m;
    std::uint64_t k = 0;
    std::uint64_t until = now_ns() + static_cast<std::uint64_t>(bu.oneway.count());
    // Reading the clock costs ~20 ns: for small messages look at it every 64th.
    const std::uint64_t every = spec.size >= 4096 ? 1 : 64;
    pat.fill(tx, 0, Kind::oneway);
    if (spec.batch > 0) {
      // Batches of spec.batch messages (the last one shorter under an --iterations cap),
      // the clock read once per batch.
      std::vector<std::vector<std::byte>> bufs(spec.batch, tx);
      std::vector<std::span<const std::byte>> views(bufs.begin(), bufs.end());
      while (k < bu.max_oneway) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(spec.batch, bu.max_oneway - k));
        for (std::size_t i = 0; i < n; ++i) write_header(bufs[i], k + i, Kind::oneway);
        if (auto s = link.send_batch(std::span(views).first(n)); !s) return s;
        k += n;
        if (now_ns() >= until) break;
      }
    }
    while (spec.batch == 0 && k < bu.max_oneway) {
      write_header(tx, k, Kind::oneway);
      if (auto s = link.send(tx); !s) return s;
      ++k;
      if (k % every == 0 && now_ns() >= until) break;
    }
    write_header(tx, k, Kind::end);
    if (auto s = link.send(tx); !s) return s;
    if (auto m = link.set_mode(Mode::rtt); !m) return m;
    pat.fill(tx, 0, Kind::rtt);
  }

  b.client_phase.store(static_cast<int>(Phase::finish));
  // The last round trip also tells the client that the server has read everything, so
  // closing now loses nothing (some libraries drop queued messages on close).
  return round_trip(Kind::fin, nullptr);
}

[[noreturn]] void child_exit(int code) {
  // exit(), not _exit(): libraries with a process-wide runtime (iceoryx) unregister in
  // their static destructors. The driver flushed stdio before forking.
  std::exit(code);
}

void record(Board& b, bool server, const Problem& p) {
  auto& state = server ? b.server_state : b.client_state;
  int none = 0;
  if (p.kind == Problem::Kind::failed) b.first_failure.compare_exchange_strong(none, server ? 1 : 2);
  put(server ? b.server_why : b.client_why, p.why);
  state.store(static_cast<int>(p.kind == Problem::Kind::skipped ? State::skipped : State::failed));
}

// A measuring process dies with the driver, stops on the signals that stop a run (the
// driver inherits its handlers otherwise), and sees EPIPE rather than dying of SIGPIPE.
void child_signals() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
}

[[noreturn]] void run_server(Case& c, const RunSpec& spec, Board& b, int ready_fd) {
  child_signals();
  pin(spec.placement.server_cpu);
  b.server_phase.store(static_cast<int>(Phase::setup));
  std::string rendezvous;
  auto s = c.server_setup(spec, rendezvous);
  if (!s) {
    record(b, true, s.error());
    char f = 'F';
    (void)!::write(ready_fd, &f, 1);
    child_exit(1);
  }
  put(b.rendezvous, rendezvous);
  char r = 'R';
  (void)!::write(ready_fd, &r, 1);
  ::close(ready_fd);
  b.server_phase.store(static_cast<int>(Phase::connect));
  auto link = c.server_link(spec);
  if (!link) {
    record(b, true, link.error());
    child_exit(1);
  }
  b.server_phase.store(static_cast<int>(Phase::rtt));
  auto p = server_protocol(**link, spec, b);
  if (p) p = (*link)->finish();
  put(b.remark, (*link)->remark());
  if (p) {
    // Some libraries drop what is still queued when a socket closes (nng has no linger):
    // keep the server's end open until the client has its last reply.
    auto until = Clock::now() + std::chrono::seconds(5);
    while (b.client_phase.load() != static_cast<int>(Phase::done) &&
           b.client_state.load() == static_cast<int>(State::running) && Clock::now() < until) {
      ::usleep(200);
    }
  }
  if (!p) record(b, true, p.error());  // before closing: the peer's failure follows from ours
  link->reset();
  if (!p) child_exit(1);
  b.server_phase.store(static_cast<int>(Phase::done));
  b.server_state.store(static_cast<int>(State::ok));
  child_exit(0);
}

[[noreturn]] void run_client(Case& c, const RunSpec& spec, bool rtt_only, Board& b, int ready_fd) {
  child_signals();
  pin(spec.placement.client_cpu);
  char r = 0;
  ssize_t n;
  do {
    n = ::read(ready_fd, &r, 1);
  } while (n < 0 && errno == EINTR);
  ::close(ready_fd);
  if (n != 1 || r != 'R') {
    // The server failed or died; the driver reports its reason.
    b.client_state.store(static_cast<int>(State::skipped));
    child_exit(1);
  }
  b.client_phase.store(static_cast<int>(Phase::connect));
  auto link = c.client_link(spec, std::string(b.rendezvous));
  if (!link) {
    record(b, false, link.error());
    child_exit(1);
  }
  auto p = client_protocol(**link, spec, rtt_only, b);
  if (p) b.client_phase.store(static_cast<int>(Phase::done));  // the server may close now
  if (!p) record(b, false, p.error());  // before closing: the peer's failure follows from ours
  link->reset();
  if (!p) child_exit(1);
  b.client_state.store(static_cast<int>(State::ok));
  child_exit(0);
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits for both children until `limit`; false if they had to be killed at the limit.
// When one exits with a failure the other may be blocked on it forever: it gets a second
// to finish (and say something more useful), then it is killed.
bool reap(pid_t server, pid_t client, std::chrono::nanoseconds limit) {
  auto deadline = Clock::now() + limit;
  pid_t pids[2] = {server, client};
  bool alive[2] = {server > 0, client > 0};
  int fds[2] = {alive[0] ? pidfd_open(server) : -1, alive[1] ? pidfd_open(client) : -1};
  bool in_time = true;
  bool peer_failed = false;
  while (alive[0] || alive[1]) {
    for (int i = 0; i < 2; ++i) {
      if (!alive[i]) continue;
      int st = 0;
      pid_t r = ::waitpid(pids[i], &st, WNOHANG);
      if (r == pids[i] || (r < 0 && errno == ECHILD)) {
        alive[i] = false;
        bool ok = r == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!ok && !peer_failed) {
          peer_failed = true;
          deadline = std::min(deadline, Clock::now() + std::chrono::seconds(1));
        }
      }
    }
    if (!alive[0] && !alive[1]) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || stopping()) {
      in_time = peer_failed;
      for (int i = 0; i < 2; ++i) {
        if (alive[i]) ::kill(pids[i], SIGKILL);
      }
      for (int i = 0; i < 2; ++i) {
        if (alive[i]) {
          int st = 0;
          while (::waitpid(pids[i], &st, 0) < 0 && errno == EINTR) {
          }
          alive[i] = false;
        }
      }
      break;
    }
    pollfd p[2];
    int np = 0;
    for (int i = 0; i < 2; ++i) {
      if (alive[i] && fds[i] >= 0) p[np++] = {fds[i], POLLIN, 0};
    }
    if (np > 0) {
      (void)::poll(p, static_cast<nfds_t>(np), static_cast<int>(std::min<long long>(left, 200)));
    } else {
      ::usleep(2000);  // no pidfd (kernel < 5.3): look again shortly
    }
  }
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  return in_time;
}

}  // namespace

Outcome measure(Case& c, const RunSpec& spec, bool rtt_only) {
  Outcome out;
  auto region = SharedRegion::make(sizeof(Board));
  if (!region) return Outcome{"failed: " + region.error().why, {}, {}, {}};
  auto* b = new (region->data()) Board{};

  if (auto p = c.prepare(spec); !p) {
    c.cleanup(spec);
    bool skip = p.error().kind == Problem::Kind::skipped;
    return Outcome{(skip ? "skipped: " : "failed: ") + p.error().why, {}, {}, {}};
  }
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    c.cleanup(spec);
    return Outcome{fmt::format("failed: pipe2: {}", std::strerror(errno)), {}, {}, {}};
  }
  std::fflush(nullptr);
  pid_t server = ::fork();
  if (server == 0) {
    ::close(ready[0]);
    run_server(c, spec, *b, ready[1]);
  }
  pid_t client = server > 0 ? ::fork() : -1;
  if (client == 0) {
    ::close(ready[1]);
    run_client(c, spec, rtt_only, *b, ready[0]);
  }
  ::close(ready[0]);
  ::close(ready[1]);
  c.after_fork();
  if (server < 0 || client < 0) {
    int err = errno;
    if (server > 0) ::kill(server, SIGKILL);
    reap(server, -1, std::chrono::seconds(5));
    c.cleanup(spec);
    return Outcome{fmt::format("failed: fork: {}", std::strerror(err)), {}, {}, {}};
  }

  const auto& bu = spec.budget;
  auto limit = bu.warmup + bu.rtt + (rtt_only ? std::chrono::nanoseconds(0) : bu.oneway) + std::chrono::seconds(20);
  bool in_time = reap(server, client, limit);
  c.cleanup(spec);

  auto sstate = static_cast<State>(b->server_state.load());
  auto cstate = static_cast<State>(b->client_state.load());
  if (stopping()) {
    out.status = "failed: interrupted";
  } else if (!in_time) {
    out.status = fmt::format("failed: timed out after {:.0f} s (server {}, client {})",
                             std::chrono::duration<double>(limit).count(), kPhaseNames[b->server_phase.load()],
                             kPhaseNames[b->client_phase.load()]);
  } else if (sstate == State::skipped) {
    out.status = fmt::format("skipped: {}", b->server_why);
  } else if (b->first_failure.load() == 2 && cstate == State::failed) {
    out.status = fmt::format("failed: {}", b->client_why);
  } else if (sstate == State::failed) {
    out.status = fmt::format("failed: {}", b->server_why);
  } else if (cstate == State::skipped && b->client_why[0]) {
    out.status = fmt::format("skipped: {}", b->client_why);
  } else if (cstate == State::failed) {
    out.status = fmt::format("failed: {}", b->client_why);
  } else if (sstate != State::ok || cstate != State::ok) {
    out.status = fmt::format("failed: a process died (server {}, client {})", kPhaseNames[b->server_phase.load()],
                             kPhaseNames[b->client_phase.load()]);
  } else {
    out.status = "ok";
    out.rtt = b->rtt;
    out.remark = b->remark;
    if (!rtt_only && b->oneway_ns > 0) {
      Throughput t;
      t.msgs_per_s = static_cast<double>(b->oneway_msgs) * 1e9 / static_cast<double>(b->oneway_ns);
      t.mb_per_s = t.msgs_per_s * static_cast<double>(spec.size) / 1e6;
      out.throughput = t;
    }
  }
  b->~Board();
  return out;
}

}  // namespace ipcx::bench
