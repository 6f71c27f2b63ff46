// SPDX-License-Identifier: MIT
#include "ipcx/channel.hpp"

#include <utility>

#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"

namespace ipcx {
namespace detail {

Result<Message> ChannelImpl::receive_message(Deadline d, const ReceiveOptions& o) {
  Message m;
  m.data.resize(max_message_size());
  auto r = receive(m.data, d, o);
  if (!r) return std::unexpected(std::move(r.error()));
  m.data.resize(r->size);
  m.type = r->type;
  m.priority = r->priority;
  m.fds = std::move(r->fds);
  m.lost = r->lost;
  return m;
}

Result<Loan> ChannelImpl::loan(std::size_t, Deadline) {
  return fail(Errc::not_supported, "loan", {}, "zero-copy is offered by shm:// channels only");
}
Result<void> ChannelImpl::commit(Loan&, std::size_t, const SendOptions&) {
  return fail(Errc::not_supported, "commit", {}, "zero-copy is offered by shm:// channels only");
}
void ChannelImpl::abandon(Loan&) noexcept {}
Result<ReadView> ChannelImpl::read(Deadline) {
  return fail(Errc::not_supported, "read", {}, "zero-copy is offered by shm:// channels only");
}
void ChannelImpl::finish_read(ReadView&) noexcept {}

Result<void> ChannelImpl::check_batch(const MessageBatch& b, std::string_view object) {
  if (b.capacity() == 0) return fail(Errc::invalid_argument, "receive_batch", object, "the batch has room for no message");
  return {};
}

BatchSent ChannelImpl::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) {
  SendOptions rest = o;
  rest.fds = {};  // the descriptors go with the first message only
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto r = send(msgs[i], d, i == 0 ? o : rest);
    if (!r) return BatchSent{.sent = i, .error = std::move(r)};
  }
  return BatchSent{.sent = msgs.size(), .error = {}};
}

Result<std::size_t> ChannelImpl::receive_batch(MessageBatch& b, Deadline d, const ReceiveOptions& o) {
  if (auto c = check_batch(b, {}); !c) return std::unexpected(std::move(c.error()));
  batch_begin(b);
  std::size_t n = 0;
  for (; n < b.capacity(); ++n) {
    // The first waits until the deadline; the rest are only those already waiting.
    auto r = receive(batch_slot(b, n), n == 0 ? d : Deadline::immediate(), o);
    if (!r) {
      if (n == 0) return std::unexpected(std::move(r.error()));
      break;  // too large for its slot (it stays queued) or an error: the next receive reports it
    }
    batch_info(b, n) = std::move(*r);
  }
  batch_end(b, n);
  return n;
}

namespace {

// A scheme whose engine's client library was absent when ipcx was built.
[[maybe_unused]] std::unexpected<Error> not_built(const Url& url, const char* option, const char* package) {
  return fail(Errc::not_supported, "open", url.text,
              fmt::format("this ipcx was built without {}:// ({} is OFF; install {} and rebuild)",
                          to_string(url.scheme), option, package));
}

Result<std::unique_ptr<ChannelImpl>> open_transport(const Url& url, bool bind) {
  switch (url.scheme) {
    case Scheme::fifo: return open_fifo(url, bind);
    case Scheme::unix_stream:
    case Scheme::unix_dgram:
    case Scheme::unix_seqpacket: return open_unix(url, bind);
    case Scheme::tcp:
    case Scheme::udp: return open_inet(url, bind);
    case Scheme::posixmq: return open_posixmq(url, bind);
    case Scheme::sysvmq: return open_sysvmq(url, bind);
    case Scheme::shm: return open_shm_ring(url, bind);
    case Scheme::nats:
#ifdef IPCX_WITH_NATS
      return open_nats(url, bind);
#else
      return not_built(url, "IPCX_WITH_NATS", "libnats-dev");
#endif
    case Scheme::zmq_tcp:
    case Scheme::zmq_ipc:
#ifdef IPCX_WITH_ZMQ
      return open_zmq(url, bind);
#else
      return not_built(url, "IPCX_WITH_ZMQ", "libzmq3-dev");
#endif
    case Scheme::posixshm:
    case Scheme::sysvshm:
    case Scheme::posixsem:
    case Scheme::sysvsem: break;
  }
  return fail(Errc::invalid_argument, "open", url.text,
              fmt::format("{}:// names an object that is not a channel; use ipcx stat / rm, or its wrapper",
                          to_string(url.scheme)));
}

}  // namespace
}  // namespace detail

MessageBatch::MessageBatch(std::size_t capacity, std::size_t message_size)
    : bytes_(capacity * message_size), info_(capacity), slot_(message_size) {}

// Loan / ReadView: give the space back if dropped without commit / after reading.
Loan::Loan(Loan&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), data_(o.data_), token_(o.token_) {}
Loan& Loan::operator=(Loan&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->abandon(*this);
    owner_ = std::exchange(o.owner_, nullptr);
    data_ = o.data_;
    token_ = o.token_;
  }
  return *this;
}
Loan::~Loan() {
  if (owner_) owner_->abandon(*this);
}
ReadView::ReadView(ReadView&& o) noexcept
    : owner_(std::exchange(o.owner_, nullptr)), data_(o.data_), token_(o.token_), lost_(o.lost_) {}
ReadView& ReadView::operator=(ReadView&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->finish_read(*this);
    owner_ = std::exchange(o.owner_, nullptr);
    data_ = o.data_;
    token_ = o.token_;
    lost_ = o.lost_;
  }
  return *this;
}
ReadView::~ReadView() {
  if (owner_) owner_->finish_read(*this);
}

Channel::Channel() = default;
Channel::Channel(std::unique_ptr<detail::ChannelImpl> impl, std::string url)
    : impl_(std::move(impl)), url_(std::move(url)) {}
Channel::Channel(Channel&&) noexcept = default;
Channel& Channel::operator=(Channel&&) noexcept = default;
Channel::~Channel() = default;

Result<Channel> Channel::open(std::string_view url) {
  auto u = Url::parse(url);
  if (!u) return std::unexpected(std::move(u.error()));
  return open(*u);
}
Result<Channel> Channel::open(const Url& url) {
  auto impl = detail::open_transport(url, false);
  if (!impl) return std::unexpected(std::move(impl.error()));
  return detail::ChannelAccess::make(std::move(*impl), url.text);
}
Result<Channel> Channel::bind(std::string_view url) {
  auto u = Url::parse(url);
  if (!u) return std::unexpected(std::move(u.error()));
  return bind(*u);
}
Result<Channel> Channel::bind(const Url& url) {
  auto impl = detail::open_transport(url, true);
  if (!impl) return std::unexpected(std::move(impl.error()));
  return detail::ChannelAccess::make(std::move(*impl), url.text);
}

namespace {
std::unexpected<Error> no_channel(const char* op) {
  return fail(Errc::invalid_argument, op, {}, "the channel is empty (moved from or default-constructed)");
}
}  // namespace

Result<void> Channel::send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) {
  if (!impl_) return no_channel("send");
  return impl_->send(msg, d, o);
}
Result<Received> Channel::receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) {
  if (!impl_) return no_channel("receive");
  return impl_->receive(buf, d, o);
}
Result<Message> Channel::receive_message(Deadline d, const ReceiveOptions& o) {
  if (!impl_) return no_channel("receive");
  return impl_->receive_message(d, o);
}
BatchSent Channel::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) {
  if (!impl_) return BatchSent{.sent = 0, .error = no_channel("send_batch")};
  return impl_->send_batch(msgs, d, o);
}
Result<std::size_t> Channel::receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) {
  if (!impl_) return no_channel("receive_batch");
  return impl_->receive_batch(batch, d, o);
}
Result<Loan> Channel::loan(std::size_t size, Deadline d) {
  if (!impl_) return no_channel("loan");
  return impl_->loan(size, d);
}
Result<void> Channel::commit(Loan&& loan, std::size_t size, const SendOptions& o) {
  if (!impl_) return no_channel("commit");
  return impl_->commit(loan, size, o);
}
Result<ReadView> Channel::read(Deadline d) {
  if (!impl_) return no_channel("read");
  return impl_->read(d);
}
int Channel::pollable_fd() const noexcept { return impl_ ? impl_->pollable_fd() : -1; }
std::size_t Channel::max_message_size() const noexcept { return impl_ ? impl_->max_message_size() : 0; }
std::optional<PeerCredentials> Channel::peer() const { return impl_ ? impl_->peer() : std::nullopt; }

Listener::Listener() = default;
Listener::Listener(std::unique_ptr<detail::ListenerImpl> impl) : impl_(std::move(impl)) {}
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&&) noexcept = default;
Listener::~Listener() = default;

Result<Listener> Listener::listen(std::string_view url) {
  auto u = Url::parse(url);
  if (!u) return std::unexpected(std::move(u.error()));
  return listen(*u);
}
Result<Listener> Listener::listen(const Url& url) {
  Result<std::unique_ptr<detail::ListenerImpl>> impl;
  switch (url.scheme) {
    case Scheme::unix_stream:
    case Scheme::unix_seqpacket: impl = detail::listen_unix(url); break;
    case Scheme::tcp: impl = detail::listen_tcp(url); break;
    default:
      return fail(Errc::invalid_argument, "listen", url.text,
                  fmt::format("{}:// is not connection-oriented; use Channel::open or Channel::bind",
                              to_string(url.scheme)));
  }
  if (!impl) return std::unexpected(std::move(impl.error()));
  return detail::ChannelAccess::make_listener(std::move(*impl));
}
Result<Channel> Listener::accept(Deadline d) {
  if (!impl_) return no_channel("accept");
  return impl_->accept(d);
}
int Listener::pollable_fd() const noexcept { return impl_ ? impl_->pollable_fd() : -1; }
std::string Listener::local_url() const { return impl_ ? impl_->local_url() : std::string(); }

}  // namespace ipcx
