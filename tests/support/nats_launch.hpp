// SPDX-License-Identifier: MIT
// How ipcx starts a nats-server of its own on loopback: where the binary is, the arguments
// that make it listen on 127.0.0.1 only with a port it picks itself, and how its log says
// which port that is. Shared by the tests (support/nats_server.hpp, which runs it as a
// test Child) and the benchmark (bench/cases_remote.cpp, which runs it for a series of
// rows); header-only and free of GoogleTest, so that ipcx-bench can include it.
//
//   auto argv = ipcx::nats_launch::argv(ipcx::nats_launch::server_path());
//   ... run argv with stdout and stderr to a log ...
//   std::uint16_t port = ipcx::nats_launch::listen_port(log);   // 0 until it listens
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ipcx::nats_launch {

// The installed nats-server (Debian's package puts it in /usr/sbin), or empty.
inline std::string server_path() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// nats-server's arguments: 127.0.0.1 only, `port` or (0) one the server picks, no
// monitoring port; `extra` after them (JetStream, cluster, -V, ...).
inline std::vector<std::string> argv(const std::string& bin, std::uint16_t port = 0, std::vector<std::string> extra = {}) {
  std::vector<std::string> v{bin, "-a", "127.0.0.1", "-p", port == 0 ? "-1" : std::to_string(port)};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

// The client port the server's log says it listens on, or 0 if it does not say so yet.
inline std::uint16_t listen_port(std::string_view log) {
  constexpr std::string_view kMarker = "Listening for client connections on 127.0.0.1:";
  auto at = log.find(kMarker);
  if (at == std::string_view::npos) return 0;
  const char* p = log.data() + at + kMarker.size();
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p, log.data() + log.size(), v);
  if (ec != std::errc{} || end == p || v == 0 || v > 65535) return 0;
  return static_cast<std::uint16_t>(v);
}

// A loopback port of `type` (SOCK_STREAM, SOCK_DGRAM) that was free a moment ago (bound
// to port 0, then closed), or 0. Only for what must name its port before it starts (a
// cluster's routes, a ZeroMQ endpoint given by URL); a caller retries or fails clearly
// when another process took it meanwhile.
inline std::uint16_t free_loopback_port(int type = SOCK_STREAM) {
  int s = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (s < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(s);
  return port;
}

}  // namespace ipcx::nats_launch
