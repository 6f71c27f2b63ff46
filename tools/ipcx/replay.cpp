// SPDX-License-Identifier: MIT
// ipcx replay FILE URL [--speed FACTOR] [-n N] [-t SECONDS]: sends what `ipcx record` wrote,
// keeping the recorded gaps (divided by FACTOR; 0 sends as fast as the channel takes).
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "options.hpp"
#include "recording.hpp"

namespace ipcx::cli {
namespace {

// The whole file: replay checks every record before it sends the first.
Result<std::string> read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) return fail(Error::from_errno("fopen", errno, path));
  std::string bytes;
  char buf[65536];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, in.get());
    bytes.append(buf, n);
    if (n < sizeof buf) break;
  }
  if (std::ferror(in.get())) return fail(Error::from_errno("fread", errno, path));
  return bytes;
}

}  // namespace

void add_replay(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("replay", "Send the messages of a recording made by ipcx record, with their timing");
  cmd->footer(
      "Each message is sent when its recorded time, divided by --speed, has passed since the\n"
      "first; --speed 0 sends them as fast as the channel takes them. sysvmq types and posixmq\n"
      "priorities are sent as recorded. The whole file is checked first: a file that is not a\n"
      "recording, is truncated or is corrupt sends nothing and says where it goes wrong.\n"
      "Exit status: 0 when every message was sent; 1 on a bad file, a timeout or an error;\n"
      "2 on a bad option or URL.\n"
      "Examples:\n"
      "  ipcx replay app.ipcxrec unix:///run/app.sock\n"
      "  ipcx replay app.ipcxrec posixmq:///jobs --speed 0 --count 100");
  struct Opts {
    std::string file, url;
    double speed = 1;
    long long count = -1;
    double timeout = -1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("FILE", o->file, "A recording made by ipcx record")->required();
  cmd->add_option("URL", o->url, "Where to send")->required();
  cmd->add_option("--speed", o->speed, "Play FACTOR times as fast (default 1; 0: no waiting)")
      ->type_name("FACTOR")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double d = 0;
            if (!CLI::detail::lexical_cast(v, d) || !(d >= 0) || d > 1e9) return "takes a factor of 0 or more, not " + v;
            return {};
          },
          "FACTOR >= 0", "speed"));
  add_count(cmd, o->count, "Send only the first N messages");
  add_timeout(cmd, o->timeout, "Give up after SECONDS in all");
  cmd->callback([o, &rc] {
    if (auto u = Url::parse(o->url); !u) {
      rc = report(u.error());
      return;
    }
    auto bytes = read_file(o->file);
    if (!bytes) {
      rc = report(bytes.error());
      return;
    }
    auto rec = recording::parse(*bytes, o->file);
    if (!rec) {
      rc = report(rec.error());
      return;
    }
    const Deadline deadline = deadline_from_seconds(o->timeout);
    auto ch = Channel::open(o->url);
    if (!ch) {
      rc = report(ch.error());
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t sent = 0, sent_bytes = 0;
    for (const auto& r : rec->records) {
      if (o->count >= 0 && sent >= static_cast<std::uint64_t>(o->count)) break;
      if (o->speed > 0) {
        const auto at = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double, std::nano>(static_cast<double>(r.offset_ns) / o->speed));
        if (!deadline.is_never() && at > deadline.time_point()) {
          error(fmt::format("replay {}: timed out after {} of {} messages", o->url, sent, rec->records.size()));
          rc = kRuntimeError;
          return;
        }
        std::this_thread::sleep_until(at);
      }
      SendOptions so;
      so.type = r.type > 0 ? r.type : 1;
      so.priority = r.priority;
      auto s = ch->send(as_bytes(r.payload), deadline, so);
      if (!s) {
        const Error& e = s.error();
        if (e.timed_out()) {
          error(fmt::format("replay {}: timed out after {} of {} messages", o->url, sent, rec->records.size()));
        } else {
          error(e.message());
        }
        rc = kRuntimeError;
        return;
      }
      ++sent;
      sent_bytes += r.payload.size();
    }
    fmt::print("replayed {} message{} ({} bytes) to {}\n", sent, sent == 1 ? "" : "s", sent_bytes, o->url);
    std::fflush(stdout);
    rc = kOk;
  });
}

}  // namespace ipcx::cli
