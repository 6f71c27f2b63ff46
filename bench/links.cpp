// SPDX-License-Identifier: MIT
#include "links.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ipcx::bench {

OwnedFd& OwnedFd::operator=(OwnedFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void OwnedFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // EINTR: the descriptor is gone either way; never retry
  fd_ = fd;
}

Res<void> write_full(int fd, std::span<const std::byte> msg) {
  std::size_t done = 0;
  while (done < msg.size()) {
    ssize_t n = ::write(fd, msg.data() + done, msg.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;  // nothing was written
      return failed_errno("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Res<std::size_t> read_full(int fd, std::span<std::byte> buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;  // nothing was read
      return failed_errno("read", errno);
    }
    if (n == 0) return failed(fmt::format("read: the peer closed the stream after {} of {} bytes", done, buf.size()));
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Res<void> StreamLink::send(std::span<const std::byte> msg) { return write_full(wfd(), msg); }

Res<std::size_t> StreamLink::receive(std::span<std::byte> buf) { return read_full(rfd_.get(), buf); }

Res<void> DatagramLink::send(std::span<const std::byte> msg) {
  for (;;) {
    ssize_t n = ::send(fd_.get(), msg.data(), msg.size(), 0);
    if (n < 0 && errno == EINTR) continue;  // nothing was sent
    if (n < 0) return failed_errno("send", errno);
    if (static_cast<std::size_t>(n) != msg.size()) {
      return failed(fmt::format("send: {} of {} bytes went out", n, msg.size()));
    }
    return {};
  }
}

Res<std::size_t> DatagramLink::receive(std::span<std::byte> buf) {
  for (;;) {
    ssize_t n;
    if (learn_) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      n = ::recvfrom(fd_.get(), buf.data(), buf.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &len);
      if (n >= 0) {
        if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&from), len) != 0) return failed_errno("connect", errno);
        learn_ = false;
      }
    } else {
      n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_TRUNC);
    }
    if (n < 0 && errno == EINTR) continue;  // nothing was received
    if (n < 0) return failed_errno("recv", errno);
    if (n == 0 && buf.size() > 0) {
      // A zero-length record on seqpacket is the peer's close; the protocol sends none.
      return failed("recv: the peer closed the connection");
    }
    if (static_cast<std::size_t>(n) > buf.size()) {
      return failed(fmt::format("recv: a {}-byte message was cut to the {}-byte buffer", n, buf.size()));
    }
    return static_cast<std::size_t>(n);
  }
}

Res<void> CreditLink::take_credit() {
  std::byte c[kHeaderSize];
  auto n = inner_->receive(c);
  if (!n) return std::unexpected(std::move(n.error()));
  Header h = read_header(std::span<const std::byte>(c, *n));
  if (*n != kHeaderSize || h.kind != Kind::credit || h.seq < acked_ || h.seq > sent_) {
    return failed("one-way: a credit message was lost or corrupt");
  }
  acked_ = h.seq;
  return {};
}

Res<void> CreditLink::send(std::span<const std::byte> msg) {
  if (mode_ == Mode::oneway && sender_) {
    while (sent_ - acked_ >= window_) {
      if (auto r = take_credit(); !r) return r;
    }
  }
  if (auto r = inner_->send(msg); !r) return r;
  if (mode_ == Mode::oneway) ++sent_;
  return {};
}

Res<std::size_t> CreditLink::receive(std::span<std::byte> buf) {
  auto n = inner_->receive(buf);
  if (!n || mode_ != Mode::oneway || sender_) return n;
  ++received_;
  if (auto r = credit(read_header(std::span<const std::byte>(buf.data(), *n)).kind == Kind::end); !r) {
    return std::unexpected(std::move(r.error()));
  }
  return n;
}

Res<void> CreditLink::credit(bool end) {
  if (end || received_ - credited_ >= std::max<std::uint64_t>(1, window_ / 2)) {
    std::byte c[kHeaderSize];
    write_header(c, received_, Kind::credit);
    if (auto r = inner_->send(c); !r) return r;
    credited_ = received_;
  }
  return {};
}

Res<void> CreditLink::send_batch(std::span<const std::span<const std::byte>> msgs) {
  if (mode_ != Mode::oneway || !sender_) return inner_->send_batch(msgs);
  while (!msgs.empty()) {
    while (sent_ - acked_ >= window_) {
      if (auto r = take_credit(); !r) return r;
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(msgs.size(), window_ - (sent_ - acked_)));
    if (auto r = inner_->send_batch(msgs.first(n)); !r) return r;
    sent_ += n;
    msgs = msgs.subspan(n);
  }
  return {};
}

Res<std::size_t> CreditLink::receive_batch() {
  auto n = inner_->receive_batch();
  if (!n || mode_ != Mode::oneway || sender_) return n;
  received_ += *n;
  if (auto r = credit(read_header(inner_->batch_message(*n - 1)).kind == Kind::end); !r) {
    return std::unexpected(std::move(r.error()));
  }
  return n;
}

Res<void> CreditLink::set_mode(Mode m) {
  if (mode_ == Mode::oneway && m == Mode::rtt && sender_) {
    // Collect the credits still coming, so none is taken for a round-trip reply.
    while (acked_ < sent_) {
      if (auto r = take_credit(); !r) return r;
    }
  }
  mode_ = m;
  sent_ = acked_ = received_ = credited_ = 0;
  return inner_->set_mode(m);
}

std::uint64_t udp_window(std::size_t size) {
  long long rmem = read_proc_number("net/core/rmem_default").value_or(212992);
  // Each queued datagram is charged its size plus roughly 1 KiB of socket buffer overhead.
  auto w = static_cast<std::uint64_t>(rmem / 2) / (size + 1024);
  return std::clamp<std::uint64_t>(w, 1, 256);
}

std::string tmp_path(const RunSpec& spec, std::string_view what) { return fmt::format("/tmp/{}-{}", spec.stem, what); }

}  // namespace ipcx::bench
