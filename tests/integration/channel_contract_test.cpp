// SPDX-License-Identifier: MIT
// The Channel contract (include/ipcx/channel.hpp, docs/channel.md), checked over every
// scheme with two real processes: boundaries, zero-length messages, a message too large
// for the buffer, try_, deadlines, peer gone on close and on SIGKILL, pollable_fd(), and no
// descriptor across exec. What a scheme cannot promise is in kSchemes below, with the
// reason; docs/channel.md has the same table.
//
// Every name is made in the parent before it forks (the leak check finds names by the
// parent's pid); ordering between the processes rests on Gates and a Mailbox, never on
// sleeps.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "integration/mq_test_support.hpp"
#include "integration/socket_test_util.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/pipe.hpp"
#include "ipcx/ring.hpp"
#include "ipcx/socket.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::Gate;
using Clock = std::chrono::steady_clock;

// ---- the schemes and what each cannot promise ------------------------------------------

enum class Kind { pipe, duplex_pipe, fifo, unix_stream, unix_dgram, unix_seqpacket, tcp, udp, posixmq, sysvmq, shm };

// A reason here means the scheme cannot keep that promise: the check is skipped with the
// reason (GTEST_SKIP), or, for peer death, the test asserts what happens instead (a
// receiver's wait times out; a sender's send succeeds).
struct Limits {
  const char* zero_length = nullptr;    // zero-length messages cannot be sent
  const char* exact_size = nullptr;     // Error::size() is a size that suffices, not the message's
  const char* full_blocks = nullptr;    // a sender never finds the channel full
  const char* pollable = nullptr;       // pollable_fd() is -1
  const char* sender_closed = nullptr;  // a receiver is not told that its sender closed
  const char* sender_killed = nullptr;  // ... or was killed
  const char* receiver_closed = nullptr;  // a sender is not told that its receiver closed
  const char* receiver_killed = nullptr;  // ... or was killed
  const char* gone_once = nullptr;      // a sender is told peer_gone once, not at every send after it
};

struct Scheme {
  const char* name;
  Kind kind;
  const char* pattern = nullptr;  // shm: spsc, mpsc, pubsub
  Limits limits = {};
};
void PrintTo(const Scheme& s, std::ostream* os) { *os << s.name; }

constexpr const char* kConnectionless =
    "connectionless: nothing tells a bound datagram receiver that a sender closed or died; its wait times out";
constexpr const char* kQueueNoPeer =
    "a message queue has no notion of a peer: the queue outlives both sides, so a receiver's wait times out";
constexpr const char* kQueueKeepsTaking =
    "a message queue has no notion of a peer: the queue outlives its receiver (until removed), so sends succeed";

constexpr const char* kPublisherNotTold =
    "a publisher is never told that subscribers went: they come and go, a dead one is reaped so that it cannot hold "
    "the publisher back, and with none attached messages go to no one; sends succeed";

const Scheme kSchemes[] = {
    {"pipe", Kind::pipe},
    {"duplexpipe", Kind::duplex_pipe},
    {"fifo", Kind::fifo},
    {"unix", Kind::unix_stream},
    {"unixgram", Kind::unix_dgram, nullptr, {.sender_closed = kConnectionless, .sender_killed = kConnectionless}},
    {"unixpacket", Kind::unix_seqpacket, nullptr,
     {.zero_length = "unixpacket cannot carry a zero-length message: a zero-length read is the end of the connection "
                     "(the send is refused with invalid_argument)"}},
    {"tcp", Kind::tcp},
    {"udp", Kind::udp, nullptr,
     {.full_blocks = "UDP has no flow control: a datagram that finds the receiver's buffer full is dropped, and the "
                     "sender never waits",
      .sender_closed = kConnectionless,
      .sender_killed = kConnectionless,
      .gone_once = "UDP reports a gone receiver once per ICMP port-unreachable: the send after the one that reports "
                   "it goes out again, and its ICMP is reported at a later call"}},
    {"posixmq", Kind::posixmq, nullptr,
     {.sender_closed = kQueueNoPeer,
      .sender_killed = kQueueNoPeer,
      .receiver_closed = "a message queue has no notion of a peer: the receiver (the creator, unlink=1) removes the "
                         "name only, the queue lives on with the sender's descriptor, so sends succeed",
      .receiver_killed = kQueueKeepsTaking}},
    // A receiver that closes is told apart: it created the queue with remove=1, and a
    // removed queue is peer_gone to its sender.
    {"sysvmq", Kind::sysvmq, nullptr,
     {.exact_size = "msgrcv does not report the length of a message that does not fit: Error::size() is "
                    "kernel.msgmax, a size that always suffices",
      .pollable = "a System V queue has no descriptor to poll",
      .sender_closed = kQueueNoPeer,
      .sender_killed = kQueueNoPeer,
      .receiver_killed = "a message queue has no notion of a peer: a killed creator cannot remove it (remove=1 runs "
                         "at close), the queue lives on, so sends succeed"}},
    {"shm_spsc", Kind::shm, "spsc"},
    {"shm_mpsc", Kind::shm, "mpsc"},
    {"shm_pubsub", Kind::shm, "pubsub", {.receiver_closed = kPublisherNotTold, .receiver_killed = kPublisherNotTold}},
};

// ---- two processes ---------------------------------------------------------------------

// A string handed from one process to the other through a pipe made before fork: the
// receiving side posts its address once it is ready, the sending side takes it.
class Mailbox {
 public:
  Mailbox() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) std::abort();
  }
  ~Mailbox() {
    for (int fd : fds_) ::close(fd);
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  void post(const std::string& s) {
    std::string line = s + "\n";
    (void)!::write(fds_[1], line.data(), line.size());  // far below PIPE_BUF: one write
  }
  std::optional<std::string> take(int timeout_ms = 20000) {
    std::string s;
    char c = 0;
    while (true) {
      pollfd p{fds_[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0 || ::read(fds_[0], &c, 1) != 1) return std::nullopt;
      if (c == '\n') return s;
      s += c;
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

// Reports a failed check in a forked child on stderr and makes it exit with 1.
#define CHILD_CHECK(cond, ...)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "child check failed at %s:%d: %s %s\n", __FILE__, __LINE__, #cond,      \
                   fmt::format("" __VA_ARGS__).c_str());                                           \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

std::string describe(const Result<Received>& r) {
  return r ? fmt::format("received {} bytes", r->size) : r.error().message();
}
std::string describe(const Result<void>& r) { return r ? "sent" : r.error().message(); }
std::string describe(const BatchSent& b) {
  return b.all() ? fmt::format("all {} sent", b.sent) : fmt::format("{} sent, then {}", b.sent, b.error.error().message());
}

// The two ends of one scheme. Made in the parent before fork (names, anonymous pipes);
// receiver() runs in the receiving process and sender() in the sending one, whichever
// they are.
class Sides {
 public:
  explicit Sides(const Scheme& s) : scheme_(s) {
    switch (s.kind) {
      case Kind::pipe: {
        auto p = make_pipe();
        if (!p) std::abort();
        pipe_ = std::move(*p);
        break;
      }
      case Kind::duplex_pipe: {
        auto p = make_duplex_pipe();
        if (!p) std::abort();
        duplex_ = std::move(*p);
        break;
      }
      case Kind::fifo:
      case Kind::unix_stream:
      case Kind::unix_dgram:
      case Kind::unix_seqpacket: name_ = test::unique_path(s.name); break;
      case Kind::posixmq: name_ = test::unique_posix_name(s.name); break;
      case Kind::sysvmq: key_ = test::unique_key(); break;
      case Kind::shm: name_ = test::unique_name(s.name); break;
      case Kind::tcp:
      case Kind::udp: break;
    }
  }

  const std::string& name() const { return name_; }

  // Sets up the receiving end, tells the other side where it is, and (for the
  // connection-oriented schemes) accepts it.
  Result<Channel> receiver() {
    switch (scheme_.kind) {
      case Kind::pipe:
        pipe_->writer = {};
        return std::move(pipe_->reader);
      case Kind::duplex_pipe:
        duplex_->second = {};
        return std::move(duplex_->first);
      case Kind::fifo: {
        auto ch = bind_and_post(fmt::format("fifo://{}?remove=1", name_), fmt::format("fifo://{}?create=0", name_));
        // The read end opens at the first receive or pollable_fd(): open it now, as a
        // receiver that is ready does, or the sender's open waits for it (docs/pipes.md).
        if (ch && ch->pollable_fd() < 0) return fail(Errc::system, "pollable_fd", name_, "the FIFO's read end did not open");
        return ch;
      }
      case Kind::unix_stream: return listen_and_accept(fmt::format("unix://{}", name_));
      case Kind::unix_seqpacket: return listen_and_accept(fmt::format("unixpacket://{}", name_));
      case Kind::tcp: return listen_and_accept("tcp://127.0.0.1:0");
      case Kind::unix_dgram: {
        auto ch = Channel::bind(fmt::format("unixgram://{}", name_));
        if (ch) mail_.post(ch->url());
        return ch;
      }
      case Kind::udp: {
        auto ch = Channel::bind("udp://127.0.0.1:0");
        if (!ch) return ch;
        auto url = local_url(*ch);
        if (!url) return std::unexpected(url.error());
        mail_.post(*url);
        return ch;
      }
      case Kind::posixmq:
        return bind_and_post(fmt::format("posixmq://{}?maxmsg=8&msgsize=4096&unlink=1", name_),
                             fmt::format("posixmq://{}?create=0", name_));
      case Kind::sysvmq:
        return bind_and_post(fmt::format("sysvmq://0x{:08x}?remove=1", static_cast<std::uint32_t>(key_)),
                             fmt::format("sysvmq://0x{:08x}?create=0", static_cast<std::uint32_t>(key_)));
      case Kind::shm:
        // A 64 KiB ring fills quickly; wait=poll gives the consumer a pollable_fd().
        return bind_and_post(fmt::format("shm://{}?pattern={}&capacity=64k&wait=poll", name_, scheme_.pattern),
                             fmt::format("shm://{}?create=0", name_));
    }
    return fail(Errc::invalid_argument, "receiver");
  }

  // Opens the sending end once the receiving end has said where it is.
  Result<Channel> sender() {
    switch (scheme_.kind) {
      case Kind::pipe:
        pipe_->reader = {};
        return std::move(pipe_->writer);
      case Kind::duplex_pipe:
        duplex_->first = {};
        return std::move(duplex_->second);
      default: break;
    }
    auto url = mail_.take();
    if (!url) return fail(Errc::timed_out, "sender", scheme_.name, "the receiving side never said where it is");
    return Channel::open(*url);
  }

  // Removes what a killed side could not (its close never ran). Runs in the parent.
  void scrub() const {
    switch (scheme_.kind) {
      case Kind::fifo:
      case Kind::unix_stream:
      case Kind::unix_dgram:
      case Kind::unix_seqpacket: (void)::unlink(name_.c_str()); break;
      case Kind::posixmq: (void)::mq_unlink(name_.c_str()); break;
      case Kind::sysvmq: {
        int id = ::msgget(key_, 0);
        if (id >= 0) (void)::msgctl(id, IPC_RMID, nullptr);
        break;
      }
      case Kind::shm: (void)remove_ring(name_); break;
      default: break;
    }
  }
  // Whether an object of this scheme's name still exists (/dev/mqueue may not be mounted,
  // so test::leftovers() cannot see POSIX queues).
  bool posix_queue_left() const { return scheme_.kind == Kind::posixmq && test::posix_mq_exists(name_); }

 private:
  Result<Channel> bind_and_post(const std::string& url, const std::string& peer_url) {
    auto ch = Channel::bind(url);
    if (ch) mail_.post(peer_url);
    return ch;
  }
  Result<Channel> listen_and_accept(const std::string& url) {
    auto l = Listener::listen(url);
    if (!l) return std::unexpected(l.error());
    mail_.post(l->local_url());
    return l->accept_for(20s);  // the listener closes (and unlinks its file) on return
  }

  Scheme scheme_;
  std::string name_;
  std::int32_t key_ = 0;
  Mailbox mail_;
  std::optional<PipePair> pipe_;
  std::optional<DuplexPipe> duplex_;
};

class ChannelContract : public ::testing::TestWithParam<Scheme> {
 protected:
  void SetUp() override {
    fds_before_ = test::open_fds().value_or(std::vector<int>{});
    sides_.emplace(GetParam());
  }
  void TearDown() override {
    // The channels were the test body's; all are closed by now.
    if (!orphans_expected_) {
      EXPECT_EQ(test::leftovers(), std::vector<std::string>{}) << "left behind by a clean run";
      EXPECT_FALSE(sides_->posix_queue_left()) << "POSIX queue left behind by a clean run";
    }
    sides_->scrub();  // a failed test must not leave objects on the host either
    if (orphans_expected_) {
      EXPECT_EQ(test::leftovers(), std::vector<std::string>{}) << "left behind, even after removing a killed side's";
      EXPECT_FALSE(sides_->posix_queue_left());
    }
    sides_.reset();
  }

  const Limits& limits() const { return GetParam().limits; }
  Sides& sides() { return *sides_; }
  // A side will be killed, so its close never runs: TearDown removes what it made, then
  // checks that nothing else is left.
  void expect_orphans() { orphans_expected_ = true; }

  std::vector<int> fds_before_;
  bool orphans_expected_ = false;
  std::optional<Sides> sides_;
};

// ---- the contract ----------------------------------------------------------------------

TEST_P(ChannelContract, MessageBoundariesAreKept) {
  const std::vector<std::size_t> sizes = {1, 200, 3, 4000, 17, 1, 2048};
  Gate done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      auto r = tx->send(test::pattern(sizes[i], static_cast<unsigned>(i)));
      CHILD_CHECK(r, "{}", describe(r));
    }
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    std::vector<std::byte> buf(8192);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      auto r = rx->receive_for(buf, 10s);
      ASSERT_TRUE(r) << "message " << i << ": " << r.error().message();
      ASSERT_EQ(r->size, sizes[i]) << "message " << i;
      EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->size),
                             test::pattern(sizes[i], static_cast<unsigned>(i)).begin()))
          << "message " << i << " arrived changed";
    }
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

TEST_P(ChannelContract, ZeroLengthMessages) {
  if (limits().zero_length) GTEST_SKIP() << limits().zero_length;
  Gate done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    for (std::string_view m : {"", "x", ""}) {
      auto r = tx->send(as_bytes(m));
      CHILD_CHECK(r, "{}", describe(r));
    }
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    std::vector<std::byte> buf(64);
    for (std::size_t expect : {0u, 1u, 0u}) {
      auto r = rx->receive_for(buf, 10s);
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_EQ(r->size, expect);
    }
    auto m = rx->try_receive_message();
    ASSERT_FALSE(m) << "a fourth message: " << m->data.size() << " bytes";
    EXPECT_TRUE(m.error().would_block()) << m.error().message();
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

TEST_P(ChannelContract, TooLargeForTheBufferStaysQueued) {
  Gate done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    auto a = tx->send(test::pattern(1000, 7));
    CHILD_CHECK(a, "{}", describe(a));
    auto b = tx->send(test::pattern(5, 8));
    CHILD_CHECK(b, "{}", describe(b));
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    std::vector<std::byte> small(100);
    auto r = rx->receive_for(small, 10s);
    ASSERT_FALSE(r) << "a 1000-byte message into a 100-byte buffer: " << describe(r);
    EXPECT_EQ(r.error().kind(), Errc::message_too_large) << r.error().message();
    if (limits().exact_size) {
      EXPECT_GE(r.error().size(), 1000u) << limits().exact_size;
    } else {
      EXPECT_EQ(r.error().size(), 1000u) << r.error().message();
    }
    // Still queued: the same answer again, without waiting.
    auto again = rx->try_receive(small);
    ASSERT_FALSE(again) << describe(again);
    EXPECT_EQ(again.error().kind(), Errc::message_too_large) << again.error().message();
    // Then whole, with a buffer of Error::size() bytes, and the next message after it.
    std::vector<std::byte> big(r.error().size());
    auto whole = rx->receive_for(big, 10s);
    ASSERT_TRUE(whole) << whole.error().message();
    ASSERT_EQ(whole->size, 1000u);
    EXPECT_TRUE(std::equal(big.begin(), big.begin() + 1000, test::pattern(1000, 7).begin()));
    auto next = rx->receive_for(big, 10s);
    ASSERT_TRUE(next) << next.error().message();
    ASSERT_EQ(next->size, 5u);
    EXPECT_TRUE(std::equal(big.begin(), big.begin() + 5, test::pattern(5, 8).begin()));
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

TEST_P(ChannelContract, TryReceiveGivesWouldBlock) {
  Gate go, done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    CHILD_CHECK(go.wait(20000) != 0);
    auto r = tx->send(as_bytes("one"));
    CHILD_CHECK(r, "{}", describe(r));
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    std::vector<std::byte> buf(64);
    auto before = rx->try_receive(buf);
    ASSERT_FALSE(before) << describe(before);
    EXPECT_TRUE(before.error().would_block()) << before.error().message();
    auto m = rx->try_receive_message();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().would_block()) << m.error().message();
    go.open();
    auto r = rx->receive_for(buf, 10s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(as_text(std::span(buf).first(r->size)), "one");
    auto after = rx->try_receive(buf);
    ASSERT_FALSE(after) << describe(after);
    EXPECT_TRUE(after.error().would_block()) << after.error().message();
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// A lower bound (never early) and a generous upper bound (the machine may be loaded).
void expect_waited(Clock::time_point start, std::chrono::milliseconds asked) {
  auto took = Clock::now() - start;
  EXPECT_GE(took, asked);
  EXPECT_LT(took, asked + 5s);
}

TEST_P(ChannelContract, ReceiveDeadlinesAreKept) {
  Gate done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    std::vector<std::byte> buf(64);
    auto t0 = Clock::now();
    auto a = rx->receive_for(buf, 150ms);
    ASSERT_FALSE(a) << describe(a);
    EXPECT_TRUE(a.error().timed_out()) << a.error().message();
    expect_waited(t0, 150ms);
    auto t1 = Clock::now();
    auto b = rx->receive_until(buf, t1 + 120ms);
    ASSERT_FALSE(b) << describe(b);
    EXPECT_TRUE(b.error().timed_out()) << b.error().message();
    expect_waited(t1, 120ms);
    auto t2 = Clock::now();
    auto c = rx->receive_message_for(100ms);
    ASSERT_FALSE(c);
    EXPECT_TRUE(c.error().timed_out()) << c.error().message();
    expect_waited(t2, 100ms);
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// The receiver takes one message first, so that the connection (or the FIFO's read end,
// or the ring's consumer) is fully there before it goes.
int receive_hello(Result<Channel>& rx) {
  CHILD_CHECK(rx, "{}", rx.error().message());
  std::vector<std::byte> buf(64);
  auto m = rx->receive_for(buf, 20s);
  CHILD_CHECK(m, "{}", describe(m));
  CHILD_CHECK(as_text(std::span(buf).first(m->size)) == "hello", "got '{}'", as_text(std::span(buf).first(m->size)));
  return 0;
}

// The sender's side of try_ and deadlines: fill the channel (the receiver reads nothing),
// then try_send says would_block and a timed send times out on time.
TEST_P(ChannelContract, FullChannelTrySendWouldBlockAndSendDeadlineIsKept) {
  if (limits().full_blocks) GTEST_SKIP() << limits().full_blocks;
  Gate ready, done;
  auto child = Child::spawn([&] {
    auto rx = sides().receiver();
    if (int bad = receive_hello(rx)) return bad;
    ready.open();
    CHILD_CHECK(done.wait(60000) != 0);
    return 0;
  });
  {
    auto tx = sides().sender();
    ASSERT_TRUE(tx) << tx.error().message();
    auto hello = tx->send_for(as_bytes("hello"), 20s);
    ASSERT_TRUE(hello) << hello.error().message();
    ASSERT_NE(ready.wait(20000), 0);
    const auto msg = test::pattern(1024, 1);
    Result<void> r;
    std::size_t sent = 0;
    // Bounded: 256 MiB is far beyond any buffer a kernel or ring gives one channel.
    for (; sent < (256u << 20) / msg.size(); ++sent) {
      r = tx->try_send(msg);
      if (!r) break;
    }
    ASSERT_FALSE(r) << "still not full after " << sent << " messages";
    EXPECT_TRUE(r.error().would_block()) << "after " << sent << " messages: " << r.error().message();
    EXPECT_GT(sent, 0u);
    auto t0 = Clock::now();
    auto timed = tx->send_for(msg, 150ms);
    ASSERT_FALSE(timed) << "a send into a full channel";
    EXPECT_TRUE(timed.error().timed_out()) << timed.error().message();
    expect_waited(t0, 150ms);
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
  // shm spsc/mpsc keep a ring whose messages were never read, for the next consumer
  // (ring.hpp, "Lifetime"): removing it by hand is the documented way.
  if (GetParam().kind == Kind::shm && std::string_view(GetParam().pattern) != "pubsub") {
    EXPECT_TRUE(remove_ring(sides().name())) << "the ring with unread messages was not kept";
  }
}

// The receiver's side of peer death. Messages sent before the sender went are delivered;
// then peer_gone, or where the transport cannot know, the wait times out.
void expect_sender_gone(Channel& rx, const char* cannot_know) {
  std::vector<std::byte> buf(64);
  auto last = rx.receive_for(buf, 10s);
  ASSERT_TRUE(last) << "the message sent before the sender went: " << last.error().message();
  EXPECT_EQ(as_text(std::span(buf).first(last->size)), "last");
  if (cannot_know) {
    auto r = rx.receive_for(buf, 300ms);
    ASSERT_FALSE(r) << describe(r);
    EXPECT_TRUE(r.error().timed_out()) << "expected a time-out (" << cannot_know << "), got " << r.error().message();
    return;
  }
  for (int i = 0; i < 2; ++i) {  // and it stays gone
    auto r = rx.receive_for(buf, 10s);
    ASSERT_FALSE(r) << describe(r);
    EXPECT_TRUE(r.error().peer_gone()) << r.error().message();
  }
}

TEST_P(ChannelContract, ReceiverIsToldTheSenderClosed) {
  Gate closed, done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    auto r = tx->send(as_bytes("last"));
    CHILD_CHECK(r, "{}", describe(r));
    *tx = Channel();  // closed; the process lives on
    closed.open();
    CHILD_CHECK(done.wait(30000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    ASSERT_NE(closed.wait(20000), 0);
    expect_sender_gone(*rx, limits().sender_closed);
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

TEST_P(ChannelContract, ReceiverIsToldTheSenderWasKilled) {
  expect_orphans();
  Gate sent, never;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    auto r = tx->send(as_bytes("last"));
    CHILD_CHECK(r, "{}", describe(r));
    sent.open();
    (void)never.wait(60000);  // killed here
    return 2;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    ASSERT_NE(sent.wait(20000), 0);
    child.kill(SIGKILL);
    ASSERT_EQ(child.wait(), 128 + SIGKILL);
    expect_sender_gone(*rx, limits().sender_killed);
  }
}

// The sender's side of peer death: peer_gone within a bounded number of sends (a stream
// learns of a reset at the send after the one that provoked it; a ring producer that is
// not waiting learns within 32 sends), or, where the transport cannot know, sends succeed.
void expect_receiver_gone(Channel& tx, const char* cannot_know, const Limits& limits) {
  const auto msg = as_bytes("after");
  if (cannot_know) {
    auto r = tx.send_for(msg, 2s);
    EXPECT_TRUE(r) << "expected the send to succeed (" << cannot_know << "), got " << describe(r);
    return;
  }
  Result<void> r;
  int sends = 0;
  for (; sends < 64; ++sends) {
    r = tx.send_for(msg, 10s);
    if (!r) break;
  }
  ASSERT_FALSE(r) << "still sending after " << sends << " messages";
  EXPECT_TRUE(r.error().peer_gone()) << "after " << sends << " sends: " << r.error().message();
  if (limits.gone_once) return;  // see the reason in kSchemes
  auto again = tx.send_for(msg, 10s);
  ASSERT_FALSE(again) << "peer_gone, then a send succeeded";
  EXPECT_TRUE(again.error().peer_gone()) << again.error().message();
}

TEST_P(ChannelContract, SenderIsToldTheReceiverClosed) {
  Gate closed, done;
  auto child = Child::spawn([&] {
    auto rx = sides().receiver();
    if (int bad = receive_hello(rx)) return bad;
    *rx = Channel();
    closed.open();
    CHILD_CHECK(done.wait(60000) != 0);
    return 0;
  });
  {
    auto tx = sides().sender();
    ASSERT_TRUE(tx) << tx.error().message();
    auto hello = tx->send_for(as_bytes("hello"), 20s);
    ASSERT_TRUE(hello) << hello.error().message();
    ASSERT_NE(closed.wait(20000), 0);
    expect_receiver_gone(*tx, limits().receiver_closed, limits());
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

TEST_P(ChannelContract, SenderIsToldTheReceiverWasKilled) {
  expect_orphans();
  Gate got, never;
  auto child = Child::spawn([&] {
    auto rx = sides().receiver();
    if (int bad = receive_hello(rx)) return bad;
    got.open();
    (void)never.wait(60000);  // killed here
    return 2;
  });
  {
    auto tx = sides().sender();
    ASSERT_TRUE(tx) << tx.error().message();
    auto hello = tx->send_for(as_bytes("hello"), 20s);
    ASSERT_TRUE(hello) << hello.error().message();
    ASSERT_NE(got.wait(20000), 0);
    child.kill(SIGKILL);
    ASSERT_EQ(child.wait(), 128 + SIGKILL);
    expect_receiver_gone(*tx, limits().receiver_killed, limits());
  }
}

// 1 if readable within timeout_ms, 0 if not, -1 on error.
int readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n < 0) return -1;
  return n == 1 && (p.revents & POLLIN) ? 1 : 0;
}

TEST_P(ChannelContract, PollableFdIsReadableWhenAMessageWaits) {
  if (limits().pollable) GTEST_SKIP() << limits().pollable;
  Gate go, sent, done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    CHILD_CHECK(go.wait(20000) != 0);
    auto r = tx->send(as_bytes("ping"));
    CHILD_CHECK(r, "{}", describe(r));
    sent.open();
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    const int fd = rx->pollable_fd();
    ASSERT_GE(fd, 0);
    EXPECT_EQ(readable(fd, 0), 0) << "readable before anything was sent";
    go.open();
    ASSERT_NE(sent.wait(20000), 0);
    EXPECT_EQ(readable(fd, 10000), 1) << "not readable with a message waiting";
    std::vector<std::byte> buf(64);
    auto r = rx->try_receive(buf);
    ASSERT_TRUE(r) << "readable, yet: " << r.error().message();
    EXPECT_EQ(as_text(std::span(buf).first(r->size)), "ping");
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// The descriptors a helper exec'd now inherits that were not open before the test: none.
// The helper is this binary with --list-fds (tests/support/main.cpp).
std::vector<int> inherited_since(const std::vector<int>& before) {
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return {-1};
  auto helper = Child::exec({self, "--list-fds"});
  if (helper.wait() != 0) return {-1};
  std::vector<int> leaked;
  std::istringstream in(helper.output());
  for (int fd; in >> fd;) {
    if (fd > 2 && std::find(before.begin(), before.end(), fd) == before.end()) leaked.push_back(fd);
  }
  return leaked;
}

// The descriptors opened since `before`.
std::vector<int> opened_since(const std::vector<int>& before) {
  std::vector<int> now = test::open_fds().value_or(std::vector<int>{});
  std::vector<int> fresh;
  for (int fd : now) {
    if (std::find(before.begin(), before.end(), fd) == before.end()) fresh.push_back(fd);
  }
  return fresh;
}

TEST_P(ChannelContract, NoDescriptorCrossesExec) {
  // That the check could fail: each side holds descriptors it opened for its channel. SysV
  // queues are ids, not descriptors; anonymous pipes were opened before the fork.
  const Kind kind = GetParam().kind;
  const bool opens_fds = kind != Kind::sysvmq && kind != Kind::pipe && kind != Kind::duplex_pipe;
  Gate done;
  auto child = Child::spawn([&] {
    const auto mark = test::open_fds().value_or(std::vector<int>{});
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    auto r = tx->send(as_bytes("used"));
    CHILD_CHECK(r, "{}", describe(r));
    CHILD_CHECK(!opens_fds || !opened_since(mark).empty(), "the sender holds no descriptor of its own");
    auto leaked = inherited_since(fds_before_);
    CHILD_CHECK(leaked.empty(), "sender: an exec'd helper inherited {}", fmt::join(leaked, ", "));
    CHILD_CHECK(done.wait(20000) != 0);
    return 0;
  });
  {
    const auto mark = test::open_fds().value_or(std::vector<int>{});
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    std::vector<std::byte> buf(64);
    auto r = rx->receive_for(buf, 10s);
    ASSERT_TRUE(r) << r.error().message();
    if (opens_fds) {
      EXPECT_FALSE(opened_since(mark).empty()) << "the receiver holds no descriptor of its own";
    }
    auto leaked = inherited_since(fds_before_);
    EXPECT_TRUE(leaked.empty()) << "receiver: an exec'd helper inherited " << fmt::format("{}", fmt::join(leaked, ", "));
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// ---- batches (docs/channel.md, "Batches") ----------------------------------------------

// Views of owned messages, as send_batch takes them.
std::vector<std::span<const std::byte>> views(const std::vector<std::vector<std::byte>>& msgs) {
  return {msgs.begin(), msgs.end()};
}

// Receives batches until `want` messages are in, appending them (bytes and descriptors).
::testing::AssertionResult receive_batches(Channel& rx, MessageBatch& batch, std::size_t want,
                                           std::vector<Message>& out) {
  while (out.size() < want) {
    auto n = rx.receive_batch_for(batch, 10s);
    if (!n) return ::testing::AssertionFailure() << "after " << out.size() << " messages: " << n.error().message();
    if (*n == 0 || *n != batch.size() || *n > batch.capacity()) {
      return ::testing::AssertionFailure() << "receive_batch said " << *n << ", the batch holds " << batch.size();
    }
    for (std::size_t i = 0; i < *n; ++i) {
      Message m;
      m.data.assign(batch.data(i).begin(), batch.data(i).end());
      m.fds = std::move(batch.info(i).fds);
      out.push_back(std::move(m));
    }
  }
  return ::testing::AssertionSuccess();
}

// The slot size for a batch: at least `want`, and for the datagram and seqpacket schemes the
// channel's maximum, so that their batches take the recvmmsg path (smaller slots take one
// peeked receive per message, which TooLargeInTheMiddleOfABatch checks).
std::size_t slot_for(const Channel& rx, Kind k, std::size_t want) {
  const bool packets = k == Kind::unix_dgram || k == Kind::unix_seqpacket || k == Kind::udp;
  return packets ? std::max(want, rx.max_message_size()) : want;
}

bool passes_fds(Kind k) { return k == Kind::unix_stream || k == Kind::unix_dgram || k == Kind::unix_seqpacket; }

// Many batches of varying counts and sizes: every message arrives, once, in order, whole.
TEST_P(ChannelContract, BatchesLoseAndReorderNothing) {
  // UDP drops what finds the receiver's buffer full, so its sender goes in rounds that the
  // receiver acknowledges.
  const bool paced = limits().full_blocks != nullptr;
  const std::size_t rounds = paced ? 12 : 120;
  std::size_t total = 0;
  std::vector<std::size_t> counts;
  for (std::size_t r = 0; r < rounds; ++r) {
    counts.push_back(1 + (r * 7) % 23);
    total += counts.back();
  }
  auto size_of = [](std::size_t i) { return 1 + (i * 37) % 300; };
  Gate ack, done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    std::size_t seq = 0;
    for (std::size_t r = 0; r < rounds; ++r) {
      std::vector<std::vector<std::byte>> msgs;
      for (std::size_t k = 0; k < counts[r]; ++k, ++seq) msgs.push_back(test::pattern(size_of(seq), static_cast<unsigned>(seq)));
      auto v = views(msgs);
      std::span<const std::span<const std::byte>> rest(v);
      while (!rest.empty()) {  // a partial send: the rest goes in the next call
        auto n = tx->send_batch_for(rest, 20s);
        CHILD_CHECK(n.all(), "round {}: {} sent, then {}", r, n.sent, n.error.error().message());
        CHILD_CHECK(n.sent == rest.size(), "round {}: sent {} of {}", r, n.sent, rest.size());
        rest = rest.subspan(n.sent);
      }
      if (paced) CHILD_CHECK(ack.wait(20000) != 0, "round {} not acknowledged", r);
    }
    CHILD_CHECK(done.wait(30000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    MessageBatch batch(16, slot_for(*rx, GetParam().kind, 512));
    std::vector<Message> got;
    std::size_t expected = 0;
    for (std::size_t r = 0; r < rounds; ++r) {
      if (!paced && r > 0) break;  // unpaced: take everything in one go below
      expected = paced ? expected + counts[r] : total;
      ASSERT_TRUE(receive_batches(*rx, batch, expected, got));
      if (paced) ack.open();
    }
    ASSERT_EQ(got.size(), total);
    for (std::size_t i = 0; i < total; ++i) {
      ASSERT_EQ(got[i].data, test::pattern(size_of(i), static_cast<unsigned>(i))) << "message " << i;
    }
    auto more = rx->try_receive_batch(batch);
    ASSERT_FALSE(more) << "an extra batch of " << *more;
    EXPECT_TRUE(more.error().would_block()) << more.error().message();
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// A batch takes what is waiting, up to its capacity, and does not wait for more.
TEST_P(ChannelContract, PartialBatchTakesWhatIsWaiting) {
  Gate sent, done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    for (unsigned i = 0; i < 5; ++i) {
      auto r = tx->send(test::pattern(10 + i, i));
      CHILD_CHECK(r, "{}", describe(r));
    }
    sent.open();
    CHILD_CHECK(done.wait(30000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    ASSERT_NE(sent.wait(20000), 0);
    MessageBatch batch(3, slot_for(*rx, GetParam().kind, 64));
    std::vector<std::size_t> got;
    unsigned seq = 0;
    // 3 then 2: the second batch is partial and comes back without waiting for a third.
    for (std::size_t expect : {3u, 2u}) {
      auto t0 = Clock::now();
      auto n = rx->receive_batch_for(batch, 10s);
      ASSERT_TRUE(n) << n.error().message();
      // The stream and datagram batches take all that is waiting; the ring and the queues too.
      ASSERT_EQ(*n, expect);
      ASSERT_EQ(batch.size(), expect);
      EXPECT_LT(Clock::now() - t0, 5s) << "a partial batch waited for more";
      for (std::size_t i = 0; i < *n; ++i, ++seq) {
        EXPECT_EQ(std::vector<std::byte>(batch.data(i).begin(), batch.data(i).end()), test::pattern(10 + seq, seq))
            << "message " << seq;
      }
    }
    auto t0 = Clock::now();
    auto none = rx->receive_batch_for(batch, 150ms);
    ASSERT_FALSE(none) << "a batch of " << *none << " from nothing";
    EXPECT_TRUE(none.error().timed_out()) << none.error().message();
    expect_waited(t0, 150ms);
    auto try_none = rx->try_receive_batch(batch);
    ASSERT_FALSE(try_none);
    EXPECT_TRUE(try_none.error().would_block()) << try_none.error().message();
    EXPECT_EQ(batch.size(), 0u) << "a failed receive_batch left messages in the batch";
    MessageBatch empty(0, 64);
    auto bad = rx->try_receive_batch(empty);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind(), Errc::invalid_argument) << bad.error().message();
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// Receiving: a message too large for its slot stops the batch before it and stays queued.
// Sending: a message above the channel's maximum stops the batch before it; the call for
// the rest reports it.
TEST_P(ChannelContract, TooLargeInTheMiddleOfABatch) {
  Gate done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    const std::vector<std::vector<std::byte>> first = {test::pattern(10, 1), test::pattern(20, 2),
                                                       test::pattern(3000, 3), test::pattern(5, 4)};
    auto v = views(first);
    auto n = tx->send_batch_for(v, 20s);
    CHILD_CHECK(n.all() && n.sent == 4, "{}", describe(n));
    const std::size_t max = tx->max_message_size();
    CHILD_CHECK(max < (512u << 20), "max_message_size {}", max);
    const std::vector<std::vector<std::byte>> second = {test::pattern(6, 5), std::vector<std::byte>(max + 1),
                                                        test::pattern(7, 6)};
    auto w = views(second);
    auto m = tx->send_batch_for(w, 20s);
    CHILD_CHECK(m.sent == 1 && !m.all() && m.error.error().kind() == Errc::message_too_large, "{}", describe(m));
    auto rest = tx->send_batch_for(std::span(w).subspan(1), 20s);
    CHILD_CHECK(rest.sent == 0 && !rest.all() && rest.error.error().kind() == Errc::message_too_large, "{}",
                describe(rest));
    auto last = tx->send_batch_for(std::span(w).subspan(2), 20s);
    CHILD_CHECK(last.all() && last.sent == 1, "{}", describe(last));
    CHILD_CHECK(done.wait(30000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    MessageBatch batch(8, 100);
    std::vector<Message> got;
    ASSERT_TRUE(receive_batches(*rx, batch, 2, got));
    ASSERT_EQ(got.size(), 2u) << "the batch went past the message too large for its slot";
    EXPECT_EQ(got[0].data, test::pattern(10, 1));
    EXPECT_EQ(got[1].data, test::pattern(20, 2));
    auto big = rx->receive_batch_for(batch, 10s);
    ASSERT_FALSE(big) << "a 3000-byte message in a 100-byte slot: " << *big;
    EXPECT_EQ(big.error().kind(), Errc::message_too_large) << big.error().message();
    if (limits().exact_size) {
      EXPECT_GE(big.error().size(), 3000u) << limits().exact_size;
    } else {
      EXPECT_EQ(big.error().size(), 3000u) << big.error().message();
    }
    std::vector<std::byte> buf(big.error().size());
    auto whole = rx->receive_for(buf, 10s);
    ASSERT_TRUE(whole) << whole.error().message();
    ASSERT_EQ(whole->size, 3000u);
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 3000, test::pattern(3000, 3).begin()));
    got.clear();
    ASSERT_TRUE(receive_batches(*rx, batch, 3, got));
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].data, test::pattern(5, 4));
    EXPECT_EQ(got[1].data, test::pattern(6, 5));
    EXPECT_EQ(got[2].data, test::pattern(7, 6));
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// The sender's deadlines: a full channel makes try_send_batch say would_block and a timed
// send_batch time out on time.
TEST_P(ChannelContract, FullChannelBatchDeadlines) {
  if (limits().full_blocks) GTEST_SKIP() << limits().full_blocks;
  Gate ready, done;
  auto child = Child::spawn([&] {
    auto rx = sides().receiver();
    if (int bad = receive_hello(rx)) return bad;
    ready.open();
    CHILD_CHECK(done.wait(60000) != 0);
    return 0;
  });
  {
    auto tx = sides().sender();
    ASSERT_TRUE(tx) << tx.error().message();
    auto hello = tx->send_for(as_bytes("hello"), 20s);
    ASSERT_TRUE(hello) << hello.error().message();
    ASSERT_NE(ready.wait(20000), 0);
    const std::vector<std::vector<std::byte>> msgs(16, test::pattern(1024, 1));
    const auto v = views(msgs);
    BatchSent r;
    std::size_t sent = 0;
    for (; sent < (256u << 20) / 1024;) {
      r = tx->try_send_batch(v);
      sent += r.sent;
      if (!r.all()) break;
    }
    ASSERT_FALSE(r.all()) << "still not full after " << sent << " messages";
    EXPECT_TRUE(r.error.error().would_block()) << "after " << sent << " messages: " << describe(r);
    EXPECT_GT(sent, 0u);
    auto t0 = Clock::now();
    auto timed = tx->send_batch_for(v, 150ms);
    ASSERT_FALSE(timed.all()) << "a batch into a full channel: " << describe(timed);
    EXPECT_EQ(timed.sent, 0u) << describe(timed);
    EXPECT_TRUE(timed.error.error().timed_out()) << describe(timed);
    expect_waited(t0, 150ms);
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
  if (GetParam().kind == Kind::shm && std::string_view(GetParam().pattern) != "pubsub") {
    EXPECT_TRUE(remove_ring(sides().name())) << "the ring with unread messages was not kept";
  }
}

// Descriptors sent with a batch go with its first message, and arrive with that message
// when received in a batch.
TEST_P(ChannelContract, BatchCarriesDescriptorsWithItsFirstMessage) {
  if (!passes_fds(GetParam().kind)) GTEST_SKIP() << "descriptors pass only over Unix sockets";
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  ASSERT_EQ(::write(a[1], "A", 1), 1);
  ASSERT_EQ(::write(b[1], "B", 1), 1);
  Fd a0(a[0]), a1(a[1]), b0(b[0]), b1(b[1]);
  Gate done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    const std::vector<std::vector<std::byte>> msgs = {test::pattern(8, 0), test::pattern(9, 1), test::pattern(10, 2)};
    const auto v = views(msgs);
    const int fa[] = {a0.get()};
    const int fb[] = {b0.get()};
    auto n = tx->send_batch_for(v, 20s, {.fds = fa});
    CHILD_CHECK(n.all() && n.sent == 3, "{}", describe(n));
    auto m = tx->send_batch_for(std::span(v).first(2), 20s, {.fds = fb});
    CHILD_CHECK(m.all() && m.sent == 2, "{}", describe(m));
    CHILD_CHECK(done.wait(30000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    MessageBatch batch(8, slot_for(*rx, GetParam().kind, 64));
    std::vector<Message> got;
    ASSERT_TRUE(receive_batches(*rx, batch, 5, got));
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t i = 0; i < got.size(); ++i) {
      const bool carries = i == 0 || i == 3;
      ASSERT_EQ(got[i].fds.size(), carries ? 1u : 0u) << "message " << i;
      EXPECT_EQ(got[i].data, test::pattern(8 + i % 3, static_cast<unsigned>(i % 3))) << "message " << i;
    }
    char c = 0;
    ASSERT_EQ(::read(got[0].fds[0].get(), &c, 1), 1);
    EXPECT_EQ(c, 'A');
    ASSERT_EQ(::read(got[3].fds[0].get(), &c, 1), 1);
    EXPECT_EQ(c, 'B');
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// The receiver's side of peer death in a batch: what was sent arrives, then peer_gone (or a
// time-out where the transport cannot know).
TEST_P(ChannelContract, BatchStopsAtTheSenderGone) {
  Gate closed, done;
  auto child = Child::spawn([&] {
    auto tx = sides().sender();
    CHILD_CHECK(tx, "{}", tx.error().message());
    const std::vector<std::vector<std::byte>> msgs = {test::pattern(30, 0), test::pattern(31, 1), test::pattern(32, 2)};
    const auto v = views(msgs);
    auto n = tx->send_batch_for(v, 20s);
    CHILD_CHECK(n.all() && n.sent == 3, "{}", describe(n));
    *tx = Channel();
    closed.open();
    CHILD_CHECK(done.wait(30000) != 0);
    return 0;
  });
  {
    auto rx = sides().receiver();
    ASSERT_TRUE(rx) << rx.error().message();
    ASSERT_NE(closed.wait(20000), 0);
    MessageBatch batch(8, slot_for(*rx, GetParam().kind, 64));
    auto n = rx->receive_batch_for(batch, 10s);
    ASSERT_TRUE(n) << n.error().message();
    ASSERT_EQ(*n, 3u) << "the messages sent before the sender closed";
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(std::vector<std::byte>(batch.data(i).begin(), batch.data(i).end()),
                test::pattern(30 + i, static_cast<unsigned>(i)));
    }
    auto gone = rx->receive_batch_for(batch, limits().sender_closed ? 300ms : 10s);
    ASSERT_FALSE(gone) << *gone;
    if (limits().sender_closed) {
      EXPECT_TRUE(gone.error().timed_out()) << gone.error().message();
    } else {
      EXPECT_TRUE(gone.error().peer_gone()) << gone.error().message();
    }
    done.open();
    EXPECT_EQ(child.wait(), 0);
  }
}

// The sender's side: batches to a receiver that went end in peer_gone within a bounded
// number of calls (or succeed where the transport cannot know).
TEST_P(ChannelContract, BatchSenderIsToldTheReceiverWasKilled) {
  expect_orphans();
  Gate got, never;
  auto child = Child::spawn([&] {
    auto rx = sides().receiver();
    if (int bad = receive_hello(rx)) return bad;
    got.open();
    (void)never.wait(60000);  // killed here
    return 2;
  });
  {
    auto tx = sides().sender();
    ASSERT_TRUE(tx) << tx.error().message();
    auto hello = tx->send_for(as_bytes("hello"), 20s);
    ASSERT_TRUE(hello) << hello.error().message();
    ASSERT_NE(got.wait(20000), 0);
    child.kill(SIGKILL);
    ASSERT_EQ(child.wait(), 128 + SIGKILL);
    const std::vector<std::vector<std::byte>> msgs(8, test::pattern(16, 9));
    const auto v = views(msgs);
    if (limits().receiver_killed) {
      auto r = tx->send_batch_for(v, 2s);
      EXPECT_TRUE(r.all()) << "expected the batch to go (" << limits().receiver_killed << "), got " << describe(r);
      return;
    }
    BatchSent r;
    int calls = 0;
    for (; calls < 64; ++calls) {
      r = tx->send_batch_for(v, 10s);
      if (!r.all()) break;
    }
    ASSERT_FALSE(r.all()) << "still sending after " << calls << " batches";
    EXPECT_TRUE(r.error.error().peer_gone()) << "after " << calls << " batches: " << describe(r);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryScheme, ChannelContract, ::testing::ValuesIn(kSchemes),
                         [](const ::testing::TestParamInfo<Scheme>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace ipcx
