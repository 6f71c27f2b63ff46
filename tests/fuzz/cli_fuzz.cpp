// SPDX-License-Identifier: MIT
// libFuzzer target: the ipcx command's argument handling. The input is argv after "ipcx",
// one argument per NUL-separated piece. The app is the binary's own (add_commands, run: the
// unknown-command check, CLI11's parse, every option's check, help and version). The app's
// parse-complete callback runs once everything is parsed and validated and before any
// command's own callback: there the target stops a command that would touch IPC objects or
// the host (throwing Dispatched), so a fuzzed name can never create, remove or wait on
// anything. `man` and `completion` run for real: they only print what is generated from
// the app. Every input must end in exit code 0 (help, version, a parsed command) or 2
// (usage), never in a crash or an exception.
//
// (The callbacks are not replaced: each command's options live in its callback's closure,
// and replacing the callback would free them under the parser.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "commands.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxArgs = 64;
  std::vector<std::string> args{"ipcx"};
  std::string cur;
  for (std::size_t i = 0; i < size && args.size() < kMaxArgs; ++i) {
    if (data[i] == 0) {
      args.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (!cur.empty() && args.size() < kMaxArgs) args.push_back(std::move(cur));
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());

  struct Dispatched {};
  CLI::App app{"ipcx", "ipcx"};
  int rc = ipcx::cli::kOk;
  ipcx::cli::add_commands(app, rc);
  app.parse_complete_callback([&app] {
    if (app.got_subcommand("man") || app.got_subcommand("completion")) return;
    throw Dispatched{};
  });
  int code = ipcx::cli::kOk;
  try {
    code = ipcx::cli::run(app, rc, static_cast<int>(argv.size()), argv.data());
  } catch (const Dispatched&) {
    code = ipcx::cli::kOk;
  }
  if (code != ipcx::cli::kOk && code != ipcx::cli::kUsage) __builtin_trap();
  return 0;
}
