// SPDX-License-Identifier: MIT
// Helpers shared by the subcommands: the options that several of them take, spelled and
// checked once, and the exit code for a library error.
#pragma once

#include <charconv>
#include <chrono>
#include <climits>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/url.hpp"

namespace ipcx::cli {

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
// (add_timeout refuses NaN; an infinite or huge time is never: see Deadline::after.)
inline Deadline deadline_from_seconds(double seconds) {
  if (seconds < 0) return Deadline::never();
  return Deadline::after(std::chrono::duration<double>(seconds));
}

// -t,--timeout SECONDS: the same spelling, check and message in every subcommand. A
// negative value is refused in words (CLI11's own range check prints DBL_MAX in full).
inline CLI::Option* add_timeout(CLI::App* cmd, double& seconds, const std::string& what) {
  return cmd->add_option("-t,--timeout", seconds, what)
      ->type_name("SECONDS")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double d = 0;
            if (!CLI::detail::lexical_cast(v, d) || !(d >= 0)) {
              return "takes 0 or more seconds, not " + v + " (leave it out to wait as long as it takes)";
            }
            return {};
          },
          "SECONDS >= 0", "seconds"));
}

// -n,--count N: exit after N messages (recv, listen).
inline CLI::Option* add_count(CLI::App* cmd, long long& count, const std::string& what) {
  return cmd->add_option("-n,--count", count, what)
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            long long n = 0;
            if (!CLI::detail::lexical_cast(v, n) || n < 0) return "takes 0 or more messages, not " + v;
            return {};
          },
          "N >= 0", "count"));
}

// --raw: byte mode with no framing, as the URL option framing=raw, on the schemes that
// have framing (sockets). Elsewhere a message is sent and received as it is anyway, so
// --raw adds nothing to the URL (recv still prints the bytes with no newline).
inline std::string with_raw(std::string url, bool raw) {
  if (!raw) return url;
  auto u = Url::parse(url);
  if (!u) return url;  // the open reports the bad URL, not an option the user did not write
  switch (u->scheme) {
    case Scheme::unix_stream:
    case Scheme::unix_dgram:
    case Scheme::unix_seqpacket:
    case Scheme::tcp:
    case Scheme::udp: break;
    default: return url;
  }
  url += url.find('?') == std::string::npos ? "?framing=raw" : "&framing=raw";
  return url;
}

// The exit code for a failure the library reported: a URL that does not parse is a usage
// error (2) in every subcommand, anything else a runtime error (1).
inline int exit_code(const Error& e) { return e.kind() == Errc::bad_url ? kUsage : kRuntimeError; }

// The exit code when stat or rm cannot resolve a TARGET: one that is not a URL, key or id
// they read is a usage error (2), one that names nothing or cannot be read a runtime one.
inline int target_exit_code(const Error& e) {
  return e.kind() == Errc::bad_url || e.kind() == Errc::invalid_argument ? kUsage : kRuntimeError;
}

// Prints the error ("ipcx: ...") and returns its exit code.
inline int report(const Error& e) {
  error(e.message());
  return exit_code(e);
}

}  // namespace ipcx::cli
