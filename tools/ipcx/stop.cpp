// SPDX-License-Identifier: MIT
#include "stop.hpp"

#include <signal.h>

#include "sys/process.hpp"

namespace ipcx::cli {
namespace {

volatile sig_atomic_t g_stop = 0;

extern "C" void on_stop(int) { g_stop = 1; }

}  // namespace

void install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sa.sa_flags = SA_RESETHAND;
  ::sigemptyset(&sa.sa_mask);
  // Cannot fail for these two signals and a valid handler; without it, a signal kills as before.
  (void)sys::sigaction(SIGINT, sa);
  (void)sys::sigaction(SIGTERM, sa);
}

bool stop_requested() noexcept { return g_stop != 0; }

}  // namespace ipcx::cli
