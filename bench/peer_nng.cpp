// SPDX-License-Identifier: MIT
// nng over ipc://, as its documentation shows: req0/rep0 for request-reply (round trips)
// and push0/pull0 for a pipeline (one-way), nng_send/nng_recv copying into the caller's
// buffer. Both patterns are connected before the clock starts.
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <unistd.h>

#include <fmt/format.h>

#include "links.hpp"
#include "peers.hpp"

namespace ipcx::bench {
namespace {

constexpr std::size_t kDefaultRecvMax = 1024 * 1024;  // NNG_OPT_RECVMAXSZ default

std::unexpected<Problem> nng_failed(std::string_view what, int rv) {
  return failed(fmt::format("{}: {}", what, nng_strerror(rv)));
}

struct NngSockets {
  nng_socket rr = NNG_SOCKET_INITIALIZER;  // req (client) / rep (server)
  nng_socket pp = NNG_SOCKET_INITIALIZER;  // push (client) / pull (server)
  bool open = false;
  NngSockets() = default;
  NngSockets(const NngSockets&) = delete;
  NngSockets& operator=(const NngSockets&) = delete;
  ~NngSockets() {
    if (open) {
      nng_close(rr);
      nng_close(pp);
    }
  }
};

class NngLink final : public Link {
 public:
  NngLink(std::unique_ptr<NngSockets> s, bool client) : s_(std::move(s)), client_(client) {}
  Res<void> send(std::span<const std::byte> msg) override {
    nng_socket sock = mode_ == Mode::oneway && client_ ? s_->pp : s_->rr;
    int rv = nng_send(sock, const_cast<std::byte*>(msg.data()), msg.size(), 0);  // copies; does not write
    if (rv != 0) return nng_failed("nng_send", rv);
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    nng_socket sock = mode_ == Mode::oneway && !client_ ? s_->pp : s_->rr;
    std::size_t n = buf.size();
    int rv = nng_recv(sock, buf.data(), &n, 0);
    if (rv != 0) return nng_failed("nng_recv", rv);
    if (n > buf.size()) return failed(fmt::format("nng_recv: a {}-byte message was cut to {} bytes", n, buf.size()));
    return n;
  }
  Res<void> set_mode(Mode m) override {
    mode_ = m;
    return {};
  }

 private:
  std::unique_ptr<NngSockets> s_;
  bool client_;
  Mode mode_ = Mode::rtt;
};

class Nng final : public Case {
 public:
  Nng() : Case("nng-ipc", "peer", "kernel", "req0/rep0 + push0/pull0") {}
  std::string note(std::size_t size) const override {
    std::string n = Case::note(size);
    if (size > kDefaultRecvMax) n += fmt::format(", recv-size-max {}", size);
    return n;
  }
  Res<void> prepare(const RunSpec& spec) override {
    paths_ = {tmp_path(spec, "rr.nng"), tmp_path(spec, "pp.nng")};
    return {};
  }
  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    server_ = std::make_unique<NngSockets>();
    auto& s = *server_;
    if (int rv = nng_rep0_open(&s.rr); rv != 0) return nng_failed("nng_rep0_open", rv);
    if (int rv = nng_pull0_open(&s.pp); rv != 0) {
      nng_close(s.rr);
      return nng_failed("nng_pull0_open", rv);
    }
    s.open = true;
    for (nng_socket sock : {s.rr, s.pp}) {
      if (spec.size > kDefaultRecvMax) nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, spec.size);
    }
    if (int rv = nng_listen(s.rr, ("ipc://" + paths_[0]).c_str(), nullptr, 0); rv != 0) {
      return nng_failed("nng_listen ipc://" + paths_[0], rv);
    }
    if (int rv = nng_listen(s.pp, ("ipc://" + paths_[1]).c_str(), nullptr, 0); rv != 0) {
      return nng_failed("nng_listen ipc://" + paths_[1], rv);
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    return std::make_unique<NngLink>(std::move(server_), false);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto s = std::make_unique<NngSockets>();
    if (int rv = nng_req0_open(&s->rr); rv != 0) return nng_failed("nng_req0_open", rv);
    if (int rv = nng_push0_open(&s->pp); rv != 0) {
      nng_close(s->rr);
      return nng_failed("nng_push0_open", rv);
    }
    s->open = true;
    for (nng_socket sock : {s->rr, s->pp}) {
      if (spec.size > kDefaultRecvMax) nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, spec.size);
    }
    // nng_dial without NNG_FLAG_NONBLOCK waits until connected.
    if (int rv = nng_dial(s->rr, ("ipc://" + paths_[0]).c_str(), nullptr, 0); rv != 0) {
      return nng_failed("nng_dial ipc://" + paths_[0], rv);
    }
    if (int rv = nng_dial(s->pp, ("ipc://" + paths_[1]).c_str(), nullptr, 0); rv != 0) {
      return nng_failed("nng_dial ipc://" + paths_[1], rv);
    }
    return std::make_unique<NngLink>(std::move(s), true);
  }
  void cleanup(const RunSpec&) override {
    for (const auto& p : paths_) ::unlink(p.c_str());
    paths_.clear();
  }

 private:
  std::vector<std::string> paths_;
  std::unique_ptr<NngSockets> server_;
};

}  // namespace

void add_nng(CaseList& out) { out.push_back(std::make_unique<Nng>()); }

}  // namespace ipcx::bench
