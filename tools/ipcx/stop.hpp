// SPDX-License-Identifier: MIT
// SIGINT and SIGTERM as a request to stop, for the commands that end by printing what they
// saw (hz, record): the handler only sets a flag, and the command looks at it between
// receives, each of which it bounds (a receive retries EINTR inside the library, so the
// signal cannot cut it short). A second signal kills, as usual (SA_RESETHAND).
#pragma once

#include <chrono>

namespace ipcx::cli {

void install_stop_handler();
bool stop_requested() noexcept;

// How long a command that waits for stop_requested() blocks in one receive.
inline constexpr std::chrono::milliseconds kStopCheck{100};

}  // namespace ipcx::cli
