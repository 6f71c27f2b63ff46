// SPDX-License-Identifier: MIT
// Named pipes: two processes opening the same fifo:// URL.
#include "ipcx/fifo.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "ipcx/pipe.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(Fifo, TwoProcessesOrderedThenPeerGoneAndRemovedByCreator) {
  const std::string path = test::unique_path("fifo");
  const std::string url = "fifo://" + path + "?remove=1";
  auto reader = Channel::open(url);
  ASSERT_TRUE(reader) << reader.error().message();
  ASSERT_TRUE(exists(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);  // owner-only by default
  auto child = Child::spawn([&] {
    auto w = Channel::open("fifo://" + path);  // opens the existing FIFO; not its creator
    if (!w) return 1;
    for (int i = 0; i < 50; ++i) {
      if (!w->send(as_bytes(fmt::format("m{}", i)), Deadline::after(5s))) return 2;
    }
    return 0;
  });
  for (int i = 0; i < 50; ++i) {
    auto m = reader->receive_message_for(5s);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->text(), fmt::format("m{}", i));
  }
  auto end = reader->receive_message_for(5s);
  ASSERT_FALSE(end);
  EXPECT_TRUE(end.error().peer_gone()) << end.error().message();
  EXPECT_EQ(child.wait(), 0);
  *reader = Channel();
  EXPECT_FALSE(exists(path)) << "the creator asked for removal";
}

TEST(Fifo, ReaderWaitsForAWriterThatHasNotOpenedYet) {
  // A FIFO read end with no writer reads as EOF; ipcx must wait for the writer instead.
  const std::string path = test::unique_path("fifo");
  auto reader = Channel::open("fifo://" + path + "?remove=1");
  ASSERT_TRUE(reader);
  std::array<std::byte, 8> b{};
  auto none = reader->receive_for(b, 20ms);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().timed_out()) << none.error().message();
  auto child = Child::spawn([&] {
    auto w = Channel::open("fifo://" + path);
    return w && w->send(as_bytes("late"), Deadline::after(5s)) ? 0 : 1;
  });
  auto m = reader->receive_message_for(5s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "late");
  EXPECT_EQ(child.wait(), 0);
}

TEST(Fifo, OneMebibyteMessages) {
  const std::string path = test::unique_path("fifo");
  auto reader = Channel::open("fifo://" + path + "?remove=1&capacity=64k");
  ASSERT_TRUE(reader) << reader.error().message();
  std::vector<std::byte> data(1u << 20);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i % 251);
  auto child = Child::spawn([&] {
    auto w = Channel::open("fifo://" + path);
    if (!w) return 1;
    for (int i = 0; i < 4; ++i) {
      if (!w->send(data, Deadline::after(10s))) return 2;
    }
    return 0;
  });
  for (int i = 0; i < 4; ++i) {
    auto m = reader->receive_message_for(10s);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->data, data);
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST(Fifo, SendWithNoReaderWouldBlockOrTimesOut) {
  const std::string path = test::unique_path("fifo");
  auto w = Channel::open("fifo://" + path + "?remove=1");
  ASSERT_TRUE(w);
  auto t = w->try_send(as_bytes("x"));
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().would_block());
  EXPECT_NE(t.error().message().find("no reader"), std::string::npos) << t.error().message();
  auto d = w->send_for(as_bytes("x"), 30ms);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().timed_out());
  EXPECT_NE(d.error().message().find("no reader"), std::string::npos) << d.error().message();
}

TEST(Fifo, SenderWaitsForAReaderWithinItsDeadline) {
  const std::string path = test::unique_path("fifo");
  auto w = Channel::open("fifo://" + path + "?remove=1");
  ASSERT_TRUE(w);
  auto child = Child::spawn([&] {
    auto r = Channel::open("fifo://" + path);
    if (!r) return 1;
    auto m = r->receive_message_for(10s);
    return m && m->text() == "waited" ? 0 : 2;
  });
  auto s = w->send(as_bytes("waited"), Deadline::after(10s));
  EXPECT_TRUE(s) << s.error().message();
  EXPECT_EQ(child.wait(), 0);
}

TEST(Fifo, ReaderExitIsPeerGoneForTheWriter) {
  const std::string path = test::unique_path("fifo");
  auto w = Channel::open("fifo://" + path + "?remove=1");
  ASSERT_TRUE(w);
  auto child = Child::spawn([&] {
    auto r = Channel::open("fifo://" + path);
    if (!r) return 1;
    auto m = r->receive_message_for(10s);
    return m ? 0 : 2;  // reads one message, then exits
  });
  ASSERT_TRUE(w->send(as_bytes("one"), Deadline::after(10s)));
  ASSERT_EQ(child.wait(), 0);
  auto s = w->send(as_bytes("two"), Deadline::after(1s));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().peer_gone()) << s.error().message();
}

TEST(Fifo, ModeOptionIsExactDespiteUmask) {
  const std::string path = test::unique_path("fifo");
  mode_t old = ::umask(077);
  auto ch = Channel::open("fifo://" + path + "?mode=0660&remove=1");
  ::umask(old);
  ASSERT_TRUE(ch) << ch.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST(Fifo, BadInputsAreClearErrors) {
  const std::string path = test::unique_path("regular");
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  auto notfifo = Channel::open("fifo://" + path);
  ASSERT_FALSE(notfifo);
  EXPECT_NE(notfifo.error().message().find("not a FIFO"), std::string::npos) << notfifo.error().message();
  ::unlink(path.c_str());

  auto missing = Channel::open("fifo://" + test::unique_path("absent") + "?create=0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT) << missing.error().message();

  auto unknown = Channel::open("fifo://" + test::unique_path("x") + "?colour=blue");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind(), Errc::bad_url);
  EXPECT_NE(unknown.error().message().find("unknown option 'colour'"), std::string::npos);

  auto dots = Channel::open("fifo:///tmp/../etc/passwd");
  ASSERT_FALSE(dots);
  EXPECT_EQ(dots.error().kind(), Errc::bad_url);

  auto bad_mode = Channel::open("fifo://" + test::unique_path("x") + "?mode=rw");
  ASSERT_FALSE(bad_mode);
  EXPECT_NE(bad_mode.error().message().find("mode='rw'"), std::string::npos);
}

TEST(Fifo, PendingSchemesAndNonChannelsAreClearErrors) {
  auto obj = Channel::open("posixshm:///seg");
  ASSERT_FALSE(obj);
  EXPECT_NE(obj.error().message().find("not a channel"), std::string::npos) << obj.error().message();
  auto listen = Listener::listen("fifo:///tmp/x");
  ASSERT_FALSE(listen);
  EXPECT_NE(listen.error().message().find("not connection-oriented"), std::string::npos);
}

TEST(Fifo, SeveralWritersInterleaveWholeSmallMessages) {
  // Frames up to PIPE_BUF are atomic: two writers never split each other's messages.
  // Both writers hold the FIFO open before either sends the bulk: if one could finish and
  // close before the other opened, the reader would rightly see every writer gone.
  const std::string path = test::unique_path("fifo");
  auto reader = Channel::open("fifo://" + path + "?remove=1");
  ASSERT_TRUE(reader);
  ASSERT_NE(reader->pollable_fd(), -1);  // opens the read end now, so writers can open
  test::Gate go;
  auto writer = [&](char tag) {
    return Child::spawn([&, tag] {
      auto w = Channel::open("fifo://" + path);
      if (!w) return 1;
      std::string msg(4000, tag);
      if (!w->send(as_bytes(msg), Deadline::after(10s))) return 2;  // opens the write end
      if (go.wait() != 'x') return 3;
      for (int i = 1; i < 200; ++i) {
        if (!w->send(as_bytes(msg), Deadline::after(10s))) return 2;
      }
      return 0;
    });
  };
  auto a = writer('a');
  auto b = writer('b');
  int counts[2] = {0, 0};
  for (int i = 0; i < 400; ++i) {
    if (i == 2) {  // one message from each: both write ends are open
      ASSERT_EQ(counts[0], 1);
      ASSERT_EQ(counts[1], 1);
      go.open();
      go.open();
    }
    auto m = reader->receive_message_for(10s);
    ASSERT_TRUE(m) << "message " << i << ": " << m.error().message();
    ASSERT_EQ(m->data.size(), 4000u);
    const char tag = m->text()[0];
    ASSERT_TRUE(tag == 'a' || tag == 'b');
    EXPECT_EQ(m->text().find_first_not_of(tag), std::string_view::npos) << "a message was split";
    ++counts[tag - 'a'];
  }
  EXPECT_EQ(counts[0], 200);
  EXPECT_EQ(counts[1], 200);
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);
  // Both writers have closed: the reader is told so.
  auto gone = reader->receive_message_for(10s);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind(), Errc::peer_gone) << gone.error().message();
}

}  // namespace
}  // namespace ipcx
