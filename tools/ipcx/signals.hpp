// SPDX-License-Identifier: MIT
// SIGINT and SIGTERM as an event the commands wait on beside their channel, so that a
// stopped recv, listen or bridge returns through its destructors (remove=1 and unlink=1
// are honoured and a listener's socket file goes), and hz and record end by printing what
// they saw.
//
//   auto stop = StopSignals::install();
//   auto m = ch.receive_message(next_slice(deadline));   // timed out: check stop->signal()
//
// One self-pipe for the process; the handler only writes a byte (async-signal-safe). A
// second signal kills as usual (SA_RESETHAND), in case a send is stuck.
#pragma once

#include <signal.h>

#include <chrono>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "sys/io.hpp"

namespace ipcx::cli {

class StopSignals {
 public:
  static Result<StopSignals> install();
  // Readable once SIGINT or SIGTERM came.
  int fd() const noexcept { return pipe_.read.get(); }
  // The signal that came, or 0.
  int signal() const noexcept;

 private:
  explicit StopSignals(sys::PipeFds p) : pipe_(std::move(p)) {}
  sys::PipeFds pipe_;
};

// A blocking call waits in slices of at most this long, so that a stop signal is acted on
// within it whatever the mechanism (each keeps its own blocking semantics: a FIFO reader
// still waits for a late writer, a ring consumer for its producer).
inline constexpr std::chrono::milliseconds kStopCheck{100};

// The sooner of `deadline` and one kStopCheck from now.
Deadline next_slice(const Deadline& deadline);

}  // namespace ipcx::cli
