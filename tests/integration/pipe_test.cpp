// SPDX-License-Identifier: MIT
// Anonymous pipes between a parent and a forked child.
#include "ipcx/pipe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <numeric>
#include <string>

#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

using test::pattern;

TEST(Pipe, OrderedMessagesFromChildThenPeerGone) {
  auto p = make_pipe();
  ASSERT_TRUE(p) << p.error().message();
  auto child = Child::spawn([&] {
    p->reader = Channel();
    for (int i = 0; i < 100; ++i) {
      std::string m = "message " + std::to_string(i);
      if (!p->writer.send(as_bytes(m), Deadline::after(5s))) return 1;
    }
    return 0;
  });
  p->writer = Channel();  // only the child writes: its exit is then EOF here
  for (int i = 0; i < 100; ++i) {
    auto m = p->reader.receive_message_for(5s);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->text(), "message " + std::to_string(i));
  }
  auto end = p->reader.receive_message_for(5s);
  ASSERT_FALSE(end);
  EXPECT_TRUE(end.error().peer_gone()) << end.error().message();
  EXPECT_EQ(child.wait(), 0);
}

TEST(Pipe, OneMebibyteMessagesAcrossProcesses) {
  auto p = make_duplex_pipe();
  ASSERT_TRUE(p) << p.error().message();
  auto child = Child::spawn([&] {
    // Echo each message back, so both directions carry 1 MiB frames.
    for (int i = 0; i < 3; ++i) {
      auto m = p->second.receive_message_for(10s);
      if (!m) return 1;
      if (!p->second.send(m->data, Deadline::after(10s))) return 2;
    }
    return 0;
  });
  for (unsigned i = 0; i < 3; ++i) {
    auto data = pattern((1u << 20) + i, i);
    ASSERT_TRUE(p->first.send(data, Deadline::after(10s)));
    auto back = p->first.receive_message_for(10s);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->data, data);
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST(Pipe, ReceiveTimesOutAndTryReceiveWouldBlock) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  std::array<std::byte, 16> buf{};
  auto t0 = Deadline::Clock::now();
  auto r = p->reader.receive_for(buf, 50ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out()) << r.error().message();
  EXPECT_GE(Deadline::Clock::now() - t0, 50ms);
  auto t = p->reader.try_receive(buf);
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().would_block());
}

TEST(Pipe, ShortBufferLeavesMessageQueued) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->writer.send(as_bytes("0123456789")));
  std::array<std::byte, 4> small{};
  auto r = p->reader.receive(small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_EQ(r.error().size(), 10u);
  EXPECT_NE(r.error().message().find("10 bytes > buffer of 4 bytes"), std::string::npos) << r.error().message();
  std::array<std::byte, 10> big{};
  auto ok = p->reader.receive(big);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(as_text(std::span(big).first(ok->size)), "0123456789");
}

TEST(Pipe, ZeroLengthMessagesKeepTheirBoundaries) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->writer.send({}));
  ASSERT_TRUE(p->writer.send(as_bytes("x")));
  auto a = p->reader.receive_message_for(1s);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->data.empty());
  auto b = p->reader.receive_message_for(1s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text(), "x");
}

TEST(Pipe, OversizedSendIsRefusedWithBothSizes) {
  auto p = make_pipe(PipeOptions{.packet = false, .capacity = 0, .max_message_size = 100});
  ASSERT_TRUE(p);
  std::vector<std::byte> big(101);
  auto r = p->writer.send(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_NE(r.error().message().find("101 bytes > maximum of 100"), std::string::npos) << r.error().message();
}

TEST(Pipe, HostileLengthBreaksTheStreamWithoutAllocating) {
  auto p = make_pipe(PipeOptions{.packet = false, .capacity = 0, .max_message_size = 1024});
  ASSERT_TRUE(p);
  // Announce 4 GiB - 1 by writing a raw header on the write end.
  const unsigned char header[4] = {0xff, 0xff, 0xff, 0xff};
  ASSERT_EQ(::write(pipe_ends(p->writer).write, header, 4), 4);
  auto m = p->reader.receive_message_for(1s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), Errc::corrupt);
  EXPECT_NE(m.error().message().find("4294967295-byte message"), std::string::npos) << m.error().message();
  auto again = p->reader.receive_message_for(1s);  // stays broken
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind(), Errc::corrupt);
}

TEST(Pipe, WriterExitInsideAFrameIsAnErrorNotAMessage) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  const unsigned char partial[6] = {10, 0, 0, 0, 'a', 'b'};  // announces 10, sends 2
  ASSERT_EQ(::write(pipe_ends(p->writer).write, partial, sizeof partial), 6);
  p->writer = Channel();
  auto m = p->reader.receive_message_for(1s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), Errc::corrupt);
  EXPECT_NE(m.error().message().find("inside a message"), std::string::npos) << m.error().message();
}

TEST(Pipe, ReaderGoneIsPeerGoneNotSigpipe) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  p->reader = Channel();
  auto r = p->writer.send(as_bytes("nobody"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().peer_gone()) << r.error().message();
}

TEST(Pipe, FullPipeSendTimesOutAndTrySendWouldBlock) {
  auto p = make_pipe(PipeOptions{.packet = false, .capacity = 4096, .max_message_size = 1u << 20});
  ASSERT_TRUE(p) << p.error().message();
  std::vector<std::byte> chunk(1000);
  int sent = 0;
  for (;;) {
    auto r = p->writer.try_send(chunk);
    if (!r) {
      EXPECT_TRUE(r.error().would_block()) << r.error().message();
      break;
    }
    ++sent;
    ASSERT_LT(sent, 100);
  }
  EXPECT_GE(sent, 1);
  auto r = p->writer.send_for(chunk, 30ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  // Everything that was accepted arrives whole.
  for (int i = 0; i < sent; ++i) {
    auto m = p->reader.receive_message_for(1s);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->data.size(), 1000u);
  }
}

TEST(Pipe, TimedOutPartialFrameIsCompletedBeforeTheNextMessage) {
  auto p = make_pipe(PipeOptions{.packet = false, .capacity = 4096, .max_message_size = 1u << 20});
  ASSERT_TRUE(p);
  auto big = pattern(20000, 7);
  auto r = p->writer.send_for(big, 20ms);  // only the pipe's 4 KiB fits
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out());
  EXPECT_NE(r.error().message().find("the rest goes out before the next message"), std::string::npos);
  auto child = Child::spawn([&] {
    p->writer = Channel();
    auto a = p->reader.receive_message_for(5s);
    if (!a || a->data != big) return 1;
    auto b = p->reader.receive_message_for(5s);
    if (!b || b->text() != "next") return 2;
    return 0;
  });
  ASSERT_TRUE(p->writer.send(as_bytes("next"), Deadline::after(5s)));
  EXPECT_EQ(child.wait(), 0);
}

TEST(Pipe, PacketModeKeepsBoundariesWithoutFraming) {
  auto p = make_pipe(PipeOptions{.packet = true});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->reader.max_message_size(), static_cast<std::size_t>(PIPE_BUF));
  ASSERT_TRUE(p->writer.send(as_bytes("abc")));
  ASSERT_TRUE(p->writer.send(as_bytes("defgh")));
  // The raw bytes in the pipe are the messages themselves: a plain read sees one packet.
  char raw[16];
  ASSERT_EQ(::read(pipe_ends(p->reader).read, raw, sizeof raw), 3);
  EXPECT_EQ(std::string(raw, 3), "abc");
  std::array<std::byte, 2> small{};
  auto r = p->reader.receive(small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().size(), 5u);
  auto m = p->reader.receive_message_for(1s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "defgh");
  std::vector<std::byte> too_big(PIPE_BUF + 1);
  auto big = p->writer.send(too_big);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind(), Errc::message_too_large);
  EXPECT_FALSE(p->writer.send({}));
}

TEST(Pipe, CapacityIsApplied) {
  auto p = make_pipe(PipeOptions{.packet = false, .capacity = 1u << 20, .max_message_size = 1u << 20});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(::fcntl(pipe_ends(p->reader).read, F_GETPIPE_SZ), 1 << 20);
}

TEST(Pipe, DefaultCapacityHoldsA64KiBFrame) {
  // 64 KiB and its 4-byte length must fit in one write: 128 KiB unless fs.pipe-max-size is
  // below that (then as much as it allows).
  long max_size = 0;
  {
    std::FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "r");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fscanf(f, "%ld", &max_size), 1);
    std::fclose(f);
  }
  const int want = static_cast<int>(std::min<long>(128 * 1024, max_size));
  auto p = make_duplex_pipe();
  ASSERT_TRUE(p) << p.error().message();
  for (Channel* end : {&p->first, &p->second}) {
    EXPECT_GE(::fcntl(pipe_ends(*end).read, F_GETPIPE_SZ), want);
    EXPECT_GE(::fcntl(pipe_ends(*end).write, F_GETPIPE_SZ), want);
  }
  // A pipe made larger is not shrunk by the default.
  auto big = make_pipe(PipeOptions{.packet = false, .capacity = 1u << 20, .max_message_size = 0});
  ASSERT_TRUE(big) << big.error().message();
  EXPECT_EQ(::fcntl(pipe_ends(big->writer).write, F_GETPIPE_SZ), 1 << 20);
  // Packet mode keeps the kernel's size.
  auto packet = make_pipe(PipeOptions{.packet = true});
  ASSERT_TRUE(packet) << packet.error().message();
  EXPECT_EQ(::fcntl(pipe_ends(packet->reader).read, F_GETPIPE_SZ), 64 * 1024);
}

TEST(Pipe, DeadlinesStayExactAfterAnUntimedWait) {
  // A receive with no deadline blocks in read(2); the timed and try_ calls after it must
  // not (the descriptor goes back to non-blocking), nor a timed send into a full pipe.
  auto p = make_pipe(PipeOptions{.packet = false, .capacity = 4096, .max_message_size = 0});
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_TRUE(p->writer.send(as_bytes("one")));
  std::array<std::byte, 16> b{};
  auto first = p->reader.receive(b);
  ASSERT_TRUE(first) << first.error().message();
  auto empty = p->reader.try_receive(b);
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().would_block()) << empty.error().message();
  auto late = p->reader.receive_for(b, 20ms);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().timed_out()) << late.error().message();
  // Fill the pipe with untimed sends, then a timed one must time out, not block.
  const auto chunk = pattern(1000, 1);
  ASSERT_TRUE(p->writer.send(chunk));
  bool timed_out = false;
  for (int i = 0; i < 16 && !timed_out; ++i) {
    auto s = p->writer.send_for(chunk, 20ms);
    if (!s) {
      EXPECT_TRUE(s.error().timed_out()) << s.error().message();
      timed_out = true;
    }
  }
  EXPECT_TRUE(timed_out) << "a 4 KiB pipe took 17 KB without waiting";
  // And a receive with no deadline still works after the timed calls.
  std::vector<std::byte> buf(2000);
  auto again = p->reader.receive(buf);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->size, 1000u);
}

TEST(Pipe, OneWayEndsRefuseTheOtherDirection) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  auto s = p->reader.send(as_bytes("x"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::not_supported);
  std::array<std::byte, 4> b{};
  auto r = p->writer.try_receive(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::not_supported);
}

TEST(Pipe, PollableDescriptorBecomesReadable) {
  auto p = make_pipe();
  ASSERT_TRUE(p);
  pollfd pfd{p->reader.pollable_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0);
  ASSERT_TRUE(p->writer.send(as_bytes("ping")));
  EXPECT_EQ(::poll(&pfd, 1, 1000), 1);
}

TEST(Pipe, AdoptedDescriptorReadsWhatAnExecdProgramWrites) {
  // The write end is inherited by `sh`, which writes one frame by hand (length 5, "hello"):
  // the wire format is plain enough for any program to speak.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // no O_CLOEXEC on purpose: the child must inherit the write end
  auto ch = adopt_pipe(Fd(fds[0]), Fd());
  ASSERT_TRUE(ch) << ch.error().message();
  auto r = test::run("printf '\\005\\000\\000\\000hello' >&" + std::to_string(fds[1]));
  ::close(fds[1]);
  EXPECT_EQ(r.status, 0) << r.output;
  auto m = ch->receive_message_for(5s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "hello");
  auto end = ch->receive_message_for(5s);
  ASSERT_FALSE(end);
  EXPECT_TRUE(end.error().peer_gone());
}

}  // namespace
}  // namespace ipcx
