// SPDX-License-Identifier: MIT
// The frame codec: length-prefixed messages over a byte stream. One codec serves pipes,
// FIFOs, Unix stream sockets and TCP.
//
//   PipeEnd end(rfd, wfd);                  // a socket channel has its own StreamEnd
//   FrameCodec codec(kDefaultMaxMessage, "fifo:///tmp/x");
//   codec.send(end, msg, {}, d);  auto f = codec.receive(end, buf, d);  // f->size
//
// Wire format: a 4-byte little-endian length, then that many bytes. The receiver checks
// the announced length against its maximum before allocating or reading: a hostile length
// marks the stream broken with Errc::corrupt. Nothing is consumed until a whole message is
// in hand, so a timeout or a short buffer can be retried. A send that times out after part
// of a frame went out keeps the rest and writes it before the next message (the stream
// stays framed); the error says how much went out. End of stream between messages is
// peer_gone; inside a message it is corrupt, and what arrived of that frame is never
// delivered.
//
// The codec moves bytes only through a StreamEnd, so the same code runs over a pipe's
// descriptors (PipeEnd below), a socket (which passes descriptors, SCM_RIGHTS, beside a
// message: they ride with the first byte of its frame, and the codec matches those that
// arrive back to the frame they start), or a plain buffer (the fuzz target).
//
// Not thread-safe: one sender thread and one receiver thread at most (they touch disjoint
// state).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ipcx/channel.hpp"  // BatchSent
#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

namespace ipcx::detail {

inline constexpr std::size_t kFrameHeader = 4;
// The largest message a byte-stream channel takes unless told otherwise: pipes, FIFOs,
// unix:// and tcp://.
inline constexpr std::size_t kDefaultMaxMessage = 64u << 20;  // 64 MiB

inline std::uint32_t load_le32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint32_t>(p[i]);
  return v;
}

inline void store_le32(std::byte* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

// One end of a byte stream, as the codec reads and writes it.
class StreamEnd {
 public:
  struct Chunk {
    std::size_t size = 0;   // 0: the peer ended the stream
    std::vector<Fd> fds;    // descriptors that came with these bytes
    bool fds_lost = false;  // some did not arrive (MSG_CTRUNC)
  };
  // How errors name the sides and the stream: "the writer", "the reader", "stream" for a
  // pipe; and which option sets the maximum, if one does ("option max"), or nullptr.
  struct Names {
    const char* writer;
    const char* reader;
    const char* stream;
    const char* max_option;
  };

  // Reads what is there, at most buf.size() bytes, waiting until `d` for something.
  // Nothing came: would_block (immediate deadline) or timed_out. A gone peer: size 0, or
  // an error of kind peer_gone (ECONNRESET).
  virtual Result<Chunk> read(std::span<std::byte> buf, Deadline d) = 0;
  // Writes what fits of `pieces` in one call, waiting until `d` for room (would_block,
  // timed_out); `fds` go with the first byte written. A gone reader: kind peer_gone.
  virtual Result<std::size_t> write(std::span<const iovec> pieces, std::span<const int> fds, Deadline d) = 0;
  // The codec gave up on the stream (cut, corrupt or refused): a socket shuts the
  // connection down, so the peer sees it end.
  virtual void broken() noexcept {}
  // The most bytes one write keeps whole against other writers (a pipe's PIPE_BUF), so
  // that a batch coalesces frames only up to it; 0: no such promise to keep.
  virtual std::size_t atomic_write() const noexcept { return 0; }

  const Names& names() const noexcept { return names_; }

 protected:
  explicit StreamEnd(Names names) noexcept : names_(names) {}
  StreamEnd(const StreamEnd&) = default;
  StreamEnd& operator=(const StreamEnd&) = default;
  ~StreamEnd() = default;

 private:
  Names names_;
};

// The codec's state for one stream: what was read and not yet delivered (with the
// descriptors that came with it), the unsent rest of a frame, and whether the stream broke.
class FrameCodec {
 public:
  // `object` names the stream in errors ("fifo:///tmp/x"). The maximum is at most 4 GiB - 1
  // (the length field is 32 bits).
  FrameCodec(std::size_t max_message, std::string object);

  struct Frame {
    std::size_t size = 0;
    std::vector<Fd> fds;    // the descriptors sent with this message
    bool fds_lost = false;  // some of them did not arrive: the caller reports it
  };
  // Whole message into buf; message_too_large (with Error::size()) leaves it queued, with
  // its descriptors.
  Result<Frame> receive(StreamEnd& end, std::span<std::byte> buf, Deadline d);
  // Whole message into `data`, resized to it.
  Result<Frame> receive_message(StreamEnd& end, std::vector<std::byte>& data, Deadline d);
  // The next `n` bytes of the stream, read until they are all in and left unconsumed (a
  // socket looks for its listener's refusal through this).
  Result<std::span<const std::byte>> peek(StreamEnd& end, std::size_t n, Deadline d);

  // One frame: header and message in one write where the end takes it all, `fds` with its
  // first byte. A frame that goes out only in part fails as the end's write did
  // (would_block for an immediate deadline, else timed_out), its rest kept to go out first
  // at the next send.
  Result<void> send(StreamEnd& end, std::span<const std::byte> msg, std::span<const int> fds, Deadline d);
  // The bytes as they are, without a header (a socket's raw mode), kept whole the same way.
  Result<void> send_raw(StreamEnd& end, std::span<const std::byte> msg, std::span<const int> fds, Deadline d);

  // Batches. send_batch writes the frames of msgs coalesced, as many as one gathered write
  // takes (up to the end's atomic_write(), if it has one), `fds` with the first frame alone
  // (so the receiver matches them to it). A frame that went out in part when the deadline
  // passed counts as sent: its rest goes out first at the next send. A message above the
  // maximum stops the batch before it, with message_too_large.
  BatchSent send_batch(StreamEnd& end, std::span<const std::span<const std::byte>> msgs, std::span<const int> fds,
                       Deadline d);
  // Whole messages into consecutive slots of `slot` bytes in `slots`, one Frame each in
  // `out`: waits until `d` for the first, then takes the frames already whole in what was
  // read, up to out.size(), without reading more. Stops before a frame larger than `slot`
  // (it stays queued), a broken length, or a frame whose descriptors did not all arrive:
  // the next receive reports them. Returns how many (>= 1).
  Result<std::size_t> receive_batch(StreamEnd& end, std::span<std::byte> slots, std::size_t slot, std::span<Frame> out,
                                    Deadline d);

  // Marks the stream unreadable with `e` from now on and tells the end.
  std::unexpected<Error> fail_stream(StreamEnd& end, Error e);

  std::size_t max_message_size() const noexcept { return max_; }
  const std::string& object() const noexcept { return object_; }
  // Bytes read but not yet delivered (a poller must not wait while this is > 0).
  std::size_t buffered() const noexcept { return rend_ - rpos_; }

 private:
  struct FrameFds {
    std::uint64_t offset;  // stream offset of the frame's first byte
    std::vector<Fd> fds;
    bool lost;
  };

  Result<void> fill(StreamEnd& end, Deadline d, std::size_t need);
  Result<std::size_t> next_length(StreamEnd& end, Deadline d);
  void attach_fds(std::vector<Fd> fds, bool lost);
  FrameFds take_fds(std::uint64_t offset);
  void consume(std::size_t n);
  Result<void> write_frame(StreamEnd& end, std::span<const std::byte> header, std::span<const std::byte> body,
                           std::span<const int> fds, Deadline d);
  Result<void> flush_pending(StreamEnd& end, Deadline d);
  std::unexpected<Error> write_failed(const StreamEnd& end, Error e) const;
  std::string max_text(const StreamEnd& end) const;

  std::size_t max_;
  std::string object_;
  std::vector<std::byte> rx_;
  std::size_t rpos_ = 0;    // start of the next frame in rx_
  std::size_t rend_ = 0;    // end of the bytes read
  std::uint64_t base_ = 0;  // stream offset of rx_[0]
  std::deque<FrameFds> rx_fds_;
  std::vector<std::byte> tx_pending_;  // the rest of a frame sent only in part
  std::optional<Error> broken_;        // why the stream can no longer be read
  // send_batch's gather list and frame headers, kept to be reused by the next batch.
  std::vector<iovec> batch_iov_;
  std::vector<std::byte> batch_headers_;
};

// A pipe's or FIFO's descriptors as a StreamEnd: read(2), writev(2) and poll(2). Either
// descriptor is borrowed and may be -1 for a one-way end, and is non-blocking when given.
// Carries no descriptors.
//
// A read or write with Deadline::never() makes its descriptor blocking and waits inside
// the one system call, as the plain blocking loop does; any other deadline makes it
// non-blocking again and waits in poll(2), so deadlines stay exact. The switch is one
// fcntl pair, made only when the kind of deadline changes, on the open file description
// (a process that shares it, by fork or SCM_RIGHTS, sees the mode change).
class PipeEnd final : public StreamEnd {
 public:
  PipeEnd(int rfd, int wfd) noexcept
      : StreamEnd(Names{"the writer", "the reader", "stream", nullptr}), rfd_(rfd), wfd_(wfd) {}

  Result<Chunk> read(std::span<std::byte> buf, Deadline d) override;
  Result<std::size_t> write(std::span<const iovec> pieces, std::span<const int> fds, Deadline d) override;
  std::size_t atomic_write() const noexcept override;

  // New descriptors, non-blocking as given.
  void set_fds(int rfd, int wfd) noexcept {
    if (rfd != rfd_) rblocking_ = false;
    if (wfd != wfd_) wblocking_ = false;
    rfd_ = rfd;
    wfd_ = wfd;
  }
  int read_fd() const noexcept { return rfd_; }
  int write_fd() const noexcept { return wfd_; }

 private:
  int rfd_;
  int wfd_;
  bool rblocking_ = false;  // O_NONBLOCK is off on rfd_
  bool wblocking_ = false;  // ... on wfd_
};

// Framed messages over a pipe's or FIFO's descriptors: a FrameCodec and its PipeEnd.
class FramedStream {
 public:
  FramedStream(int rfd, int wfd, std::size_t max_message, std::string object)
      : end_(rfd, wfd), codec_(max_message, std::move(object)) {}

  Result<void> send(std::span<const std::byte> msg, Deadline d);
  // Whole message into buf; message_too_large (with Error::size()) leaves it queued.
  Result<std::size_t> receive(std::span<std::byte> buf, Deadline d);
  Result<std::vector<std::byte>> receive_message(Deadline d);
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d);
  Result<std::size_t> receive_batch(std::span<std::byte> slots, std::size_t slot,
                                    std::span<FrameCodec::Frame> out, Deadline d);

  void set_fds(int rfd, int wfd) noexcept { end_.set_fds(rfd, wfd); }
  PipeEnd& end() noexcept { return end_; }
  std::size_t max_message_size() const noexcept { return codec_.max_message_size(); }
  std::size_t buffered() const noexcept { return codec_.buffered(); }

 private:
  PipeEnd end_;
  FrameCodec codec_;
};

}  // namespace ipcx::detail
