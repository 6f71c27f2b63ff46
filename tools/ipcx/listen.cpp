// SPDX-License-Identifier: MIT
// ipcx listen URL [--count N] [--timeout SECONDS] [--raw]: the accepting side of unix://,
// unixpacket:// and tcp://. Clients are served in turn; each message goes on its own line.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "lines.hpp"
#include "options.hpp"
#include "signals.hpp"

namespace ipcx::cli {

void add_listen(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("listen", "Accept clients in turn and print each message on its own line");
  cmd->footer(
      "For unix, unixpacket and tcp URLs; unixgram and udp are received with ipcx recv, which\n"
      "binds the address. Once clients can connect, prints 'ipcx: listening on URL' on stderr\n"
      "(for tcp://HOST:0 the URL has the port chosen). With --raw, bytes are copied to stdout as\n"
      "they arrive and no newline is added. A refused client (allow_uid/allow_gid) or one that\n"
      "breaks the framing is reported on stderr and the next one is accepted.\n"
      "Exits 0 after --count messages, or at --timeout when no count is given; 1 on error or when\n"
      "the --count messages did not arrive within --timeout.\n"
      "Example:\n  ipcx listen 'unix:@demo?allow_uid=1000' --count 2 &\n  ipcx send unix:@demo hello world");
  struct Opts {
    std::string url;
    long long count = -1;
    double timeout = -1;
    bool raw = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL", o->url, "Where to listen: unix:///PATH, unix:@NAME, unixpacket:…, tcp://HOST:PORT")->required();
  add_count(cmd, o->count, "Exit after N messages (from any number of clients)");
  add_timeout(cmd, o->timeout, "Stop after SECONDS in all");
  cmd->add_flag("--raw", o->raw, "Bytes with no framing (talks to socat, nc); copied to stdout as they come");
  cmd->callback([o, &rc] {
    const Deadline deadline = deadline_from_seconds(o->timeout);
    // SIGINT/SIGTERM end the run through the destructors: the socket file goes (installed
    // first, so that a signal as soon as the file exists is acted on).
    auto stop = StopSignals::install();
    if (!stop) {
      error(stop.error().message());
      rc = kRuntimeError;
      return;
    }
    auto l = Listener::listen(with_raw(o->url, o->raw));
    if (!l) {
      rc = report(l.error());
      return;
    }
    fmt::print(stderr, "ipcx: listening on {}\n", l->local_url());
    std::fflush(stderr);
    long long got = 0;
    auto stopped = [&] {
      error(fmt::format("listen {}: stopped by signal {} after {} messages", o->url, stop->signal(), got));
      rc = o->count < 0 ? kOk : kRuntimeError;
    };
    // The deadline passed: the normal end without --count, a failure with it.
    auto out_of_time = [&] {
      if (o->count < 0) {
        rc = kOk;
        return;
      }
      error(fmt::format("listen {}: timed out after {} of {} messages", o->url, got, o->count));
      rc = kRuntimeError;
    };
    while (o->count < 0 || got < o->count) {
      if (stop->signal() != 0) return stopped();
      auto c = l->accept(next_slice(deadline));
      if (!c && c.error().timed_out() && !deadline.expired()) continue;
      if (!c) {
        if (c.error().timed_out()) return out_of_time();
        if (c.error().code() == EACCES) {  // a refused client; the listener goes on
          error(c.error().message());
          continue;
        }
        error(c.error().message());
        rc = kRuntimeError;
        return;
      }
      while (o->count < 0 || got < o->count) {
        if (stop->signal() != 0) return stopped();
        auto m = c->receive_message(next_slice(deadline));
        if (!m && m.error().timed_out() && !deadline.expired()) continue;
        if (!m) {
          if (m.error().peer_gone()) break;  // this client is done; accept the next
          if (m.error().timed_out()) return out_of_time();
          error(m.error().message());  // e.g. a client that broke the framing: drop it
          break;
        }
        if (o->raw) {
          std::fwrite(m->data.data(), 1, m->data.size(), stdout);
        } else {
          std::string line;
          append_line(line, m->data);
          std::fwrite(line.data(), 1, line.size(), stdout);
        }
        std::fflush(stdout);
        ++got;
      }
    }
    rc = kOk;
  });
}

}  // namespace ipcx::cli
