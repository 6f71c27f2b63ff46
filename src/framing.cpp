// SPDX-License-Identifier: MIT
#include "framing.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "sys/io.hpp"

namespace ipcx::detail {
namespace {

constexpr std::size_t kRxChunk = 64 * 1024;
// The largest receive buffer kept between messages: a frame up to 1 MiB (and its header)
// reuses it instead of growing and freeing the buffer for every message; a larger one
// gives the memory back once delivered.
constexpr std::size_t kRxKeep = (1u << 20) + kFrameHeader;
// The most frames send_batch gathers into one write: two pieces each, well below IOV_MAX
// (1024).
constexpr std::size_t kBatchFramesPerWrite = 256;

}  // namespace

// ---- FrameCodec: receiving ----------------------------------------------------------------

FrameCodec::FrameCodec(std::size_t max_message, std::string object)
    : max_(std::min<std::size_t>(max_message, UINT32_MAX)), object_(std::move(object)) {}

std::unexpected<Error> FrameCodec::fail_stream(StreamEnd& end, Error e) {
  broken_ = std::move(e);
  end.broken();
  return fail(*broken_);
}

std::string FrameCodec::max_text(const StreamEnd& end) const {
  const char* option = end.names().max_option;
  return option ? fmt::format("{} bytes ({})", max_, option) : fmt::format("{} bytes", max_);
}

Result<void> FrameCodec::fill(StreamEnd& end, Deadline d, std::size_t need) {
  // Make room for `need` bytes from rpos_: compact, then grow if the frame is bigger.
  if (rx_.size() - rpos_ < need) {
    if (rpos_ > 0) {
      std::memmove(rx_.data(), rx_.data() + rpos_, rend_ - rpos_);
      base_ += rpos_;
      rend_ -= rpos_;
      rpos_ = 0;
    }
    if (rx_.size() < need) rx_.resize(std::max(need, kRxChunk));
  }
  const StreamEnd::Names& names = end.names();
  while (rend_ - rpos_ < need) {
    auto r = end.read(std::span<std::byte>(rx_.data() + rend_, rx_.size() - rend_), d);
    if (!r) {
      Error& e = r.error();
      if (e.would_block() || e.timed_out()) return fail(e.kind(), "receive", object_);
      if (!e.peer_gone()) return fail(std::move(e).with_object(object_));
      if (rend_ == rpos_) {
        return fail(std::move(e).with_object(object_).with_detail(fmt::format("{} reset the {}", names.writer, names.stream)));
      }
      return fail_stream(end, Error::make(Errc::corrupt, "receive", object_,
                                          fmt::format("{} reset the {} inside a message ({} of {} bytes arrived)",
                                                      names.writer, names.stream, rend_ - rpos_, need)));
    }
    if (r->size == 0) {
      if (rend_ == rpos_) {
        return fail(Errc::peer_gone, "receive", object_, fmt::format("{} closed the {}", names.writer, names.stream));
      }
      return fail_stream(end, Error::make(Errc::corrupt, "receive", object_,
                                          fmt::format("{} closed the {} inside a message ({} of {} bytes arrived)",
                                                      names.writer, names.stream, rend_ - rpos_, need)));
    }
    rend_ += r->size;
    if (!r->fds.empty() || r->fds_lost) attach_fds(std::move(r->fds), r->fds_lost);
  }
  return {};
}

void FrameCodec::attach_fds(std::vector<Fd> fds, bool lost) {
  // The kernel ends a read after the one segment that carried descriptors, and the sender
  // put them on the segment that starts their frame: they belong to the last frame that
  // starts in the bytes now buffered.
  std::size_t pos = rpos_;
  std::size_t last = rpos_;
  while (pos < rend_) {
    last = pos;
    if (pos + kFrameHeader > rend_) break;
    const std::uint32_t len = load_le32(rx_.data() + pos);
    if (len > max_) break;  // broken; reported when that frame is reached
    pos += kFrameHeader + len;
  }
  const std::uint64_t offset = base_ + last;
  if (!rx_fds_.empty() && rx_fds_.back().offset == offset) {
    auto& e = rx_fds_.back();
    for (auto& f : fds) e.fds.push_back(std::move(f));
    e.lost = e.lost || lost;
    return;
  }
  rx_fds_.push_back(FrameFds{offset, std::move(fds), lost});
}

FrameCodec::FrameFds FrameCodec::take_fds(std::uint64_t offset) {
  // Entries before this frame cannot be delivered any more (only a foreign sender makes
  // them); dropping them closes their descriptors.
  while (!rx_fds_.empty() && rx_fds_.front().offset < offset) rx_fds_.pop_front();
  if (!rx_fds_.empty() && rx_fds_.front().offset == offset) {
    FrameFds out = std::move(rx_fds_.front());
    rx_fds_.pop_front();
    return out;
  }
  return FrameFds{offset, {}, false};
}

void FrameCodec::consume(std::size_t n) {
  rpos_ += n;
  if (rpos_ == rend_) {
    base_ += rend_;
    rpos_ = rend_ = 0;
    if (rx_.size() > kRxKeep) {  // a big message grew the buffer; give it back
      rx_.resize(kRxChunk);
      rx_.shrink_to_fit();
    }
  }
}

Result<std::span<const std::byte>> FrameCodec::peek(StreamEnd& end, std::size_t n, Deadline d) {
  if (broken_) return fail(*broken_);
  if (auto f = fill(end, d, n); !f) return std::unexpected(std::move(f.error()));
  return std::span<const std::byte>(rx_.data() + rpos_, n);
}

Result<std::size_t> FrameCodec::next_length(StreamEnd& end, Deadline d) {
  auto header = peek(end, kFrameHeader, d);
  if (!header) return std::unexpected(std::move(header.error()));
  const std::uint32_t len = load_le32(header->data());
  if (len > max_) {
    return fail_stream(end, Error::make(Errc::corrupt, "receive", object_,
                                        fmt::format("the peer announced a {}-byte message; the maximum is {}", len,
                                                    max_text(end))));
  }
  return len;
}

Result<FrameCodec::Frame> FrameCodec::receive(StreamEnd& end, std::span<std::byte> buf, Deadline d) {
  auto len = next_length(end, d);
  if (!len) return std::unexpected(std::move(len.error()));
  if (*len > buf.size()) {
    return fail(Error::make(Errc::message_too_large, "receive", object_,
                            fmt::format("message of {} bytes > buffer of {} bytes", *len, buf.size()))
                    .with_size(*len));
  }
  if (auto f = fill(end, d, kFrameHeader + *len); !f) return std::unexpected(std::move(f.error()));
  Frame out{.size = *len, .fds = {}, .fds_lost = false};
  if (!rx_fds_.empty()) {
    FrameFds fds = take_fds(base_ + rpos_);
    out.fds = std::move(fds.fds);
    out.fds_lost = fds.lost;
  }
  if (*len > 0) std::memcpy(buf.data(), rx_.data() + rpos_ + kFrameHeader, *len);  // data() may be null when empty
  consume(kFrameHeader + *len);
  return out;
}

Result<FrameCodec::Frame> FrameCodec::receive_message(StreamEnd& end, std::vector<std::byte>& data, Deadline d) {
  auto len = next_length(end, d);
  if (!len) return std::unexpected(std::move(len.error()));
  data.resize(*len);
  return receive(end, data, d);
}

// ---- FrameCodec: sending ------------------------------------------------------------------

std::unexpected<Error> FrameCodec::write_failed(const StreamEnd& end, Error e) const {
  if (e.peer_gone()) {
    return fail(Errc::peer_gone, "send", object_, fmt::format("{} closed the {}", end.names().reader, end.names().stream));
  }
  return fail(std::move(e).with_object(object_));
}

Result<void> FrameCodec::flush_pending(StreamEnd& end, Deadline d) {
  std::size_t done = 0;
  while (done < tx_pending_.size()) {
    const iovec rest{tx_pending_.data() + done, tx_pending_.size() - done};
    auto n = end.write(std::span<const iovec>(&rest, 1), {}, d);
    if (n) {
      done += *n;
      continue;
    }
    tx_pending_.erase(tx_pending_.begin(), tx_pending_.begin() + static_cast<std::ptrdiff_t>(done));
    // would_block (immediate deadline) or timed_out, as the end said: the rest stays pending.
    if (n.error().would_block() || n.error().timed_out()) {
      return fail(n.error().kind(), "send", object_,
                  fmt::format("the previous message is still being written ({} bytes to go)", tx_pending_.size()));
    }
    return write_failed(end, std::move(n.error()));
  }
  tx_pending_.clear();
  return {};
}

Result<void> FrameCodec::write_frame(StreamEnd& end, std::span<const std::byte> header, std::span<const std::byte> body,
                                     std::span<const int> fds, Deadline d) {
  if (body.size() > max_) {
    return fail(Error::make(Errc::message_too_large, "send", object_,
                            fmt::format("message of {} bytes > maximum of {}", body.size(), max_text(end)))
                    .with_size(body.size()));
  }
  if (!tx_pending_.empty()) {
    if (auto f = flush_pending(end, d); !f) return f;
  }
  // One write for header and body: a frame of at most PIPE_BUF bytes is then atomic on a
  // pipe, so several writers may share a FIFO for such messages.
  const std::size_t total = header.size() + body.size();
  std::size_t done = 0;
  while (done < total) {
    iovec iov[2];
    std::size_t cnt = 0;
    if (done < header.size()) {
      iov[cnt++] = {const_cast<std::byte*>(header.data()) + done, header.size() - done};
      if (!body.empty()) iov[cnt++] = {const_cast<std::byte*>(body.data()), body.size()};
    } else {
      iov[cnt++] = {const_cast<std::byte*>(body.data()) + (done - header.size()), total - done};
    }
    // The descriptors go with the first bytes of the frame, and only with them.
    auto n = end.write(std::span<const iovec>(iov, cnt), done == 0 ? fds : std::span<const int>{}, d);
    if (n) {
      done += *n;
      continue;
    }
    Error& e = n.error();
    if (!e.would_block() && !e.timed_out()) return write_failed(end, std::move(e));
    if (done == 0) return fail(e.kind(), "send", object_, e.detail());
    // Part of the frame is out: keep the rest so the stream stays framed.
    if (done < header.size()) tx_pending_.insert(tx_pending_.end(), header.begin() + done, header.end());
    const std::size_t body_done = done > header.size() ? done - header.size() : 0;
    tx_pending_.insert(tx_pending_.end(), body.begin() + body_done, body.end());
    // would_block for a try_send, timed_out for a timed send: the caller learns it was not
    // sent, and the detail says how much went out.
    return fail(e.kind(), "send", object_,
                fmt::format("{} of {} bytes written; the rest goes out before the next message", done, total));
  }
  return {};
}

Result<void> FrameCodec::send(StreamEnd& end, std::span<const std::byte> msg, std::span<const int> fds, Deadline d) {
  std::byte header[kFrameHeader];
  store_le32(header, static_cast<std::uint32_t>(msg.size()));  // checked against max_ before anything goes
  return write_frame(end, header, msg, fds, d);
}

Result<void> FrameCodec::send_raw(StreamEnd& end, std::span<const std::byte> msg, std::span<const int> fds, Deadline d) {
  return write_frame(end, {}, msg, fds, d);
}

// ---- FrameCodec: batches ------------------------------------------------------------------

Result<std::size_t> FrameCodec::receive_batch(StreamEnd& end, std::span<std::byte> slots, std::size_t slot,
                                              std::span<Frame> out, Deadline d) {
  if (out.empty()) return 0;
  auto first = receive(end, slots.first(slot), d);
  if (!first) return std::unexpected(std::move(first.error()));
  out[0] = std::move(*first);
  std::size_t n = 1;
  // The rest only from what is buffered: no read, so nothing waits for more.
  while (n < out.size() && rend_ - rpos_ >= kFrameHeader) {
    const std::uint32_t len = load_le32(rx_.data() + rpos_);
    if (len > max_ || len > slot || rend_ - rpos_ < kFrameHeader + len) break;
    Frame& f = out[n];
    f.size = len;
    f.fds.clear();
    f.fds_lost = false;
    if (!rx_fds_.empty()) {
      const std::uint64_t offset = base_ + rpos_;
      while (!rx_fds_.empty() && rx_fds_.front().offset < offset) rx_fds_.pop_front();  // as take_fds
      if (!rx_fds_.empty() && rx_fds_.front().offset == offset) {
        if (rx_fds_.front().lost) break;  // the next receive reports it for this frame alone
        f.fds = take_fds(offset).fds;
      }
    }
    if (len > 0) std::memcpy(slots.data() + n * slot, rx_.data() + rpos_ + kFrameHeader, len);
    consume(kFrameHeader + len);
    ++n;
  }
  return n;
}

BatchSent FrameCodec::send_batch(StreamEnd& end, std::span<const std::span<const std::byte>> msgs,
                                 std::span<const int> fds, Deadline d) {
  std::size_t i = 0;
  if (!msgs.empty() && !fds.empty()) {
    // The descriptors ride with the first frame in a write of its own: the receiver gives
    // them to the last frame that starts in the segment that carried them.
    if (auto r = send(end, msgs[0], fds, d); !r) return BatchSent{.sent = 0, .error = std::move(r)};
    i = 1;
  }
  if (i < msgs.size() && !tx_pending_.empty()) {
    if (auto f = flush_pending(end, d); !f) return BatchSent{.sent = i, .error = std::move(f)};
  }
  const std::size_t atomic = end.atomic_write();
  batch_iov_.resize(2 * kBatchFramesPerWrite);
  batch_headers_.resize(kFrameHeader * kBatchFramesPerWrite);
  while (i < msgs.size()) {
    // Gather the frames for one write: up to the end's atomic size, if it has one (a frame
    // larger than that goes alone, as send() writes it).
    std::size_t count = 0;
    std::size_t total = 0;
    while (i + count < msgs.size() && count < kBatchFramesPerWrite) {
      const auto msg = msgs[i + count];
      if (msg.size() > max_) break;
      const std::size_t frame = kFrameHeader + msg.size();
      if (atomic && count > 0 && total + frame > atomic) break;
      std::byte* header = batch_headers_.data() + count * kFrameHeader;
      store_le32(header, static_cast<std::uint32_t>(msg.size()));
      batch_iov_[2 * count] = {header, kFrameHeader};
      batch_iov_[2 * count + 1] = {const_cast<std::byte*>(msg.data()), msg.size()};
      total += frame;
      ++count;
    }
    if (count == 0) {  // msgs[i] is above the maximum: send() says so, writing nothing
      return BatchSent{.sent = i, .error = send(end, msgs[i], {}, d)};
    }
    std::size_t done = 0;
    std::size_t piece = 0;  // first iovec not yet fully written
    while (done < total) {
      auto n = end.write(std::span<const iovec>(batch_iov_.data() + piece, 2 * count - piece), {}, d);
      if (!n) {
        Error& e = n.error();
        // Frames wholly written, and the one in progress.
        std::size_t whole = 0;
        std::size_t at = 0;
        for (; whole < count; ++whole) {
          const std::size_t frame = kFrameHeader + msgs[i + whole].size();
          if (at + frame > done) break;
          at += frame;
        }
        if (!e.would_block() && !e.timed_out()) return BatchSent{.sent = i + whole, .error = write_failed(end, std::move(e))};
        std::size_t sent = i + whole;
        if (done > at) {
          // Part of frame `whole` is out: keep its rest so the stream stays framed; it counts
          // as sent.
          const std::size_t into = done - at;
          std::byte header[kFrameHeader];
          store_le32(header, static_cast<std::uint32_t>(msgs[sent].size()));
          if (into < kFrameHeader) tx_pending_.insert(tx_pending_.end(), header + into, header + kFrameHeader);
          const std::size_t body_done = into > kFrameHeader ? into - kFrameHeader : 0;
          tx_pending_.insert(tx_pending_.end(), msgs[sent].begin() + static_cast<std::ptrdiff_t>(body_done),
                             msgs[sent].end());
          ++sent;
        }
        return BatchSent{.sent = sent, .error = fail(e.kind(), "send", object_,
                                                     fmt::format("{} of {} messages of the batch written", sent,
                                                                 msgs.size()))};
      }
      done += *n;
      // Step past what went: whole pieces, then into the first that went in part.
      std::size_t left = *n;
      while (left > 0 && left >= batch_iov_[piece].iov_len) {
        left -= batch_iov_[piece].iov_len;
        ++piece;
      }
      if (left > 0) {
        batch_iov_[piece].iov_base = static_cast<std::byte*>(batch_iov_[piece].iov_base) + left;
        batch_iov_[piece].iov_len -= left;
      }
      while (piece < 2 * count && batch_iov_[piece].iov_len == 0 && done < total) ++piece;  // empty bodies
    }
    i += count;
  }
  return BatchSent{.sent = msgs.size(), .error = {}};
}

// ---- PipeEnd ------------------------------------------------------------------------------

namespace {

// Puts `fd` in the mode the deadline waits best in (blocking for never(), else
// non-blocking), if it is not already there.
Result<void> match_mode(int fd, bool& blocking, Deadline d) {
  if (blocking == d.is_never()) return {};
  if (auto r = sys::set_nonblocking(fd, blocking); !r) return r;
  blocking = !blocking;
  return {};
}

}  // namespace

Result<StreamEnd::Chunk> PipeEnd::read(std::span<std::byte> buf, Deadline d) {
  if (auto m = match_mode(rfd_, rblocking_, d); !m) return std::unexpected(std::move(m.error()));
  bool seen_eof = false;
  for (;;) {
    auto n = sys::read(rfd_, buf.data(), buf.size());
    if (n && (*n > 0 || seen_eof)) return Chunk{.size = *n, .fds = {}, .fds_lost = false};
    if (!n && !n.error().would_block()) return std::unexpected(std::move(n.error()));
    if (n) {
      // End of file. A FIFO whose writer has not opened it yet reads so too, but poll()
      // waits for that writer (it reports POLLHUP only once a writer has come and gone).
      // So wait once; a second end of file, or POLLHUP without data, is the writer gone.
      seen_eof = true;
    } else if (d.is_immediate()) {
      return fail(Errc::would_block, "read");
    }
    auto ev = sys::poll_one(rfd_, POLLIN, d);
    if (!ev) return std::unexpected(std::move(ev.error()));
    if (*ev == 0) return fail(d.is_immediate() ? Errc::would_block : Errc::timed_out, "read");
    if (seen_eof && (*ev & POLLHUP) && !(*ev & POLLIN)) return Chunk{};
    // POLLHUP with no data after would-block: the next read returns end of file.
  }
}

std::size_t PipeEnd::atomic_write() const noexcept { return PIPE_BUF; }

Result<std::size_t> PipeEnd::write(std::span<const iovec> pieces, std::span<const int> fds, Deadline d) {
  if (!fds.empty()) return fail(Errc::not_supported, "writev", {}, "descriptors pass only over Unix sockets");
  if (auto m = match_mode(wfd_, wblocking_, d); !m) return std::unexpected(std::move(m.error()));
  for (;;) {
    auto n = sys::writev(wfd_, pieces.data(), static_cast<int>(pieces.size()));
    if (n || !n.error().would_block()) return n;
    if (d.is_immediate()) return fail(Errc::would_block, "writev");
    auto ev = sys::poll_one(wfd_, POLLOUT, d);
    if (!ev) return std::unexpected(std::move(ev.error()));
    if (*ev == 0) return fail(Errc::timed_out, "writev");
  }
}

// ---- FramedStream -------------------------------------------------------------------------

Result<void> FramedStream::send(std::span<const std::byte> msg, Deadline d) {
  if (end_.write_fd() < 0) return fail(Errc::not_supported, "send", codec_.object(), "this end is read-only");
  return codec_.send(end_, msg, {}, d);
}

Result<std::size_t> FramedStream::receive(std::span<std::byte> buf, Deadline d) {
  if (end_.read_fd() < 0) return fail(Errc::not_supported, "receive", codec_.object(), "this end is write-only");
  auto f = codec_.receive(end_, buf, d);
  if (!f) return std::unexpected(std::move(f.error()));
  return f->size;
}

BatchSent FramedStream::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d) {
  if (end_.write_fd() < 0) {
    return BatchSent{.sent = 0, .error = fail(Errc::not_supported, "send", codec_.object(), "this end is read-only")};
  }
  return codec_.send_batch(end_, msgs, {}, d);
}

Result<std::size_t> FramedStream::receive_batch(std::span<std::byte> slots, std::size_t slot,
                                                std::span<FrameCodec::Frame> out, Deadline d) {
  if (end_.read_fd() < 0) return fail(Errc::not_supported, "receive", codec_.object(), "this end is write-only");
  return codec_.receive_batch(end_, slots, slot, out, d);
}

Result<std::vector<std::byte>> FramedStream::receive_message(Deadline d) {
  if (end_.read_fd() < 0) return fail(Errc::not_supported, "receive", codec_.object(), "this end is write-only");
  std::vector<std::byte> out;
  auto f = codec_.receive_message(end_, out, d);
  if (!f) return std::unexpected(std::move(f.error()));
  return out;
}

}  // namespace ipcx::detail
