// SPDX-License-Identifier: MIT
// libFuzzer: a hostile peer's bytes on a framed stream, through the one frame codec that
// pipes, FIFOs, Unix stream sockets and TCP use. Whatever arrives, the reader returns whole
// messages no larger than its maximum, or an error; never a crash, an over-read, an
// allocation of the announced size, or a descriptor left open.
//
// The input drives three runs:
//  1. The codec fed from a plain buffer (BufferEnd), cut into reads of varying size, some
//     carrying descriptors (or a lost-descriptors mark) as a Unix socket delivers them.
//  2. The codec's writer into a sink that takes a few bytes at a time and sometimes none
//     (partial writes, timeouts mid-frame), with descriptors on some messages; a second
//     codec then decodes what the sink took: every message the writer accepted comes back
//     whole, in order, with its descriptors.
//  3. The bytes written into a real socketpair (sendmsg, with descriptors on some writes),
//     read by the stream socket channel itself: the code that faces the network.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "framing.hpp"
#include "socket_channel.hpp"

namespace {

using ipcx::Deadline;
using ipcx::Errc;
using ipcx::Fd;
using ipcx::Result;
using ipcx::detail::FrameCodec;
using ipcx::detail::StreamEnd;

#define CHECK(c) \
  do {           \
    if (!(c)) __builtin_trap(); \
  } while (0)

// Choices taken from the input's first bytes (a fixed stream of them per input).
class Choices {
 public:
  explicit Choices(std::uint64_t seed) : s_(seed | 1) {}
  std::size_t below(std::size_t n) {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return n ? static_cast<std::size_t>(s_ % n) : 0;
  }

 private:
  std::uint64_t s_;
};

// Descriptors the run made, all of which must be closed when the run ends.
struct Descriptors {
  std::vector<int> made;
  Fd make() {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) made.push_back(fd);
    return Fd(fd);
  }
  void check_all_closed() const {
    for (int fd : made) CHECK(::fcntl(fd, F_GETFD) == -1);
  }
};

// Reads the input in pieces; a piece may carry descriptors. At the end: end of stream, or
// would_block (the peer is still there).
class BufferEnd final : public StreamEnd {
 public:
  struct Mark {
    std::size_t at;  // the first byte of the write that carried them
    std::size_t end;  // and its end: a read stops there
    int count;
    bool lost;
  };
  BufferEnd(std::span<const std::byte> bytes, std::vector<Mark> marks, bool closed, Choices& c, Descriptors& fds)
      : StreamEnd(Names{"the peer", "the peer", "buffer", nullptr}),
        bytes_(bytes), marks_(std::move(marks)), closed_(closed), c_(c), fds_(fds) {}

  Result<Chunk> read(std::span<std::byte> buf, Deadline) override {
    if (pos_ == bytes_.size()) {
      if (closed_) return Chunk{};
      return ipcx::fail(Errc::would_block, "read");
    }
    std::size_t n = std::min({buf.size(), bytes_.size() - pos_, 1 + c_.below(3000)});
    Chunk out;
    // As a Unix stream socket: a read ends with the write that carried descriptors, and a
    // read that reaches such a write gets them.
    for (const Mark& m : marks_) {
      if (m.end <= pos_) continue;
      if (m.at < pos_ + n) {
        n = std::min(n, m.end - pos_);
        if (m.at >= pos_) {
          for (int i = 0; i < m.count; ++i) out.fds.push_back(fds_.make());
          out.fds_lost = m.lost;
        }
      }
      break;
    }
    std::memcpy(buf.data(), bytes_.data() + pos_, n);
    pos_ += n;
    out.size = n;
    return out;
  }
  Result<std::size_t> write(std::span<const iovec>, std::span<const int>, Deadline) override {
    return ipcx::fail(Errc::not_supported, "write");
  }

 private:
  std::span<const std::byte> bytes_;
  std::vector<Mark> marks_;
  bool closed_;
  Choices& c_;
  Descriptors& fds_;
  std::size_t pos_ = 0;
};

// Takes a few bytes per write, sometimes none (would_block), and notes where descriptors came.
class SinkEnd final : public StreamEnd {
 public:
  explicit SinkEnd(Choices& c) : StreamEnd(Names{"the peer", "the peer", "buffer", nullptr}), c_(c) {}

  Result<Chunk> read(std::span<std::byte>, Deadline) override { return ipcx::fail(Errc::not_supported, "read"); }
  Result<std::size_t> write(std::span<const iovec> pieces, std::span<const int> fds, Deadline) override {
    std::size_t room = unlimited_ ? SIZE_MAX : c_.below(4) == 0 ? 0 : 1 + c_.below(200);
    if (room == 0) return ipcx::fail(Errc::would_block, "write");
    const std::size_t start = bytes.size();
    for (const iovec& p : pieces) {
      const std::size_t n = std::min(room, p.iov_len);
      const auto* b = static_cast<const std::byte*>(p.iov_base);
      bytes.insert(bytes.end(), b, b + n);
      room -= n;
      if (room == 0) break;
    }
    if (!fds.empty()) marks.push_back({start, bytes.size(), static_cast<int>(fds.size()), false});
    return bytes.size() - start;
  }
  void unlimited() { unlimited_ = true; }

  std::vector<std::byte> bytes;
  std::vector<BufferEnd::Mark> marks;

 private:
  Choices& c_;
  bool unlimited_ = false;
};

// Nothing more to read now, the peer gone, the stream broken, a message whose descriptors
// were lost (EMFILE), or a listener's refusal (EACCES).
bool is_error_a_reader_may_end_on(const ipcx::Error& e) {
  return e.would_block() || e.peer_gone() || e.kind() == Errc::corrupt || e.code() == EMFILE || e.code() == EACCES;
}

// Reads with the three receive calls in turn until the stream ends; checks every result.
template <typename Receive, typename ReceiveMessage>
void drain(std::size_t max, Choices& c, Receive receive, ReceiveMessage receive_message) {
  std::vector<std::byte> buf;
  for (int i = 0; i < 2000; ++i) {
    const std::size_t op = c.below(3);
    if (op == 2) {
      auto m = receive_message();
      if (m) {
        CHECK(m->size() <= max);
        continue;
      }
      CHECK(is_error_a_reader_may_end_on(m.error()));
      if (m.error().code() == EMFILE) continue;  // descriptors lost: that message is dropped
      if (m.error().kind() == Errc::corrupt || m.error().code() == EACCES) {
        auto again = receive_message();  // a broken stream stays broken, with the same error
        CHECK(!again && again.error().kind() == m.error().kind() && again.error().code() == m.error().code());
      }
      return;
    }
    buf.resize(op == 0 ? c.below(32) : max);
    auto r = receive(std::span<std::byte>(buf));
    if (r) {
      CHECK(*r <= buf.size() && *r <= max);
      continue;
    }
    if (r.error().kind() == Errc::message_too_large) {
      CHECK(r.error().size() > buf.size() && r.error().size() <= max);
      continue;
    }
    CHECK(is_error_a_reader_may_end_on(r.error()));
    if (r.error().code() == EMFILE) continue;
    return;
  }
}

constexpr std::size_t kMaxes[] = {0, 1, 16, 100, 1024, 4096};

// 1. Decoding a hostile buffer.
void decode_buffer(std::span<const std::byte> bytes, Choices& c) {
  Descriptors made;
  {
    std::vector<BufferEnd::Mark> marks;
    for (std::size_t at = c.below(64); at < bytes.size(); at += 1 + c.below(bytes.size())) {
      const std::size_t end = std::min(bytes.size(), at + 1 + c.below(64));
      marks.push_back({at, end, 1 + static_cast<int>(c.below(3)), c.below(8) == 0});
      at = end;
    }
    const std::size_t max = kMaxes[c.below(std::size(kMaxes))];
    BufferEnd end(bytes, std::move(marks), c.below(2) == 0, c, made);
    FrameCodec codec(max, "fuzz");
    drain(
        max, c,
        [&](std::span<std::byte> buf) -> Result<std::size_t> {
          auto f = codec.receive(end, buf, Deadline::immediate());
          if (!f) return std::unexpected(f.error());
          return f->size;
        },
        [&]() -> Result<std::vector<std::byte>> {
          std::vector<std::byte> data;
          auto f = codec.receive_message(end, data, Deadline::immediate());
          if (!f) return std::unexpected(f.error());
          CHECK(data.size() == f->size);
          return data;
        });
  }
  made.check_all_closed();
}

// 2. What the writer puts out decodes to what it accepted.
void round_trip(std::span<const std::byte> bytes, Choices& c) {
  Descriptors made;
  {
    constexpr std::size_t kMax = 1024;
    SinkEnd sink(c);
    FrameCodec writer(kMax, "fuzz");
    struct Sent {
      std::span<const std::byte> msg;
      std::size_t fds;
    };
    std::vector<Sent> accepted;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      const std::size_t n = std::min(bytes.size() - pos, c.below(kMax + 200));
      auto msg = bytes.subspan(pos, n);
      pos += n;
      std::vector<Fd> owned;
      std::vector<int> fds;
      for (std::size_t k = c.below(4) == 0 ? 1 + c.below(3) : 0; k > 0; --k) {
        owned.push_back(made.make());
        fds.push_back(owned.back().get());
      }
      auto r = writer.send(sink, msg, fds, Deadline::immediate());
      if (r) {
        accepted.push_back({msg, fds.size()});
        continue;
      }
      const ipcx::Error& e = r.error();
      if (e.kind() == Errc::message_too_large) {
        CHECK(n > kMax);
        continue;
      }
      CHECK(e.would_block() || e.timed_out());
      // Part of the frame went: the rest goes before the next message.
      if (e.detail().find("the rest goes out") != std::string::npos) accepted.push_back({msg, fds.size()});
    }
    sink.unlimited();
    CHECK(writer.send(sink, {}, {}, Deadline::immediate()));
    accepted.push_back({{}, 0});

    // Each set of descriptors stands for the ones the kernel would deliver: new ones.
    BufferEnd source(sink.bytes, sink.marks, true, c, made);
    FrameCodec reader(kMax, "fuzz");
    for (const Sent& s : accepted) {
      std::vector<std::byte> data;
      auto f = reader.receive_message(source, data, Deadline::immediate());
      CHECK(f);
      CHECK(data.size() == s.msg.size() && std::equal(data.begin(), data.end(), s.msg.begin()));
      CHECK(f->fds.size() == s.fds && !f->fds_lost);
    }
    std::vector<std::byte> none;
    auto end = reader.receive_message(source, none, Deadline::immediate());
    CHECK(!end && end.error().peer_gone());
  }
  made.check_all_closed();
}

// 3. The same hostile bytes through a socketpair, read by the stream socket channel.
void through_socket(std::span<const std::byte> bytes, Choices& c) {
  Descriptors made;
  {
    auto pair = ipcx::Socket::pair(ipcx::SocketType::stream);
    if (!pair) return;
    // Large enough for the whole input with its descriptors: nothing here waits.
    (void)pair->first.set_send_buffer(1 << 20);
    (void)pair->second.set_receive_buffer(1 << 20);
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      const std::size_t n = std::min(bytes.size() - pos, 1 + c.below(2000));
      std::vector<Fd> owned;
      std::vector<int> fds;
      for (std::size_t k = c.below(4) == 0 ? 1 + c.below(3) : 0; k > 0; --k) {
        owned.push_back(made.make());
        fds.push_back(owned.back().get());
      }
      auto s = pair->first.send(bytes.subspan(pos, n), Deadline::immediate(), fds);
      if (!s) break;
      pos += *s;
    }
    if (c.below(2) == 0) pair->first = ipcx::Socket();  // the peer goes: end of stream after the bytes
    const std::size_t max = kMaxes[c.below(std::size(kMaxes))];
    const bool connecting = c.below(2) == 0;  // a client reads its listener's refusal
    ipcx::detail::StreamSocketChannel ch(std::move(pair->second), false, max, "fuzz", connecting, std::nullopt);
    drain(
        max, c,
        [&](std::span<std::byte> buf) -> Result<std::size_t> {
          auto r = ch.receive(buf, Deadline::immediate(), {});
          if (!r) return std::unexpected(r.error());
          return r->size;
        },
        [&]() -> Result<std::vector<std::byte>> {
          auto m = ch.receive_message(Deadline::immediate(), {});
          if (!m) return std::unexpected(m.error());
          return m->data;
        });
  }
  made.check_all_closed();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8 || size > 60000) return 0;
  std::uint64_t seed = 0;
  std::memcpy(&seed, data, 8);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 8, size - 8);
  Choices c(seed);
  decode_buffer(bytes, c);
  round_trip(bytes, c);
  through_socket(bytes, c);
  return 0;
}
