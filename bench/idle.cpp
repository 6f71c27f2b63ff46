// SPDX-License-Identifier: MIT
#include "idle.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <thread>

#include <fmt/format.h>

#include "ipcx/ring.hpp"
#include "links.hpp"

namespace ipcx::bench {
namespace {

// What the consumer reports through the result pipe.
struct Report {
  std::int64_t wall_ns;  // from "ready" to the message's arrival
  std::int64_t cpu_ns;   // CPU time used meanwhile (CLOCK_PROCESS_CPUTIME_ID)
  char why[200];         // empty, or what failed
};

// The consumer and the driver exchange fixed-size values through pipes; each is written
// by one write of less than PIPE_BUF bytes, so it arrives whole or not at all.
template <typename T>
void send_value(int fd, const T& v) {
  (void)write_full(fd, std::as_bytes(std::span<const T>(&v, 1)));
}

// Reads a value, or fails at EOF or when nothing comes within timeout_ms.
template <typename T>
bool receive_value(int fd, T& v, int timeout_ms) {
  pollfd pf{fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&pf, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0 && read_full(fd, std::as_writable_bytes(std::span<T>(&v, 1))).has_value();
}

[[noreturn]] void consumer(const std::string& name, WaitStrategy w, int cpu, std::chrono::milliseconds idle, int ready_fd,
                           int result_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)::sched_setaffinity(0, sizeof set, &set);
  }
  Report rep{};
  {
    RingOptions o;
    o.wait = w;
    auto rx = RingConsumer::open(name, o);
    if (!rx) {
      fmt::format_to_n(rep.why, sizeof rep.why - 1, "open consumer: {}", rx.error().message());
      send_value(ready_fd, 'F');
      send_value(result_fd, rep);
      ::_exit(1);
    }
    std::array<std::byte, 64> buf{};
    Busy busy;
    busy.start();
    send_value(ready_fd, 'R');
    auto m = rx->receive(buf, Deadline::after(idle * 10 + std::chrono::seconds(5)));
    busy.stop();
    rep.cpu_ns = busy.cpu_ns;
    rep.wall_ns = busy.wall_ns;
    if (!m) fmt::format_to_n(rep.why, sizeof rep.why - 1, "receive: {}", m.error().message());
  }  // the consumer closes before the process ends
  send_value(result_fd, rep);
  ::_exit(rep.why[0] ? 1 : 0);
}

IdleResult measure_one(WaitStrategy w, std::chrono::milliseconds idle, int cpu, const std::string& name) {
  IdleResult res;
  res.wait = std::string(to_string(w));
  int ready[2], result[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return {res.wait, 0, 0, fmt::format("failed: pipe: {}", std::strerror(errno))};
  if (::pipe2(result, O_CLOEXEC) != 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    return {res.wait, 0, 0, fmt::format("failed: pipe: {}", std::strerror(errno))};
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    ::close(result[0]);
    consumer(name, w, cpu, idle, ready[1], result[1]);
  }
  ::close(ready[1]);
  ::close(result[1]);
  auto finish = [&](std::string status) {
    ::close(ready[0]);
    ::close(result[0]);
    if (pid > 0) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
      }
    }
    (void)remove_ring(name);  // normally gone already: the last side to close removes it
    res.status = std::move(status);
    return res;
  };
  if (pid < 0) return finish(fmt::format("failed: fork: {}", std::strerror(errno)));
  char c = 0;
  if (!receive_value(ready[0], c, 10'000) || c != 'R') {
    Report rep{};
    if (receive_value(result[0], rep, 1000) && rep.why[0]) return finish(fmt::format("failed: {}", rep.why));
    return finish("failed: the consumer did not start");
  }
  auto tx = RingProducer::open(name);
  if (!tx) return finish("failed: open producer: " + tx.error().message());
  // The measured interval itself: nothing is sent while the consumer waits.
  std::this_thread::sleep_for(idle);
  std::array<std::byte, 16> msg{};
  if (auto s = tx->send(msg, Deadline::after(std::chrono::seconds(5))); !s) {
    return finish("failed: send: " + s.error().message());
  }
  Report rep{};
  if (!receive_value(result[0], rep, 10'000)) return finish("failed: no result from the consumer");
  if (rep.why[0]) return finish(fmt::format("failed: {}", rep.why));
  res.idle_seconds = static_cast<double>(rep.wall_ns) / 1e9;
  res.cpu_seconds = static_cast<double>(rep.cpu_ns) / 1e9;
  int st = 0;
  ::waitpid(pid, &st, 0);
  pid = -1;
  tx = RingProducer();  // close: the last side removes the name
  return finish("ok");
}

}  // namespace

std::vector<IdleResult> measure_idle_cpu(std::chrono::milliseconds idle, int cpu, const std::string& stem) {
  std::vector<IdleResult> out;
  int n = 0;
  for (WaitStrategy w : {WaitStrategy::spin, WaitStrategy::yield, WaitStrategy::sleep, WaitStrategy::poll}) {
    out.push_back(measure_one(w, idle, cpu, fmt::format("{}-idle{}", stem, n++)));
  }
  return out;
}

}  // namespace ipcx::bench
