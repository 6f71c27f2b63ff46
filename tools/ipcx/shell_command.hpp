// SPDX-License-Identifier: MIT
// A COMMAND run by /bin/sh -c, as `ipcx bridge exec:COMMAND` starts it (socat's SYSTEM:
// address): its standard input and output on pipes to this process, its standard error
// this process's. It runs in a process group of its own, so that stopping it stops a
// pipeline and whatever it started in the background too.
//
//   auto c = ShellCommand::start("tr a-z A-Z", true, true);
//   write to c->stdin_fd(), read c->stdout_fd(), poll c->pidfd() for its exit;
//   c->stop(1s);   // or its destructor: it is never left behind
//
// Owns the child: the destructor stops and reaps it if it still runs. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

namespace ipcx::cli {

class ShellCommand {
 public:
  // Starts /bin/sh -c `command`. With `pipe_stdin` its standard input is a pipe this
  // process writes (stdin_fd()), else /dev/null; with `pipe_stdout` its standard output is
  // a pipe this process reads (stdout_fd()), else this process's own. Both pipes are
  // non-blocking on this side and close-on-exec; nothing else is inherited (every ipcx
  // descriptor is close-on-exec). Signals are as at login: SIGPIPE, SIGINT and SIGTERM at
  // their defaults, none blocked.
  static Result<ShellCommand> start(const std::string& command, bool pipe_stdin, bool pipe_stdout);

  ShellCommand(ShellCommand&& o) noexcept
      : command_(std::move(o.command_)), pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)),
        in_(std::move(o.in_)), out_(std::move(o.out_)), status_(o.status_) {}
  ShellCommand& operator=(ShellCommand&&) = delete;
  ~ShellCommand();

  const std::string& command() const noexcept { return command_; }
  pid_t pid() const noexcept { return pid_; }
  int stdin_fd() const noexcept { return in_.get(); }
  int stdout_fd() const noexcept { return out_.get(); }
  // Readable once the command (the shell) has exited.
  int pidfd() const noexcept { return pidfd_.get(); }
  void close_stdin() noexcept { in_.reset(); }

  // If it has exited: reaps it (and sends SIGTERM to what is left in its group) and
  // returns true. Never blocks.
  bool try_reap();
  // Stops it: closes its standard input, waits up to `grace` for it to exit by itself,
  // then sends SIGTERM to its group, and SIGKILL after 2 s more; reaps it.
  void stop(std::chrono::milliseconds grace);

  bool reaped() const noexcept { return status_.has_value(); }
  // Once reaped: its exit status, or -1 when a signal ended it.
  int exit_status() const noexcept;
  // Once reaped: the signal that ended it, or 0.
  int signal() const noexcept;
  // "exited with status 0", "killed by signal 15 (Terminated)"; for status 126 and 127
  // also what /bin/sh means by them.
  std::string describe() const;

 private:
  ShellCommand(std::string command, pid_t pid, Fd pidfd, Fd in, Fd out)
      : command_(std::move(command)), pid_(pid), pidfd_(std::move(pidfd)), in_(std::move(in)), out_(std::move(out)) {}
  void reap();  // blocking waitpid, after the group was signalled

  std::string command_;
  pid_t pid_ = -1;
  Fd pidfd_;
  Fd in_;
  Fd out_;
  std::optional<int> status_;  // waitpid's status
};

}  // namespace ipcx::cli
