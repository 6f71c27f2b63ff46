// SPDX-License-Identifier: MIT
// POSIX message queues: the PosixMq wrapper and the posixmq:// Channel, across two real
// processes. Every queue is unlinked and its absence asserted.
#include "ipcx/posix_mq.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/mq_test_support.hpp"
#include "ipcx/channel.hpp"
#include "kernel_limits.hpp"
#include "support/test_support.hpp"

#if defined(__SANITIZE_THREAD__)
#define IPCX_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCX_TEST_TSAN 1
#endif
#endif
#ifndef IPCX_TEST_TSAN
#define IPCX_TEST_TSAN 0
#endif

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::MqNameGuard;
using test::posix_mq_exists;

PosixMqOptions create_opts(long maxmsg = 8, long msgsize = 128) {
  PosixMqOptions o;
  o.create = true;
  o.maxmsg = maxmsg;
  o.msgsize = msgsize;
  return o;
}

PosixMqOptions open_opts() { return PosixMqOptions{}; }

std::string text_of(std::span<const std::byte> b, std::size_t n) { return std::string(as_text(b.first(n))); }

TEST(PosixMq, OpenCreateExclusiveModeAttributesAndUnlink) {
  MqNameGuard g(test::unique_posix_name("open"));
  auto missing = PosixMq::open(g.name(), open_opts());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().message().find("create=1"), std::string::npos) << missing.error().message();

  mode_t old_umask = ::umask(077);  // the mode must be applied exactly, whatever the umask
  auto o = create_opts(4, 100);
  o.mode = 0640;
  auto q = PosixMq::open(g.name(), o);
  ::umask(old_umask);
  ASSERT_TRUE(q) << q.error().message();
  EXPECT_TRUE(q->created());
  struct stat st {};
  ASSERT_EQ(::fstat(q->fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(::fcntl(q->fd(), F_GETFD) & FD_CLOEXEC);
  auto a = q->attributes();
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->maxmsg, 4);
  EXPECT_EQ(a->msgsize, 100);
  EXPECT_EQ(a->curmsgs, 0);
  EXPECT_FALSE(a->nonblocking);

  auto excl = create_opts(4, 100);
  excl.exclusive = true;
  auto again = PosixMq::open(g.name(), excl);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), EEXIST);
  EXPECT_NE(again.error().message().find("O_EXCL"), std::string::npos);

  auto shared = PosixMq::open(g.name(), create_opts(9, 999));  // exists: attributes ignored
  ASSERT_TRUE(shared) << shared.error().message();
  EXPECT_FALSE(shared->created());
  EXPECT_EQ(shared->msgsize(), 100);

  auto nb = open_opts();
  nb.nonblocking = true;
  nb.access = MqAccess::read;
  auto reader = PosixMq::open(g.name(), nb);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_TRUE(reader->attributes()->nonblocking);
  auto wrong = reader->send(as_bytes("x"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), EBADF);
  EXPECT_NE(wrong.error().message().find("not opened for writing"), std::string::npos);

  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
  // Descriptors outlive the name: the queue still works through them.
  ASSERT_TRUE(q->send(as_bytes("after unlink")));
  std::array<std::byte, 100> buf{};
  auto r = shared->receive(buf);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(text_of(buf, r->size), "after unlink");
  auto unlink_again = PosixMq::unlink(g.name());
  ASSERT_FALSE(unlink_again);
  EXPECT_EQ(unlink_again.error().code(), ENOENT);
}

TEST(PosixMq, OnlyTheCreatorUnlinksAndKeepLeavesTheName) {
  MqNameGuard g(test::unique_posix_name("owns"));
  {
    auto q = PosixMq::open(g.name(), create_opts());
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_TRUE(q->owns());
    {
      auto opened = PosixMq::open(g.name(), open_opts());
      ASSERT_TRUE(opened) << opened.error().message();
      EXPECT_FALSE(opened->owns());
    }
    EXPECT_TRUE(posix_mq_exists(g.name()));  // the handle that only opened it unlinked nothing
  }
  EXPECT_FALSE(posix_mq_exists(g.name()));  // the creator's handle took the name with it

  auto kept = PosixMq::open(g.name(), create_opts());
  ASSERT_TRUE(kept) << kept.error().message();
  kept->keep();
  EXPECT_FALSE(kept->owns());
  *kept = PosixMq();
  EXPECT_TRUE(posix_mq_exists(g.name()));
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMq, DefaultModeIsOwnerOnly) {
  MqNameGuard g(test::unique_posix_name("mode"));
  mode_t old_umask = ::umask(0);
  auto q = PosixMq::open(g.name(), create_opts());
  ::umask(old_umask);
  ASSERT_TRUE(q) << q.error().message();
  struct stat st {};
  ASSERT_EQ(::fstat(q->fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMq, NamesAreValidated) {
  const std::string too_long = "/" + std::string(300, 'x');
  for (std::string bad : std::vector<std::string>{"", "/", "noslash", "/a/b", "/..", too_long}) {
    auto q = PosixMq::open(bad, create_opts());
    ASSERT_FALSE(q) << bad;
    EXPECT_EQ(q.error().kind(), Errc::invalid_argument) << bad;
    EXPECT_FALSE(PosixMq::unlink(bad)) << bad;
  }
  auto url = Channel::open("posixmq:///a/b");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().kind(), Errc::bad_url);
}

TEST(PosixMq, HighestPriorityFirstFifoWithinPriorityAcrossProcesses) {
  MqNameGuard g(test::unique_posix_name("prio"));
  auto q = PosixMq::open(g.name(), create_opts(8, 64));
  ASSERT_TRUE(q) << q.error().message();
  const long top = posix_mq_limits().prio_max - 1;
  ASSERT_EQ(top, 32767);
  auto child = Child::spawn([&] {
    auto w = PosixMq::open(g.name(), open_opts());
    if (!w) return 1;
    const std::pair<const char*, unsigned> msgs[] = {{"a1", 1}, {"b5", 5}, {"c1", 1}, {"d5", 5}, {"e0", 0},
                                                     {"f-top", static_cast<unsigned>(top)}, {"g0", 0}};
    for (auto [text, prio] : msgs) {
      if (!w->send(as_bytes(text), prio)) return 2;
    }
    return 0;
  });
  ASSERT_EQ(child.wait(), 0);
  EXPECT_EQ(*q->depth_guess(), 7);
  const std::pair<const char*, unsigned> want[] = {{"f-top", static_cast<unsigned>(top)}, {"b5", 5}, {"d5", 5},
                                                   {"a1", 1}, {"c1", 1}, {"e0", 0}, {"g0", 0}};
  std::array<std::byte, 64> buf{};
  for (auto [text, prio] : want) {
    auto r = q->try_receive(buf);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(text_of(buf, r->size), text);
    EXPECT_EQ(r->priority, prio);
  }
  auto bad = q->send(as_bytes("x"), static_cast<unsigned>(top) + 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), Errc::invalid_argument);
  EXPECT_NE(bad.error().message().find("MQ_PRIO_MAX"), std::string::npos);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMq, TryAndDeadlinesOnEmptyAndFullQueues) {
  MqNameGuard g(test::unique_posix_name("deadline"));
  auto q = PosixMq::open(g.name(), create_opts(2, 32));
  ASSERT_TRUE(q) << q.error().message();
  std::array<std::byte, 32> buf{};

  auto empty = q->try_receive(buf);
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().would_block());
  auto t0 = std::chrono::steady_clock::now();
  auto late = q->receive_for(buf, 30ms);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().timed_out()) << late.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);

  ASSERT_TRUE(q->try_send(as_bytes("1")));
  ASSERT_TRUE(q->try_send(as_bytes("2")));
  auto full = q->try_send(as_bytes("3"));
  ASSERT_FALSE(full);
  EXPECT_TRUE(full.error().would_block());
  t0 = std::chrono::steady_clock::now();
  auto full_late = q->send_for(as_bytes("3"), 0, 30ms);
  ASSERT_FALSE(full_late);
  EXPECT_TRUE(full_late.error().timed_out()) << full_late.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);

  // A sender waiting on a full queue goes through when another process makes room, and a
  // receiver waiting on an empty queue gets what another process sends (on a second queue,
  // so that parent and child never race for the same message).
  MqNameGuard reply_name(test::unique_posix_name("deadline-reply"));
  auto reply = PosixMq::open(reply_name.name(), create_opts(2, 32));
  ASSERT_TRUE(reply) << reply.error().message();
  auto child = Child::spawn([&] {
    auto r = PosixMq::open(g.name(), open_opts());
    auto out = PosixMq::open(reply_name.name(), open_opts());
    if (!r || !out) return 1;
    std::array<std::byte, 32> b{};
    for (const char* want : {"1", "2", "3"}) {  // the first makes room for the parent's third
      auto m = r->receive(b);
      if (!m || text_of(b, m->size) != want) return 2;
    }
    return out->send(as_bytes("from child"), 3) ? 0 : 3;
  });
  ASSERT_TRUE(q->send_for(as_bytes("3"), 0, 10s));
  auto got = reply->receive_for(buf, 10s);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(text_of(buf, got->size), "from child");
  EXPECT_EQ(got->priority, 3u);
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  ASSERT_TRUE(PosixMq::unlink(reply_name.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
  EXPECT_FALSE(posix_mq_exists(reply_name.name()));
}

TEST(PosixMq, ReceiveBufferIsCheckedAgainstMsgsize) {
  MqNameGuard g(test::unique_posix_name("bufsize"));
  auto q = PosixMq::open(g.name(), create_opts(4, 64));
  ASSERT_TRUE(q) << q.error().message();
  ASSERT_TRUE(q->send(as_bytes("tiny")));
  std::array<std::byte, 63> small{};
  auto r = q->receive(small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_EQ(r.error().size(), 64u);
  EXPECT_NE(r.error().message().find("mq_msgsize 64"), std::string::npos) << r.error().message();
  EXPECT_EQ(*q->depth_guess(), 1);  // nothing was taken

  std::vector<std::byte> big(65, std::byte{'x'});
  auto s = q->send(big);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::message_too_large);
  EXPECT_EQ(s.error().size(), 65u);
  ASSERT_TRUE(q->send(std::span<const std::byte>(big).first(64)));  // exactly mq_msgsize fits
  ASSERT_TRUE(q->send({}));                                         // and so does nothing at all

  std::array<std::byte, 64> ok{};
  EXPECT_EQ(q->receive(ok)->size, 4u);
  EXPECT_EQ(q->receive(ok)->size, 64u);
  EXPECT_EQ(q->receive(ok)->size, 0u);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMq, SetattrTogglesNonblockAndCurmsgsIsTheDepth) {
  MqNameGuard g(test::unique_posix_name("attr"));
  auto q = PosixMq::open(g.name(), create_opts(4, 16));
  ASSERT_TRUE(q) << q.error().message();
  auto before = q->set_nonblocking(true);
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_FALSE(before->nonblocking);
  EXPECT_TRUE(q->attributes()->nonblocking);

  // Raw calls on the descriptor now fail at once ...
  char raw[16];
  errno = 0;
  EXPECT_EQ(::mq_receive(q->descriptor(), raw, sizeof raw, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  // ... while ipcx's deadline still decides how long a call waits.
  std::array<std::byte, 16> buf{};
  auto t0 = std::chrono::steady_clock::now();
  auto r = q->receive_for(buf, 20ms);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().timed_out()) << r.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_TRUE(q->try_receive(buf).error().would_block());

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q->send(as_bytes("m")));
  EXPECT_EQ(*q->depth_guess(), 3);
  EXPECT_EQ(q->attributes()->curmsgs, 3);
  auto was = q->set_nonblocking(false);
  ASSERT_TRUE(was);
  EXPECT_TRUE(was->nonblocking);
  EXPECT_EQ(was->curmsgs, 3);
  EXPECT_FALSE(q->attributes()->nonblocking);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

// mq_receive interrupted by a handler installed without SA_RESTART returns EINTR; ipcx
// retries, so the caller gets the message.
TEST(PosixMq, SignalsDoNotSurfaceAsErrors) {
#if IPCX_TEST_TSAN
  GTEST_SKIP() << "TSan defers signal handlers to its own interception points; mq_timedreceive is not one, "
                  "so the handler that reports the interruption would not run while ipcx retries the call";
#endif
  MqNameGuard g(test::unique_posix_name("eintr"));
  auto q = PosixMq::open(g.name(), create_opts(4, 32));
  ASSERT_TRUE(q) << q.error().message();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto child = Child::spawn([&] {
    test::install_interrupting_handler(fds[1]);
    auto r = PosixMq::open(g.name(), open_opts());
    if (!r) return 1;
    std::array<std::byte, 32> b{};
    auto m = r->receive(b);  // blocking mq_receive, interrupted once
    if (!m) {
      std::fprintf(stderr, "%s\n", m.error().message().c_str());
      return 2;
    }
    return text_of(b, m->size) == "after signal" ? 0 : 3;
  });
  ::close(fds[1]);
  if (test::current_syscall(child.pid()) == -2) GTEST_SKIP() << "/proc/PID/syscall is not readable here";
  ASSERT_TRUE(test::wait_in_syscall(child.pid(), {SYS_mq_timedreceive})) << "the child never blocked";
  ASSERT_EQ(::kill(child.pid(), SIGUSR1), 0);
  pollfd p{fds[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);  // the handler ran: the call returned EINTR
  ::close(fds[0]);
  ASSERT_TRUE(q->send(as_bytes("after signal")));
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMq, DescriptorIsPollable) {
  MqNameGuard g(test::unique_posix_name("poll"));
  auto ch = Channel::open(fmt::format("posixmq://{}?maxmsg=1&msgsize=16&unlink=1", g.name()));
  ASSERT_TRUE(ch) << ch.error().message();
  PosixMq* q = posix_mq(*ch);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(ch->pollable_fd(), q->fd());
  pollfd p{ch->pollable_fd(), POLLIN | POLLOUT, 0};
  ASSERT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLOUT);  // empty: writable, not readable

  auto child = Child::spawn([&] {
    auto w = Channel::open(fmt::format("posixmq://{}", g.name()));
    return w && w->send(as_bytes("wake")) ? 0 : 1;
  });
  p = {ch->pollable_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  EXPECT_EQ(child.wait(), 0);
  p = {ch->pollable_fd(), POLLOUT, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // full (maxmsg=1): not writable
  auto m = ch->try_receive_message();
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "wake");
  *ch = Channel();  // created with unlink=1: gone on close
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

// Collects callback runs for the notify tests.
struct Calls {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void hit() {
    std::lock_guard l(mu);
    ++count;
    cv.notify_all();
  }
  bool wait_for_count(int n) {
    std::unique_lock l(mu);
    return cv.wait_for(l, 10s, [&] { return count >= n; });
  }
  int get() {
    std::lock_guard l(mu);
    return count;
  }
};

// Registers a signal notification from a fresh process: the exit code says what happened.
int try_register_from_child(const std::string& name) {
  auto child = Child::spawn([&] {
    auto q = PosixMq::open(name, open_opts());
    if (!q) return 10;
    auto r = q->notify_signal(SIGUSR2);
    if (r) return 0;
    if (r.error().code() == EBUSY && r.error().message().find("one") != std::string::npos) return 1;
    std::fprintf(stderr, "%s\n", r.error().message().c_str());
    return 11;
  });
  return child.wait();
}

TEST(PosixMq, NotifyCallbackIsOneShotAndRearms) {
  MqNameGuard g(test::unique_posix_name("notify-cb"));
  auto q = PosixMq::open(g.name(), create_opts(4, 32));
  ASSERT_TRUE(q) << q.error().message();
  Calls calls;
  ASSERT_TRUE(q->notify_callback([&] { calls.hit(); }));
  // One registration per queue: another process is refused while ours is armed.
  EXPECT_EQ(try_register_from_child(g.name()), 1);
  auto again = q->notify_callback([&] { calls.hit(); });
  ASSERT_FALSE(again);  // and so is this process, until it fires or is cancelled
  EXPECT_EQ(again.error().code(), EBUSY);

  auto send_from_child = [&](const char* text) {
    auto c = Child::spawn([&] {
      auto w = PosixMq::open(g.name(), open_opts());
      return w && w->send(as_bytes(text)) ? 0 : 1;
    });
    return c.wait();
  };
  ASSERT_EQ(send_from_child("m1"), 0);
  ASSERT_TRUE(calls.wait_for_count(1));
  // Fired, so the registration is gone: another process may now take it (and drop it on exit).
  EXPECT_EQ(try_register_from_child(g.name()), 0);

  std::array<std::byte, 32> buf{};
  ASSERT_TRUE(q->try_receive(buf));
  ASSERT_EQ(send_from_child("m2"), 0);  // empty -> non-empty, but nobody is registered
  ASSERT_TRUE(q->try_receive(buf));
  ASSERT_TRUE(q->notify_callback([&] { calls.hit(); }));  // re-arm
  ASSERT_EQ(send_from_child("m3"), 0);
  ASSERT_TRUE(calls.wait_for_count(2));
  // Notifications come in order on one thread: had m2 produced one, it would have been
  // counted before m3's.
  EXPECT_EQ(calls.get(), 2);

  // Cancel: nothing fires afterwards, and the queue is free for others.
  ASSERT_TRUE(q->try_receive(buf));
  ASSERT_TRUE(q->notify_callback([&] { calls.hit(); }));
  ASSERT_TRUE(q->notify_cancel());
  EXPECT_EQ(try_register_from_child(g.name()), 0);
  ASSERT_EQ(send_from_child("m4"), 0);
  ASSERT_TRUE(q->notify_none());  // SIGEV_NONE holds the registration and delivers nothing
  EXPECT_EQ(try_register_from_child(g.name()), 1);
  ASSERT_TRUE(q->notify_cancel());
  EXPECT_EQ(calls.get(), 2);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMq, NotifyCallbackRearmsFromInsideAndDrains) {
  MqNameGuard g(test::unique_posix_name("notify-rearm"));
  MqNameGuard ack(test::unique_posix_name("notify-ack"));
  auto q = PosixMq::open(g.name(), create_opts(4, 32));
  ASSERT_TRUE(q) << q.error().message();
  auto acks = PosixMq::open(ack.name(), create_opts(4, 32));
  ASSERT_TRUE(acks) << acks.error().message();

  Calls calls;
  std::vector<std::string> got;  // written by the callback thread only, read after join
  std::atomic<bool> rearm_failed{false};
  std::function<void()> on_message = [&] {
    // The documented pattern: re-arm first, then drain, so nothing is missed.
    if (!q->notify_callback(on_message)) rearm_failed = true;
    std::array<std::byte, 32> b{};
    while (auto r = q->try_receive(b)) got.emplace_back(as_text(std::span<const std::byte>(b).first(r->size)));
    (void)acks->send(as_bytes("drained"));
    calls.hit();
  };
  ASSERT_TRUE(q->notify_callback(on_message));
  auto child = Child::spawn([&] {
    auto w = PosixMq::open(g.name(), open_opts());
    auto a = PosixMq::open(ack.name(), open_opts());
    if (!w || !a) return 1;
    std::array<std::byte, 32> b{};
    for (const char* m : {"one", "two", "three"}) {
      if (!w->send(as_bytes(m))) return 2;
      if (!a->receive_for(b, 10s)) return 3;  // the parent's callback drained the queue
    }
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(calls.wait_for_count(3));
  ASSERT_TRUE(q->notify_cancel());  // joins the callback thread
  EXPECT_FALSE(rearm_failed);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  ASSERT_TRUE(PosixMq::unlink(ack.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
  EXPECT_FALSE(posix_mq_exists(ack.name()));
}

TEST(PosixMq, NotifySignalCarriesValueAndIsOneShot) {
  MqNameGuard g(test::unique_posix_name("notify-sig"));
  MqNameGuard ctl(test::unique_posix_name("notify-ctl"));  // child -> parent: "ready"
  auto q = PosixMq::open(g.name(), create_opts(4, 32));
  ASSERT_TRUE(q) << q.error().message();
  auto control = PosixMq::open(ctl.name(), create_opts(4, 32));
  ASSERT_TRUE(control) << control.error().message();
  const pid_t parent = ::getpid();

  // The child is the registrant: it blocks SIGUSR1 and takes it with sigtimedwait.
  auto child = Child::spawn([&]() -> int {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    auto r = PosixMq::open(g.name(), open_opts());
    auto c = PosixMq::open(ctl.name(), open_opts());
    IPCX_CHILD_CHECK(r && c, 1);
    std::array<std::byte, 32> b{};
    IPCX_CHILD_CHECK(r->notify_signal(SIGUSR1, 77), 2);
    IPCX_CHILD_CHECK(c->send(as_bytes("armed")), 3);
    siginfo_t si{};
    timespec wait{10, 0};
    IPCX_CHILD_CHECK(::sigtimedwait(&set, &si, &wait) == SIGUSR1, 4);
    IPCX_CHILD_CHECK(si.si_code == SI_MESGQ, 5);
    IPCX_CHILD_CHECK(si.si_value.sival_int == 77, 6);
    IPCX_CHILD_CHECK(si.si_pid == parent, 7);
    IPCX_CHILD_CHECK(r->try_receive(b), 8);
    // Not re-armed: the next message on the empty queue raises nothing.
    IPCX_CHILD_CHECK(c->send(as_bytes("send again")), 9);
    IPCX_CHILD_CHECK(r->receive_for(b, 10s), 10);  // the parent's second message
    timespec zero{0, 0};
    IPCX_CHILD_CHECK(::sigtimedwait(&set, &si, &zero) == -1 && errno == EAGAIN, 11);
    // Re-armed: the next one raises it again.
    IPCX_CHILD_CHECK(r->notify_signal(SIGUSR1, 78), 12);
    IPCX_CHILD_CHECK(c->send(as_bytes("rearmed")), 13);
    IPCX_CHILD_CHECK(::sigtimedwait(&set, &si, &wait) == SIGUSR1 && si.si_value.sival_int == 78, 14);
    IPCX_CHILD_CHECK(r->try_receive(b), 15);
    return 0;
  });
  std::array<std::byte, 32> b{};
  for (const char* expected : {"armed", "send again", "rearmed"}) {
    auto m = control->receive_for(b, 10s);
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_EQ(text_of(b, m->size), expected);
    ASSERT_TRUE(q->send(as_bytes("msg")));
  }
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  ASSERT_TRUE(PosixMq::unlink(ctl.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
  EXPECT_FALSE(posix_mq_exists(ctl.name()));
}

TEST(PosixMq, NotifyRegistrationIsReleasedWhenTheHolderExits) {
  MqNameGuard g(test::unique_posix_name("notify-exit"));
  auto q = PosixMq::open(g.name(), create_opts(4, 32));
  ASSERT_TRUE(q) << q.error().message();
  ASSERT_TRUE(q->notify_none());
  EXPECT_EQ(try_register_from_child(g.name()), 1);  // EBUSY, with the reason
  ASSERT_TRUE(q->notify_cancel());
  EXPECT_EQ(try_register_from_child(g.name()), 0);  // the child registered, then exited
  ASSERT_TRUE(q->notify_none());                    // so its registration went with it
  ASSERT_TRUE(q->notify_cancel());
  EXPECT_FALSE(q->notify_signal(0));
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMqChannel, PriorityThroughSendOptionsAndMessage) {
  MqNameGuard g(test::unique_posix_name("chan"));
  const std::string url = fmt::format("posixmq://{}?maxmsg=4&msgsize=64", g.name());
  auto rx = Channel::open(url);
  ASSERT_TRUE(rx) << rx.error().message();
  EXPECT_EQ(rx->max_message_size(), 64u);
  auto child = Child::spawn([&] {
    auto tx = Channel::open(url);
    if (!tx) return 1;
    SendOptions low, high;
    low.priority = 2;
    high.priority = 9;
    if (!tx->send(as_bytes("low"), Deadline::never(), low)) return 2;
    if (!tx->send(as_bytes("high"), Deadline::never(), high)) return 3;
    return 0;
  });
  ASSERT_EQ(child.wait(), 0);
  auto m = rx->receive_message_for(1s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "high");
  EXPECT_EQ(m->priority, 9u);
  std::array<std::byte, 64> buf{};
  auto r = rx->try_receive(buf);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(text_of(buf, r->size), "low");
  EXPECT_EQ(r->priority, 2u);

  SendOptions typed;
  typed.type = 5;
  auto t = rx->send(as_bytes("x"), Deadline::never(), typed);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind(), Errc::invalid_argument);
  ReceiveOptions sel;
  sel.type = 2;
  auto s = rx->try_receive(buf, sel);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::invalid_argument);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMqChannel, ShortBufferKeepsTheMessageForTheNextReceive) {
  MqNameGuard g(test::unique_posix_name("short"));
  auto ch = Channel::open(fmt::format("posixmq://{}?maxmsg=4&msgsize=128&unlink=1", g.name()));
  ASSERT_TRUE(ch) << ch.error().message();
  SendOptions p;
  p.priority = 4;
  ASSERT_TRUE(ch->send(as_bytes("fits"), Deadline::never(), p));
  ASSERT_TRUE(ch->send(as_bytes(std::string(100, 'y'))));
  std::array<std::byte, 16> small{};
  auto a = ch->try_receive(small);  // a buffer below mq_msgsize still works for short messages
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(text_of(small, a->size), "fits");
  EXPECT_EQ(a->priority, 4u);
  auto b = ch->try_receive(small);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind(), Errc::message_too_large);
  EXPECT_EQ(b.error().size(), 100u);
  std::array<std::byte, 100> big{};
  auto c = ch->try_receive(big);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(text_of(big, c->size), std::string(100, 'y'));
  *ch = Channel();
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

TEST(PosixMqChannel, UrlOptions) {
  MqNameGuard g(test::unique_posix_name("opts"));
  const std::string base = fmt::format("posixmq://{}", g.name());
  auto unknown = Channel::open(base + "?colour=red");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind(), Errc::bad_url);
  EXPECT_NE(unknown.error().message().find("colour"), std::string::npos);
  EXPECT_FALSE(Channel::open(base + "?access=x"));
  EXPECT_FALSE(Channel::open(base + "?excl=1&create=0"));
  EXPECT_EQ(Channel::open(base + "?maxmsg=0").error().kind(), Errc::bad_url);
  EXPECT_EQ(Channel::open(base + "?msgsize=big").error().kind(), Errc::bad_url);

  auto no_create = Channel::open(base + "?create=0");
  ASSERT_FALSE(no_create);
  EXPECT_EQ(no_create.error().code(), ENOENT);
  EXPECT_FALSE(posix_mq_exists(g.name()));

  auto owner = Channel::open(base + "?maxmsg=3&msgsize=1k&mode=0640&excl=1&unlink=1");
  ASSERT_TRUE(owner) << owner.error().message();
  struct stat st {};
  ASSERT_EQ(::fstat(owner->pollable_fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  auto attrs = posix_mq(*owner)->attributes();
  EXPECT_EQ(attrs->maxmsg, 3);
  EXPECT_EQ(attrs->msgsize, 1024);
  EXPECT_FALSE(Channel::open(base + "?excl=1"));
  auto mismatch = Channel::open(base + "?msgsize=512");
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message().find("msgsize=1024"), std::string::npos) << mismatch.error().message();

  {
    // unlink=1 on a Channel that did not create the queue leaves it alone.
    auto user = Channel::open(base + "?unlink=1&access=w");
    ASSERT_TRUE(user) << user.error().message();
    auto r = user->try_receive_message();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EBADF);
    ASSERT_TRUE(user->try_send(as_bytes("hi")));
  }
  EXPECT_TRUE(posix_mq_exists(g.name()));
  auto reader = Channel::open(base + "?access=r&create=0");
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(reader->try_receive_message()->text(), "hi");
  EXPECT_FALSE(reader->try_send(as_bytes("no")));
  owner = Channel();
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

// Plain mq_send in one process, the Channel in the other; then the other way round: the
// bytes and the priority are exactly what each side wrote.
TEST(PosixMqChannel, InteroperatesWithRawCalls) {
  MqNameGuard g(test::unique_posix_name("raw"));
  const std::string url = fmt::format("posixmq://{}?maxmsg=4&msgsize=64", g.name());
  auto ch = Channel::open(url);
  ASSERT_TRUE(ch) << ch.error().message();
  const std::string binary("\x00\x01raw\xff", 6);

  auto raw_sender = Child::spawn([&] {
    mqd_t q = ::mq_open(g.name().c_str(), O_WRONLY);
    if (q == static_cast<mqd_t>(-1)) return 1;
    int rc = ::mq_send(q, binary.data(), binary.size(), 12);
    ::mq_close(q);
    return rc == 0 ? 0 : 2;
  });
  auto m = ch->receive_message_for(10s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), binary);
  EXPECT_EQ(m->priority, 12u);
  EXPECT_EQ(raw_sender.wait(), 0);

  auto raw_receiver = Child::spawn([&] {
    mqd_t q = ::mq_open(g.name().c_str(), O_RDONLY);
    if (q == static_cast<mqd_t>(-1)) return 1;
    char buf[64];
    unsigned prio = 0;
    timespec t{};
    ::clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 10;
    ssize_t n = ::mq_timedreceive(q, buf, sizeof buf, &prio, &t);
    ::mq_close(q);
    if (n != static_cast<ssize_t>(binary.size()) || std::memcmp(buf, binary.data(), binary.size()) != 0) return 2;
    return prio == 31 ? 0 : 3;
  });
  SendOptions o;
  o.priority = 31;
  ASSERT_TRUE(ch->send(as_bytes(binary), Deadline::never(), o));
  EXPECT_EQ(raw_receiver.wait(), 0);
  ASSERT_TRUE(PosixMq::unlink(g.name()));
  EXPECT_FALSE(posix_mq_exists(g.name()));
}

// Limit errors name the limit, its value and how to raise it. The unprivileged limits are
// checked in a child that has dropped CAP_SYS_RESOURCE (root would pass them).
TEST(PosixMqLimits, ErrorsNameTheLimit) {
  const auto limits = posix_mq_limits();
  ASSERT_GT(limits.msg_max, 0);
  ASSERT_GT(limits.msgsize_max, 0);
  ASSERT_EQ(limits.msgsize_max, detail::read_sysctl("fs.mqueue.msgsize_max").value_or(-2));
  const std::string name = test::unique_posix_name("limits");
  MqNameGuard g(name);
  auto child = Child::spawn([&]() -> int {
    IPCX_CHILD_CHECK(test::drop_cap_sys_resource(), 1);
    auto big_msg = PosixMq::open(name, create_opts(1, static_cast<long>(limits.msgsize_max) + 1));
    IPCX_CHILD_CHECK(!big_msg && big_msg.error().code() == EINVAL, 2);
    const std::string m1 = big_msg.error().message();
    std::fprintf(stderr, "%s\n", m1.c_str());
    IPCX_CHILD_CHECK(m1.find(fmt::format("fs.mqueue.msgsize_max = {}", limits.msgsize_max)) != std::string::npos, 3);
    IPCX_CHILD_CHECK(m1.find("sysctl -w fs.mqueue.msgsize_max=") != std::string::npos, 4);

    auto many = PosixMq::open(name, create_opts(static_cast<long>(limits.msg_max) + 1, 16));
    IPCX_CHILD_CHECK(!many && many.error().code() == EINVAL, 5);
    IPCX_CHILD_CHECK(many.error().message().find(fmt::format("fs.mqueue.msg_max = {}", limits.msg_max)) !=
                         std::string::npos,
                     6);

    rlimit tiny{1024, 1024};
    IPCX_CHILD_CHECK(::setrlimit(RLIMIT_MSGQUEUE, &tiny) == 0, 7);
    auto over_budget = PosixMq::open(name, create_opts(4, 1024));
    IPCX_CHILD_CHECK(!over_budget && over_budget.error().code() == EMFILE, 8);
    const std::string m3 = over_budget.error().message();
    std::fprintf(stderr, "%s\n", m3.c_str());
    IPCX_CHILD_CHECK(m3.find("RLIMIT_MSGQUEUE = 1024 bytes") != std::string::npos, 9);
    IPCX_CHILD_CHECK(m3.find("ulimit -q") != std::string::npos, 10);
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
  EXPECT_FALSE(posix_mq_exists(name));

  if (detail::has_cap_sys_resource()) {
    // Privileged creators pass the sysctls but not the kernel's hard ceiling.
    auto huge = PosixMq::open(name, create_opts(1, 16L * 1024 * 1024 + 1));
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().message().find("HARD_MSGSIZEMAX"), std::string::npos) << huge.error().message();
  }
  EXPECT_FALSE(posix_mq_exists(name));
}

// fs.mqueue.queues_max, in a private IPC namespace so the host's count is not touched.
TEST(PosixMqLimits, QueuesMaxNamedInAPrivateNamespace) {
  if (!test::can_use_private_ipc_namespace("fs.mqueue.queues_max")) {
    GTEST_SKIP() << "cannot unshare an IPC namespace and set its fs.mqueue sysctls here (needs CAP_SYS_ADMIN)";
  }
  const std::string a = test::unique_posix_name("qmax-a");
  const std::string b = test::unique_posix_name("qmax-b");
  auto child = Child::spawn([&]() -> int {
    IPCX_CHILD_CHECK(::unshare(CLONE_NEWIPC) == 0, 1);
    IPCX_CHILD_CHECK(test::write_sysctl("fs.mqueue.queues_max", 1), 2);
    IPCX_CHILD_CHECK(test::drop_cap_sys_resource(), 3);
    auto first = PosixMq::open(a, create_opts(1, 16));
    IPCX_CHILD_CHECK(first, 4);
    auto second = PosixMq::open(b, create_opts(1, 16));
    IPCX_CHILD_CHECK(!second && second.error().code() == ENOSPC, 5);
    std::fprintf(stderr, "%s\n", second.error().message().c_str());
    IPCX_CHILD_CHECK(second.error().message().find("fs.mqueue.queues_max = 1") != std::string::npos, 6);
    IPCX_CHILD_CHECK(PosixMq::unlink(a), 7);
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
  EXPECT_FALSE(posix_mq_exists(a));
  EXPECT_FALSE(posix_mq_exists(b));
}

}  // namespace
}  // namespace ipcx
