// SPDX-License-Identifier: MIT
// What a waiting receiver costs when nothing comes: for each wait strategy of the shm://
// ring, a consumer process blocks in receive() while no message is sent for a fixed time,
// and the CPU time it used meanwhile (CLOCK_PROCESS_CPUTIME_ID: user + system) is reported as a share
// of one CPU. A spinning receiver burns a whole CPU; a sleeping one should burn none.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "harness.hpp"

namespace ipcx::bench {

struct IdleResult {
  std::string wait;           // spin, yield, sleep, poll
  double idle_seconds = 0;    // how long the consumer waited with nothing to read
  double cpu_seconds = 0;     // user + system CPU time it used meanwhile
  std::string status = "ok";  // or "failed: why"
  double cpu_share() const noexcept { return idle_seconds > 0 ? cpu_seconds / idle_seconds : 0; }
};

// One consumer per wait strategy, pinned to `cpu` (-1: not pinned), each idle for `idle`.
// `stem` makes the rings' names unique; every ring is removed before this returns.
std::vector<IdleResult> measure_idle_cpu(std::chrono::milliseconds idle, int cpu, const std::string& stem);

}  // namespace ipcx::bench
