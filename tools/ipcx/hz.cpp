// SPDX-License-Identifier: MIT
// ipcx hz URL [--window SECONDS] [--json] [-n N] [-t SECONDS]: the message rate, sizes and
// gaps on a channel, one report per window (rewritten in place on a terminal).
//
// hz receives as `recv` does, so on a queue, a FIFO or a stream it is the receiver and
// takes the messages. On a shm:// ring it attaches as a pub/sub subscriber, which takes
// nothing from the other subscribers; an spsc or mpsc ring has one consumer that takes
// every message, so hz refuses it rather than steal from that consumer.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/inspect.hpp"
#include "options.hpp"
#include "output.hpp"
#include "signals.hpp"

namespace ipcx::cli {
namespace {

using Clock = Deadline::Clock;

// What one window saw.
struct Window {
  explicit Window(Clock::time_point at) : start(at) {}

  Clock::time_point start;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t size_min = std::numeric_limits<std::uint64_t>::max(), size_max = 0;
  std::uint64_t gaps = 0;  // gaps measured: one per message after the first of the run
  double gap_min = 0, gap_max = 0, gap_sum = 0;  // seconds

  void add(std::uint64_t size, std::optional<double> gap) {
    ++messages;
    bytes += size;
    size_min = std::min(size_min, size);
    size_max = std::max(size_max, size);
    if (gap) {
      gap_min = gaps == 0 ? *gap : std::min(gap_min, *gap);
      gap_max = gaps == 0 ? *gap : std::max(gap_max, *gap);
      gap_sum += *gap;
      ++gaps;
    }
  }
};

// The receiving side hz takes on `url`. A ring is watched as a pub/sub subscriber of a
// ring that exists: hz never creates one, and never consumes from an spsc/mpsc ring.
Result<Channel> bind_watcher(const std::string& text) {
  auto url = Url::parse(text);
  if (!url) return fail(std::move(url.error()));
  if (url->scheme != Scheme::shm) return Channel::bind(*url);
  auto obj = inspect::stat_object("shm://" + url->name);
  if (!obj) return fail(std::move(obj.error()));
  std::string pattern;
  for (const auto& [k, v] : obj->details) {
    if (k == "pattern") pattern = v;
  }
  if (pattern.empty()) return fail(Errc::invalid_argument, "hz", text, "not a readable ring (ipcx stat says why)");
  if (pattern != "pubsub") {
    return fail(Errc::invalid_argument, "hz", text,
                fmt::format("the ring is {}: its one consumer takes every message, so watching it would take "
                            "messages from that consumer; hz watches pubsub rings only (as a subscriber)",
                            pattern));
  }
  std::string watched = text;
  watched += watched.find('?') == std::string::npos ? "?" : "&";
  watched += "create=0";
  return Channel::bind(watched);
}

std::string seconds_text(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

std::string report_text(const Window& w, double length, std::uint64_t total) {
  std::string line = fmt::format("{:.1f} msg/s", static_cast<double>(w.messages) / length);
  if (w.messages > 0) {
    line += fmt::format("  size min {} avg {:.1f} max {} B", w.size_min, static_cast<double>(w.bytes) / static_cast<double>(w.messages),
                        w.size_max);
  }
  if (w.gaps > 0) {
    line += fmt::format("  gap min {} avg {} max {}", seconds_text(w.gap_min), seconds_text(w.gap_sum / static_cast<double>(w.gaps)),
                        seconds_text(w.gap_max));
  }
  line += fmt::format("  ({} in {:.2f} s, {} in all)", w.messages, length, total);
  return line;
}

Json report_json(const Window& w, double length, std::uint64_t total) {
  Json j{{"window_s", length},
         {"messages", w.messages},
         {"rate_per_s", static_cast<double>(w.messages) / length},
         {"bytes", w.bytes}};
  if (w.messages > 0) {
    j["size_min_bytes"] = w.size_min;
    j["size_avg_bytes"] = static_cast<double>(w.bytes) / static_cast<double>(w.messages);
    j["size_max_bytes"] = w.size_max;
  }
  if (w.gaps > 0) {
    j["gap_min_s"] = w.gap_min;
    j["gap_avg_s"] = w.gap_sum / static_cast<double>(w.gaps);
    j["gap_max_s"] = w.gap_max;
  }
  j["total_messages"] = total;
  return j;
}

}  // namespace

void add_hz(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("hz", "Show the message rate, sizes and gaps on a channel, once per window");
  cmd->footer(
      "On a terminal the report is one line rewritten in place; otherwise one line per window\n"
      "(--json: one object per line). A gap is the time between two messages.\n"
      "hz receives as recv does: on a queue, FIFO or stream it takes the messages. On a shm://\n"
      "ring it is a pub/sub subscriber and takes nothing from others; an spsc or mpsc ring has\n"
      "one consumer that takes every message, so hz refuses it.\n"
      "Exit status: 0 when the sender goes away, after --count messages, at --timeout or on\n"
      "SIGINT; 1 on an error (a ring hz cannot watch included); 2 on a bad option or URL.\n"
      "Examples:\n"
      "  ipcx hz shm://cam0\n"
      "  ipcx hz unix:///run/app.sock --window 5 --json");
  struct Opts {
    std::string url;
    double window = 1;
    long long count = -1;
    double timeout = -1;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("URL", o->url, "The channel to watch (datagram schemes bind this address)")->required();
  cmd->add_option("-w,--window", o->window, "Report once per SECONDS, on what that window saw (default 1)")
      ->type_name("SECONDS")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double d = 0;
            if (!CLI::detail::lexical_cast(v, d) || !(d >= 0.01)) return "takes 0.01 or more seconds, not " + v;
            return {};
          },
          "SECONDS >= 0.01", "window"));
  add_count(cmd, o->count, "Stop after N messages");
  add_timeout(cmd, o->timeout, "Stop after SECONDS in all");
  cmd->add_flag("--json", o->json, "One JSON object per window and line, for programs");
  cmd->callback([o, &rc] {
    auto ch = bind_watcher(o->url);
    if (!ch) {
      rc = report(ch.error());
      return;
    }
    auto stop = StopSignals::install();  // a signal ends the run with its report
    if (!stop) {
      rc = report(stop.error());
      return;
    }
    const bool tty = !o->json && ::isatty(STDOUT_FILENO) == 1;
    const Deadline end = deadline_from_seconds(o->timeout);
    const auto window = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o->window));
    std::uint64_t total = 0;
    std::optional<Clock::time_point> last;
    Window w{Clock::now()};
    auto emit = [&](Clock::time_point now) {
      const double length = std::max(std::chrono::duration<double>(now - w.start).count(), 1e-9);
      if (o->json) {
        fmt::print("{}\n", dump(report_json(w, length, total), false));
      } else if (tty) {
        fmt::print("\r{}\x1b[K", report_text(w, length, total));  // rewrite the line in place
      } else {
        fmt::print("{}\n", report_text(w, length, total));
      }
      std::fflush(stdout);
      w = Window{now};
    };
    auto finish = [&](int code) {
      emit(Clock::now());
      if (tty) fmt::print("\n");
      std::fflush(stdout);
      rc = code;
    };
    for (;;) {
      if (stop->signal() != 0 || (o->count >= 0 && total >= static_cast<std::uint64_t>(o->count))) return finish(kOk);
      // Until the window ends, the run ends, or the next look at the stop flag.
      Deadline d = Deadline::at(std::min(w.start + window, Clock::now() + kStopCheck));
      if (!end.is_never() && end.time_point() < d.time_point()) d = end;
      auto m = ch->receive_message(d);
      const auto now = Clock::now();
      if (!m) {
        const Error& e = m.error();
        if (e.timed_out() || e.would_block()) {
          if (!end.is_never() && now >= end.time_point()) return finish(kOk);
          if (now >= w.start + window) emit(now);
          continue;
        }
        if (e.peer_gone()) return finish(kOk);
        finish(kRuntimeError);
        error(e.message());
        return;
      }
      std::optional<double> gap;
      if (last) gap = std::chrono::duration<double>(now - *last).count();
      last = now;
      ++total;
      w.add(m->data.size(), gap);
      if (now >= w.start + window) emit(now);  // a busy channel never times out
    }
  });
}

}  // namespace ipcx::cli
