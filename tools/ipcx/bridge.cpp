// SPDX-License-Identifier: MIT
// ipcx bridge URL_A URL_B: forwards messages between two channels until either side goes
// away, then prints how many it forwarded each way, how many it lost (received but not
// delivered) and how many its sources said they dropped before it got them.
//
// One thread, one poll() over both channels' pollable_fd() and a self-pipe for SIGINT and
// SIGTERM. A readable side is drained in batches (try_receive_batch) until it would block
// (a framed stream may hold whole messages in its buffer that poll() cannot see), and each
// batch is sent on the other side with send_batch, with the same sysvmq type and posixmq
// priority per message. A channel without a pollable descriptor is polled every few
// milliseconds.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "options.hpp"
#include "output.hpp"
#include "signals.hpp"

namespace ipcx::cli {
namespace {

// What one receive_batch takes: up to kBatch messages of up to kBatchSlot bytes (a larger
// one goes alone), so a direction holds at most 4 MiB however large its messages may be.
constexpr std::size_t kBatch = 64;
constexpr std::size_t kBatchSlot = 64 * 1024;

struct Direction {
  // `reads`: whether the bridge forwards this way (else its batch holds nothing).
  Direction(Channel* f, Channel* t, std::string l, bool s, bool reads)
      : from(f), to(t), label(std::move(l)), sliced(s),
        batch(reads ? kBatch : 1, reads ? std::clamp<std::size_t>(f->max_message_size(), 1, kBatchSlot) : 1) {}
  Channel* from = nullptr;
  Channel* to = nullptr;
  std::string label;  // "A -> B"
  bool sliced = false;  // d.to's sends are all-or-nothing: wait in slices, see deliver()
  MessageBatch batch;   // what pump() took from d.from
  std::vector<std::span<const std::byte>> views;  // batch's messages, for send_batch
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lost = 0;     // received by the bridge, not delivered (the send failed, or a signal ended it)
  std::uint64_t dropped = 0;  // dropped before the bridge got them, as the source counted (Message::lost)
};

// A mailbox scheme: a message sent is read back by the same side, so forwarding both ways
// would echo every message. They need a direction.
bool is_mailbox(Scheme s) { return s == Scheme::fifo || s == Scheme::posixmq || s == Scheme::sysvmq; }

enum class Step { idle, progressed, ended };

Json counts(const Direction& d) {
  return Json{{"messages", d.messages}, {"bytes", d.bytes}, {"lost", d.lost}, {"dropped", d.dropped}};
}

// How long one send may wait before the bridge looks for a stop signal and tries again.
constexpr auto kSendSlice = std::chrono::milliseconds(100);

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

bool stop_requested(int stop_fd) {
  pollfd pf{stop_fd, POLLIN, 0};
  return ::poll(&pf, 1, 0) > 0;
}

// Sends msgs, all with the options `so`, on d.to in batches (Channel::send_batch: one
// gathered write, sendmmsg, or one NATS flush for the lot, as the transport allows),
// waiting while the destination is full, until all are sent, the destination fails, or a
// stop signal comes (the self-pipe `stop_fd`, left unread for the main loop). Counts each
// message delivered; one not delivered is counted lost. Returns false when the bridge must
// end.
bool deliver(Direction& d, std::span<const std::span<const std::byte>> msgs, const SendOptions& so, int stop_fd,
             std::string& ended, bool& failed) {
  while (!msgs.empty()) {
    // A send that cannot be retried blocks until done; a second signal kills a stuck one.
    auto s = d.to->send_batch(msgs, d.sliced ? Deadline::after(kSendSlice) : Deadline::never(), so);
    for (std::size_t i = 0; i < s.sent; ++i) {
      ++d.messages;
      d.bytes += msgs[i].size();
    }
    msgs = msgs.subspan(s.sent);
    if (s.all()) return true;
    const Error& e = s.error.error();
    if (d.sliced && (e.timed_out() || e.would_block())) {
      if (!stop_requested(stop_fd)) continue;
      d.lost += msgs.size();
      ended = fmt::format("stopped by a signal while {} was full", d.to->url());
      return false;
    }
    d.lost += msgs.size();
    if (e.peer_gone()) {
      ended = fmt::format("{} went away: {}", d.to->url(), e.detail().empty() ? e.message() : e.detail());
    } else {
      ended = e.message();
      failed = true;
    }
    return false;
  }
  return true;
}

SendOptions forward_options(long type, unsigned priority) {
  SendOptions so;
  so.type = type > 0 ? type : 1;
  so.priority = priority;
  return so;
}

// Ends the bridge for an error of d.from.
Step source_ended(Direction& d, const Error& e, std::string& ended, bool& failed) {
  if (e.peer_gone()) {
    ended = fmt::format("{} went away: {}", d.from->url(), e.detail().empty() ? e.message() : e.detail());
  } else {
    ended = e.message();
    failed = true;
  }
  return Step::ended;
}

// Moves every message that is ready on d.from to d.to: what is waiting is taken as one
// batch (Channel::receive_batch, up to kBatch messages) and sent on as few batches as
// their sysvmq types and posixmq priorities allow (a send_batch carries one of each). A
// message larger than the batch's slots is taken and sent alone.
Step pump(Direction& d, int stop_fd, std::string& ended, bool& failed) {
  Step step = Step::idle;
  for (;;) {
    auto n = d.from->try_receive_batch(d.batch);
    if (!n) {
      const Error& e = n.error();
      if (e.would_block() || e.timed_out()) return step;
      if (e.kind() != Errc::message_too_large) return source_ended(d, e, ended, failed);
      auto m = d.from->try_receive_message();
      if (!m) {
        if (m.error().would_block() || m.error().timed_out()) return step;
        return source_ended(d, m.error(), ended, failed);
      }
      d.dropped += m->lost;
      const std::span<const std::byte> one[] = {m->data};
      if (!deliver(d, one, forward_options(m->type, m->priority), stop_fd, ended, failed)) return Step::ended;
      step = Step::progressed;
      continue;
    }
    d.views.clear();
    for (std::size_t i = 0; i < *n; ++i) {
      d.dropped += d.batch.info(i).lost;
      d.views.push_back(d.batch.data(i));
    }
    for (std::size_t i = 0; i < *n;) {
      const Received& first = d.batch.info(i);
      std::size_t j = i + 1;
      while (j < *n && d.batch.info(j).type == first.type && d.batch.info(j).priority == first.priority) ++j;
      if (!deliver(d, std::span(d.views).subspan(i, j - i), forward_options(first.type, first.priority), stop_fd, ended,
                   failed)) {
        d.lost += *n - j;  // received with this batch, never tried
        return Step::ended;
      }
      i = j;
    }
    step = Step::progressed;
  }
}

}  // namespace

void add_bridge(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("bridge", "Forward messages between two channels until either side goes away");
  cmd->footer(
      "Forwards both ways by default; -u forwards only URL_A to URL_B, -U only URL_B to URL_A.\n"
      "fifo://, posixmq:// and sysvmq:// are mailboxes (a side reads what it sends), so a bridge\n"
      "with one of them needs -u or -U. On exit it prints, each way, the messages and bytes\n"
      "forwarded, the messages lost (received but not delivered: a send failed, or a signal came\n"
      "while the destination was full) and those its source dropped before (e.g. a NATS slow\n"
      "consumer, a shm:// subscriber with policy=drop). Exit status: 0 when a side went away or on SIGINT/SIGTERM, 1 on an error.\n"
      "Examples:\n"
      "  ipcx bridge -u fifo:///tmp/in posixmq:///jobs\n"
      "  ipcx bridge shm://cam0 tcp://0.0.0.0:7000 --listen   # expose a local channel on TCP");
  struct Opts {
    std::string a, b;
    bool a_to_b_only = false;
    bool b_to_a_only = false;
    bool listen = false;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL_A", o->a, "First channel")->required();
  cmd->add_option("URL_B", o->b, "Second channel")->required();
  auto* u = cmd->add_flag("-u", o->a_to_b_only, "Forward only from URL_A to URL_B");
  cmd->add_flag("-U", o->b_to_a_only, "Forward only from URL_B to URL_A")->excludes(u);
  cmd->add_flag("-l,--listen", o->listen,
                "URL_B is a listening address (unix, unixpacket, tcp): accept one connection there first");
  cmd->add_flag("--json", o->json, "Print the counts as one JSON object");
  cmd->callback([o, &rc] {
    auto ua = Url::parse(o->a);
    auto ub = Url::parse(o->b);
    for (auto* p : {&ua, &ub}) {
      if (!*p) {
        error(p->error().message());
        rc = kUsage;
        return;
      }
    }
    // One channel on both sides reads back every message it forwards, forever.
    const Url& x = *ua;
    const Url& y = *ub;
    if (x.scheme == y.scheme && x.name == y.name && x.abstract == y.abstract && x.key == y.key && x.id == y.id &&
        x.ftok_path == y.ftok_path && x.option("proj") == y.option("proj") && x.host == y.host &&
        x.port == y.port && x.servers == y.servers) {
      error(fmt::format("bridge: URL_A and URL_B name the same channel ({}): it would forward every message "
                        "back into itself", shorten_input(o->a)));
      rc = kUsage;
      return;
    }
    const bool read_a = !o->b_to_a_only;
    const bool read_b = !o->a_to_b_only;
    if (read_a && read_b) {
      for (const auto* p : {&*ua, &*ub}) {
        if (is_mailbox(p->scheme)) {
          error(fmt::format("bridge {}: {}:// is a mailbox: a bridge would read back what it forwards into it; "
                            "give a direction with -u (URL_A to URL_B) or -U (URL_B to URL_A)",
                            p->text, to_string(p->scheme)));
          rc = kUsage;
          return;
        }
      }
    }

    // SIGINT/SIGTERM end the bridge through the self-pipe (signals.hpp).
    auto sp = StopSignals::install();
    if (!sp) {
      error(sp.error().message());
      rc = kRuntimeError;
      return;
    }

    // A side that receives is bound (datagram schemes receive at their address); a side
    // that only sends is opened.
    auto open_side = [](const Url& url, bool receives) { return receives ? Channel::bind(url) : Channel::open(url); };
    auto a = open_side(*ua, read_a);
    if (!a) {
      rc = report(a.error());
      return;
    }
    Result<Channel> b = Channel();
    if (o->listen) {
      auto l = Listener::listen(*ub);
      if (!l) {
        rc = report(l.error());
        return;
      }
      fmt::print(stderr, "ipcx bridge: listening on {}\n", l->local_url());
      std::array<pollfd, 2> pf{pollfd{l->pollable_fd(), POLLIN, 0}, pollfd{sp->fd(), POLLIN, 0}};
      for (;;) {
        int n = ::poll(pf.data(), pf.size(), -1);
        if (n < 0 && errno == EINTR) continue;
        if (pf[1].revents) {
          error("bridge: interrupted before a connection came");
          rc = kOk;
          return;
        }
        b = l->try_accept();
        if (b) break;
        if (!b.error().would_block()) {
          error(b.error().message());
          rc = kRuntimeError;
          return;
        }
      }
    } else {
      b = open_side(*ub, read_b);
      if (!b) {
        rc = report(b.error());
        return;
      }
    }

    Direction ab{&*a, &*b, fmt::format("{} -> {}", o->a, o->b), resend_safe(*ub), read_a};
    Direction ba{&*b, &*a, fmt::format("{} -> {}", o->b, o->a), resend_safe(*ua), read_b};
    std::string ended;
    bool failed = false;
    int idle_ms = 1;
    while (ended.empty()) {
      std::array<pollfd, 3> pf{};
      std::size_t n = 0;
      pf[n++] = {sp->fd(), POLLIN, 0};
      int fa = read_a ? a->pollable_fd() : -1;
      int fb = read_b ? b->pollable_fd() : -1;
      if (fa >= 0) pf[n++] = {fa, POLLIN, 0};
      if (fb >= 0) pf[n++] = {fb, POLLIN, 0};
      // A side with no descriptor is polled: back off from 1 to 20 ms while idle.
      bool blind = (read_a && fa < 0) || (read_b && fb < 0);
      int r = ::poll(pf.data(), n, blind ? idle_ms : -1);
      if (r < 0 && errno != EINTR) {
        error(fmt::format("bridge: poll: {}", std::strerror(errno)));
        rc = kRuntimeError;
        return;
      }
      if (pf[0].revents) {
        ended = "stopped by a signal";
        break;
      }
      bool progressed = false;
      // Readiness (or a hang-up) is rechecked by the pump itself; every side is tried each
      // round, so neither starves and a hang-up is seen as peer_gone.
      for (auto* d : {read_a ? &ab : nullptr, read_b ? &ba : nullptr}) {
        if (!d || !ended.empty()) continue;
        Step s = pump(*d, sp->fd(), ended, failed);
        progressed = progressed || s == Step::progressed;
      }
      idle_ms = progressed ? 1 : std::min(idle_ms * 2, 20);
    }

    if (o->json) {
      Json j{{"a", o->a}, {"b", o->b}, {"a_to_b", counts(ab)}, {"b_to_a", counts(ba)}, {"ended", ended}};
      fmt::print("{}\n", dump(j, false));
    } else {
      for (const auto* d : {&ab, &ba}) {
        fmt::print("{}: {} messages, {} bytes, {} lost, {} dropped upstream\n", d->label, d->messages, d->bytes,
                   d->lost, d->dropped);
      }
      fmt::print("ended: {}\n", ended);
    }
    std::fflush(stdout);
    if (failed) error(fmt::format("bridge: {}", ended));
    rc = failed ? kRuntimeError : kOk;
  });
}

}  // namespace ipcx::cli
