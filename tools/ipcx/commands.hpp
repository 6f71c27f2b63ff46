// SPDX-License-Identifier: MIT
// The ipcx command: each subcommand registers itself on the app and sets the exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace ipcx::cli {

// Exit codes, as in every Unix tool: 0 success, 1 runtime error, 2 usage.
inline constexpr int kOk = 0;
inline constexpr int kRuntimeError = 1;
inline constexpr int kUsage = 2;

// Each adds one subcommand; its callback stores the command's exit code in `rc`.
void add_send(CLI::App& app, int& rc);
void add_recv(CLI::App& app, int& rc);
void add_listen(CLI::App& app, int& rc);
void add_bridge(CLI::App& app, int& rc);
void add_ls(CLI::App& app, int& rc);
void add_stat(CLI::App& app, int& rc);
void add_rm(CLI::App& app, int& rc);
void add_doctor(CLI::App& app, int& rc);
void add_hz(CLI::App& app, int& rc);
void add_record(CLI::App& app, int& rc);
void add_replay(CLI::App& app, int& rc);
// Hidden: `ipcx completion bash` and `ipcx man` print what is generated from the app itself.
void add_generators(CLI::App& app, int& rc);
void add_bench(CLI::App& app, int& rc);

// Every subcommand above, with the app's version flag and its one-command rule.
void add_commands(CLI::App& app, int& rc);
// Parses argv and runs the chosen command's callback: the exit code (its `rc`, or kUsage).
int run(CLI::App& app, const int& rc, int argc, const char* const* argv);

// Prints "ipcx: " + text to stderr.
void error(std::string_view text);

}  // namespace ipcx::cli
