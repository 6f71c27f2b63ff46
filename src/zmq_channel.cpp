// SPDX-License-Identifier: MIT
// zmq+tcp://HOST:PORT and zmq+ipc:///PATH — a Channel over one ZeroMQ socket (libzmq).
// docs/beyond-one-host.md has the user's side: patterns, high-water marks, guarantees.
//
// Options: pattern=pair|push|pull|pub|sub|req|rep (default pair); bind=1 binds the
// address, otherwise the socket connects (ZeroMQ reconnects by itself, every
// reconnect_ivl ms); topic=PREFIX[,PREFIX…] for sub (default: every message); sndhwm=N
// and rcvhwm=N (messages queued per peer, ZeroMQ's default 1000); linger=MS (how long
// closing waits to hand over unsent messages, default 1000, so a close never hangs on a
// gone peer); max_size=SIZE (the largest message received: ZMQ_MAXMSGSIZE, default 64m);
// immediate=1 (ZMQ_IMMEDIATE): a connecting socket queues nothing for a peer not yet
// connected, so a send with no peer waits instead of queueing up to sndhwm.
// Channel::open and Channel::bind are the same here: bind=1 is what binds. A bound
// zmq+ipc:// socket removes its file when the Channel closes.
//
// Each Channel owns its own context (one I/O thread) and socket. Sends and receives are
// made non-blocking (ZMQ_DONTWAIT) and wait with zmq_poll up to the deadline, which
// reads ZMQ_EVENTS for us. pollable_fd() is ZMQ_FD, which is edge-triggered: when it
// wakes, receive until would_block, and after a send try a receive too (a send may have
// taken the edge that announced an arriving message).
//
// One ipcx message is one ZeroMQ frame; a multi-part message from another program arrives
// as one message per frame. A message larger than the caller's buffer stays held for the
// next receive (message_too_large says its size).
//
// Thread-safety: as ZeroMQ sockets, one thread at a time.
#include <zmq.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"
#include "sys/io.hpp"

namespace ipcx::detail {
namespace {

struct Pattern {
  std::string_view name;
  int type;
  bool sends;
  bool receives;
};
constexpr std::array<Pattern, 7> kPatterns{{
    {"pair", ZMQ_PAIR, true, true},
    {"push", ZMQ_PUSH, true, false},
    {"pull", ZMQ_PULL, false, true},
    {"pub", ZMQ_PUB, true, false},
    {"sub", ZMQ_SUB, false, true},
    {"req", ZMQ_REQ, true, true},
    {"rep", ZMQ_REP, true, true},
}};

// libzmq's own errnos (EFSM, ETERM, …) have no strerror; the detail carries zmq_strerror.
// `op` is a string literal.
Error zmq_error(const char* op, int err, std::string_view object, std::string context = {}) {
  std::string detail = zmq_strerror(err);
  if (!context.empty()) detail = fmt::format("{}: {}", context, detail);
  int code = err;
  if (err == EFSM) code = EPROTO;       // req/rep out of turn
  if (err == ETERM) code = EPIPE;       // the context is going away
  if (err == EMTHREAD) code = EAGAIN;
  return Error::from_errno(op, code, object).with_detail(std::move(detail));
}

class ZmqChannel final : public ChannelImpl {
 public:
  static Result<std::unique_ptr<ChannelImpl>> open(const Url& url);

  ~ZmqChannel() override {
    if (held_) zmq_msg_close(&msg_);
    if (socket_) zmq_close(socket_);        // keeps unsent messages for linger ms
    if (context_) {
      while (zmq_ctx_term(context_) != 0 && zmq_errno() == EINTR) {
        // EINTR: a signal came during the linger; the context is not yet gone, so call again.
      }
    }
    // libzmq 4.3 leaves a bound ipc socket's file behind; this side made it.
    if (unbind_) (void)sys::unlink(path_.c_str());
  }

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions&) override {
    if (!pattern_.sends) {
      return fail(Errc::invalid_argument, "zmq_send", endpoint_,
                  fmt::format("pattern={} only receives", pattern_.name));
    }
    for (;;) {
      if (zmq_send(socket_, msg.data(), msg.size(), ZMQ_DONTWAIT) >= 0) return {};
      int err = zmq_errno();
      if (err == EINTR) continue;  // nothing was queued: send again
      if (err != EAGAIN) return fail(zmq_error("zmq_send", err, endpoint_));
      if (auto w = wait(ZMQ_POLLOUT, d, "zmq_send"); !w) return w;
    }
  }

  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions&) override {
    if (auto h = hold(d); !h) return std::unexpected(std::move(h.error()));
    std::size_t size = zmq_msg_size(&msg_);
    if (size > buf.size()) {
      return fail(Error::from_errno("zmq_msg_recv", EMSGSIZE, endpoint_)
                      .with_detail(fmt::format("message is {} bytes; the buffer holds {}", size, buf.size()))
                      .with_size(size));
    }
    if (size > 0) std::memcpy(buf.data(), zmq_msg_data(&msg_), size);
    release_held();
    Received r;
    r.size = size;
    return r;
  }

  Result<Message> receive_message(Deadline d, const ReceiveOptions&) override {
    if (auto h = hold(d); !h) return std::unexpected(std::move(h.error()));
    const auto* data = static_cast<const std::byte*>(zmq_msg_data(&msg_));
    Message m;
    m.data.assign(data, data + zmq_msg_size(&msg_));
    release_held();
    return m;
  }

  int pollable_fd() const noexcept override { return fd_; }
  std::size_t max_message_size() const noexcept override { return max_size_; }

 private:
  // Waits up to d until the socket can do `events`; would_block / timed_out otherwise.
  Result<void> wait(short events, Deadline d, const char* op) {
    auto blocked = [&](Errc kind) {
      const char* why = events == ZMQ_POLLOUT
                            ? "no peer can take it (none connected, or every one at its high-water mark)"
                            : "no message";
      return fail(kind, op, endpoint_, fmt::format("pattern={}: {}", pattern_.name, why));
    };
    if (d.is_immediate()) return blocked(Errc::would_block);
    for (;;) {
      zmq_pollitem_t item{socket_, 0, events, 0};
      int n = zmq_poll(&item, 1, d.is_never() ? -1 : d.poll_timeout_ms());
      if (n > 0) return {};
      if (n < 0 && zmq_errno() != EINTR) return fail(zmq_error("zmq_poll", zmq_errno(), endpoint_));
      if (d.expired()) return blocked(Errc::timed_out);
    }
  }

  // Makes msg_ hold the next message, waiting up to d.
  Result<void> hold(Deadline d) {
    if (held_) return {};
    if (!pattern_.receives) {
      return fail(Errc::invalid_argument, "zmq_msg_recv", endpoint_,
                  fmt::format("pattern={} only sends", pattern_.name));
    }
    for (;;) {
      zmq_msg_init(&msg_);
      if (zmq_msg_recv(&msg_, socket_, ZMQ_DONTWAIT) >= 0) {
        held_ = true;
        return {};
      }
      int err = zmq_errno();
      zmq_msg_close(&msg_);
      if (err == EINTR) continue;  // nothing was taken: receive again
      if (err != EAGAIN) return fail(zmq_error("zmq_msg_recv", err, endpoint_));
      if (auto w = wait(ZMQ_POLLIN, d, "zmq_msg_recv"); !w) return w;
    }
  }

  void release_held() {
    zmq_msg_close(&msg_);
    held_ = false;
  }

  std::string endpoint_;
  Pattern pattern_{};
  std::size_t max_size_ = 0;
  void* context_ = nullptr;
  void* socket_ = nullptr;
  int fd_ = -1;
  zmq_msg_t msg_{};
  bool held_ = false;
  bool unbind_ = false;  // a bound ipc endpoint: its file is ours to remove
  std::string path_;
};

Result<std::unique_ptr<ChannelImpl>> ZmqChannel::open(const Url& url) {
  if (auto k = url.check_options({"pattern", "bind", "topic", "sndhwm", "rcvhwm", "linger", "max_size",
                                  "reconnect_ivl", "immediate"});
      !k) {
    return std::unexpected(k.error());
  }
  std::string_view pname = url.option("pattern").value_or("pair");
  const Pattern* pattern = nullptr;
  for (const auto& p : kPatterns) {
    if (p.name == pname) pattern = &p;
  }
  if (!pattern) {
    return fail(Errc::bad_url, "url", url.text,
                fmt::format("pattern '{}' is not one of pair, push, pull, pub, sub, req, rep", pname));
  }
  auto bind = url.option_bool("bind", false);
  auto sndhwm = url.option_uint("sndhwm", 1000);
  auto rcvhwm = url.option_uint("rcvhwm", 1000);
  auto linger = url.option_uint("linger", 1000);
  auto max_size = url.option_size("max_size", 64u << 20);
  auto reconnect_ivl = url.option_uint("reconnect_ivl", 100);
  auto immediate = url.option_bool("immediate", false);
  if (!bind) return std::unexpected(bind.error());
  if (!immediate) return std::unexpected(immediate.error());
  for (auto* e : {&sndhwm, &rcvhwm, &linger, &max_size, &reconnect_ivl}) {
    if (!*e) return std::unexpected(e->error());
    if (**e > INT32_MAX && e != &max_size) {
      return fail(Errc::bad_url, "url", url.text, "sndhwm, rcvhwm, linger and reconnect_ivl are at most 2147483647");
    }
  }
  auto topic = url.option("topic");
  if (topic && pattern->type != ZMQ_SUB) {
    return fail(Errc::bad_url, "url", url.text, "topic=PREFIX is for pattern=sub");
  }

  std::unique_ptr<ZmqChannel> ch(new ZmqChannel());
  ch->pattern_ = *pattern;
  ch->max_size_ = *max_size;
  if (url.scheme == Scheme::zmq_tcp) {
    bool v6 = url.host.find(':') != std::string::npos;
    ch->endpoint_ = v6 ? fmt::format("tcp://[{}]:{}", url.host, url.port) : fmt::format("tcp://{}:{}", url.host, url.port);
  } else {
    ch->endpoint_ = "ipc://" + url.name;
  }

  ch->context_ = zmq_ctx_new();
  if (!ch->context_) return fail(zmq_error("zmq_ctx_new", zmq_errno(), ch->endpoint_));
  ch->socket_ = zmq_socket(ch->context_, pattern->type);
  if (!ch->socket_) return fail(zmq_error("zmq_socket", zmq_errno(), ch->endpoint_));

  auto set_int = [&](int opt, std::uint64_t v) {
    int i = static_cast<int>(v);
    return zmq_setsockopt(ch->socket_, opt, &i, sizeof i) == 0;
  };
  bool ok = set_int(ZMQ_SNDHWM, *sndhwm) && set_int(ZMQ_RCVHWM, *rcvhwm) && set_int(ZMQ_LINGER, *linger) &&
            set_int(ZMQ_RECONNECT_IVL, *reconnect_ivl) && set_int(ZMQ_IMMEDIATE, *immediate ? 1 : 0);
  std::int64_t maxmsg = static_cast<std::int64_t>(std::min<std::uint64_t>(*max_size, INT64_MAX));
  ok = ok && zmq_setsockopt(ch->socket_, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) == 0;
  if (url.scheme == Scheme::zmq_tcp && url.host.find(':') != std::string::npos) ok = ok && set_int(ZMQ_IPV6, 1);
  if (!ok) return fail(zmq_error("zmq_setsockopt", zmq_errno(), ch->endpoint_));
  if (pattern->type == ZMQ_SUB) {
    // Each prefix a subscription; none given: every message.
    std::string_view list = topic.value_or("");
    for (;;) {
      std::size_t comma = list.find(',');
      std::string_view one = list.substr(0, comma);
      if (zmq_setsockopt(ch->socket_, ZMQ_SUBSCRIBE, one.data(), one.size()) != 0) {
        return fail(zmq_error("zmq_setsockopt", zmq_errno(), ch->endpoint_, "ZMQ_SUBSCRIBE"));
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }

  if (*bind) {
    if (zmq_bind(ch->socket_, ch->endpoint_.c_str()) != 0) return fail(zmq_error("zmq_bind", zmq_errno(), ch->endpoint_));
    ch->unbind_ = url.scheme == Scheme::zmq_ipc;
    ch->path_ = url.name;
  } else if (zmq_connect(ch->socket_, ch->endpoint_.c_str()) != 0) {
    return fail(zmq_error("zmq_connect", zmq_errno(), ch->endpoint_));
  }
  std::size_t len = sizeof ch->fd_;
  if (zmq_getsockopt(ch->socket_, ZMQ_FD, &ch->fd_, &len) != 0) {
    return fail(zmq_error("zmq_getsockopt", zmq_errno(), ch->endpoint_, "ZMQ_FD"));
  }
  return std::unique_ptr<ChannelImpl>(std::move(ch));
}

}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_zmq(const Url& url, bool) { return ZmqChannel::open(url); }

}  // namespace ipcx::detail
