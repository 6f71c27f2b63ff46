// SPDX-License-Identifier: MIT
// Rows of the shm ring through its own API (ipcx/ring.hpp) rather than Channel:
//   shm-zc      RingProducer loan + one memcpy + commit; RingConsumer::read, the message
//               checked where it lies in the ring and echoed from there (one copy a hop,
//               where the Channel rows and the floor make two).
//   shm-pubsub  one publisher (the client), 1 or 4 subscribers: the server is subscriber 1
//               and echoes round trips over an spsc ring; subscribers 2..N are processes the
//               server forks, each checking every message it gets and the order of all of
//               them. A subscriber that fails fails the row.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "cases.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::bench {
namespace {

std::unexpected<Problem> ring_failed(std::string_view what, const Error& e) {
  if (e.kind() == Errc::not_supported) return skipped(e.message());
  return failed(fmt::format("{}: {}", what, e.message()));
}

// As the shm rows make theirs (ring_capacity); max = the size.
RingOptions ring_options(std::size_t size, WaitStrategy wait) {
  RingOptions o;
  o.capacity = ring_capacity(size);
  o.max_message = size;
  o.wait = wait;
  return o;
}

// Receives on one ring, sends on another, through loans and views.
class RingLink : public Link {
 public:
  RingLink(RingConsumer rx, RingProducer tx) : rx_(std::move(rx)), tx_(std::move(tx)) {}

  // A loan, the one copy, a commit (what RingProducer::send does, spelled out).
  Res<void> send(std::span<const std::byte> msg) override {
    auto loan = tx_.loan(msg.size());
    if (!loan) return ring_failed("loan", loan.error());
    std::memcpy(loan->data().data(), msg.data(), msg.size());
    if (auto c = tx_.commit(std::move(*loan), msg.size()); !c) return ring_failed("commit", c.error());
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    auto r = rx_.receive(buf);
    if (!r) return ring_failed("receive", r.error());
    return r->size;
  }
  bool in_place() const override { return true; }
  Res<std::span<const std::byte>> receive_in_place() override {
    view_.reset();  // one view at a time
    auto v = rx_.read();
    if (!v) return ring_failed("read", v.error());
    view_.emplace(std::move(*v));
    return view_->data();
  }
  void release_in_place() override { view_.reset(); }
  std::uint64_t lost() const override { return rx_.lost(); }

 protected:
  RingConsumer rx_;
  RingProducer tx_;
  std::optional<ReadView> view_;  // declared after the handles: dropped before them
};

// --- shm-zc --------------------------------------------------------------------------

class ShmZeroCopy final : public Case {
 public:
  ShmZeroCopy()
      : Case("shm-zc", "ipcx", "spin",
             "RingProducer loan/commit (one memcpy in), RingConsumer::read checked in place; ring x2") {}
  Res<void> prepare(const RunSpec& spec) override {
    up_ = spec.stem + "-up";
    down_ = spec.stem + "-down";
    return {};
  }
  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    // Both rings exist before the client is told to go.
    auto o = ring_options(spec.size, WaitStrategy::spin);
    auto rx = RingConsumer::open(up_, o);
    if (!rx) return ring_failed("open consumer", rx.error());
    auto tx = RingProducer::open(down_, o);
    if (!tx) return ring_failed("open producer", tx.error());
    rx_.emplace(std::move(*rx));
    tx_.emplace(std::move(*tx));
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    auto l = std::make_unique<RingLink>(std::move(*rx_), std::move(*tx_));
    rx_.reset();
    tx_.reset();
    return l;
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto o = ring_options(spec.size, WaitStrategy::spin);
    auto tx = RingProducer::open(up_, o);
    if (!tx) return ring_failed("open producer", tx.error());
    auto rx = RingConsumer::open(down_, o);
    if (!rx) return ring_failed("open consumer", rx.error());
    return std::make_unique<RingLink>(std::move(*rx), std::move(*tx));
  }
  void cleanup(const RunSpec&) override {
    // Usually gone already (the last side to close removes a ring); a killed process
    // leaves it.
    for (const auto& n : {up_, down_}) {
      if (!n.empty()) (void)remove_ring(n);
    }
    up_.clear();
    down_.clear();
  }

 private:
  std::string up_, down_;
  std::optional<RingConsumer> rx_;
  std::optional<RingProducer> tx_;
};

// --- shm-pubsub ----------------------------------------------------------------------

constexpr unsigned kMaxSubscribers = 8;

// What the extra subscribers report, in a shared mapping made by the driver (inherited by
// the server and by the subscribers it forks).
struct SubSlot {
  std::atomic<pid_t> pid;
  std::atomic<int> state;  // 0 running, 1 ok, 2 failed
  std::uint64_t received;
  std::uint64_t lost;
  std::uint64_t published;  // messages the publisher sent, as this subscriber counted them
  Busy oneway;              // its CPU over the one-way phase (policy=block): the
                            // subscribers sharing a CPU hold a block publisher back
  char why[512];
};
struct SubBoard {
  SubSlot slot[kMaxSubscribers];
};

void put_why(SubSlot& s, std::string_view why) {
  std::size_t n = std::min(why.size(), sizeof s.why - 1);
  std::memcpy(s.why, why.data(), n);
  s.why[n] = '\0';
}

// Reads the whole stream of the client's messages, as the server sees them, to the last
// round trip ("fin"). Each message is checked in place (size, header, body) and must be the
// one that belongs at its position: the ring's position g counts received and dropped
// messages alike, so with policy=drop a skipped stretch must still be followed by exactly
// the message that was sent next. The stream is
//   rtt 0 .. R-1, to-oneway R, oneway 0 .. K-1, end K, fin R+1.
std::string verify_stream(RingConsumer& rx, std::size_t size, SlowSubscriber policy, SubSlot& slot) {
  Pattern pat(size);
  std::uint64_t g = 0;
  std::optional<std::uint64_t> to_oneway;  // R
  std::optional<std::uint64_t> end;        // K
  std::optional<std::uint64_t> last_rtt;
  for (;;) {
    auto v = rx.read();
    if (!v) return fmt::format("read after {} messages: {}", slot.received, v.error().message());
    if (v->lost() > 0 && policy == SlowSubscriber::block) {
      return fmt::format("{} messages lost before position {} with policy=block", v->lost(), g);
    }
    g += v->lost();
    slot.lost += v->lost();
    const std::uint64_t at = g++;
    auto msg = v->data();
    Header h = read_header(msg);
    if (auto why = pat.check(msg, h.seq, h.kind); !why.empty()) return fmt::format("position {}: {}", at, why);
    bool fits = false;
    switch (h.kind) {
      case Kind::rtt:
      case Kind::to_oneway:
        fits = !to_oneway && h.seq == at;
        if (h.kind == Kind::rtt) last_rtt = at;
        if (h.kind == Kind::to_oneway) {
          to_oneway = at;
          slot.oneway.start();
        }
        break;
      case Kind::oneway:
      case Kind::end:
        if (!to_oneway && at >= h.seq + 1) {
          // The switch to one-way was dropped: where it was follows from this message.
          to_oneway = at - h.seq - 1;
          if (last_rtt && *to_oneway <= *last_rtt) to_oneway.reset();
        }
        fits = to_oneway && !end && h.seq == at - *to_oneway - 1;
        if (h.kind == Kind::end) {
          end = h.seq;
          slot.oneway.stop();
        }
        break;
      case Kind::fin:
        fits = to_oneway ? (end && h.seq == *to_oneway + 1 && at == *to_oneway + *end + 2) : h.seq == at;
        break;
      default: break;
    }
    if (!fits) {
      return fmt::format("position {}: message {} (kind {}) does not belong there", at, h.seq,
                         static_cast<unsigned>(h.kind));
    }
    ++slot.received;
    if (h.kind == Kind::fin) {
      slot.published = g;
      return {};
    }
  }
}

// An extra subscriber process: attach, say so, read to the end.
[[noreturn]] void run_subscriber(const std::string& ring, const RingOptions& o, std::size_t size, SubSlot& slot,
                                 int attached_fd, pid_t parent) {
  // Dies with the server, whatever kills it (the server's own exit path kills and reaps
  // us too; this covers SIGKILL at a timeout).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  int code = 1;
  {
    auto rx = RingConsumer::open(ring, o);
    if (!rx) {
      put_why(slot, "open subscriber: " + rx.error().message());
      slot.state.store(2);
      char f = 'F';
      (void)!::write(attached_fd, &f, 1);
      ::_exit(1);
    }
    char a = 'A';
    (void)!::write(attached_fd, &a, 1);
    ::close(attached_fd);
    auto why = verify_stream(*rx, size, o.policy.value_or(SlowSubscriber::block), slot);
    if (why.empty()) {
      slot.state.store(1);
      code = 0;
    } else {
      put_why(slot, why);
      slot.state.store(2);
    }
  }  // the subscriber detaches here, before exit
  // _exit: the handles this process inherited from the server belong to the server.
  ::_exit(code);
}

// The server's end: subscriber 1, the echo's producer, and the extra subscribers.
class PubSubServerLink final : public RingLink {
 public:
  PubSubServerLink(RingConsumer rx, RingProducer tx, std::vector<pid_t> children, SubBoard* board,
                   SlowSubscriber policy)
      : RingLink(std::move(rx), std::move(tx)), children_(std::move(children)), board_(board), policy_(policy) {}
  ~PubSubServerLink() override { kill_and_reap(); }

  Res<void> finish() override {
    // They read to the last round trip, which the server has just echoed: a few
    // milliseconds at most, unless one is stuck.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string problem;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      SubSlot& s = board_->slot[i + 1];
      int st = 0;
      pid_t r = 0;
      while ((r = ::waitpid(children_[i], &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (r == 0) {
        ::kill(children_[i], SIGKILL);
        while (::waitpid(children_[i], &st, 0) < 0 && errno == EINTR) {
        }
        if (problem.empty()) problem = fmt::format("subscriber {} did not finish within 10 s", i + 2);
      } else if (!(r == children_[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0 && s.state.load() == 1)) {
        if (problem.empty()) {
          problem = s.why[0] ? fmt::format("subscriber {}: {}", i + 2, s.why)
                             : fmt::format("subscriber {} died (status {:#x})", i + 2, st);
        }
      }
      s.pid.store(0);
      children_[i] = -1;
    }
    if (!problem.empty()) return failed(problem);
    return {};
  }

  // The server reads as subscriber 1; its one-way phase is between these two calls.
  Res<void> set_mode(Mode m) override {
    if (m == Mode::oneway) {
      busy_.start();
    } else {
      busy_.stop();
    }
    return {};
  }

  std::string remark() const override {
    if (policy_ == SlowSubscriber::block) {
      if (children_.empty()) return {};
      const std::uint64_t n = board_->slot[1].published;
      std::string s = fmt::format("each of subscribers 2-{} checked all {} messages", children_.size() + 1, n);
      // Their CPU, busy in the one-way phase (spinning included): the sum says how much
      // of it was left.
      std::vector<std::optional<double>> busy{busy_.percent()};
      for (std::size_t i = 0; i < children_.size(); ++i) busy.push_back(board_->slot[i + 1].oneway.percent());
      if (std::all_of(busy.begin(), busy.end(), [](const auto& b) { return b.has_value(); })) {
        double sum = 0;
        std::string each;
        for (const auto& b : busy) {
          each += fmt::format("{}{:.0f}%", each.empty() ? "" : " + ", *b);
          sum += *b;
        }
        s += fmt::format("; subscribers busy in the one-way phase: {} = {:.0f}% of a CPU", each, sum);
      }
      return s;
    }
    // policy=drop: what each subscriber lost is the point of the row; show it.
    std::string s = fmt::format("dropped: subscriber 1 {}", rx_.lost());
    for (std::size_t i = 0; i < children_.size(); ++i) {
      const SubSlot& sl = board_->slot[i + 1];
      s += fmt::format(", {} {} of {}", i + 2, sl.lost, sl.published);
    }
    return s;
  }

 private:
  void kill_and_reap() noexcept {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i] <= 0) continue;
      ::kill(children_[i], SIGKILL);
      int st = 0;
      while (::waitpid(children_[i], &st, 0) < 0 && errno == EINTR) {
      }
      board_->slot[i + 1].pid.store(0);
      children_[i] = -1;
    }
  }

  std::vector<pid_t> children_;
  SubBoard* board_;
  SlowSubscriber policy_;
  Busy busy_;
};

class ShmPubSub final : public Case {
 public:
  ShmPubSub(unsigned subscribers, SlowSubscriber policy)
      : Case("shm-pubsub", "ipcx", "sleep"), subscribers_(subscribers), policy_(policy) {}

  std::string note(std::size_t) const override {
    std::string s = fmt::format("pubsub, {} subscriber{}, policy={}", subscribers_, subscribers_ == 1 ? "" : "s",
                                to_string(policy_));
    if (subscribers_ > 1) {
      // They inherit the server's affinity: pinned to its CPU (the publisher keeps its
      // own), or not pinned with --no-pin.
      s += fmt::format("; subscribers 2-{} forked by the server, with its CPU affinity", subscribers_);
    }
    s += "; read in place, echo on an spsc ring";
    if (policy_ == SlowSubscriber::drop) s += "; msgs/s = published";
    return s;
  }

  Res<void> prepare(const RunSpec& spec) override {
    pub_ = spec.stem + "-pub";
    down_ = spec.stem + "-down";
    auto r = SharedRegion::make(sizeof(SubBoard));
    if (!r) return std::unexpected(r.error());
    region_ = std::move(*r);
    board_ = new (region_.data()) SubBoard{};
    return {};
  }

  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    const RingOptions po = pub_options(spec.size);
    // The extra subscribers first, forked before this process opens anything (they inherit
    // no ring handle); each must be attached before the client is told to go, since a
    // subscriber sees only what is published after it joins.
    const pid_t self = ::getpid();
    for (unsigned i = 1; i < subscribers_; ++i) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return give_up(failed_errno("pipe2", errno));
      std::fflush(nullptr);
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(fds[0]);
        run_subscriber(pub_, po, spec.size, board_->slot[i], fds[1], self);
      }
      int err = errno;
      ::close(fds[1]);
      if (pid < 0) {
        ::close(fds[0]);
        return give_up(failed_errno("fork", err));
      }
      children_.push_back(pid);
      board_->slot[i].pid.store(pid);
      // The subscriber says 'A' once attached ('F' or nothing if it could not).
      pollfd p{fds[0], POLLIN, 0};
      int n = 0;
      do {
        n = ::poll(&p, 1, 10'000);
      } while (n < 0 && errno == EINTR);
      char c = 0;
      bool attached = n == 1 && ::read(fds[0], &c, 1) == 1 && c == 'A';
      ::close(fds[0]);
      if (!attached) {
        std::string why = board_->slot[i].why[0] ? std::string(board_->slot[i].why) : "did not attach within 10 s";
        return give_up(failed(fmt::format("subscriber {}: {}", i + 1, why)));
      }
    }
    auto rx = RingConsumer::open(pub_, po);
    if (!rx) return give_up(ring_failed("open subscriber", rx.error()));
    auto tx = RingProducer::open(down_, ring_options(spec.size, WaitStrategy::sleep));
    if (!tx) return give_up(ring_failed("open producer", tx.error()));
    rx_.emplace(std::move(*rx));
    tx_.emplace(std::move(*tx));
    return {};
  }

  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    auto l = std::make_unique<PubSubServerLink>(std::move(*rx_), std::move(*tx_), std::move(children_), board_,
                                                policy_);
    rx_.reset();
    tx_.reset();
    children_.clear();
    return l;
  }

  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto tx = RingProducer::open(pub_, pub_options(spec.size));
    if (!tx) return ring_failed("open publisher", tx.error());
    auto rx = RingConsumer::open(down_, ring_options(spec.size, WaitStrategy::sleep));
    if (!rx) return ring_failed("open consumer", rx.error());
    return std::make_unique<RingLink>(std::move(*rx), std::move(*tx));
  }

  void cleanup(const RunSpec&) override {
    // The server kills and reaps its subscribers on every path of its own, and they die
    // with it (PR_SET_PDEATHSIG); a pid still recorded here belongs to one that outlived a
    // killed server by a moment.
    if (board_) {
      for (auto& s : board_->slot) {
        if (pid_t p = s.pid.exchange(0); p > 0) ::kill(p, SIGKILL);
      }
      board_->~SubBoard();
      board_ = nullptr;
    }
    region_.reset();
    for (const auto& n : {pub_, down_}) {
      if (!n.empty()) (void)remove_ring(n);
    }
    pub_.clear();
    down_.clear();
  }

 private:
  RingOptions pub_options(std::size_t size) const {
    RingOptions o = ring_options(size, WaitStrategy::sleep);
    o.pattern = RingPattern::pubsub;
    o.policy = policy_;
    o.slots = std::max(4u, subscribers_);
    return o;
  }
  // Server side, a setup that fails: its subscribers go with it.
  std::unexpected<Problem> give_up(std::unexpected<Problem> p) {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      ::kill(children_[i], SIGKILL);
      int st = 0;
      while (::waitpid(children_[i], &st, 0) < 0 && errno == EINTR) {
      }
      board_->slot[i + 1].pid.store(0);
    }
    children_.clear();
    rx_.reset();
    tx_.reset();
    return p;
  }

  unsigned subscribers_;
  SlowSubscriber policy_;
  std::string pub_, down_;
  SharedRegion region_;
  SubBoard* board_ = nullptr;
  std::vector<pid_t> children_;
  std::optional<RingConsumer> rx_;
  std::optional<RingProducer> tx_;
};

}  // namespace

void add_ring(CaseList& out) {
  out.push_back(std::make_unique<ShmZeroCopy>());
  for (unsigned n : {1u, 4u}) {
    for (auto policy : {SlowSubscriber::block, SlowSubscriber::drop}) out.push_back(std::make_unique<ShmPubSub>(n, policy));
  }
}

}  // namespace ipcx::bench
