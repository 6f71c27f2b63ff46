// SPDX-License-Identifier: MIT
// The ipcx command as a function: main() and the argument fuzzer (tests/fuzz/cli_fuzz.cpp)
// build the same app and parse through the same code.
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/version.hpp"

namespace ipcx::cli {

void error(std::string_view text) { fmt::print(stderr, "ipcx: {}\n", text); }

void add_commands(CLI::App& app, int& rc) {
  app.set_version_flag("-V,--version", fmt::format("ipcx {}", ipcx::version()));
  app.require_subcommand(1);
  app.fallthrough(false);
  add_send(app, rc);
  add_recv(app, rc);
  add_listen(app, rc);
  add_bridge(app, rc);
  add_hz(app, rc);
  add_record(app, rc);
  add_replay(app, rc);
  add_ls(app, rc);
  add_stat(app, rc);
  add_rm(app, rc);
  add_doctor(app, rc);
  add_generators(app, rc);
  add_bench(app, rc);
}

int run(CLI::App& app, const int& rc, int argc, const char* const* argv) {
  // An unknown command is named, not reported as "a subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || sub->get_name() == argv[1];
      if (!sub->get_group().empty()) names += " " + sub->get_name();
    }
    if (!known) {
      error(fmt::format("unknown command '{}' (commands:{}); see ipcx --help", argv[1], names));
      return kUsage;
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
    error(fmt::format("{} (see {} --help)", e.what(), where));
    return kUsage;
  }
  return rc;
}

}  // namespace ipcx::cli
