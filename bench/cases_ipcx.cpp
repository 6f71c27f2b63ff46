// SPDX-License-Identifier: MIT
// ipcx rows: the same mechanisms through ipcx's Channel, opened by URL exactly as a user
// opens them (Listener for connection-oriented schemes, bind for datagram receivers), so
// the ratio to the raw row of the same mechanism is the cost of the library. A scheme
// whose transport is not in this build of ipcx is reported as skipped, not faked.
#include <arpa/inet.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "cases.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/pipe.hpp"
#include "ipcx/ring.hpp"
#include "links.hpp"

namespace ipcx::bench {
namespace {

std::unexpected<Problem> from_error(const Error& e) {
  if (e.kind() == Errc::not_supported) {
    if (e.detail().find("not implemented") != std::string::npos) return skipped("transport not implemented");
    return skipped(e.message());
  }
  return failed(e.message());
}

// One Channel (both directions) or two (one per direction) as a Link. For a batched row
// (spec.batch > 0) it sends with Channel::send_batch and receives with receive_batch into
// one MessageBatch of spec.batch messages of the row's size.
class ChannelLink final : public Link {
 public:
  ChannelLink(Channel both, const RunSpec& spec) : rx_(std::move(both)) { make_batch(spec); }
  ChannelLink(Channel rx, Channel tx, const RunSpec& spec) : rx_(std::move(rx)), tx_(std::move(tx)) {
    make_batch(spec);
  }

  Res<void> send_batch(std::span<const std::span<const std::byte>> msgs) override {
    auto b = (tx_ ? *tx_ : rx_).send_batch(msgs);
    if (!b.all()) {
      if (b.error.error().kind() == Errc::message_too_large) return skipped("limit: " + b.error.error().message());
      return failed(fmt::format("send_batch: {} of {} sent: {}", b.sent, msgs.size(), b.error.error().message()));
    }
    return {};
  }
  Res<std::size_t> receive_batch() override {
    if (!batch_) return failed("receive_batch on a row that is not batched");
    auto n = rx_.receive_batch(*batch_);
    if (!n) return failed(n.error().message());
    return *n;
  }
  std::span<const std::byte> batch_message(std::size_t i) const override { return batch_->data(i); }

  Res<void> send(std::span<const std::byte> msg) override {
    auto r = (tx_ ? *tx_ : rx_).send(msg);
    if (!r) {
      if (r.error().kind() == Errc::message_too_large) return skipped("limit: " + r.error().message());
      return failed(r.error().message());
    }
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    auto r = rx_.receive(buf);
    if (!r) return failed(r.error().message());
    return r->size;
  }

 private:
  void make_batch(const RunSpec& spec) {
    if (spec.batch > 0) batch_.emplace(spec.batch, spec.size);
  }
  Channel rx_;
  std::optional<Channel> tx_;
  std::optional<MessageBatch> batch_;
};

// The same row with its one-way phase in batches (ipcx-bench --batch): the row's impl
// reads "ipcx" and its JSON carries the batch size.
template <class Row>
class Batched final : public Row {
 public:
  template <class... Args>
  explicit Batched(Args&&... args) : Row(std::forward<Args>(args)...) {}
  bool batched() const override { return true; }
};

// --- pipe: anonymous, made in pairs, handed to the two processes ---------------------

class IpcxPipe : public Case {
 public:
  IpcxPipe() : Case("pipe", "ipcx", "kernel", "make_duplex_pipe(), length-framed") {}
  Res<void> prepare(const RunSpec&) override {
    auto p = make_duplex_pipe();
    if (!p) return from_error(p.error());
    pipe_.emplace(std::move(*p));
    return {};
  }
  void after_fork() override { pipe_.reset(); }
  void cleanup(const RunSpec&) override { pipe_.reset(); }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    auto l = std::make_unique<ChannelLink>(std::move(pipe_->first), spec);
    pipe_.reset();
    return l;
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto l = std::make_unique<ChannelLink>(std::move(pipe_->second), spec);
    pipe_.reset();
    return l;
  }

 private:
  std::optional<DuplexPipe> pipe_;
};

// --- schemes opened by URL on both sides ---------------------------------------------

// Each side opens its receiving URL and its sending URL (one object per direction).
class IpcxTwoWay : public Case {
 public:
  IpcxTwoWay(std::string name, std::string note, std::string wait = "kernel")
      : Case(std::move(name), "ipcx", std::move(wait), std::move(note)) {}
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override { return link(up_, down_, spec); }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    return link(down_, up_, spec);
  }

 protected:
  std::string up_;    // client -> server
  std::string down_;  // server -> client

 private:
  static Res<std::unique_ptr<Link>> link(const std::string& rx_url, const std::string& tx_url, const RunSpec& spec) {
    // bind is the receiving side (a shm:// consumer); for fifo and the queues it is open.
    auto rx = Channel::bind(rx_url);
    if (!rx) return from_error(rx.error());
    auto tx = Channel::open(tx_url);
    if (!tx) return from_error(tx.error());
    return std::make_unique<ChannelLink>(std::move(*rx), std::move(*tx), spec);
  }
};

class IpcxFifo : public IpcxTwoWay {
 public:
  IpcxFifo() : IpcxTwoWay("fifo", "fifo:// x2, length-framed") {}
  Res<void> prepare(const RunSpec& spec) override {
    up_path_ = tmp_path(spec, "up.fifo");
    down_path_ = tmp_path(spec, "down.fifo");
    up_ = "fifo://" + up_path_;
    down_ = "fifo://" + down_path_;
    return {};
  }
  void cleanup(const RunSpec&) override {
    for (const auto& p : {up_path_, down_path_}) {
      if (!p.empty()) ::unlink(p.c_str());
    }
  }

 private:
  std::string up_path_, down_path_;
};

class IpcxPosixMq : public IpcxTwoWay {
 public:
  IpcxPosixMq() : IpcxTwoWay("posixmq", fmt::format("posixmq:// x2, depth {}", posixmq_depth())) {}
  std::string skip_reason(std::size_t size) const override { return limit_posixmq(size); }
  Res<void> prepare(const RunSpec& spec) override {
    std::string query = fmt::format("?maxmsg={}&msgsize={}", posixmq_depth(), spec.size);
    names_ = {fmt::format("/{}-up", spec.stem), fmt::format("/{}-down", spec.stem)};
    up_ = "posixmq://" + names_[0] + query;
    down_ = "posixmq://" + names_[1] + query;
    return {};
  }
  void cleanup(const RunSpec&) override {
    for (const auto& n : names_) ::mq_unlink(n.c_str());
    names_.clear();
  }

 private:
  std::vector<std::string> names_;
};

class IpcxSysvMq : public IpcxTwoWay {
 public:
  IpcxSysvMq() : IpcxTwoWay("sysvmq", "sysvmq://id:N x2 (queues made by the benchmark)") {}
  std::string skip_reason(std::size_t size) const override { return limit_sysvmq(size); }
  Res<void> prepare(const RunSpec&) override {
    // Queues made here and named by id, so that the driver removes them even if a
    // process dies.
    for (int* id : {&up_id_, &down_id_}) {
      auto q = create_sysv_queue();
      if (!q) return std::unexpected(q.error());
      *id = q->id;
    }
    up_ = fmt::format("sysvmq://id:{}", up_id_);
    down_ = fmt::format("sysvmq://id:{}", down_id_);
    return {};
  }
  void cleanup(const RunSpec&) override {
    for (int* id : {&up_id_, &down_id_}) {
      if (*id >= 0) ::msgctl(*id, IPC_RMID, nullptr);
      *id = -1;
    }
  }

 private:
  int up_id_ = -1;
  int down_id_ = -1;
};

// --- connection-oriented: Listener + open --------------------------------------------

class IpcxConnected : public Case {
 public:
  IpcxConnected(std::string name, std::string scheme, std::string note)
      : Case(std::move(name), "ipcx", "kernel", std::move(note)), scheme_(std::move(scheme)) {}
  std::string skip_reason(std::size_t size) const override {
    return scheme_ == "unixpacket" ? limit_unix_dgram(size, true) : std::string();
  }
  Res<void> prepare(const RunSpec& spec) override {
    if (scheme_ == "tcp") {
      url_ = "tcp://127.0.0.1:0";
    } else {
      path_ = tmp_path(spec, "server.sock");
      url_ = fmt::format("{}://{}", scheme_, path_);
    }
    return {};
  }
  Res<void> server_setup(const RunSpec&, std::string& rendezvous) override {
    auto l = Listener::listen(url_);
    if (!l) return from_error(l.error());
    rendezvous = l->local_url();
    if (rendezvous.empty()) rendezvous = url_;
    listener_.emplace(std::move(*l));
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    auto c = listener_->accept();
    if (!c) return from_error(c.error());
    listener_.reset();
    return std::make_unique<ChannelLink>(std::move(*c), spec);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string& rendezvous) override {
    auto c = Channel::open(rendezvous);
    if (!c) return from_error(c.error());
    return std::make_unique<ChannelLink>(std::move(*c), spec);
  }
  void cleanup(const RunSpec&) override {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

 private:
  std::string scheme_;
  std::string url_;
  std::string path_;
  std::optional<Listener> listener_;
};

// --- datagrams: bind to receive, open to send ----------------------------------------

Res<std::uint16_t> free_udp_port() {
  // The kernel picks a free port; the Channel then binds it (a tiny race with other
  // programs binding ports, which a failure would show).
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed_errno("socket", errno);
  OwnedFd s(fd);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return failed_errno("bind 127.0.0.1:0", errno);
  }
  return ntohs(a.sin_port);
}

class IpcxDatagram : public Case {
 public:
  // As socket.hpp shows: the server binds its address and replies to the last sender; the
  // client opens it (an automatic local address, connected).
  explicit IpcxDatagram(bool udp)
      : Case(udp ? "udp" : "unixgram", "ipcx", "kernel", udp ? "" : "bind + open"), udp_(udp) {}
  std::string note(std::size_t size) const override {
    if (!udp_) return Case::note(size);
    return fmt::format("bind + open, 127.0.0.1; one-way credit window {}", udp_window(size));
  }
  std::string skip_reason(std::size_t size) const override {
    return udp_ ? limit_udp(size) : limit_unix_dgram(size, false);
  }
  Res<void> prepare(const RunSpec& spec) override {
    if (udp_) {
      auto port = free_udp_port();
      if (!port) return std::unexpected(port.error());
      url_ = fmt::format("udp://127.0.0.1:{}", *port);
    } else {
      path_ = tmp_path(spec, "server.sock");
      url_ = "unixgram://" + path_;
    }
    return {};
  }
  Res<void> server_setup(const RunSpec&, std::string&) override {
    auto ch = Channel::bind(url_);
    if (!ch) return from_error(ch.error());
    server_.emplace(std::move(*ch));
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    std::unique_ptr<Link> link = std::make_unique<ChannelLink>(std::move(*server_), spec);
    if (!udp_) return link;
    return std::make_unique<CreditLink>(std::move(link), false, udp_window(spec.size));
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto ch = Channel::open(url_);
    if (!ch) return from_error(ch.error());
    std::unique_ptr<Link> link = std::make_unique<ChannelLink>(std::move(*ch), spec);
    if (!udp_) return link;
    return std::make_unique<CreditLink>(std::move(link), true, udp_window(spec.size));
  }
  void cleanup(const RunSpec&) override {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

 private:
  bool udp_;
  std::string url_;
  std::string path_;
  std::optional<Channel> server_;
};

// --- the shared-memory ring, one row per wait strategy -------------------------------

class IpcxShm : public IpcxTwoWay {
 public:
  explicit IpcxShm(const std::string& wait) : IpcxTwoWay("shm", "shm:// ring x2, wait=" + wait, wait) {}
  Res<void> prepare(const RunSpec& spec) override {
    std::string query = fmt::format("?wait={}&capacity={}&max={}", wait(), ring_capacity(spec.size), spec.size);
    names_ = {spec.stem + "-up", spec.stem + "-down"};
    up_ = fmt::format("shm://{}{}", names_[0], query);
    down_ = fmt::format("shm://{}{}", names_[1], query);
    return {};
  }
  void cleanup(const RunSpec&) override {
    // Usually gone already (the last side to close removes a ring); a process killed
    // mid-row leaves it.
    for (const auto& n : names_) (void)remove_ring(n);
    names_.clear();
  }

 private:
  std::vector<std::string> names_;
};

}  // namespace

std::size_t ring_capacity(std::size_t size) {
  std::size_t capacity = 1u << 20;
  while (capacity < 4 * (size + 16)) capacity *= 2;
  return capacity;
}

void add_ipcx(CaseList& out) {
  // Each kernel mechanism's row, then the same with its one-way phase in batches; the
  // ring's batch row beside its default (wait=sleep) row.
  auto both = [&]<class Row, class... Args>(std::type_identity<Row>, Args... args) {
    out.push_back(std::make_unique<Row>(args...));
    out.push_back(std::make_unique<Batched<Row>>(args...));
  };
  both(std::type_identity<IpcxPipe>{});
  both(std::type_identity<IpcxFifo>{});
  both(std::type_identity<IpcxConnected>{}, "unix", "unix", "Listener + open, length-framed");
  both(std::type_identity<IpcxDatagram>{}, false);
  both(std::type_identity<IpcxConnected>{}, "unixpacket", "unixpacket", "Listener + open");
  both(std::type_identity<IpcxConnected>{}, "tcp", "tcp", "Listener + open, 127.0.0.1");
  both(std::type_identity<IpcxDatagram>{}, true);
  both(std::type_identity<IpcxPosixMq>{});
  both(std::type_identity<IpcxSysvMq>{});
  for (const char* w : {"spin", "yield", "sleep", "poll"}) {
    out.push_back(std::make_unique<IpcxShm>(w));
    if (std::string_view(w) == "sleep") out.push_back(std::make_unique<Batched<IpcxShm>>(w));
  }
}

}  // namespace ipcx::bench
