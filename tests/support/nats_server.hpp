// SPDX-License-Identifier: MIT
// A nats-server for a test: started on 127.0.0.1 with a port the server picks itself (no
// race for a free port), waited for until it listens, and killed when the object goes
// (on a failed assertion too). Nothing listens on any other address.
//
//   auto server = NatsServer::start();
//   ASSERT_TRUE(server.ok()) << server.why();
//   Channel::bind(server.url("orders.new"));
//
// The test process itself never calls the NATS client: the client starts threads, which a
// fork would not carry into the child. Children (Child::spawn) do the NATS work.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <charconv>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace ipcx::test {

inline std::string nats_server_path() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

class NatsServer {
 public:
  // extra: more nats-server arguments (e.g. {"--auth", "TOKEN"}, {"-V"} to trace).
  // port 0: the server picks one.
  static NatsServer start(std::vector<std::string> extra = {}, std::uint16_t port = 0) {
    NatsServer s;
    std::string bin = nats_server_path();
    if (bin.empty()) {
      s.why_ = "nats-server is not installed (scripts/deps.sh installs it)";
      return s;
    }
    // No monitoring port, no cluster port unless `extra` asks: only 127.0.0.1 listens.
    std::vector<std::string> argv{bin, "-a", "127.0.0.1", "-p", port == 0 ? "-1" : std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    s.child_.emplace(Child::exec(std::move(argv)));
    // The server says where it listens; read its log until it does (bounded).
    const std::string marker = "Listening for client connections on 127.0.0.1:";
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      std::string out = s.child_->output();
      if (auto at = out.find(marker); at != std::string::npos) {
        const char* p = out.data() + at + marker.size();
        unsigned v = 0;
        auto [end, ec] = std::from_chars(p, out.data() + out.size(), v);
        if (ec == std::errc{} && end != p && v > 0 && v < 65536) {
          s.port_ = static_cast<std::uint16_t>(v);
          return s;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a log, not ordering
    }
    s.why_ = "nats-server did not start listening within 20 s: " + s.child_->output();
    s.child_.reset();
    return s;
  }

  bool ok() const { return port_ != 0; }
  const std::string& why() const { return why_; }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& subject, const std::string& query = {}) const {
    return "nats://" + address() + "/" + subject + (query.empty() ? "" : "?" + query);
  }
  std::string log() const { return child_ ? child_->output() : std::string(); }

  // Waits (bounded) until the log holds `text`: with -V the server traces each SUB, so a
  // test knows a subscriber in another process is in place.
  bool wait_log(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Kills the server now (as a crash would) and reaps it.
  void kill() {
    if (child_) {
      child_->kill(SIGKILL);
      child_->wait();
      child_.reset();
    }
  }

 private:
  std::optional<Child> child_;
  std::uint16_t port_ = 0;
  std::string why_;
};

}  // namespace ipcx::test
