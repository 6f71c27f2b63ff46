// SPDX-License-Identifier: MIT
// A nats-server for a test: started on 127.0.0.1 with a port the server picks itself (no
// race for a free port), waited for until it listens, and killed when the object goes
// (on a failed assertion too). Nothing listens on any other address.
//
//   auto server = NatsServer::start();
//   ASSERT_TRUE(server.ok()) << server.why();
//   Channel::bind(server.url("orders.new"));
//
// NatsServer::start_jetstream() adds JetStream with its store in a unique directory under
// /tmp, removed once the server is gone; NatsCluster::start() runs three of those as one
// cluster (routes on loopback).
//
// The test process itself never calls the NATS client: the client starts threads, which a
// fork would not carry into the child. Children (Child::spawn) do the NATS work.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/nats_launch.hpp"
#include "support/test_support.hpp"

namespace ipcx::test {

inline std::string nats_server_path() { return nats_launch::server_path(); }
using nats_launch::free_loopback_port;

// A directory that is removed, with all it holds, when the object goes.
class TempDir {
 public:
  explicit TempDir(std::string path) : path_(std::move(path)) { std::filesystem::create_directories(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class NatsServer {
 public:
  // With JetStream, its store in a fresh directory of its own.
  static NatsServer start_jetstream(std::vector<std::string> extra = {}, std::uint16_t port = 0) {
    auto store = std::make_unique<TempDir>(unique_path("js-store"));
    extra.insert(extra.begin(), {"-js", "--store_dir", store->path()});
    NatsServer s = start(std::move(extra), port);
    s.store_ = std::move(store);
    return s;
  }

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
    s.child_.emplace(Child::exec(nats_launch::argv(bin, port, std::move(extra))));
    // The server says where it listens; read its log until it does (bounded).
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      if (auto p = nats_launch::listen_port(s.child_->output()); p != 0) {
        s.port_ = p;
        return s;
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
  std::unique_ptr<TempDir> store_;  // declared before child_: removed after the server is gone
  std::optional<Child> child_;
  std::uint16_t port_ = 0;
  std::string why_;
};

// Three JetStream servers on loopback, routed to each other as one cluster ("ipcx"),
// named n0, n1, n2. Their ports are chosen before they start (each names the others'
// route ports); a start that loses a port to another process is tried again.
class NatsCluster {
 public:
  static NatsCluster start() {
    NatsCluster c;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::array<std::uint16_t, 3> client{}, route{};
      for (std::size_t i = 0; i < 3; ++i) {
        client[i] = free_loopback_port();
        route[i] = free_loopback_port();
      }
      std::string routes;
      for (std::size_t i = 0; i < 3; ++i) {
        routes += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(route[i]);
      }
      c.servers_.clear();
      c.why_.clear();
      for (std::size_t i = 0; i < 3 && c.why_.empty(); ++i) {
        c.servers_.push_back(NatsServer::start_jetstream(
            {"-n", "n" + std::to_string(i), "--cluster_name", "ipcx", "--cluster",
             "nats://127.0.0.1:" + std::to_string(route[i]), "--routes", routes},
            client[i]));
        if (!c.servers_.back().ok()) c.why_ = c.servers_.back().why();
      }
      if (c.why_.empty()) return c;
    }
    return c;
  }

  bool ok() const { return why_.empty() && servers_.size() == 3; }
  const std::string& why() const { return why_; }
  NatsServer& server(std::size_t i) { return servers_[i]; }
  // "127.0.0.1:P0,127.0.0.1:P1,127.0.0.1:P2", with server `first` first.
  std::string addresses(std::size_t first = 0) const {
    std::string out = servers_[first].address();
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      if (i != first) out += "," + servers_[i].address();
    }
    return out;
  }
  std::string url(const std::string& subject, const std::string& query, std::size_t first = 0) const {
    return "nats://" + addresses(first) + "/" + subject + (query.empty() ? "" : "?" + query);
  }
  // The server whose log says it leads the stream, or -1 (e.g. not elected yet).
  int stream_leader(const std::string& stream) const {
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i].log().find("new stream leader for '$G > " + stream + "'") != std::string::npos) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

 private:
  std::vector<NatsServer> servers_;
  std::string why_;
};

}  // namespace ipcx::test
