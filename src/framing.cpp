#include "framing.hpp"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "sys/io.hpp"

namespace ipcx::detail {
namespace {

constexpr std::size_t kRxChunk = 64 * 1024;

std::uint32_t load_le32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint32_t>(p[i]);
  return v;
}

void store_le32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

}  // namespace

FramedStream::FramedStream(int rfd, int wfd, std::size_t max_message, std::string object)
    : rfd_(rfd), wfd_(wfd), max_(std::min<std::size_t>(max_message, UINT32_MAX)), object_(std::move(object)) {}

std::unexpected<Error> FramedStream::broken() const {
  return fail(Errc::corrupt, "receive", object_, broken_);
}

Result<void> FramedStream::fill(Deadline d, std::size_t need) {
  // Make room for `need` bytes from rpos_: compact, then grow if the frame is bigger.
  if (rx_.size() - rpos_ < need) {
    if (rpos_ > 0) {
      std::memmove(rx_.data(), rx_.data() + rpos_, rend_ - rpos_);
      rend_ -= rpos_;
      rpos_ = 0;
    }
    if (rx_.size() < need) rx_.resize(std::max(need, kRxChunk));
  }
  bool seen_eof = false;
  while (rend_ - rpos_ < need) {
    auto n = sys::read(rfd_, rx_.data() + rend_, rx_.size() - rend_);
    if (n && *n > 0) {
      rend_ += *n;
      seen_eof = false;
      continue;
    }
    if (n) {  // EOF
      if (rend_ == rpos_) {
        // A FIFO whose writer has not opened it yet also reads as EOF, but poll() waits
        // for that writer (it reports POLLHUP only once a writer has come and gone). So
        // wait once; a second EOF, or POLLHUP without data, is the writer really gone.
        if (seen_eof) return fail(Errc::peer_gone, "receive", object_, "the writer closed the stream");
        seen_eof = true;
        auto ev = sys::poll_one(rfd_, POLLIN, d);
        if (!ev) return fail(std::move(ev.error()).with_object(object_));
        if (*ev == 0) return fail(d.is_immediate() ? Errc::would_block : Errc::timed_out, "receive");
        if ((*ev & POLLHUP) && !(*ev & POLLIN)) {
          return fail(Errc::peer_gone, "receive", object_, "the writer closed the stream");
        }
        continue;
      }
      broken_ = fmt::format("the peer closed the stream inside a message ({} bytes of a frame arrived, {} expected)",
                            rend_ - rpos_, need);
      return broken();
    }
    if (!n.error().would_block()) return fail(std::move(n.error()).with_object(object_));
    if (d.is_immediate()) return fail(Errc::would_block, "receive");
    auto ev = sys::poll_one(rfd_, POLLIN, d);
    if (!ev) return fail(std::move(ev.error()).with_object(object_));
    if (*ev == 0) return fail(Errc::timed_out, "receive");
    // POLLHUP with no data: the next read returns EOF, handled above.
  }
  return {};
}

Result<std::size_t> FramedStream::frame_length(Deadline d) {
  if (!broken_.empty()) return broken();
  if (rfd_ < 0) return fail(Errc::not_supported, "receive", object_, "this end is write-only");
  if (auto f = fill(d, kFrameHeader); !f) return std::unexpected(std::move(f.error()));
  std::size_t len = load_le32(rx_.data() + rpos_);
  if (len > max_) {
    broken_ = fmt::format("the peer announced a {}-byte message; the maximum is {} bytes", len, max_);
    return broken();
  }
  return len;
}

Result<std::size_t> FramedStream::receive(std::span<std::byte> buf, Deadline d) {
  auto len = frame_length(d);
  if (!len) return len;
  if (*len > buf.size()) {
    return fail(Error::make(Errc::message_too_large, "receive", object_,
                            fmt::format("message of {} bytes > buffer of {} bytes", *len, buf.size()))
                    .with_size(*len));
  }
  if (auto f = fill(d, kFrameHeader + *len); !f) return std::unexpected(std::move(f.error()));
  if (*len > 0) std::memcpy(buf.data(), rx_.data() + rpos_ + kFrameHeader, *len);  // data() may be null when empty
  rpos_ += kFrameHeader + *len;
  if (rpos_ == rend_) {
    rpos_ = rend_ = 0;
    if (rx_.size() > kRxChunk) {  // a big message grew the buffer; give it back
      rx_.resize(kRxChunk);
      rx_.shrink_to_fit();
    }
  }
  return *len;
}

Result<std::vector<std::byte>> FramedStream::receive_message(Deadline d) {
  auto len = frame_length(d);
  if (!len) return std::unexpected(std::move(len.error()));
  std::vector<std::byte> out(*len);
  auto r = receive(out, d);
  if (!r) return std::unexpected(std::move(r.error()));
  return out;
}

Result<void> FramedStream::flush_pending(Deadline d) {
  std::size_t done = 0;
  while (done < tx_pending_.size()) {
    auto n = sys::write(wfd_, tx_pending_.data() + done, tx_pending_.size() - done);
    if (n) {
      done += *n;
      continue;
    }
    if (n.error().code() == EPIPE) return fail(Errc::peer_gone, "send", object_, "the reader closed the stream");
    if (!n.error().would_block()) return fail(std::move(n.error()).with_object(object_));
    auto ev = d.is_immediate() ? Result<short>(0) : sys::poll_one(wfd_, POLLOUT, d);
    if (!ev) return fail(std::move(ev.error()).with_object(object_));
    if (*ev == 0) {
      tx_pending_.erase(tx_pending_.begin(), tx_pending_.begin() + static_cast<std::ptrdiff_t>(done));
      return fail(Errc::timed_out, "send", object_, "the previous message is still being written");
    }
  }
  tx_pending_.clear();
  return {};
}

Result<void> FramedStream::send(std::span<const std::byte> msg, Deadline d) {
  if (wfd_ < 0) return fail(Errc::not_supported, "send", object_, "this end is read-only");
  if (msg.size() > max_) {
    return fail(Error::make(Errc::message_too_large, "send", object_,
                            fmt::format("message of {} bytes > maximum of {} bytes", msg.size(), max_))
                    .with_size(msg.size()));
  }
  if (!tx_pending_.empty()) {
    if (auto f = flush_pending(d); !f) return f;
  }
  std::byte header[kFrameHeader];
  store_le32(header, static_cast<std::uint32_t>(msg.size()));
  const std::size_t total = kFrameHeader + msg.size();
  std::size_t done = 0;
  // One writev for header and payload: a frame of at most PIPE_BUF bytes is then atomic on
  // a pipe, so several writers may share a FIFO for such messages.
  while (done < total) {
    iovec iov[2];
    int cnt = 0;
    if (done < kFrameHeader) {
      iov[cnt++] = {header + done, kFrameHeader - done};
      if (!msg.empty()) iov[cnt++] = {const_cast<std::byte*>(msg.data()), msg.size()};
    } else {
      iov[cnt++] = {const_cast<std::byte*>(msg.data()) + (done - kFrameHeader), total - done};
    }
    auto n = sys::writev(wfd_, iov, cnt);
    if (n) {
      done += *n;
      continue;
    }
    if (n.error().code() == EPIPE) return fail(Errc::peer_gone, "send", object_, "the reader closed the stream");
    if (!n.error().would_block()) return fail(std::move(n.error()).with_object(object_));
    auto ev = d.is_immediate() ? Result<short>(0) : sys::poll_one(wfd_, POLLOUT, d);
    if (!ev) return fail(std::move(ev.error()).with_object(object_));
    if (*ev != 0) continue;
    if (done == 0) return fail(d.is_immediate() ? Errc::would_block : Errc::timed_out, "send");
    // Part of the frame is out: keep the rest so the stream stays framed.
    for (std::size_t i = done; i < total; ++i) {
      tx_pending_.push_back(i < kFrameHeader ? header[i] : msg[i - kFrameHeader]);
    }
    return fail(Errc::timed_out, "send", object_,
                fmt::format("{} of {} bytes written; the rest goes out before the next message", done, total));
  }
  return {};
}

}  // namespace ipcx::detail
