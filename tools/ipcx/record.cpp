// SPDX-License-Identifier: MIT
// ipcx record URL FILE [-n N] [-t SECONDS]: receives as recv does and writes each message,
// with when it arrived, to FILE (the format is in recording.hpp and docs/cli.md).
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "options.hpp"
#include "recording.hpp"
#include "signals.hpp"

namespace ipcx::cli {

void add_record(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("record", "Receive messages and write them, with when each came, to a file for replay");
  cmd->footer(
      "FILE is written anew: a header, then per message the time since the start, the size, the\n"
      "posixmq priority, the sysvmq type and the bytes (docs/cli.md has the format). Each message\n"
      "is flushed to FILE as it comes. record receives as recv does (it takes the messages).\n"
      "Exit status: 0 when the sender goes away, after --count messages, at --timeout or on\n"
      "SIGINT/SIGTERM; 1 on an error; 2 on a bad option or URL.\n"
      "Examples:\n"
      "  ipcx record unix:///run/app.sock app.ipcxrec -t 60\n"
      "  ipcx replay app.ipcxrec unix:///run/app.sock --speed 2");
  struct Opts {
    std::string url, file;
    long long count = -1;
    double timeout = -1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL", o->url, "Where to receive (datagram schemes bind this address)")->required();
  cmd->add_option("FILE", o->file, "The recording to write (replaced if it exists)")->required();
  add_count(cmd, o->count, "Stop after N messages");
  add_timeout(cmd, o->timeout, "Stop after SECONDS in all");
  cmd->callback([o, &rc] {
    auto ch = Channel::bind(o->url);
    if (!ch) {
      rc = report(ch.error());
      return;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(o->file.c_str(), "wb"), &std::fclose);
    if (!out) {
      error(fmt::format("record: fopen {}: {}", o->file, std::strerror(errno)));
      rc = kRuntimeError;
      return;
    }
    auto put_bytes = [&](const std::string& chunk) {
      if (std::fwrite(chunk.data(), 1, chunk.size(), out.get()) != chunk.size() || std::fflush(out.get()) != 0) {
        error(fmt::format("record: write {}: {}", o->file, std::strerror(errno)));
        return false;
      }
      return true;
    };
    const auto start = std::chrono::steady_clock::now();
    const auto started_unix =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (!put_bytes(recording::header(static_cast<std::uint64_t>(started_unix)))) {
      rc = kRuntimeError;
      return;
    }
    auto stop = StopSignals::install();  // a signal ends the run with its report
    if (!stop) {
      rc = report(stop.error());
      return;
    }
    const Deadline end = deadline_from_seconds(o->timeout);
    std::uint64_t got = 0, bytes = 0;
    std::string ended = "the sender went away";
    for (;;) {
      if (o->count >= 0 && got >= static_cast<std::uint64_t>(o->count)) {
        ended = fmt::format("{} messages", got);
        break;
      }
      if (stop->signal() != 0) {
        ended = "stopped by a signal";
        break;
      }
      Deadline d = Deadline::after(kStopCheck);
      if (!end.is_never() && end.time_point() < d.time_point()) d = end;
      auto m = ch->receive_message(d);
      if (!m) {
        const Error& e = m.error();
        if (e.timed_out() || e.would_block()) {
          if (end.expired()) {
            ended = "the time given";
            break;
          }
          continue;
        }
        if (e.peer_gone()) break;
        error(e.message());
        rc = kRuntimeError;
        return;
      }
      recording::Record r;
      r.offset_ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
      r.priority = m->priority;
      r.type = m->type;
      r.payload = m->text();
      if (!put_bytes(recording::record(r))) {
        rc = kRuntimeError;
        return;
      }
      ++got;
      bytes += m->data.size();
    }
    fmt::print("recorded {} message{} ({} bytes) to {}; ended: {}\n", got, got == 1 ? "" : "s", bytes, o->file, ended);
    std::fflush(stdout);
    rc = kOk;
  });
}

}  // namespace ipcx::cli
