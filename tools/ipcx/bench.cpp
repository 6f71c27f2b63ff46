// SPDX-License-Identifier: MIT
// ipcx bench [OPTIONS]: runs ipcx-bench, which measures every IPC mechanism on this host and
// the peer libraries side by side. The CLI does not link those libraries: it execs the
// ipcx-bench program found next to it (build tree) or in the install's libexec/ipcx, and
// passes every argument through.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"

#ifndef IPCX_LIBEXECDIR
#define IPCX_LIBEXECDIR "/usr/local/libexec/ipcx"
#endif

namespace ipcx::cli {
namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("IPCX_BENCH"); env && *env) out.emplace_back(env);
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<std::size_t>(n));
    dir.erase(dir.rfind('/'));
    out.push_back(dir + "/ipcx-bench");                     // build tree: bin/ holds both
    out.push_back(dir + "/../libexec/ipcx/ipcx-bench");     // an install moved as a whole
  }
  out.emplace_back(IPCX_LIBEXECDIR "/ipcx-bench");          // where this build installs it
  return out;
}

}  // namespace

void add_bench(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand(
      "bench", "Measure every IPC mechanism and the peer libraries side by side (runs ipcx-bench)");
  // Everything after "bench", --help included, belongs to ipcx-bench.
  cmd->prefix_command();
  cmd->set_help_flag();
  cmd->footer("Options are ipcx-bench's: ipcx bench --help lists them.\n"
              "Example:\n  ipcx bench --quick\n  ipcx bench --cases floor,shm --sizes 64,4k --json out.json");
  cmd->callback([cmd, &rc] {
    std::vector<std::string> args = cmd->remaining();
    std::vector<std::string> tried;
    for (const auto& path : candidates()) {
      if (::access(path.c_str(), X_OK) != 0) {
        tried.push_back(path);
        continue;
      }
      std::vector<char*> argv;
      std::string name = "ipcx bench";  // ipcx-bench prints this as the command it ran
      argv.push_back(name.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::fflush(nullptr);
      ::execv(path.c_str(), argv.data());
      error(fmt::format("bench: exec {}: {}", path, std::strerror(errno)));
      rc = kRuntimeError;
      return;
    }
    std::string list;
    for (const auto& t : tried) list += "\n  " + t;
    const bool wants_help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                            std::find(args.begin(), args.end(), "-h") != args.end();
    if (wants_help) {  // still say what the command is, with its example
      fmt::print("{}\nUsage: ipcx bench [OPTIONS]\n\n{}\n\nipcx-bench is not installed here (looked for:{}), so its own "
                 "options cannot be listed.\n",
                 cmd->get_description(), cmd->get_footer(), list);
      rc = kOk;
      return;
    }
    error(fmt::format("bench: ipcx-bench is not installed; looked for:{}\n"
                      "Build it with -DIPCX_BUILD_BENCH=ON (scripts/bench.sh does) and install it with -DIPCX_INSTALL_BENCH=ON,\n"
                      "or set IPCX_BENCH to its path.",
                      list));
    rc = kRuntimeError;
  });
}

}  // namespace ipcx::cli
