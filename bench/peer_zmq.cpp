// SPDX-License-Identifier: MIT
// ZeroMQ, as its guide shows: REQ/REP for request-reply (round trips) and PUSH/PULL for a
// pipeline (one-way throughput), zmq_send/zmq_recv with the library's own I/O thread. One
// context per process; the sockets of both patterns are connected before the clock starts.
// These are the raw rows of zmq-ipc and zmq-tcp; ipcx's zmq+ Channels are measured beside
// them with the same patterns (cases_remote.cpp).
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <cstring>

#include <fmt/format.h>

#include "links.hpp"
#include "peers.hpp"

namespace ipcx::bench {
namespace {

std::unexpected<Problem> zmq_failed(std::string_view what) {
  return failed(fmt::format("{}: {}", what, zmq_strerror(zmq_errno())));
}

class ZmqSockets {
 public:
  ZmqSockets() = default;
  ZmqSockets(const ZmqSockets&) = delete;
  ZmqSockets& operator=(const ZmqSockets&) = delete;
  ~ZmqSockets() { close(); }
  void close() {
    for (void*& s : {std::ref(rr), std::ref(pp)}) {
      if (s) zmq_close(s);  // linger: queued replies are still delivered
      s = nullptr;
    }
    if (ctx) zmq_ctx_term(ctx);
    ctx = nullptr;
  }
  void* ctx = nullptr;
  void* rr = nullptr;  // REQ (client) / REP (server)
  void* pp = nullptr;  // PUSH (client) / PULL (server)
};

class ZmqLink final : public Link {
 public:
  ZmqLink(std::unique_ptr<ZmqSockets> s, bool client) : s_(std::move(s)), client_(client) {}
  ~ZmqLink() override { s_->close(); }
  Res<void> send(std::span<const std::byte> msg) override {
    void* sock = mode_ == Mode::oneway && client_ ? s_->pp : s_->rr;
    while (zmq_send(sock, msg.data(), msg.size(), 0) < 0) {
      if (zmq_errno() != EINTR) return zmq_failed("zmq_send");  // EINTR: not queued
    }
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    void* sock = mode_ == Mode::oneway && !client_ ? s_->pp : s_->rr;
    for (;;) {
      int n = zmq_recv(sock, buf.data(), buf.size(), 0);
      if (n < 0 && zmq_errno() == EINTR) continue;  // nothing was taken
      if (n < 0) return zmq_failed("zmq_recv");
      if (static_cast<std::size_t>(n) > buf.size()) {
        return failed(fmt::format("zmq_recv: a {}-byte message was cut to {} bytes", n, buf.size()));
      }
      return static_cast<std::size_t>(n);
    }
  }
  Res<void> set_mode(Mode m) override {
    mode_ = m;
    return {};
  }

 private:
  std::unique_ptr<ZmqSockets> s_;
  bool client_;
  Mode mode_ = Mode::rtt;
};

class Zmq final : public Case {
 public:
  explicit Zmq(bool tcp)
      : Case(tcp ? "zmq-tcp" : "zmq-ipc", "raw", "kernel",
             tcp ? "REQ/REP + PUSH/PULL, 127.0.0.1" : "REQ/REP + PUSH/PULL"),
        tcp_(tcp) {}
  std::string note(std::size_t size) const override {
    std::string n = Case::note(size);
    if (zmq_hwm_for(size) != 1000) n += fmt::format(", HWM {}", zmq_hwm_for(size));
    return n;
  }
  Res<void> prepare(const RunSpec& spec) override {
    if (tcp_) {
      endpoints_ = {"tcp://127.0.0.1:*", "tcp://127.0.0.1:*"};
    } else {
      paths_ = {tmp_path(spec, "rr.zmq"), tmp_path(spec, "pp.zmq")};
      endpoints_ = {"ipc://" + paths_[0], "ipc://" + paths_[1]};
    }
    return {};
  }
  Res<void> server_setup(const RunSpec& spec, std::string& rendezvous) override {
    server_ = std::make_unique<ZmqSockets>();
    auto& s = *server_;
    s.ctx = zmq_ctx_new();
    if (!s.ctx) return zmq_failed("zmq_ctx_new");
    s.rr = zmq_socket(s.ctx, ZMQ_REP);
    s.pp = zmq_socket(s.ctx, ZMQ_PULL);
    if (!s.rr || !s.pp) return zmq_failed("zmq_socket");
    int hwm = zmq_hwm_for(spec.size);
    zmq_setsockopt(s.pp, ZMQ_RCVHWM, &hwm, sizeof hwm);
    for (int i = 0; i < 2; ++i) {
      void* sock = i == 0 ? s.rr : s.pp;
      if (zmq_bind(sock, endpoints_[i].c_str()) != 0) return zmq_failed("zmq_bind " + endpoints_[i]);
      char ep[256];
      std::size_t len = sizeof ep;
      if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0) return zmq_failed("ZMQ_LAST_ENDPOINT");
      if (i) rendezvous += ' ';
      rendezvous += ep;
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    return std::make_unique<ZmqLink>(std::move(server_), false);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string& rendezvous) override {
    auto sp = rendezvous.find(' ');
    std::string eps[2] = {rendezvous.substr(0, sp), rendezvous.substr(sp + 1)};
    auto s = std::make_unique<ZmqSockets>();
    s->ctx = zmq_ctx_new();
    if (!s->ctx) return zmq_failed("zmq_ctx_new");
    s->rr = zmq_socket(s->ctx, ZMQ_REQ);
    s->pp = zmq_socket(s->ctx, ZMQ_PUSH);
    if (!s->rr || !s->pp) return zmq_failed("zmq_socket");
    int hwm = zmq_hwm_for(spec.size);
    zmq_setsockopt(s->pp, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect(s->rr, eps[0].c_str()) != 0) return zmq_failed("zmq_connect " + eps[0]);
    if (zmq_connect(s->pp, eps[1].c_str()) != 0) return zmq_failed("zmq_connect " + eps[1]);
    return std::make_unique<ZmqLink>(std::move(s), true);
  }
  void cleanup(const RunSpec&) override {
    for (const auto& p : paths_) ::unlink(p.c_str());
    paths_.clear();
  }

 private:
  bool tcp_;
  std::vector<std::string> endpoints_;
  std::vector<std::string> paths_;
  std::unique_ptr<ZmqSockets> server_;
};

}  // namespace

// High-water mark in messages: the default (1000) unless that would queue more than
// 64 MiB per socket, which the one-way phase of 1 MiB messages would otherwise do.
int zmq_hwm_for(std::size_t size) {
  auto n = static_cast<std::size_t>(64u << 20) / size;
  return static_cast<int>(std::clamp<std::size_t>(n, 16, 1000));
}

void add_zmq(CaseList& out) {
  out.push_back(std::make_unique<Zmq>(false));
  out.push_back(std::make_unique<Zmq>(true));
}

}  // namespace ipcx::bench
