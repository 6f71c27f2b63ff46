// SPDX-License-Identifier: MIT
// Helpers shared by the subcommands.
#pragma once

#include <chrono>
#include <string>

#include "ipcx/deadline.hpp"

namespace ipcx::cli {

// --timeout SECONDS as a deadline for the whole command; negative means none.
inline Deadline deadline_from_seconds(double seconds) {
  if (seconds < 0) return Deadline::never();
  return Deadline::after(std::chrono::duration<double>(seconds));
}

// --raw: byte mode with no framing, as the URL option framing=raw (stream sockets).
inline std::string with_raw(std::string url, bool raw) {
  if (!raw) return url;
  url += url.find('?') == std::string::npos ? "?framing=raw" : "&framing=raw";
  return url;
}

}  // namespace ipcx::cli
