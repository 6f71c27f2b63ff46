// SPDX-License-Identifier: MIT
// ipcx doctor [--json]: the host's IPC limits and common traps, each with a verdict and a fix.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/limits.hpp"
#include "output.hpp"

namespace ipcx::cli {

void add_doctor(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("doctor", "Check the host's IPC limits and common traps; each with a verdict and a fix");
  cmd->footer(
      "Checks /dev/shm (size and free space), /dev/mqueue, fs.mqueue.*, kernel.msg*, kernel.shm*,\n"
      "kernel.sem, RLIMIT_MSGQUEUE, RLIMIT_MEMLOCK and systemd-logind's RemoveIPC.\n"
      "Exit status: 0 when nothing fails (warnings included), 1 when a check fails.\n"
      "Examples:\n"
      "  ipcx doctor\n"
      "  ipcx doctor --json | jq '.[] | select(.verdict != \"ok\")'");
  struct Opts {
    bool json = false;
    bool quiet = false;
    std::string root = "/";
  };
  auto o = std::make_shared<Opts>();
  cmd->add_flag("--json", o->json, "One JSON array of findings, for programs");
  cmd->add_flag("-q,--quiet", o->quiet, "Print only warnings and failures");
  // Hidden: read /proc/sys, /proc/mounts and /etc from another tree (tests, containers).
  cmd->add_option("--sysroot", o->root, "Read /proc/sys, /proc/mounts and /etc/systemd under DIR")->group("");
  cmd->callback([o, &rc] {
    auto l = limits::read_limits(o->root);
    if (!l) {
      error(l.error().message());
      rc = kRuntimeError;
      return;
    }
    auto findings = limits::diagnose(*l);
    bool failed = false;
    for (const auto& f : findings) failed = failed || f.verdict == limits::Verdict::fail;
    if (o->json) {
      auto arr = Json::array();
      for (const auto& f : findings) {
        if (o->quiet && f.verdict == limits::Verdict::ok) continue;
        // "value" is the text the table prints; "values" the same as numbers and flags.
        Json values = Json::object();
        for (const auto& [k, v] : f.flags) values[k] = v;
        for (const auto& [k, v] : f.numbers) values[k] = v;
        arr.push_back({{"name", f.name},
                       {"value", f.value},
                       {"values", std::move(values)},
                       {"verdict", std::string(limits::to_string(f.verdict))},
                       {"detail", f.detail},
                       {"fix", f.fix}});
      }
      fmt::print("{}\n", dump(arr, true));
    } else {
      std::size_t w = 0;
      for (const auto& f : findings) w = std::max(w, f.name.size());
      for (const auto& f : findings) {
        if (o->quiet && f.verdict == limits::Verdict::ok) continue;
        fmt::print("{:<4}  {:<{}}  {}\n", limits::to_string(f.verdict), f.name, w, f.value);
        fmt::print("      {}\n", f.detail);
        if (!f.fix.empty()) fmt::print("      fix: {}\n", f.fix);
      }
    }
    std::fflush(stdout);
    rc = failed ? kRuntimeError : kOk;
  });
}

}  // namespace ipcx::cli
