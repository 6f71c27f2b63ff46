// SPDX-License-Identifier: MIT
// ipcx — send, receive, inspect and measure inter-process communication on Linux.
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/version.hpp"

namespace ipcx::cli {

void error(std::string_view text) { fmt::print(stderr, "ipcx: {}\n", text); }

}  // namespace ipcx::cli

int main(int argc, char** argv) {
  CLI::App app{"ipcx: inter-process communication on Linux, every mechanism behind one URL.\n"
               "URLs: shm://NAME unix:///PATH unix:@NAME unixgram:… unixpacket:… tcp://HOST:PORT\n"
               "      udp://HOST:PORT fifo:///PATH posixmq:///NAME sysvmq://KEY",
               "ipcx"};
  app.set_version_flag("-V,--version", fmt::format("ipcx {}", ipcx::version()));
  app.require_subcommand(1);
  app.fallthrough(false);
  int rc = ipcx::cli::kOk;
  ipcx::cli::add_send(app, rc);
  ipcx::cli::add_recv(app, rc);
  ipcx::cli::add_listen(app, rc);
  ipcx::cli::add_bridge(app, rc);
  ipcx::cli::add_hz(app, rc);
  ipcx::cli::add_record(app, rc);
  ipcx::cli::add_replay(app, rc);
  ipcx::cli::add_ls(app, rc);
  ipcx::cli::add_stat(app, rc);
  ipcx::cli::add_rm(app, rc);
  ipcx::cli::add_doctor(app, rc);
  ipcx::cli::add_generators(app, rc);
  ipcx::cli::add_bench(app, rc);
  // An unknown command is named, not reported as "a subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || sub->get_name() == argv[1];
      if (!sub->get_group().empty()) names += " " + sub->get_name();
    }
    if (!known) {
      ipcx::cli::error(fmt::format("unknown command '{}' (commands:{}); see ipcx --help", argv[1], names));
      return ipcx::cli::kUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // As every other error line: "ipcx: ...", then where the right usage is.
    std::string where = "ipcx";
    for (const auto* sub : app.get_subcommands()) where += " " + sub->get_name();
    ipcx::cli::error(fmt::format("{} (see {} --help)", e.what(), where));
    return ipcx::cli::kUsage;
  }
  return rc;
}
