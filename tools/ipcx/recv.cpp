// SPDX-License-Identifier: MIT
// ipcx recv URL [--count N] [--timeout SECONDS] [--json]: prints each message on its own
// line, or one JSON object per line with --json.
#include <algorithm>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "lines.hpp"
#include "options.hpp"
#include "signals.hpp"
#include "output.hpp"

namespace ipcx::cli {

void add_recv(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("recv", "Receive messages and print each on its own line");
  cmd->footer(
      "Exits 0 after --count messages, or when the sender goes away if no count is given;\n"
      "1 on timeout or error, 2 on a bad option or URL.\n"
      "--json prints one object per line: {\"n\":1,\"size\":5,\"text\":\"hello\"}; the message is\n"
      "\"text\" when it is valid UTF-8, else \"base64\"; \"type\" (sysvmq), \"priority\" (posixmq),\n"
      "\"peer\" {pid,uid,gid} (unix sockets) and \"fds\" (descriptors received) where the transport has them.\n"
      "Examples:\n  ipcx recv fifo:///tmp/demo?remove=1 --count 2 --timeout 10\n"
      "  ipcx recv posixmq:///jobs --json | jq -r .text");
  struct Opts {
    std::string url;
    long long count = -1;
    double timeout = -1;
    long type = 0;
    bool except = false;
    bool raw = false;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL", o->url, "Where to receive (datagram schemes bind this address)")->required();
  add_count(cmd, o->count, "Exit after N messages");
  add_timeout(cmd, o->timeout, "Give up after SECONDS in all");
  cmd->add_option("--type", o->type,
                  "sysvmq: 0 first message, N>0 first of type N, N<0 lowest type up to |N|")
      ->check(kLong);
  cmd->add_flag("--except", o->except, "sysvmq: first message whose type is not --type (MSG_EXCEPT)");
  cmd->add_flag("--raw", o->raw, "Bytes with no framing (talks to socat, nc); written to stdout exactly as they come, no newline added");
  cmd->add_flag("--json", o->json, "One JSON object per message and line, for programs");
  cmd->callback([o, &rc] {
    auto url = Url::parse(o->url);
    const Scheme scheme = url ? url->scheme : Scheme::fifo;
    const Deadline deadline = deadline_from_seconds(o->timeout);
    // SIGINT/SIGTERM end the run through the channel's destructor (remove=1, unlink=1):
    // installed first, so that a signal as soon as the object exists is acted on.
    auto stop = StopSignals::install();
    if (!stop) {
      error(stop.error().message());
      rc = kRuntimeError;
      return;
    }
    auto ch = Channel::bind(with_raw(o->url, o->raw));
    ReceiveOptions ro;
    ro.type = o->type;
    ro.except = o->except;
    if (!ch) {
      rc = report(ch.error());
      return;
    }
    long long got = 0;
    // Messages come in batches (what waits, up to kBatch, in as few calls as the scheme
    // allows); one longer than a slot is taken alone, whatever its size.
    constexpr std::size_t kBatch = 64;
    constexpr std::size_t kSlot = 64 * 1024;
    const std::size_t slot = std::min(kSlot, ch->max_message_size());
    // No more than --count asks for: what is left stays queued for another receiver.
    auto room = [&] {
      return o->count < 0 ? kBatch : std::min<std::size_t>(kBatch, static_cast<std::size_t>(o->count - got));
    };
    MessageBatch batch(room(), slot);
    std::string text_line;  // reused: no allocation per message
    auto print = [&](std::span<const std::byte> data, long type, unsigned priority, std::size_t fds) {
      ++got;
      if (o->json) {
        const std::string_view bytes = as_text(data);
        Json j{{"n", got}, {"size", bytes.size()}};
        if (is_utf8(bytes)) {
          j["text"] = bytes;
        } else {
          j["base64"] = base64(bytes);
        }
        if (scheme == Scheme::sysvmq) j["type"] = type;
        if (scheme == Scheme::posixmq) j["priority"] = priority;
        if (auto p = ch->peer()) j["peer"] = {{"pid", p->pid}, {"uid", p->uid}, {"gid", p->gid}};
        if (fds > 0) j["fds"] = fds;
        std::string line = dump(j, false);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
      } else if (o->raw) {
        std::fwrite(data.data(), 1, data.size(), stdout);  // --raw: the bytes exactly, as listen --raw
      } else {
        text_line.clear();
        append_line(text_line, data);
        std::fwrite(text_line.data(), 1, text_line.size(), stdout);
      }
    };
    while (o->count < 0 || got < o->count) {
      if (stop->signal() != 0) {
        error(fmt::format("recv {}: stopped by signal {} after {} messages", o->url, stop->signal(), got));
        rc = o->count < 0 ? kOk : kRuntimeError;
        return;
      }
      if (batch.capacity() > room()) batch = MessageBatch(room(), slot);  // near the end only
      auto n = ch->receive_batch(batch, next_slice(deadline), ro);
      if (!n && n.error().kind() == Errc::message_too_large) {
        auto m = ch->receive_message(next_slice(deadline), ro);  // longer than a slot: alone
        if (m) {
          print(m->data, m->type, m->priority, m->fds.size());
          std::fflush(stdout);
          continue;
        }
        n = std::unexpected(std::move(m.error()));
      }
      if (!n && n.error().timed_out() && !deadline.expired()) continue;  // a slice ended: look at the signals
      if (!n) {
        const Error& e = n.error();
        if (e.peer_gone() && o->count < 0) break;  // no count: the sender's exit ends the run
        if (e.timed_out()) {
          // "after 0 messages" (or "1 message") with no --count, "after 1 of 3 messages" with one.
          if (o->count < 0) {
            error(fmt::format("recv {}: timed out after {} message{}", o->url, got, got == 1 ? "" : "s"));
          } else {
            error(fmt::format("recv {}: timed out after {} of {} messages", o->url, got, o->count));
          }
        } else if (e.peer_gone() && o->count >= 0) {
          error(fmt::format("recv {}: peer gone after {} of {} messages ({})", o->url, got, o->count, e.message()));
        } else {
          error(e.message());
        }
        rc = kRuntimeError;
        return;
      }
      for (std::size_t i = 0; i < *n; ++i) {
        print(batch.data(i), batch.info(i).type, batch.info(i).priority, batch.info(i).fds.size());
      }
      std::fflush(stdout);
    }
    rc = kOk;
  });
}

}  // namespace ipcx::cli
