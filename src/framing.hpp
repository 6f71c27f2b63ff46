// Length-prefixed messages over a byte stream (pipes, FIFOs, stream sockets).
//
// Wire format: a 4-byte little-endian length, then that many bytes. The receiver checks
// the announced length against its maximum before allocating or reading: a hostile length
// marks the stream broken with Errc::corrupt. Descriptors are non-blocking; waits go
// through poll() against the caller's deadline. Nothing is consumed until a whole message
// is in hand, so a timeout or a short buffer can be retried. A send that times out after
// part of a frame went out keeps the rest and writes it before the next message (the
// stream stays framed); the error says how much went out.
//
// Not thread-safe: one sender thread and one receiver thread at most (they touch disjoint
// state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx::detail {

inline constexpr std::size_t kFrameHeader = 4;
inline constexpr std::size_t kDefaultMaxMessage = 64u << 20;  // 64 MiB

class FramedStream {
 public:
  // rfd / wfd are borrowed (either may be -1 for a one-way end); `object` names the stream
  // in errors ("fifo:///tmp/x").
  FramedStream(int rfd, int wfd, std::size_t max_message, std::string object);

  Result<void> send(std::span<const std::byte> msg, Deadline d);
  // Whole message into buf; message_too_large (with Error::size()) leaves it queued.
  Result<std::size_t> receive(std::span<std::byte> buf, Deadline d);
  Result<std::vector<std::byte>> receive_message(Deadline d);

  void set_fds(int rfd, int wfd) noexcept { rfd_ = rfd; wfd_ = wfd; }
  std::size_t max_message_size() const noexcept { return max_; }
  // Bytes buffered but not yet delivered (a poller must not wait while this is > 0).
  std::size_t buffered() const noexcept { return rend_ - rpos_; }

 private:
  // Reads more bytes into rx_; returns false with an error set on EOF/timeout/failure.
  Result<void> fill(Deadline d, std::size_t need);
  Result<void> flush_pending(Deadline d);
  Result<std::size_t> frame_length(Deadline d);
  std::unexpected<Error> broken() const;

  int rfd_;
  int wfd_;
  std::size_t max_;
  std::string object_;
  std::vector<std::byte> rx_;
  std::size_t rpos_ = 0;
  std::size_t rend_ = 0;
  std::vector<std::byte> tx_pending_;  // rest of a frame whose send timed out
  std::string broken_;                 // why the stream can no longer be read, if it cannot
};

}  // namespace ipcx::detail
