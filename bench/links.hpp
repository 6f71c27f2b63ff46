// SPDX-License-Identifier: MIT
// Links shared by the raw rows: a byte stream carrying fixed-size messages, a datagram
// socket, and the credit window that keeps UDP from dropping what it cannot queue.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>

#include "harness.hpp"

namespace ipcx::bench {

// Closes on destruction; -1 is empty.
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(o.release()) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Writes all of `msg` to fd, retrying partial writes and EINTR.
Res<void> write_full(int fd, std::span<const std::byte> msg);
// Reads exactly buf.size() bytes from fd (blocking), retrying partial reads and EINTR; the
// peer closing the stream first is a failure.
Res<std::size_t> read_full(int fd, std::span<std::byte> buf);

// Fixed-size messages over a byte stream: the receiver reads exactly the run's size, as
// a hand-written loop that knows its message size does (no length prefix).
class StreamLink final : public Link {
 public:
  StreamLink(OwnedFd rfd, OwnedFd wfd) : rfd_(std::move(rfd)), wfd_(std::move(wfd)) {}
  explicit StreamLink(OwnedFd fd) : rfd_(std::move(fd)), wfd_(-1) {}
  Res<void> send(std::span<const std::byte> msg) override;
  Res<std::size_t> receive(std::span<std::byte> buf) override;

 private:
  int wfd() const noexcept { return wfd_.get() >= 0 ? wfd_.get() : rfd_.get(); }
  OwnedFd rfd_;
  OwnedFd wfd_;
};

// One datagram (or seqpacket record) per message. With `learn_peer` the first receive
// uses recvfrom and connects the socket to the sender (a server that does not know its
// client's address in advance).
class DatagramLink final : public Link {
 public:
  DatagramLink(OwnedFd fd, bool learn_peer) : fd_(std::move(fd)), learn_(learn_peer) {}
  Res<void> send(std::span<const std::byte> msg) override;
  Res<std::size_t> receive(std::span<std::byte> buf) override;

 private:
  OwnedFd fd_;
  bool learn_;
};

// Flow control for a lossy transport (UDP) in the one-way phase: the receiver returns a
// credit every window/2 messages and the sender never has more than `window` messages
// outstanding. Round trips need none (one message in flight).
class CreditLink final : public Link {
 public:
  CreditLink(std::unique_ptr<Link> inner, bool sender, std::uint64_t window)
      : inner_(std::move(inner)), sender_(sender), window_(window) {}
  Res<void> send(std::span<const std::byte> msg) override;
  Res<std::size_t> receive(std::span<std::byte> buf) override;
  Res<void> set_mode(Mode m) override;
  // Batches keep the window: a batch goes in parts that fit it, and the receiver counts a
  // received batch's messages toward its next credit.
  Res<void> send_batch(std::span<const std::span<const std::byte>> msgs) override;
  Res<std::size_t> receive_batch() override;
  std::span<const std::byte> batch_message(std::size_t i) const override { return inner_->batch_message(i); }

 private:
  Res<void> take_credit();
  Res<void> credit(bool end);
  std::unique_ptr<Link> inner_;
  bool sender_;
  std::uint64_t window_;
  Mode mode_ = Mode::rtt;
  std::uint64_t sent_ = 0;
  std::uint64_t acked_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t credited_ = 0;
};

// The UDP credit window for `size`-byte datagrams: half the default receive buffer,
// counting the kernel's per-datagram overhead.
std::uint64_t udp_window(std::size_t size);

// A path in /tmp unique to this measurement: "/tmp/<stem>-<what>".
std::string tmp_path(const RunSpec& spec, std::string_view what);

}  // namespace ipcx::bench
