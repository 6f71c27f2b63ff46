// SPDX-License-Identifier: MIT
#include "signals.hpp"

#include <atomic>

#include "sys/process.hpp"

namespace ipcx::cli {
namespace {

int g_signal_fd = -1;              // write end of the self-pipe; set before the handlers
std::atomic<int> g_signal_seen{0};  // lock-free, so the handler may store to it

extern "C" void on_stop_signal(int signo) {
  g_signal_seen.store(signo, std::memory_order_relaxed);  // read after the pipe says so
  const char c = 's';
  // write(2) is async-signal-safe; a full pipe already holds a wake-up, so the result is moot.
  [[maybe_unused]] ssize_t n = ::write(g_signal_fd, &c, 1);
}

}  // namespace

Result<StopSignals> StopSignals::install() {
  auto p = sys::pipe2(O_NONBLOCK);
  if (!p) return std::unexpected(std::move(p.error()));
  g_signal_fd = p->write.get();
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  ::sigemptyset(&sa.sa_mask);
  // Cannot fail for these two signals and a valid handler.
  (void)sys::sigaction(SIGINT, sa);
  (void)sys::sigaction(SIGTERM, sa);
  return StopSignals(std::move(*p));
}

int StopSignals::signal() const noexcept { return g_signal_seen.load(std::memory_order_relaxed); }

Deadline next_slice(const Deadline& deadline) {
  const Deadline slice = Deadline::after(kStopCheck);
  if (deadline.is_never() || slice.time_point() < deadline.time_point()) return deadline.is_immediate() ? deadline : slice;
  return deadline;
}

}  // namespace ipcx::cli
