// SPDX-License-Identifier: MIT
// System V message queues: the SysvMq wrapper and the sysvmq:// Channel, across two real
// processes. Every queue is removed and its absence asserted (keys come from unique_key(),
// which the leak check also scans; IPC_PRIVATE queues are checked here by id).
#include "ipcx/sysv_mq.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/mq_test_support.hpp"
#include "ipcx/channel.hpp"
#include "kernel_limits.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::SysvGuard;
using test::sysv_msg_id_exists;

SysvMqOptions create_opts(unsigned mode = 0600) {
  SysvMqOptions o;
  o.create = true;
  o.mode = mode;
  return o;
}

SysvReceiveOptions select(long type, bool except = false, bool truncate = false) {
  SysvReceiveOptions o;
  o.type = type;
  o.except = except;
  o.truncate = truncate;
  return o;
}

std::string text_of(std::span<const std::byte> b, std::size_t n) { return std::string(as_text(b.first(n))); }

std::string key_url(key_t key, std::string_view options = {}) {
  return fmt::format("sysvmq://0x{:08x}{}{}", static_cast<std::uint32_t>(key), options.empty() ? "" : "?", options);
}

TEST(SysvMq, FtokNeedsAnExistingPathAndAProjectId) {
  const std::string path = test::unique_path("ftok");
  auto missing = ftok(path, 7);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().message().find("must exist"), std::string::npos) << missing.error().message();
  EXPECT_NE(missing.error().message().find(path), std::string::npos);

  { std::ofstream(path) << "x"; }
  for (int bad : {0, 256, -1}) {
    auto k = ftok(path, bad);
    ASSERT_FALSE(k) << bad;
    EXPECT_EQ(k.error().kind(), Errc::invalid_argument);
    EXPECT_NE(k.error().message().find("1..255"), std::string::npos);
  }
  auto k = ftok(path, 7);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(*k, ::ftok(path.c_str(), 7));
  EXPECT_NE(*k, *ftok(path, 8));

  // The path form of the URL: the key is ftok's, and remove=1 removes what it created.
  const key_t key = *k;
  SysvGuard guard = SysvGuard::key(key);
  {
    auto ch = Channel::open(fmt::format("sysvmq://{}?proj=7&remove=1", path));
    ASSERT_TRUE(ch) << ch.error().message();
    EXPECT_EQ(sysv_mq(*ch)->key(), key);
    EXPECT_TRUE(sysv_mq(*ch)->created());
    EXPECT_GE(::msgget(key, 0), 0);
  }
  EXPECT_LT(::msgget(key, 0), 0);
  EXPECT_FALSE(Channel::open(fmt::format("sysvmq://{}?proj=0", path)));
  auto gone = Channel::open(fmt::format("sysvmq://{}-missing?proj=3", path));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ENOENT);
  ::unlink(path.c_str());
}

TEST(SysvMq, MsggetCreateExclusiveModeAndRemove) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto missing = SysvMq::open(key);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().message().find("IPC_CREAT"), std::string::npos) << missing.error().message();

  auto q = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q) << q.error().message();
  EXPECT_TRUE(q->created());
  EXPECT_EQ(q->key(), key);
  auto st = q->stat();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->mode, 0600u);  // owner-only by default
  EXPECT_EQ(st->key, key);
  EXPECT_EQ(st->uid, ::geteuid());

  auto same = SysvMq::open(key, create_opts());
  ASSERT_TRUE(same) << same.error().message();
  EXPECT_FALSE(same->created());
  EXPECT_FALSE(same->owns());
  EXPECT_EQ(same->id(), q->id());

  auto excl = create_opts();
  excl.exclusive = true;
  auto again = SysvMq::open(key, excl);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), EEXIST);
  EXPECT_NE(again.error().message().find("IPC_EXCL"), std::string::npos);

  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(q->id()));
  EXPECT_LT(::msgget(key, 0), 0);
  auto twice = same->remove();
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), EINVAL);

  auto wide = SysvMq::open(key, create_opts(0640));
  ASSERT_TRUE(wide) << wide.error().message();
  EXPECT_EQ(wide->stat()->mode, 0640u);
  EXPECT_TRUE(wide->owns());  // the creator removes what it made when it goes
  const int id = wide->id();
  *wide = SysvMq();
  EXPECT_FALSE(sysv_msg_id_exists(id));
}

TEST(SysvMq, OnlyTheCreatorRemovesAndKeepLeavesTheQueue) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto q = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q) << q.error().message();
  EXPECT_TRUE(q->owns());
  const int id = q->id();
  {
    auto opened = SysvMq::open(key);
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_FALSE(opened->owns());
    auto by_id = SysvMq::open_id(id);
    ASSERT_TRUE(by_id) << by_id.error().message();
    EXPECT_FALSE(by_id->owns());
  }
  EXPECT_TRUE(sysv_msg_id_exists(id));  // the handles that only opened it removed nothing
  q->keep();
  EXPECT_FALSE(q->owns());
  *q = SysvMq();
  EXPECT_TRUE(sysv_msg_id_exists(id));  // kept: it outlives its creator's handle
  auto again = SysvMq::open_id(id);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_TRUE(again->remove());
  EXPECT_FALSE(sysv_msg_id_exists(id));
}

TEST(SysvMq, PrivateQueueIsSharedByIdWithAChild) {
  auto a = SysvMq::open_private();
  ASSERT_TRUE(a) << a.error().message();
  SysvGuard ga = SysvGuard::id(a->id());
  auto b = SysvMq::open_private();
  ASSERT_TRUE(b) << b.error().message();
  SysvGuard gb = SysvGuard::id(b->id());
  EXPECT_EQ(a->key(), kIpcPrivate);
  EXPECT_TRUE(a->created());
  EXPECT_NE(a->id(), b->id());
  EXPECT_EQ(a->stat()->mode, 0600u);

  const int id = a->id();
  auto child = Child::spawn([id] {
    auto ch = Channel::open(fmt::format("sysvmq://id:{}", id));
    if (!ch) return 1;
    SendOptions o;
    o.type = 42;
    return ch->send(as_bytes("by id"), Deadline::never(), o) ? 0 : 2;
  });
  EXPECT_EQ(child.wait(), 0);
  std::array<std::byte, 64> buf{};
  auto r = a->try_receive(buf);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(text_of(buf, r->size), "by id");
  EXPECT_EQ(r->type, 42);

  ASSERT_TRUE(a->remove());
  ASSERT_TRUE(b->remove());
  EXPECT_FALSE(sysv_msg_id_exists(id));
  EXPECT_FALSE(sysv_msg_id_exists(b->id()));
  auto gone = SysvMq::open_id(id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), EINVAL);

  // sysvmq://private through the Channel: a new queue, removed on close with remove=1.
  int private_id = -1;
  {
    auto ch = Channel::open("sysvmq://private?remove=1");
    ASSERT_TRUE(ch) << ch.error().message();
    private_id = sysv_mq(*ch)->id();
    EXPECT_TRUE(sysv_msg_id_exists(private_id));
  }
  EXPECT_FALSE(sysv_msg_id_exists(private_id));
}

// msgtyp 0 / > 0 / < 0 and MSG_EXCEPT, against a queue another process filled.
TEST(SysvMq, TypeSelectionOrderAcrossProcesses) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto q = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q) << q.error().message();
  auto child = Child::spawn([key] {
    auto w = SysvMq::open(key);
    if (!w) return 1;
    const std::pair<long, const char*> msgs[] = {{3, "a3"}, {1, "b1"}, {2, "c2"}, {1, "d1"}, {5, "e5"}, {2, "f2"}};
    for (auto [type, text] : msgs) {
      if (!w->send(as_bytes(text), type)) return 2;
    }
    return 0;
  });
  ASSERT_EQ(child.wait(), 0);
  EXPECT_EQ(q->stat()->messages, 6u);

  std::array<std::byte, 16> buf{};
  auto take = [&](SysvReceiveOptions o) -> std::pair<long, std::string> {
    auto r = q->try_receive(buf, o);
    if (!r) return {-1, r.error().message()};
    return {r->type, text_of(buf, r->size)};
  };
  using P = std::pair<long, std::string>;
  EXPECT_EQ(take(select(2)), (P{2, "c2"}));         // first of type 2
  EXPECT_EQ(take(select(-2)), (P{1, "b1"}));        // lowest type <= 2, oldest of it
  EXPECT_EQ(take(select(1, true)), (P{3, "a3"}));   // first whose type is not 1
  EXPECT_EQ(take(select(0)), (P{1, "d1"}));         // first of all
  EXPECT_EQ(take(select(-10)), (P{2, "f2"}));       // lowest type <= 10
  auto none = q->try_receive(buf, select(7));
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().would_block());
  EXPECT_EQ(none.error().code(), ENOMSG);
  EXPECT_EQ(take(select(5, true)).first, -1);       // only type 5 left: MSG_EXCEPT finds nothing
  EXPECT_EQ(take(select(0)), (P{5, "e5"}));

  auto bad = q->try_receive(buf, select(-3, true));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), Errc::invalid_argument);
  EXPECT_NE(bad.error().message().find("MSG_EXCEPT"), std::string::npos);
  auto bad_type = q->send(as_bytes("x"), 0);
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().kind(), Errc::invalid_argument);
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(q->id()));
}

TEST(SysvMq, TruncationOnlyWhenAsked) {
  auto q = SysvMq::open_private();
  ASSERT_TRUE(q) << q.error().message();
  SysvGuard guard = SysvGuard::id(q->id());
  ASSERT_TRUE(q->send(as_bytes("0123456789"), 4));
  std::array<std::byte, 4> small{};
  auto r = q->try_receive(small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), Errc::message_too_large);
  EXPECT_EQ(r.error().code(), E2BIG);
  EXPECT_GE(r.error().size(), 10u);  // enough to receive it
  EXPECT_EQ(q->stat()->messages, 1u);  // still queued
  auto cut = q->try_receive(small, select(0, false, true));
  ASSERT_TRUE(cut) << cut.error().message();
  EXPECT_EQ(cut->size, 4u);
  EXPECT_EQ(cut->type, 4);
  EXPECT_EQ(text_of(small, cut->size), "0123");
  EXPECT_EQ(q->stat()->messages, 0u);  // the rest is gone: that is what MSG_NOERROR means

  // The Channel never truncates: the message stays, and a big enough buffer gets it whole.
  auto ch = Channel::open(fmt::format("sysvmq://id:{}", q->id()));
  ASSERT_TRUE(ch) << ch.error().message();
  ASSERT_TRUE(ch->send(as_bytes("0123456789")));
  auto c = ch->try_receive(small);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind(), Errc::message_too_large);
  std::vector<std::byte> enough(c.error().size());
  auto whole = ch->try_receive(enough);
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_EQ(text_of(enough, whole->size), "0123456789");
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(q->id()));
}

TEST(SysvMq, MsgCopyPeeksByIndex) {
  auto q = SysvMq::open_private();
  ASSERT_TRUE(q) << q.error().message();
  SysvGuard guard = SysvGuard::id(q->id());
  ASSERT_TRUE(q->send(as_bytes("first"), 9));
  ASSERT_TRUE(q->send(as_bytes("second"), 2));
  ASSERT_TRUE(q->send(as_bytes("third"), 9));
  std::array<std::byte, 16> buf{};
  auto p0 = q->peek(buf, 0);
  if (!p0 && p0.error().kind() == Errc::not_supported) {
    ASSERT_TRUE(q->remove());
    GTEST_SKIP() << p0.error().message();
  }
  ASSERT_TRUE(p0) << p0.error().message();
  EXPECT_EQ(text_of(buf, p0->size), "first");
  EXPECT_EQ(p0->type, 9);
  auto p2 = q->peek(buf, 2);
  ASSERT_TRUE(p2) << p2.error().message();
  EXPECT_EQ(text_of(buf, p2->size), "third");
  auto p1 = q->peek(buf, 1);
  ASSERT_TRUE(p1) << p1.error().message();
  EXPECT_EQ(text_of(buf, p1->size), "second");
  EXPECT_EQ(p1->type, 2);
  auto beyond = q->peek(buf, 3);
  ASSERT_FALSE(beyond);
  EXPECT_TRUE(beyond.error().would_block());
  EXPECT_NE(beyond.error().message().find("index 3"), std::string::npos);
  std::array<std::byte, 3> tiny{};
  auto too_big = q->peek(tiny, 0);  // MSG_COPY cannot truncate
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code(), E2BIG);
  EXPECT_EQ(too_big.error().kind(), Errc::message_too_large);
  EXPECT_GE(too_big.error().size(), 5u);
  EXPECT_EQ(q->stat()->messages, 3u);  // peeking took nothing
  EXPECT_FALSE(q->peek(buf, -1));
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(q->id()));
}

TEST(SysvMq, NowaitAndDeadlines) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto q = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q) << q.error().message();
  std::array<std::byte, 16> buf{};
  auto empty = q->try_receive(buf);
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().would_block());
  auto t0 = std::chrono::steady_clock::now();
  auto late = q->receive_for(buf, 30ms);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().timed_out()) << late.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);

  // A full queue: 16 bytes of msg_qbytes hold two 8-byte messages.
  SysvMqChange small;
  small.qbytes = 16;
  ASSERT_TRUE(q->change(small));
  ASSERT_TRUE(q->try_send(as_bytes("12345678")));
  ASSERT_TRUE(q->try_send(as_bytes("abcdefgh")));
  auto full = q->try_send(as_bytes("ABCDEFGH"));
  ASSERT_FALSE(full);
  EXPECT_TRUE(full.error().would_block());
  t0 = std::chrono::steady_clock::now();
  auto full_late = q->send_for(as_bytes("ABCDEFGH"), 1, 30ms);
  ASSERT_FALSE(full_late);
  EXPECT_TRUE(full_late.error().timed_out()) << full_late.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);

  auto child = Child::spawn([key] {
    auto r = SysvMq::open(key);
    if (!r) return 1;
    std::array<std::byte, 16> b{};
    if (!r->receive(b)) return 2;  // room for the parent's waiting send
    if (!r->receive(b)) return 3;
    if (!r->receive(b)) return 4;  // the parent's third message
    return r->send(as_bytes("child"), 6) ? 0 : 5;
  });
  ASSERT_TRUE(q->send_for(as_bytes("ABCDEFGH"), 1, 10s));
  auto got = q->receive_for(buf, 10s, select(6));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(text_of(buf, got->size), "child");
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(q->id()));
}

// A receiver blocked in msgrcv (no deadline) when the queue is removed gets peer_gone.
TEST(SysvMq, RemovalWakesABlockedReceiverAndSender) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto q = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q) << q.error().message();
  test::ReadyPipe opened;
  auto receiver = Child::spawn([key, &opened] {
    auto ch = Channel::open(key_url(key, "create=0"));
    if (!ch) return 1;
    opened.signal();
    auto r = ch->receive_message();  // Deadline::never(): a plain blocking msgrcv
    if (r) return 2;
    if (!r.error().peer_gone() || r.error().code() != EIDRM) return 3;
    return r.error().message().find("removed") != std::string::npos ? 0 : 4;
  });
  ASSERT_TRUE(opened.wait());
  // Best effort: removed before the child blocks, it gets EINVAL, which ipcx also reports
  // as peer_gone; the point of waiting is to test the EIDRM wake-up.
  (void)test::wait_in_syscall(receiver.pid(), {SYS_msgrcv});
  ASSERT_TRUE(q->remove());
  EXPECT_EQ(receiver.wait(5s), 0);

  auto q2 = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q2) << q2.error().message();
  SysvMqChange tiny;
  tiny.qbytes = 4;
  ASSERT_TRUE(q2->change(tiny));
  ASSERT_TRUE(q2->send(as_bytes("full")));
  test::ReadyPipe sender_opened;
  auto sender = Child::spawn([key, &sender_opened] {
    auto w = SysvMq::open(key);
    if (!w) return 1;
    sender_opened.signal();
    auto r = w->send(as_bytes("wait"));  // blocks: the queue is full
    return !r && r.error().peer_gone() ? 0 : 2;
  });
  ASSERT_TRUE(sender_opened.wait());
  (void)test::wait_in_syscall(sender.pid(), {SYS_msgsnd});
  ASSERT_TRUE(q2->remove());
  EXPECT_EQ(sender.wait(5s), 0);
  EXPECT_FALSE(sysv_msg_id_exists(q2->id()));
}

// With a finite deadline the waiter polls; removal still ends the wait long before it.
TEST(SysvMq, RemovalEndsAPollingWait) {
  auto q = SysvMq::open_private();
  ASSERT_TRUE(q) << q.error().message();
  SysvGuard guard = SysvGuard::id(q->id());
  const int id = q->id();
  test::ReadyPipe attached;
  auto receiver = Child::spawn([id, &attached] {
    auto r = SysvMq::open_id(id);
    if (!r) return 1;
    attached.signal();
    std::array<std::byte, 8> b{};
    auto got = r->receive_for(b, 60s);
    return !got && got.error().peer_gone() ? 0 : 2;
  });
  ASSERT_TRUE(attached.wait());
  // Either asleep between attempts or in the attempt itself.
  (void)test::wait_in_syscall(receiver.pid(), {SYS_clock_nanosleep, SYS_nanosleep, SYS_msgrcv});
  ASSERT_TRUE(q->remove());
  EXPECT_EQ(receiver.wait(10s), 0);
  EXPECT_FALSE(sysv_msg_id_exists(id));
}

// SysV calls are never restarted after a signal handler (signal(7)); ipcx retries, so an
// interrupted blocking receive still returns the message, not EINTR.
TEST(SysvMq, SignalsDoNotSurfaceAsErrors) {
  auto q = SysvMq::open_private();
  ASSERT_TRUE(q) << q.error().message();
  SysvGuard guard = SysvGuard::id(q->id());
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const int id = q->id();
  auto child = Child::spawn([id, fds] {
    test::install_interrupting_handler(fds[1]);
    auto r = SysvMq::open_id(id);
    if (!r) return 1;
    std::array<std::byte, 16> b{};
    auto m = r->receive(b);  // blocking msgrcv, interrupted once
    if (!m) {
      std::fprintf(stderr, "%s\n", m.error().message().c_str());
      return 2;
    }
    return text_of(b, m->size) == "after signal" ? 0 : 3;
  });
  ::close(fds[1]);
  if (test::current_syscall(child.pid()) == -2) GTEST_SKIP() << "/proc/PID/syscall is not readable here";
  ASSERT_TRUE(test::wait_in_syscall(child.pid(), {SYS_msgrcv})) << "the child never blocked in msgrcv";
  ASSERT_EQ(::kill(child.pid(), SIGUSR1), 0);
  pollfd p{fds[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);  // the handler ran: msgrcv returned EINTR
  ::close(fds[0]);
  ASSERT_TRUE(q->send(as_bytes("after signal")));
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(id));
}

TEST(SysvMq, StatSetAndInfo) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto q = SysvMq::open(key, create_opts());
  ASSERT_TRUE(q) << q.error().message();
  const auto before = std::time(nullptr);
  auto child = Child::spawn([key] {
    auto w = SysvMq::open(key);
    return w && w->send(as_bytes("abc"), 1) && w->send(as_bytes("defgh"), 2) ? 0 : 1;
  });
  const pid_t child_pid = child.pid();
  ASSERT_EQ(child.wait(), 0);
  auto st = q->stat();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->messages, 2u);
  EXPECT_EQ(st->bytes, 8u);
  EXPECT_EQ(st->last_send_pid, child_pid);
  EXPECT_EQ(st->last_receive_pid, 0);
  EXPECT_GE(st->send_time, before - 1);
  EXPECT_EQ(st->receive_time, 0);
  EXPECT_EQ(st->cuid, ::geteuid());
  auto limits = SysvMq::limits();
  ASSERT_TRUE(limits) << limits.error().message();
  EXPECT_EQ(st->qbytes, static_cast<std::size_t>(limits->msgmnb));  // a new queue's default

  // The limits are the namespace's sysctls; the usage counts at least this queue.
  EXPECT_EQ(limits->msgmax, detail::read_sysctl("kernel.msgmax").value_or(-1));
  EXPECT_EQ(limits->msgmnb, detail::read_sysctl("kernel.msgmnb").value_or(-1));
  EXPECT_EQ(limits->msgmni, detail::read_sysctl("kernel.msgmni").value_or(-1));
  auto usage = SysvMq::usage();
  ASSERT_TRUE(usage) << usage.error().message();
  EXPECT_GE(usage->queues, 1);
  EXPECT_GE(usage->messages, 2);
  EXPECT_GE(usage->bytes, 8);
  bool found = false;
  for (int i = 0; i <= usage->max_index && !found; ++i) {
    auto at = SysvMq::stat_index(i);
    if (at && at->first == q->id()) {
      found = true;
      EXPECT_EQ(at->second.key, key);
      EXPECT_EQ(at->second.messages, 2u);
    }
  }
  EXPECT_TRUE(found) << "MSG_STAT did not list id " << q->id();

  std::array<std::byte, 8> buf{};
  ASSERT_TRUE(q->try_receive(buf));
  st = q->stat();
  EXPECT_EQ(st->last_receive_pid, ::getpid());
  EXPECT_GE(st->receive_time, before - 1);
  EXPECT_EQ(st->messages, 1u);

  SysvMqChange change;
  change.mode = 0640;
  change.qbytes = 4096;
  ASSERT_TRUE(q->change(change));
  st = q->stat();
  EXPECT_EQ(st->mode, 0640u);
  EXPECT_EQ(st->qbytes, 4096u);
  EXPECT_GE(st->change_time, before - 1);
  if (::geteuid() == 0) {
    SysvMqChange owner;
    owner.uid = 65534;
    owner.gid = 65534;
    ASSERT_TRUE(q->change(owner));
    st = q->stat();
    EXPECT_EQ(st->uid, 65534u);
    EXPECT_EQ(st->gid, 65534u);
    EXPECT_EQ(st->cuid, 0u);  // the creator stays
  }
  SysvMqChange bad_mode;
  bad_mode.mode = 01777;
  EXPECT_FALSE(q->change(bad_mode));
  ASSERT_TRUE(q->remove());  // the creator may remove it whoever owns it now
  EXPECT_FALSE(sysv_msg_id_exists(q->id()));
}

// Plain msgsnd in one process, the Channel in the other, and the other way round: the
// text and the type are exactly what each side wrote (no framing).
TEST(SysvMqChannel, InteroperatesWithRawCalls) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  auto ch = Channel::open(key_url(key));
  ASSERT_TRUE(ch) << ch.error().message();
  const std::string binary("\x00\x02sysv\xfe", 7);
  struct RawMsg {
    long mtype;
    char mtext[64];
  };

  auto raw_sender = Child::spawn([&] {
    int id = ::msgget(key, 0);
    if (id < 0) return 1;
    RawMsg m{};
    m.mtype = 17;
    std::memcpy(m.mtext, binary.data(), binary.size());
    return ::msgsnd(id, &m, binary.size(), 0) == 0 ? 0 : 2;
  });
  ReceiveOptions sel;
  sel.type = 17;
  auto m = ch->receive_message_for(10s, sel);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), binary);
  EXPECT_EQ(m->type, 17);
  EXPECT_EQ(raw_sender.wait(), 0);

  auto raw_receiver = Child::spawn([&] {
    int id = ::msgget(key, 0);
    if (id < 0) return 1;
    RawMsg in{};
    ssize_t n = ::msgrcv(id, &in, sizeof in.mtext, 23, 0);
    if (n != static_cast<ssize_t>(binary.size()) || std::memcmp(in.mtext, binary.data(), binary.size()) != 0) return 2;
    return in.mtype == 23 ? 0 : 3;
  });
  SendOptions o;
  o.type = 23;
  ASSERT_TRUE(ch->send(as_bytes(binary), Deadline::never(), o));
  EXPECT_EQ(raw_receiver.wait(), 0);
  ASSERT_TRUE(sysv_mq(*ch)->remove());
  EXPECT_LT(::msgget(key, 0), 0);
}

TEST(SysvMqChannel, TypesThroughOptionsAndUrlOptions) {
  const key_t key = test::unique_key();
  SysvGuard guard = SysvGuard::key(key);
  EXPECT_EQ(Channel::open(key_url(key, "colour=1")).error().kind(), Errc::bad_url);
  EXPECT_EQ(Channel::open(key_url(key, "proj=3")).error().kind(), Errc::bad_url);
  EXPECT_EQ(Channel::open("sysvmq://id:1?create=1").error().kind(), Errc::bad_url);
  EXPECT_EQ(Channel::open(key_url(key, "qbytes=0")).error().kind(), Errc::bad_url);
  EXPECT_EQ(Channel::open(key_url(key, "mode=01777")).error().kind(), Errc::bad_url);
  EXPECT_LT(::msgget(key, 0), 0);  // none of these made a queue
  auto no_create = Channel::open(key_url(key, "create=0"));
  ASSERT_FALSE(no_create);
  EXPECT_EQ(no_create.error().code(), ENOENT);

  auto owner = Channel::open(key_url(key, "mode=0640&excl=1&remove=1&qbytes=1k"));
  ASSERT_TRUE(owner) << owner.error().message();
  SysvMq* q = sysv_mq(*owner);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->stat()->mode, 0640u);
  EXPECT_EQ(q->stat()->qbytes, 1024u);
  EXPECT_EQ(owner->pollable_fd(), -1);
  EXPECT_EQ(owner->max_message_size(), std::min<std::size_t>(1024, static_cast<std::size_t>(SysvMq::limits()->msgmax)));
  EXPECT_EQ(Channel::open(key_url(key, "excl=1")).error().code(), EEXIST);
  {
    auto user = Channel::open(key_url(key, "remove=1"));  // did not create it: leaves it
    ASSERT_TRUE(user) << user.error().message();
    SendOptions t;
    t.type = 8;
    ASSERT_TRUE(user->send(as_bytes("eight"), Deadline::never(), t));
    SendOptions prio;
    prio.priority = 1;
    auto p = user->send(as_bytes("x"), Deadline::never(), prio);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind(), Errc::invalid_argument);
  }
  ReceiveOptions not8;
  not8.type = 8;
  not8.except = true;
  EXPECT_TRUE(owner->try_receive_message(not8).error().would_block());
  ReceiveOptions bad;
  bad.type = 0;
  bad.except = true;
  EXPECT_EQ(owner->try_receive_message(bad).error().kind(), Errc::invalid_argument);
  auto m = owner->try_receive_message();
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->text(), "eight");
  EXPECT_EQ(m->type, 8);
  const int id = q->id();
  owner = Channel();
  EXPECT_FALSE(sysv_msg_id_exists(id));
}

TEST(SysvMqLimits, ErrorsNameTheLimit) {
  auto q = SysvMq::open_private();
  ASSERT_TRUE(q) << q.error().message();
  SysvGuard guard = SysvGuard::id(q->id());
  const long long msgmax = detail::read_sysctl("kernel.msgmax").value_or(8192);
  const long long msgmnb = detail::read_sysctl("kernel.msgmnb").value_or(16384);

  // kernel.msgmax: the largest message. Raise qbytes first so that it is the only limit hit.
  SysvMqChange room;
  room.qbytes = static_cast<std::size_t>(msgmax) * 2;
  ASSERT_TRUE(q->change(room));
  std::vector<std::byte> big(static_cast<std::size_t>(msgmax) + 1);
  auto s = q->send(big);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), Errc::message_too_large);
  EXPECT_EQ(s.error().size(), big.size());
  EXPECT_NE(s.error().message().find(fmt::format("kernel.msgmax = {}", msgmax)), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("sysctl -w kernel.msgmax="), std::string::npos);

  // msg_qbytes: a message that could never fit is refused rather than waited on forever.
  SysvMqChange tiny;
  tiny.qbytes = 16;
  ASSERT_TRUE(q->change(tiny));
  auto never_fits = q->send(std::vector<std::byte>(17));
  ASSERT_FALSE(never_fits);
  EXPECT_EQ(never_fits.error().kind(), Errc::message_too_large);
  EXPECT_NE(never_fits.error().message().find("msg_qbytes 16"), std::string::npos) << never_fits.error().message();

  // kernel.msgmnb: raising msg_qbytes past it needs CAP_SYS_RESOURCE.
  const int id = q->id();
  auto child = Child::spawn([id, msgmnb]() -> int {
    IPCX_CHILD_CHECK(test::drop_cap_sys_resource(), 1);
    auto w = SysvMq::open_id(id);
    IPCX_CHILD_CHECK(w, 2);
    SysvMqChange over;
    over.qbytes = static_cast<std::size_t>(msgmnb) + 1;
    auto r = w->change(over);
    IPCX_CHILD_CHECK(!r && r.error().code() == EPERM, 3);
    std::fprintf(stderr, "%s\n", r.error().message().c_str());
    IPCX_CHILD_CHECK(r.error().message().find(fmt::format("kernel.msgmnb = {}", msgmnb)) != std::string::npos, 4);
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
  ASSERT_TRUE(q->remove());
  EXPECT_FALSE(sysv_msg_id_exists(id));
}

// kernel.msgmni, in a private IPC namespace so the host's table is not filled.
TEST(SysvMqLimits, MsgmniNamedInAPrivateNamespace) {
  if (!test::can_use_private_ipc_namespace("kernel.msgmni")) {
    GTEST_SKIP() << "cannot unshare an IPC namespace and set its kernel.msgmni here (needs CAP_SYS_ADMIN)";
  }
  const key_t key = test::unique_key();
  auto child = Child::spawn([key]() -> int {
    IPCX_CHILD_CHECK(::unshare(CLONE_NEWIPC) == 0, 1);
    IPCX_CHILD_CHECK(test::write_sysctl("kernel.msgmni", 1), 2);
    auto first = SysvMq::open_private();
    IPCX_CHILD_CHECK(first, 3);
    auto second = SysvMq::open(key, create_opts());
    IPCX_CHILD_CHECK(!second && second.error().code() == ENOSPC, 4);
    std::fprintf(stderr, "%s\n", second.error().message().c_str());
    IPCX_CHILD_CHECK(second.error().message().find("kernel.msgmni = 1") != std::string::npos, 5);
    IPCX_CHILD_CHECK(first->remove(), 6);
    return 0;
  });
  EXPECT_EQ(child.wait(), 0);
  EXPECT_LT(::msgget(key, 0), 0);
}

}  // namespace
}  // namespace ipcx
