// SPDX-License-Identifier: MIT
#include "ipcx/pipe.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "framing.hpp"
#include "kernel_limits.hpp"
#include "pipe_channel.hpp"
#include "sys/io.hpp"
#include "sys/process.hpp"

namespace ipcx {

void ignore_sigpipe_if_default() noexcept {
  auto now = sys::sigaction_current(SIGPIPE);
  if (now && now->sa_handler == SIG_DFL && !(now->sa_flags & SA_SIGINFO)) {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigemptyset(&ign.sa_mask);
    (void)sys::sigaction(SIGPIPE, ign);
  }
}

namespace detail {

Result<void> size_pipe(int fd, std::size_t capacity, bool packet) {
  if (capacity) {
    if (auto r = sys::set_pipe_size(fd, capacity); !r) return std::unexpected(std::move(r.error()));
    return {};
  }
  if (packet) return {};
  std::size_t want = kDefaultPipeCapacity;
  if (auto limit = read_sysctl("fs.pipe-max-size"); limit && *limit > 0) {
    want = std::min(want, static_cast<std::size_t>(*limit));
  }
  auto now = sys::get_pipe_size(fd);
  if (!now || *now >= want) return {};
  // Best effort: EPERM past fs.pipe-user-pages-soft leaves the kernel's size, which is
  // slower for 64 KiB messages but correct.
  (void)sys::set_pipe_size(fd, want);
  return {};
}

PipeChannel::PipeChannel(Fd rfd, Fd wfd, bool packet, std::size_t max, std::string object)
    : rfd_(std::move(rfd)),
      wfd_(std::move(wfd)),
      packet_(packet),
      stream_(rfd_.get(), wfd_.get(), max, object),
      object_(std::move(object)) {
  if (wfd_) ignore_sigpipe_if_default();
}

void PipeChannel::adopt(Fd rfd, Fd wfd) {
  if (rfd) rfd_ = std::move(rfd);
  if (wfd) {
    wfd_ = std::move(wfd);
    ignore_sigpipe_if_default();
  }
  stream_.set_fds(rfd_.get(), wfd_.get());
}

std::size_t PipeChannel::max_message_size() const noexcept { return packet_ ? PIPE_BUF : stream_.max_message_size(); }

Result<void> PipeChannel::send(std::span<const std::byte> msg, Deadline d, const SendOptions&) {
  if (auto w = ensure_write(d); !w) return w;
  if (!packet_) return stream_.send(msg, d);
  if (msg.size() > PIPE_BUF) {
    return fail(Error::make(Errc::message_too_large, "send", object_,
                            fmt::format("message of {} bytes > packet-mode pipe limit of {} bytes (PIPE_BUF)",
                                        msg.size(), PIPE_BUF))
                    .with_size(msg.size()));
  }
  if (msg.empty()) {
    return fail(Errc::invalid_argument, "send", object_, "a packet-mode pipe cannot carry a zero-length message");
  }
  const iovec packet{const_cast<std::byte*>(msg.data()), msg.size()};
  auto n = stream_.end().write(std::span<const iovec>(&packet, 1), {}, d);  // at most PIPE_BUF: all or nothing
  if (n) return {};
  if (n.error().peer_gone()) return fail(Errc::peer_gone, "send", object_, "the reader closed the pipe");
  if (n.error().would_block() || n.error().timed_out()) return fail(n.error().kind(), "send");
  return fail(std::move(n.error()).with_object(object_));
}

Result<Received> PipeChannel::receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions&) {
  if (auto r = ensure_read(); !r) return std::unexpected(std::move(r.error()));
  if (!packet_) {
    auto n = stream_.receive(buf, d);
    if (!n) return std::unexpected(std::move(n.error()));
    return Received{.size = *n, .type = 0, .priority = 0, .fds = {}};
  }
  // Packet mode: a read shorter than the packet discards the rest, so read whole packets
  // into our own buffer unless the caller's holds PIPE_BUF.
  if (!packet_pending_) {
    std::byte local[PIPE_BUF];
    bool direct = buf.size() >= PIPE_BUF;
    std::byte* dst = direct ? buf.data() : local;
    auto n = stream_.end().read(std::span<std::byte>(dst, PIPE_BUF), d);
    if (!n) {
      if (n.error().would_block() || n.error().timed_out()) return fail(n.error().kind(), "receive");
      return fail(std::move(n.error()).with_object(object_));
    }
    if (n->size == 0) return fail(Errc::peer_gone, "receive", object_, "the writer closed the pipe");
    if (direct) return Received{.size = n->size, .type = 0, .priority = 0, .fds = {}};
    packet_pending_.emplace(local, local + n->size);
  }
  std::size_t size = packet_pending_->size();
  if (size > buf.size()) {
    return fail(Error::make(Errc::message_too_large, "receive", object_,
                            fmt::format("message of {} bytes > buffer of {} bytes", size, buf.size()))
                    .with_size(size));
  }
  std::memcpy(buf.data(), packet_pending_->data(), size);
  packet_pending_.reset();
  return Received{.size = size, .type = 0, .priority = 0, .fds = {}};
}

Result<Message> PipeChannel::receive_message(Deadline d, const ReceiveOptions& o) {
  if (packet_) return ChannelImpl::receive_message(d, o);
  if (auto r = ensure_read(); !r) return std::unexpected(std::move(r.error()));
  auto m = stream_.receive_message(d);
  if (!m) return std::unexpected(std::move(m.error()));
  Message out;
  out.data = std::move(*m);
  return out;
}

BatchSent PipeChannel::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) {
  if (packet_) return ChannelImpl::send_batch(msgs, d, o);
  if (msgs.empty()) return BatchSent{};
  if (auto w = ensure_write(d); !w) return BatchSent{.sent = 0, .error = std::move(w)};
  return stream_.send_batch(msgs, d);
}

Result<std::size_t> PipeChannel::receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) {
  if (packet_) return ChannelImpl::receive_batch(batch, d, o);
  if (auto c = check_batch(batch, object_); !c) return std::unexpected(std::move(c.error()));
  if (auto r = ensure_read(); !r) return std::unexpected(std::move(r.error()));
  batch_begin(batch);
  batch_frames_.resize(batch.capacity());
  auto n = stream_.receive_batch(batch_bytes(batch), batch.message_size(), batch_frames_, d);
  if (!n) return std::unexpected(std::move(n.error()));
  for (std::size_t i = 0; i < *n; ++i) batch_info(batch, i).size = batch_frames_[i].size;
  batch_end(batch, *n);
  return *n;
}

int PipeChannel::pollable_fd() const noexcept {
  (void)const_cast<PipeChannel*>(this)->ensure_read();
  return rfd_.get();
}

Result<void> PipeChannel::ensure_read() {
  if (!rfd_) return fail(Errc::not_supported, "receive", object_, "this end of the pipe is write-only");
  return {};
}

Result<void> PipeChannel::ensure_write(Deadline) {
  if (!wfd_) return fail(Errc::not_supported, "send", object_, "this end of the pipe is read-only");
  return {};
}

}  // namespace detail

namespace {

Result<Channel> make_end(Fd rfd, Fd wfd, const PipeOptions& o) {
  for (Fd* fd : {&rfd, &wfd}) {
    if (!*fd) continue;
    if (auto r = fd->set_nonblocking(true); !r) return std::unexpected(std::move(r.error()));
  }
  // The pipe under each descriptor: two for one end of a duplex pipe.
  for (Fd* fd : {&rfd, &wfd}) {
    if (!*fd) continue;
    if (auto r = detail::size_pipe(fd->get(), o.capacity, o.packet); !r) return std::unexpected(std::move(r.error()));
  }
  const std::size_t max = o.max_message_size ? o.max_message_size : detail::kDefaultMaxMessage;
  auto impl = std::make_unique<detail::PipeChannel>(std::move(rfd), std::move(wfd), o.packet, max,
                                                    std::string(o.packet ? "pipe(packet)" : "pipe"));
  return detail::ChannelAccess::make(std::move(impl), "pipe");
}

}  // namespace

Result<PipePair> make_pipe(const PipeOptions& o) {
  auto p = sys::pipe2(o.packet ? O_DIRECT : 0);
  if (!p) return std::unexpected(std::move(p.error()));
  auto r = make_end(std::move(p->read), Fd(), o);
  if (!r) return std::unexpected(std::move(r.error()));
  auto w = make_end(Fd(), std::move(p->write), o);
  if (!w) return std::unexpected(std::move(w.error()));
  return PipePair{std::move(*r), std::move(*w)};
}

Result<DuplexPipe> make_duplex_pipe(const PipeOptions& o) {
  auto a = sys::pipe2(o.packet ? O_DIRECT : 0);
  if (!a) return std::unexpected(std::move(a.error()));
  auto b = sys::pipe2(o.packet ? O_DIRECT : 0);
  if (!b) return std::unexpected(std::move(b.error()));
  auto first = make_end(std::move(a->read), std::move(b->write), o);
  if (!first) return std::unexpected(std::move(first.error()));
  auto second = make_end(std::move(b->read), std::move(a->write), o);
  if (!second) return std::unexpected(std::move(second.error()));
  return DuplexPipe{std::move(*first), std::move(*second)};
}

Result<Channel> adopt_pipe(Fd read_end, Fd write_end, const PipeOptions& o) {
  for (Fd* fd : {&read_end, &write_end}) {
    if (!*fd) continue;
    if (auto r = fd->set_cloexec(true); !r) return std::unexpected(std::move(r.error()));
  }
  return make_end(std::move(read_end), std::move(write_end), o);
}

PipeEnds pipe_ends(const Channel& ch) noexcept {
  auto* p = dynamic_cast<detail::PipeChannel*>(detail::ChannelAccess::impl(ch));
  if (!p) return {};
  return {p->read_fd(), p->write_fd()};
}

}  // namespace ipcx
