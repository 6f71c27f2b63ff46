// SPDX-License-Identifier: MIT
// ipcx bridge A B: forwards messages between two endpoints until either side goes away,
// then prints how many it forwarded each way, how many it lost (received but not
// delivered) and how many its sources said they dropped before it got them. An endpoint is
// a channel URL, `stdio` (lines on standard input and output) or `exec:COMMAND` (lines to
// and from a command run by /bin/sh -c); with --listen --fork, each client accepted at B
// gets a bridge of its own, in a process of its own, to a fresh instance of A.
//
// One thread, one poll() over both sides' descriptors and a self-pipe for SIGINT and
// SIGTERM. A readable side is drained until it would block (a framed stream may hold
// whole messages in its buffer that poll() cannot see), in batches where it is a channel
// (try_receive_batch, up to 64), and the messages are sent on the other side with
// send_batch, one call per run of the same sysvmq type and posixmq priority. A channel
// without a pollable descriptor is polled every few milliseconds. Writes to a command's
// standard input are queued and written as the pipe takes them, so that the bridge keeps
// reading the command's output meanwhile (a blocking write there would deadlock with a
// command that waits for its own output to be read, as `cat` does).

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <deque>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/pipe.hpp"
#include "lines.hpp"
#include "options.hpp"
#include "output.hpp"
#include "shell_command.hpp"
#include "signals.hpp"
#include "sys/io.hpp"
#include "sys/process.hpp"

namespace ipcx::cli {
namespace {

using namespace std::chrono_literals;

// What stops the bridge: its own SIGINT/SIGTERM self-pipe and, in a --fork child, the
// read end of a pipe whose write end the listening parent holds (closed: stop, also when
// the parent died).
struct Stop {
  int signal_fd = -1;
  int parent_fd = -1;

  void add_to(std::vector<pollfd>& pf) const {
    pf.push_back({signal_fd, POLLIN, 0});
    if (parent_fd >= 0) pf.push_back({parent_fd, POLLIN, 0});
  }
  bool requested() const {
    std::vector<pollfd> pf;
    add_to(pf);
    auto r = sys::poll(pf, Deadline::immediate());
    return r && *r > 0;
  }
};

// One end of a bridge: a channel, or lines on a pair of descriptors (stdio, exec:).
class Side {
 public:
  explicit Side(std::string name) : name_(std::move(name)) {}
  virtual ~Side() = default;
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;

  // As given on the command line.
  const std::string& name() const noexcept { return name_; }
  // Readable when a receive may make progress; -1: the bridge polls it blindly.
  virtual int read_fd() const noexcept = 0;
  // The next message, would_block when none is ready, peer_gone at the end.
  virtual Result<Message> try_receive() = 0;
  virtual Result<void> send(const Message& m, Deadline d) = 0;
  // What is ready, in one call where the side can (a channel: Channel::receive_batch):
  // `out` holds one message or more, or the error says why none (would_block, peer_gone).
  virtual Result<void> try_receive_some(std::vector<Message>& out) {
    out.clear();
    auto m = try_receive();
    if (!m) return std::unexpected(std::move(m.error()));
    out.push_back(std::move(*m));
    return {};
  }
  // Sends `msgs` in order, in as few calls as the side can (a channel: send_batch): how
  // many went, and the error that stopped the rest.
  virtual BatchSent send_some(std::span<const Message> msgs, Deadline d) {
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      if (auto r = send(msgs[i], d); !r) return BatchSent{.sent = i, .error = std::move(r)};
    }
    return BatchSent{.sent = msgs.size(), .error = {}};
  }
  // Whether a send that timed out sent nothing, so that it may be tried again (see deliver()).
  virtual bool sliced() const noexcept { return false; }
  // A line side: the end of its input, or a broken output, ends that direction only; the
  // bridge goes on while the other direction can (a channel's end ends the bridge).
  virtual bool lines() const noexcept { return false; }

  // Queued writes (exec:): the descriptor to wait on for room while bytes are queued
  // (else -1), whether the queue is too full to take another message, and a write of
  // what is queued that never blocks.
  virtual int write_fd() const noexcept { return -1; }
  virtual bool full() const noexcept { return false; }
  virtual Result<void> flush() { return {}; }
  // Nothing more will be sent: a command's input is closed once its queue is written, so
  // that a filter sees the end of its input, as the bridge saw the end of its source.
  virtual void end_output() {}
  // Messages and bytes queued and not written: lost if the bridge ends now.
  virtual std::pair<std::uint64_t, std::uint64_t> unwritten() const noexcept { return {0, 0}; }

  // exec: the command, or null.
  virtual ShellCommand* command() noexcept { return nullptr; }

 private:
  std::string name_;
};

// Whether a send to `url` that timed out sent nothing, so that sending the message again
// is no duplicate. Not so for byte streams (a frame partly written goes out whole before
// the next one) nor for a JetStream publish (its acknowledgement may be what timed out,
// and a second send is a second message id).
bool resend_safe(const Url& url) {
  switch (url.scheme) {
    case Scheme::unix_stream:
    case Scheme::tcp:
    case Scheme::fifo: return false;
    case Scheme::nats: return !url.option("stream");
    default: return true;
  }
}

class ChannelSide final : public Side {
 public:
  ChannelSide(std::string name, Channel ch, bool sliced)
      : Side(std::move(name)), ch_(std::move(ch)), sliced_(sliced) {}
  int read_fd() const noexcept override { return ch_.pollable_fd(); }
  Result<Message> try_receive() override { return ch_.try_receive_message(); }
  Result<void> send(const Message& m, Deadline d) override {
    SendOptions so;
    so.type = m.type > 0 ? m.type : 1;
    so.priority = m.priority;
    return ch_.send(m.data, d, so);
  }
  bool sliced() const noexcept override { return sliced_; }
  const std::string& url() const noexcept { return ch_.url(); }

  // Up to kBatch messages of up to kBatchSlot bytes in one receive_batch (a larger one is
  // taken alone), so a direction holds at most 4 MiB whatever its messages' size.
  Result<void> try_receive_some(std::vector<Message>& out) override {
    out.clear();
    if (!batch_) batch_.emplace(kBatch, std::clamp<std::size_t>(ch_.max_message_size(), 1, kBatchSlot));
    auto n = ch_.try_receive_batch(*batch_);
    if (!n && n.error().kind() == Errc::message_too_large) return Side::try_receive_some(out);
    if (!n) return std::unexpected(std::move(n.error()));
    for (std::size_t i = 0; i < *n; ++i) {
      Received& r = batch_->info(i);
      const auto data = batch_->data(i);
      Message m;
      m.data.assign(data.begin(), data.end());
      m.type = r.type;
      m.priority = r.priority;
      m.fds = std::move(r.fds);
      m.lost = r.lost;
      out.push_back(std::move(m));
    }
    return {};
  }

  // One send_batch per run of messages with the same sysvmq type and posixmq priority (a
  // batch carries one of each): one gathered write, one sendmmsg, one NATS flush.
  BatchSent send_some(std::span<const Message> msgs, Deadline d) override {
    std::size_t done = 0;
    while (done < msgs.size()) {
      std::size_t end = done + 1;
      while (end < msgs.size() && msgs[end].type == msgs[done].type && msgs[end].priority == msgs[done].priority) ++end;
      views_.clear();
      for (std::size_t i = done; i < end; ++i) views_.push_back(msgs[i].data);
      SendOptions so;
      so.type = msgs[done].type > 0 ? msgs[done].type : 1;
      so.priority = msgs[done].priority;
      auto s = ch_.send_batch(views_, d, so);
      done += s.sent;
      if (!s.all()) return BatchSent{.sent = done, .error = std::move(s.error)};
    }
    return BatchSent{.sent = msgs.size(), .error = {}};
  }

 private:
  static constexpr std::size_t kBatch = 64;
  static constexpr std::size_t kBatchSlot = 64 * 1024;
  Channel ch_;
  bool sliced_;
  std::optional<MessageBatch> batch_;               // made at the first receive: only a side read from needs it
  std::vector<std::span<const std::byte>> views_;  // send_some's, reused
};

// Lines: each line read from `in` is a message, each message is written to `out` as a
// line (lines.hpp, as send reads and recv prints). stdio writes standard output as recv
// does (blocking); exec: queues (see the top of the file).
class LineSide final : public Side {
 public:
  LineSide(std::string name, int in, int out, std::optional<ShellCommand> cmd)
      : Side(std::move(name)), in_(in), out_(out), reader_(in), cmd_(std::move(cmd)) {}

  int read_fd() const noexcept override { return in_; }
  bool lines() const noexcept override { return true; }
  ShellCommand* command() noexcept override { return cmd_ ? &*cmd_ : nullptr; }

  Result<Message> try_receive() override {
    for (;;) {
      if (auto line = reader_.take()) {
        Message m;
        const auto* p = reinterpret_cast<const std::byte*>(line->data());
        m.data.assign(p, p + line->size());
        return m;
      }
      if (reader_.eof()) return fail(Errc::peer_gone, "read", name(), "end of input");
      // Standard input is left blocking (its file description is shared with the shell):
      // read only what poll() says is there.
      auto ready = sys::poll_one(in_, POLLIN, Deadline::immediate());
      if (!ready) return std::unexpected(std::move(ready.error()).with_object(name()));
      if (*ready == 0) return fail(Errc::would_block, "read", name());
      auto n = reader_.fill();
      if (!n) return std::unexpected(std::move(n.error()).with_object(name()));
    }
  }

  Result<void> send(const Message& m, Deadline d) override {
    if (cmd_) {
      if (out_ < 0) return fail(Errc::peer_gone, "write", name(), "the command closed its input");
      append_line(queue_, m.data);
      ends_.push_back({queued_total(), m.data.size()});
      auto f = flush();
      // Not delivered: deliver() counts it lost, so the queue does not count it again.
      if (!f) ends_.pop_back();
      return f;
    }
    std::string line;
    append_line(line, m.data);
    for (std::size_t done = 0; done < line.size();) {
      auto n = sys::write(out_, line.data() + done, line.size() - done);
      if (n) {
        done += *n;
        continue;
      }
      if (!n.error().would_block()) return std::unexpected(std::move(n.error()).with_object(name()));
      // Standard output someone made non-blocking: wait for room.
      auto room = sys::poll_one(out_, POLLOUT, d);
      if (!room) return std::unexpected(std::move(room.error()).with_object(name()));
      if (*room == 0) return fail(Errc::timed_out, "write", name());
    }
    return {};
  }

  int write_fd() const noexcept override { return cmd_ && out_ >= 0 && written_ < queue_.size() ? out_ : -1; }
  bool full() const noexcept override { return queue_.size() - written_ >= kQueueMark; }

  Result<void> flush() override {
    while (out_ >= 0 && written_ < queue_.size()) {
      auto n = sys::write(out_, queue_.data() + written_, queue_.size() - written_);
      if (!n) {
        if (n.error().would_block()) return {};
        out_ = -1;  // broken (the command closed its input): what is queued stays unwritten
        return std::unexpected(std::move(n.error()).with_object(name()));
      }
      written_ += *n;
    }
    if (out_ < 0) return {};
    // All written: start the queue again.
    base_ += queue_.size();
    queue_.clear();
    written_ = 0;
    ends_.clear();
    if (ending_) close_output();
    return {};
  }

  void end_output() override {
    ending_ = true;
    if (cmd_ && queue_.empty()) close_output();
  }

  std::pair<std::uint64_t, std::uint64_t> unwritten() const noexcept override {
    std::uint64_t messages = 0, bytes = 0;
    for (const auto& e : ends_) {
      if (e.end > base_ + written_) {
        ++messages;
        bytes += e.size;
      }
    }
    return {messages, bytes};
  }

 private:
  // Bytes a command's queue may hold before the bridge stops taking messages for it.
  static constexpr std::size_t kQueueMark = 256 * 1024;
  struct QueuedEnd {
    std::uint64_t end;  // offset just past the message's line, counted from the first byte ever queued
    std::size_t size;   // the message's size
  };
  std::uint64_t queued_total() const noexcept { return base_ + queue_.size(); }
  void close_output() noexcept {
    if (!cmd_ || out_ < 0) return;
    cmd_->close_stdin();
    out_ = -1;
  }

  int in_;
  int out_;
  LineReader reader_;
  std::optional<ShellCommand> cmd_;
  std::string queue_;         // exec: lines not yet written past written_
  std::size_t written_ = 0;
  std::uint64_t base_ = 0;    // bytes written before queue_'s first
  std::deque<QueuedEnd> ends_;
  bool ending_ = false;  // end_output() came: close the command's input once the queue is written
};

// An endpoint as written on the command line.
struct Endpoint {
  enum class Kind { url, stdio, exec };
  Kind kind = Kind::url;
  std::string text;
  Url url;              // Kind::url
  std::string command;  // Kind::exec
};

constexpr std::string_view kExecPrefix = "exec:";

// The endpoint `text` names, or the usage error that says why it names none.
std::expected<Endpoint, std::string> parse_endpoint(const std::string& text) {
  Endpoint e;
  e.text = text;
  if (text == "stdio") {
    e.kind = Endpoint::Kind::stdio;
    return e;
  }
  if (text.starts_with(kExecPrefix)) {
    e.kind = Endpoint::Kind::exec;
    e.command = text.substr(kExecPrefix.size());
    if (e.command.find_first_not_of(" \t\n") == std::string::npos) {
      return std::unexpected("bridge: exec: needs a command (exec:COMMAND, run by /bin/sh -c)");
    }
    return e;
  }
  auto u = Url::parse(text);
  if (!u) return std::unexpected(u.error().message());
  e.url = std::move(*u);
  return e;
}

// A mailbox scheme: a message sent is read back by the same side, so forwarding both ways
// would echo every message. They need a direction.
bool is_mailbox(Scheme s) { return s == Scheme::fifo || s == Scheme::posixmq || s == Scheme::sysvmq; }
bool listens(Scheme s) { return s == Scheme::unix_stream || s == Scheme::unix_seqpacket || s == Scheme::tcp; }

// Opens one side: a side the bridge receives from is bound (datagram schemes receive at
// their address), one it only sends to is opened; a command gets a pipe for each way the
// bridge uses.
Result<std::unique_ptr<Side>> open_side(const Endpoint& e, bool receives, bool sends) {
  switch (e.kind) {
    case Endpoint::Kind::stdio:
      return std::make_unique<LineSide>("stdio", receives ? STDIN_FILENO : -1, sends ? STDOUT_FILENO : -1,
                                        std::nullopt);
    case Endpoint::Kind::exec: {
      auto c = ShellCommand::start(e.command, sends, receives);
      if (!c) return std::unexpected(std::move(c.error()));
      const int in = c->stdout_fd(), out = c->stdin_fd();
      return std::make_unique<LineSide>(e.text, in, out, std::move(*c));
    }
    case Endpoint::Kind::url: break;
  }
  auto ch = receives ? Channel::bind(e.url) : Channel::open(e.url);
  if (!ch) return std::unexpected(std::move(ch.error()));
  std::string name = ch->url();
  return std::make_unique<ChannelSide>(std::move(name), std::move(*ch), resend_safe(e.url));
}

struct Counts {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lost = 0;     // received by the bridge, not delivered (the send failed, or a signal ended it)
  std::uint64_t dropped = 0;  // dropped before the bridge got them, as the source counted (Message::lost)

  Counts& operator+=(const Counts& o) {
    messages += o.messages;
    bytes += o.bytes;
    lost += o.lost;
    dropped += o.dropped;
    return *this;
  }
  Json json() const { return Json{{"messages", messages}, {"bytes", bytes}, {"lost", lost}, {"dropped", dropped}}; }
  static Counts from(const Json& j) {
    return {j.value("messages", std::uint64_t{0}), j.value("bytes", std::uint64_t{0}), j.value("lost", std::uint64_t{0}),
            j.value("dropped", std::uint64_t{0})};
  }
};

struct Direction {
  Side* from = nullptr;
  Side* to = nullptr;
  bool active = false;  // forwarded (-u, -U) and not over
  Counts counts;
  std::string over;     // why it ended, when its line side did
  std::vector<Message> inbox;  // what pump() took from `from` and is sending on
};

// How one bridge ended.
struct Outcome {
  Counts a_to_b, b_to_a;
  std::string ended;
  bool failed = false;  // an error, or a command that exited with a status other than 0
  Json exits = Json::object();  // "a_exit"/"b_exit": how each exec: command ended
};

// How long one send may wait before the bridge looks for a stop signal and tries again.
constexpr auto kSendSlice = std::chrono::milliseconds(100);
// How long a command gets to finish by itself (its queued input written, then its input
// closed) when the bridge ends for another reason than a signal or its own exit.
constexpr auto kCommandGrace = std::chrono::seconds(1);

enum class Step { idle, progressed, direction_over, bridge_over };

std::string why_gone(const std::string& name, const Error& e) {
  return fmt::format("{} went away: {}", name, e.detail().empty() ? e.message() : e.detail());
}

// Sends `msgs` on d.to in order, waiting while the destination is full, until all are
// sent, the destination fails, or a stop comes (left unread for the main loop). Counts
// each message delivered; those not delivered are counted lost.
Step deliver(Direction& d, std::span<const Message> msgs, const Stop& stop, Outcome& out) {
  while (!msgs.empty()) {
    // A send that cannot be retried blocks until done; a second signal kills a stuck one.
    auto s = d.to->send_some(msgs, d.to->sliced() ? Deadline::after(kSendSlice) : Deadline::never());
    for (std::size_t i = 0; i < s.sent; ++i) {
      ++d.counts.messages;
      d.counts.bytes += msgs[i].data.size();
    }
    msgs = msgs.subspan(s.sent);
    if (s.all()) break;
    const Error& e = s.error.error();
    if (d.to->sliced() && (e.timed_out() || e.would_block())) {
      if (!stop.requested()) continue;
      d.counts.lost += msgs.size();
      out.ended = fmt::format("stopped by a signal while {} was full", d.to->name());
      return Step::bridge_over;
    }
    d.counts.lost += msgs.size();
    if (e.peer_gone() && d.to->lines()) {
      d.over = why_gone(d.to->name(), e);
      return Step::direction_over;
    }
    if (e.peer_gone()) {
      out.ended = why_gone(d.to->name(), e);
    } else {
      out.ended = e.message();
      out.failed = true;
    }
    return Step::bridge_over;
  }
  return Step::progressed;
}

// Moves every message that is ready on d.from to d.to, while d.to takes them: what is
// waiting is taken at once (up to 64 from a channel) and sent on in as few calls as the
// destination allows.
Step pump(Direction& d, const Stop& stop, Outcome& out) {
  Step step = Step::idle;
  for (;;) {
    if (d.to->full()) return step;  // room comes with POLLOUT
    auto r = d.from->try_receive_some(d.inbox);
    if (!r) {
      const Error& e = r.error();
      if (e.would_block() || e.timed_out()) return step;
      if (e.peer_gone() && d.from->lines()) {
        d.over = fmt::format("{}: {}", d.from->name(), e.detail().empty() ? e.message() : e.detail());
        return Step::direction_over;
      }
      if (e.peer_gone()) {
        out.ended = why_gone(d.from->name(), e);
      } else {
        out.ended = e.message();
        out.failed = true;
      }
      return Step::bridge_over;
    }
    for (const Message& m : d.inbox) d.counts.dropped += m.lost;
    if (Step s = deliver(d, d.inbox, stop, out); s != Step::progressed) return s;
    step = Step::progressed;
  }
}

// Writes what is queued for `s` (a command's input) until it is all written, the command
// exits or stops reading, a stop comes, or `deadline` passes.
void finish_writes(Side& s, const Stop& stop, Deadline deadline) {
  while (s.write_fd() >= 0) {
    std::vector<pollfd> pf;
    stop.add_to(pf);
    const std::size_t n_stop = pf.size();
    pf.push_back({s.write_fd(), POLLOUT, 0});
    if (auto* c = s.command()) pf.push_back({c->pidfd(), POLLIN, 0});
    auto r = sys::poll(pf, deadline);
    if (!r || *r == 0) return;
    for (std::size_t i = 0; i < pf.size(); ++i) {
      if (pf[i].revents && (i < n_stop || pf[i].fd != s.write_fd())) return;  // a stop, or the command exited
    }
    if (!s.flush()) return;
  }
}

// One bridge between `a` and `b` until it ends.
Outcome run_pair(Side& a, Side& b, bool read_a, bool read_b, const Stop& stop) {
  Outcome out;
  Direction ab{&a, &b, read_a, {}, {}, {}};
  Direction ba{&b, &a, read_b, {}, {}, {}};
  std::array<Side*, 2> sides{&a, &b};
  std::string last_over;
  bool by_signal = false;
  int idle_ms = 1;
  auto running = [](Side* s) { return s->command() && !s->command()->reaped(); };
  while (out.ended.empty()) {
    // Nothing left to forward; a command still running ends the bridge when it exits.
    if (!ab.active && !ba.active && !running(&a) && !running(&b)) {
      out.ended = last_over;
      break;
    }
    std::vector<pollfd> pf;
    stop.add_to(pf);
    const std::size_t n_stop = pf.size();
    bool blind = false;
    for (const auto* d : {&ab, &ba}) {
      if (!d->active || d->to->full()) continue;
      const int fd = d->from->read_fd();
      if (fd >= 0) {
        pf.push_back({fd, POLLIN, 0});
      } else {
        blind = true;
      }
    }
    for (auto* s : sides) {
      if (s->write_fd() >= 0) pf.push_back({s->write_fd(), POLLOUT, 0});
      if (running(s)) pf.push_back({s->command()->pidfd(), POLLIN, 0});
    }
    // A side with no descriptor is polled: back off from 1 to 20 ms while idle.
    auto r = sys::poll(pf, blind ? Deadline::after(std::chrono::milliseconds(idle_ms)) : Deadline::never());
    if (!r) {
      out.ended = fmt::format("bridge: {}", r.error().message());
      out.failed = true;
      break;
    }
    if (std::any_of(pf.begin(), pf.begin() + static_cast<std::ptrdiff_t>(n_stop), [](const pollfd& p) { return p.revents != 0; })) {
      out.ended = "stopped by a signal";
      by_signal = true;
      break;
    }
    // Room in a command's input: write what is queued there (also after its source ended).
    for (auto* d : {&ab, &ba}) {
      if (d->to->write_fd() < 0) continue;
      if (auto f = d->to->flush(); !f && d->active) {
        d->active = false;
        d->over = f.error().peer_gone() ? why_gone(d->to->name(), f.error()) : f.error().message();
        last_over = d->over;
      }
    }
    bool progressed = false;
    // Readiness (or a hang-up) is rechecked by the pump itself; every direction is tried
    // each round, so neither starves and a hang-up is seen as peer_gone.
    for (auto* d : {&ab, &ba}) {
      if (!d->active || !out.ended.empty()) continue;
      Step s = pump(*d, stop, out);
      progressed = progressed || s == Step::progressed;
      if (s == Step::direction_over) {
        d->active = false;
        last_over = d->over;
        d->to->end_output();
      }
    }
    // A command that exited ends the bridge, once what it wrote before is forwarded.
    for (auto* s : sides) {
      if (!out.ended.empty() || !running(s) || !s->command()->try_reap()) continue;
      Direction& from_it = s == &a ? ab : ba;
      if (from_it.active) (void)pump(from_it, stop, out);
      if (out.ended.empty()) {
        out.ended = fmt::format("{} {}", s->name(), s->command()->describe());
        out.failed = s->command()->exit_status() != 0;
      }
    }
    idle_ms = progressed ? 1 : std::min(idle_ms * 2, 20);
  }

  // Commands still running: on a signal, stopped at once; otherwise they get what is
  // queued for them and a grace to finish. Then what a queue still holds was not delivered.
  for (auto* s : sides) {
    if (!running(s)) continue;
    if (!by_signal) {
      const Deadline grace = Deadline::after(kCommandGrace);
      finish_writes(*s, stop, grace);
      s->command()->stop(std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(Deadline::Clock::duration::zero(), grace.time_point() - Deadline::Clock::now())));
    } else {
      s->command()->stop(std::chrono::milliseconds(0));
    }
  }
  for (auto* d : {&ab, &ba}) {
    auto [messages, bytes] = d->to->unwritten();
    d->counts.messages -= messages;
    d->counts.bytes -= bytes;
    d->counts.lost += messages;
  }
  out.a_to_b = ab.counts;
  out.b_to_a = ba.counts;
  for (auto [key, s] : {std::pair{"a_exit", &a}, std::pair{"b_exit", &b}}) {
    const ShellCommand* c = s->command();
    if (!c) continue;
    Json j{{"command", c->command()}, {"pid", c->pid()}};
    if (c->signal() != 0) {
      j["signal"] = c->signal();
    } else {
      j["status"] = c->exit_status();
    }
    j["text"] = c->describe();
    out.exits[key] = j;
  }
  return out;
}

// The outcome as JSON: what --json prints for one bridge, and what a --fork child sends its
// parent.
Json outcome_json(const Outcome& o) {
  Json j{{"a_to_b", o.a_to_b.json()}, {"b_to_a", o.b_to_a.json()}, {"ended", o.ended}, {"failed", o.failed}};
  for (const auto& [k, v] : o.exits.items()) j[k] = v;
  return j;
}

// The lines a person reads: each way, each command's end, and why it ended, each prefixed.
void print_outcome(std::FILE* to, const std::string& prefix, const std::string& a, const std::string& b,
                   const Json& j) {
  for (auto [from, dest, key] : {std::tuple{&a, &b, "a_to_b"}, std::tuple{&b, &a, "b_to_a"}}) {
    const Counts c = Counts::from(j.value(key, Json::object()));
    fmt::print(to, "{}{} -> {}: {} messages, {} bytes, {} lost, {} dropped upstream\n", prefix, *from, *dest,
               c.messages, c.bytes, c.lost, c.dropped);
  }
  for (const char* key : {"a_exit", "b_exit"}) {
    if (!j.contains(key)) continue;
    const Json& e = j[key];
    fmt::print(to, "{}exec:{} (pid {}): {}\n", prefix, e.value("command", ""), e.value("pid", 0),
               e.value("text", ""));
  }
  fmt::print(to, "{}ended: {}\n", prefix, j.value("ended", ""));
}

struct Opts {
  std::string a, b;
  bool a_to_b_only = false;
  bool b_to_a_only = false;
  bool listen = false;
  bool fork = false;
  bool json = false;
};

// SIGINT and SIGTERM blocked for as long as it lives: a --fork child is made under it, so
// that a signal in between reaches no process through the parent's self-pipe.
class BlockedStopSignals {
 public:
  BlockedStopSignals() {
    sigset_t s;
    ::sigemptyset(&s);
    ::sigaddset(&s, SIGINT);
    ::sigaddset(&s, SIGTERM);
    auto old = sys::pthread_sigmask(SIG_BLOCK, s);
    if (old) old_ = *old;
  }
  ~BlockedStopSignals() { restore(); }
  // The mask as it was, now.
  void restore() {
    if (old_) (void)sys::pthread_sigmask(SIG_SETMASK, *old_);
    old_.reset();
  }
  BlockedStopSignals(const BlockedStopSignals&) = delete;
  BlockedStopSignals& operator=(const BlockedStopSignals&) = delete;

 private:
  std::optional<sigset_t> old_;
};

// Writes all of `text` to `fd` (a blocking pipe).
void write_all(int fd, const std::string& text) {
  for (std::size_t done = 0; done < text.size();) {
    auto n = sys::write(fd, text.data() + done, text.size() - done);
    if (!n) return;
    done += *n;
  }
}

// In a --fork child: the bridge between a fresh A and the accepted client, its outcome
// as JSON. Everything it opens is closed before it returns.
Json serve_client(const Opts& o, const Endpoint& a, Channel client, const Url& ub, const Stop& stop) {
  const bool read_a = !o.b_to_a_only, read_b = !o.a_to_b_only;
  auto sa = open_side(a, read_a, read_b);
  if (!sa) {
    Outcome failed;
    failed.ended = sa.error().message();
    failed.failed = true;
    return outcome_json(failed);
  }
  std::string name = client.url();
  ChannelSide sb(std::move(name), std::move(client), resend_safe(ub));
  return outcome_json(run_pair(**sa, sb, read_a, read_b, stop));
}

// A --fork client: its process, and the pipe its outcome comes back on.
struct Client {
  std::uint64_t n = 0;
  pid_t pid = -1;
  Fd result;
  std::string got;
};

// --listen --fork: accepts at B until a signal; each client is served by a child process
// of its own (socat's fork), reaped as it ends, its counts printed and added up.
int run_fork(const Opts& o, const Endpoint& a, const Url& ub, Listener& l, StopSignals& sp, std::FILE* to) {
  // The children's stop: they poll the read end; closing the write end stops them all.
  auto children_stop = sys::pipe2(0);
  if (!children_stop) {
    error(children_stop.error().message());
    return kRuntimeError;
  }
  std::vector<Client> clients;
  std::uint64_t served = 0;
  Counts a_to_b, b_to_a;
  auto finish = [&](Client& c) {
    auto w = sys::waitpid(c.pid, 0);
    Json j = Json::parse(c.got, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      const int st = w ? w->status : 0;
      j = Json{{"ended", WIFSIGNALED(st) ? fmt::format("its bridge process was killed by signal {}", WTERMSIG(st))
                                          : fmt::format("its bridge process exited with status {} and no counts",
                                                        WEXITSTATUS(st))},
               {"failed", true}};
    }
    a_to_b += Counts::from(j.value("a_to_b", Json::object()));
    b_to_a += Counts::from(j.value("b_to_a", Json::object()));
    if (o.json) {
      Json line{{"client", c.n}, {"pid", c.pid}};
      for (const auto& [k, v] : j.items()) line[k] = v;
      fmt::print(to, "{}\n", dump(line, false));
    } else {
      print_outcome(to, fmt::format("client {} (pid {}): ", c.n, c.pid), o.a, o.b, j);
    }
    std::fflush(to);
  };
  // Reads what is ready from a client's pipe; true at its end (the child exited).
  auto read_result = [](Client& c) {
    char buf[4096];
    auto n = sys::read(c.result.get(), buf, sizeof buf);
    if (n && *n > 0) {
      c.got.append(buf, *n);
      return false;
    }
    return true;
  };

  int rc = kOk;
  for (;;) {
    std::vector<pollfd> pf{{sp.fd(), POLLIN, 0}, {l.pollable_fd(), POLLIN, 0}};
    for (const auto& c : clients) pf.push_back({c.result.get(), POLLIN, 0});
    auto r = sys::poll(pf, Deadline::never());
    if (!r) {
      error(fmt::format("bridge: {}", r.error().message()));
      rc = kRuntimeError;
      break;
    }
    if (pf[0].revents) break;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (!pf[2 + i].revents || !read_result(clients[i])) continue;
      finish(clients[i]);
      clients[i].pid = -1;
    }
    std::erase_if(clients, [](const Client& c) { return c.pid < 0; });
    if (!pf[1].revents) continue;
    auto c = l.try_accept();
    if (!c) {
      if (c.error().would_block()) continue;
      error(fmt::format("bridge: {}", c.error().message()));
      rc = kRuntimeError;
      break;
    }
    auto result = sys::pipe2(0);
    if (!result) {
      error(fmt::format("bridge: {}", result.error().message()));
      continue;  // this client is closed; the next may fare better
    }
    std::fflush(nullptr);  // nothing buffered is written twice
    pid_t pid = -1;
    {
      BlockedStopSignals blocked;
      auto f = sys::fork();
      if (!f) {
        error(fmt::format("bridge: {}", f.error().message()));
        continue;
      }
      pid = *f;
      if (pid == 0) {
        // The child: its own stop signals (a new self-pipe), the parent's stop pipe, and
        // none of the parent's listening socket or other clients (it leaves through
        // _exit: the parent's listener and its socket file are the parent's to remove).
        children_stop->write.reset();
        result->read.reset();
        { Fd inherited_listener(l.pollable_fd()); }
        for (auto& other : clients) other.result.reset();
        auto child_sp = StopSignals::install();
        blocked.restore();
        int code = kRuntimeError;
        if (child_sp) {
          Json j = serve_client(o, a, std::move(*c), ub, Stop{child_sp->fd(), children_stop->read.get()});
          code = j.value("failed", false) ? kRuntimeError : kOk;
          write_all(result->write.get(), dump(j, false));
        }
        std::fflush(nullptr);
        ::_exit(code);
      }
    }
    *c = Channel();  // the child has the connection
    clients.push_back({++served, pid, std::move(result->read), {}});
  }

  // Stop every child and wait for each one's counts.
  children_stop->write.reset();
  while (!clients.empty()) {
    std::vector<pollfd> pf;
    for (const auto& c : clients) pf.push_back({c.result.get(), POLLIN, 0});
    auto r = sys::poll(pf, Deadline::never());
    if (!r) break;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (!pf[i].revents || !read_result(clients[i])) continue;
      finish(clients[i]);
      clients[i].pid = -1;
    }
    std::erase_if(clients, [](const Client& c) { return c.pid < 0; });
  }
  const std::string ended = rc == kOk ? "stopped by a signal" : "the listener failed";
  if (o.json) {
    Json j{{"a", o.a}, {"b", o.b}, {"clients", served}, {"a_to_b", a_to_b.json()}, {"b_to_a", b_to_a.json()},
           {"ended", ended}};
    fmt::print(to, "{}\n", dump(j, false));
  } else {
    Json j{{"a_to_b", a_to_b.json()}, {"b_to_a", b_to_a.json()}, {"ended", ended}};
    print_outcome(to, fmt::format("all {} client{}: ", served, served == 1 ? "" : "s"), o.a, o.b, j);
  }
  std::fflush(to);
  return rc;
}

}  // namespace

void add_bridge(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("bridge", "Forward messages between two endpoints until either side goes away");
  cmd->footer(
      "An endpoint is a channel URL, stdio (one message per line on standard input and\n"
      "output) or exec:COMMAND (one message per line on the standard input and output of\n"
      "/bin/sh -c COMMAND; its exit ends the bridge, and a status other than 0 is exit 1).\n"
      "Forwards both ways by default; -u forwards only URL_A to URL_B, -U only URL_B to URL_A.\n"
      "fifo://, posixmq:// and sysvmq:// are mailboxes (a side reads what it sends), so a bridge\n"
      "with one of them needs -u or -U. On exit it prints, each way, the messages and bytes\n"
      "forwarded, the messages lost (received but not delivered: a send failed, or a signal came\n"
      "while the destination was full) and those its source dropped before (e.g. a NATS slow\n"
      "consumer, a shm:// subscriber with policy=drop); with a stdio side, on standard error.\n"
      "Exit status: 0 when a side went away or on SIGINT/SIGTERM, 1 on an error, 2 on bad usage.\n"
      "Examples:\n"
      "  ipcx bridge -u fifo:///tmp/in posixmq:///jobs\n"
      "  ipcx bridge shm://cam0 tcp://0.0.0.0:7000 --listen   # expose a local channel on TCP\n"
      "  ipcx bridge stdio unix:///run/app.sock               # type messages, see the replies\n"
      "  ipcx bridge --listen --fork exec:cat unix:///tmp/echo.sock   # an echo server");
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL_A", o->a, "First endpoint: a channel URL, stdio or exec:COMMAND")->required();
  cmd->add_option("URL_B", o->b, "Second endpoint: a channel URL, stdio or exec:COMMAND (a URL that listens with --listen)")
      ->required();
  auto* u = cmd->add_flag("-u", o->a_to_b_only, "Forward only from URL_A to URL_B");
  cmd->add_flag("-U", o->b_to_a_only, "Forward only from URL_B to URL_A")->excludes(u);
  auto* listen = cmd->add_flag("-l,--listen", o->listen,
                               "URL_B is a listening address (unix, unixpacket, tcp): accept one connection there first");
  cmd->add_flag("--fork", o->fork,
                "With --listen: accept clients until a signal, each bridged to a fresh URL_A in a process of its own")
      ->needs(listen);
  cmd->add_flag("--json", o->json, "Print the counts as JSON (with --fork: one line per client, then the totals)");
  cmd->callback([o, &rc] {
    auto ea = parse_endpoint(o->a);
    auto eb = parse_endpoint(o->b);
    for (auto* p : {&ea, &eb}) {
      if (!*p) {
        error(p->error());
        rc = kUsage;
        return;
      }
    }
    auto usage = [&rc](const std::string& text) {
      error("bridge: " + text);
      rc = kUsage;
    };
    using Kind = Endpoint::Kind;
    if (ea->kind == Kind::stdio && eb->kind == Kind::stdio) {
      return usage("URL_A and URL_B are both stdio: a bridge needs two endpoints");
    }
    if (o->listen && (eb->kind != Kind::url || !listens(eb->url.scheme))) {
      return usage(fmt::format("{} does not listen: {} takes a URL_B of unix://, unixpacket:// or tcp://",
                               shorten_input(o->b), o->fork ? "--fork" : "--listen"));
    }
    if (o->fork && ea->kind == Kind::stdio) {
      return usage("--fork with stdio: every client would share one standard input; use exec:COMMAND or a URL");
    }
    const bool read_a = !o->b_to_a_only;
    const bool read_b = !o->a_to_b_only;
    if (ea->kind == Kind::url && eb->kind == Kind::url) {
      // One channel on both sides reads back every message it forwards, forever.
      const Url& x = ea->url;
      const Url& y = eb->url;
      if (x.scheme == y.scheme && x.name == y.name && x.abstract == y.abstract && x.key == y.key && x.id == y.id &&
          x.ftok_path == y.ftok_path && x.option("proj") == y.option("proj") && x.host == y.host &&
          x.port == y.port && x.servers == y.servers) {
        return usage(fmt::format("URL_A and URL_B name the same channel ({}): it would forward every message back "
                                 "into itself", shorten_input(o->a)));
      }
    }
    if (read_a && read_b) {
      for (const auto* p : {&*ea, &*eb}) {
        if (p->kind == Kind::url && is_mailbox(p->url.scheme)) {
          error(fmt::format("bridge {}: {}:// is a mailbox: a bridge would read back what it forwards into it; "
                            "give a direction with -u (URL_A to URL_B) or -U (URL_B to URL_A)",
                            p->url.text, to_string(p->url.scheme)));
          rc = kUsage;
          return;
        }
      }
    }
    // Standard output carries a stdio side's messages; the counts then go to standard error.
    std::FILE* to = ea->kind == Kind::stdio || eb->kind == Kind::stdio ? stderr : stdout;

    // SIGINT/SIGTERM end the bridge through the self-pipe (signals.hpp). A closed stdout,
    // or a command that stopped reading, is an error to count, not a dead bridge.
    auto sp = StopSignals::install();
    if (!sp) {
      error(sp.error().message());
      rc = kRuntimeError;
      return;
    }
    ignore_sigpipe_if_default();
    const Stop stop{sp->fd(), -1};

    auto listen_at_b = [&]() -> std::optional<Listener> {
      auto made = Listener::listen(eb->url);
      if (!made) {
        rc = report(made.error());
        return std::nullopt;
      }
      return std::move(*made);
    };
    if (o->fork) {
      auto l = listen_at_b();
      if (!l) return;
      fmt::print(stderr, "ipcx bridge: listening on {}, a process per client\n", l->local_url());
      rc = run_fork(*o, *ea, eb->url, *l, *sp, to);
      return;
    }

    auto a = open_side(*ea, read_a, read_b);
    if (!a) {
      rc = report(a.error());
      return;
    }
    std::optional<Listener> l;
    if (o->listen) {
      l = listen_at_b();
      if (!l) return;
    }
    std::unique_ptr<Side> b;
    if (l) {
      fmt::print(stderr, "ipcx bridge: listening on {}\n", l->local_url());
      for (;;) {
        std::array<pollfd, 2> pf{pollfd{l->pollable_fd(), POLLIN, 0}, pollfd{sp->fd(), POLLIN, 0}};
        auto r = sys::poll(pf, Deadline::never());
        if (!r) {
          error(fmt::format("bridge: {}", r.error().message()));
          rc = kRuntimeError;
          return;
        }
        if (pf[1].revents) {
          error("bridge: interrupted before a connection came");
          rc = kOk;
          return;
        }
        auto c = l->try_accept();
        if (c) {
          std::string name = c->url();
          b = std::make_unique<ChannelSide>(std::move(name), std::move(*c), resend_safe(eb->url));
          break;
        }
        if (!c.error().would_block()) {
          error(c.error().message());
          rc = kRuntimeError;
          return;
        }
      }
    } else {
      auto opened = open_side(*eb, read_b, read_a);
      if (!opened) {
        rc = report(opened.error());
        return;
      }
      b = std::move(*opened);
    }

    const Outcome out = run_pair(**a, *b, read_a, read_b, stop);
    Json j = outcome_json(out);
    if (o->json) {
      Json line{{"a", o->a}, {"b", o->b}};
      for (const auto& [k, v] : j.items()) {
        if (k != "failed") line[k] = v;
      }
      fmt::print(to, "{}\n", dump(line, false));
    } else {
      print_outcome(to, "", o->a, o->b, j);
    }
    std::fflush(to);
    if (out.failed) error(fmt::format("bridge: {}", out.ended));
    rc = out.failed ? kRuntimeError : kOk;
  });
}

}  // namespace ipcx::cli
