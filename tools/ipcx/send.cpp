// SPDX-License-Identifier: MIT
// ipcx send URL [MESSAGE...]: each MESSAGE is one message; with none, each line of
// standard input is one message.
#include <unistd.h>

#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "lines.hpp"
#include "options.hpp"

namespace ipcx::cli {

void add_send(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("send", "Send each MESSAGE (or each line of stdin) as one message");
  cmd->footer("Example:\n  ipcx recv fifo:///tmp/demo --count 2 &\n  ipcx send fifo:///tmp/demo hello world");
  struct Opts {
    std::string url;
    std::vector<std::string> messages;
    double timeout = -1;
    long type = 1;
    unsigned priority = 0;
    bool raw = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL", o->url, "Where to send")->required();
  cmd->add_option("MESSAGE", o->messages, "Messages; read lines from stdin when none are given");
  add_timeout(cmd, o->timeout, "Give up after SECONDS in all (default: wait as long as it takes)");
  cmd->add_option("--type", o->type, "sysvmq: the message type (> 0)")->check(kLong & CLI::PositiveNumber);
  cmd->add_option("--priority", o->priority, "posixmq: the message priority (0 is lowest)");
  cmd->add_flag("--raw", o->raw, "Sockets: send bytes with no framing (talks to socat, nc); other schemes send messages as they are");
  cmd->callback([o, &rc] {
    const Deadline deadline = deadline_from_seconds(o->timeout);
    auto ch = Channel::open(with_raw(o->url, o->raw));
    SendOptions so;
    so.type = o->type;
    so.priority = o->priority;
    if (!ch) {
      rc = report(ch.error());
      return;
    }
    auto send_one = [&](std::string_view text) -> bool {
      auto r = ch->send(as_bytes(text), deadline, so);
      if (!r) {
        error(r.error().message());
        rc = kRuntimeError;
        return false;
      }
      return true;
    };
    if (!o->messages.empty()) {
      for (const auto& m : o->messages) {
        if (!send_one(m)) return;
      }
    } else {
      LineReader in(STDIN_FILENO);
      for (;;) {
        auto line = in.next();
        if (!line) {
          error(std::move(line.error()).with_object("standard input").message());
          rc = kRuntimeError;
          return;
        }
        if (!*line) break;
        if (!send_one(**line)) return;
      }
    }
    rc = kOk;
  });
}

}  // namespace ipcx::cli
