// SPDX-License-Identifier: MIT
// Helpers shared by the subcommands.
#pragma once

#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <string>

#include <CLI/CLI.hpp>

#include "ipcx/deadline.hpp"

namespace ipcx::cli {

// --timeout SECONDS: a number >= 0; NaN is refused (it is no time), an infinite or huge
// one waits as long as it takes.
inline const CLI::Validator kSeconds(
    [](std::string& s) -> std::string {
      double v = 0;
      if (!CLI::detail::lexical_cast(s, v) || std::isnan(v) || v < 0) return "not a number of seconds >= 0: " + s;
      return {};
    },
    "SECONDS>=0");

// A whole number that fits a long, checked on the text: a conversion would clamp a
// larger one silently.
inline const CLI::Validator kLong(
    [](std::string& s) -> std::string {
      long v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) {
        return "not a whole number from " + std::to_string(LONG_MIN) + " to " + std::to_string(LONG_MAX) + ": " + s;
      }
      return {};
    },
    "LONG");

// --timeout SECONDS as a deadline for the whole command; negative means none.
// (The options refuse NaN; an infinite or huge time is never: see Deadline::after.)
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
