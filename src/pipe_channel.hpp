// SPDX-License-Identifier: MIT
// The Channel over a pipe's descriptors, shared by anonymous pipes and FIFOs.
#pragma once

#include <optional>
#include <vector>

#include "framing.hpp"
#include "ipcx/detail/transport.hpp"

namespace ipcx::detail {

// The pipe buffer a stream-mode pipe or FIFO gets unless told: 128 KiB, so that a 64 KiB
// message and its 4-byte length go in one write and come out in one read (the kernel's
// default, 64 KiB, takes the message but not its length).
inline constexpr std::size_t kDefaultPipeCapacity = 128 * 1024;

// F_SETPIPE_SZ on the pipe under `fd` as a Channel opens it: `capacity` as asked (an error
// names fs.pipe-max-size if it is above), or with 0 kDefaultPipeCapacity capped by
// fs.pipe-max-size, best effort and never shrinking (a pipe the kernel will not grow, or
// one the peer already made larger, stays as it is). Packet mode has no default.
Result<void> size_pipe(int fd, std::size_t capacity, bool packet);

class PipeChannel : public ChannelImpl {
 public:
  PipeChannel(Fd rfd, Fd wfd, bool packet, std::size_t max, std::string object);

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) override;
  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) override;
  Result<Message> receive_message(Deadline d, const ReceiveOptions& o) override;
  int pollable_fd() const noexcept override;
  std::size_t max_message_size() const noexcept override;
  // Byte-stream mode: frames coalesced into one write, and decoded from one read (the frame
  // codec's batches); packet mode: the defaults.
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) override;
  Result<std::size_t> receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) override;

  int read_fd() const noexcept { return rfd_.get(); }
  int write_fd() const noexcept { return wfd_.get(); }

 protected:
  // Hooks for FIFOs, which open each end on first use.
  virtual Result<void> ensure_read();
  virtual Result<void> ensure_write(Deadline d);
  void adopt(Fd rfd, Fd wfd);
  const std::string& object() const noexcept { return object_; }

 private:
  Fd rfd_;
  Fd wfd_;
  bool packet_;
  FramedStream stream_;
  std::optional<std::vector<std::byte>> packet_pending_;  // a packet too big for the last buffer
  std::string object_;
  std::vector<FrameCodec::Frame> batch_frames_;  // receive_batch's, reused
};

}  // namespace ipcx::detail
