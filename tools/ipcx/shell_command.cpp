// SPDX-License-Identifier: MIT
#include "shell_command.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include "sys/io.hpp"
#include "sys/process.hpp"

extern char** environ;

namespace ipcx::cli {
namespace {

// posix_spawn's file actions and attributes, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

Result<ShellCommand> ShellCommand::start(const std::string& command, bool pipe_stdin, bool pipe_stdout) {
  const std::string object = "exec:" + command;
  SpawnSetup s;
  // The child's ends are dup2'ed onto 0 and 1 (dup2 clears close-on-exec there); every
  // original, ours and theirs, is close-on-exec and goes at the exec.
  sys::PipeFds to_child, from_child;
  if (pipe_stdin) {
    auto p = sys::pipe2(0);
    if (!p) return fail(std::move(p.error()).with_object(object));
    to_child = std::move(*p);
    ::posix_spawn_file_actions_adddup2(&s.actions, to_child.read.get(), STDIN_FILENO);
  } else {
    ::posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (pipe_stdout) {
    auto p = sys::pipe2(0);
    if (!p) return fail(std::move(p.error()).with_object(object));
    from_child = std::move(*p);
    ::posix_spawn_file_actions_adddup2(&s.actions, from_child.write.get(), STDOUT_FILENO);
  }
  // A group of its own (stopping it reaches a pipeline and its background jobs), no signal
  // blocked, and the dispositions this process changed back at their defaults: SIGPIPE is
  // ignored here (pipe.hpp) and an ignored signal stays ignored across exec.
  sigset_t none, defaults;
  ::sigemptyset(&none);
  ::sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM}) ::sigaddset(&defaults, sig);
  ::posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawnattr_setpgroup(&s.attr, 0);
  ::posix_spawnattr_setsigmask(&s.attr, &none);
  ::posix_spawnattr_setsigdefault(&s.attr, &defaults);
  std::string sh = "sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  auto pid = sys::posix_spawn("/bin/sh", &s.actions, &s.attr, argv, environ);
  if (!pid) return fail(std::move(pid.error()).with_object(object));
  // From here the child exists: a failure below stops it (the destructor).
  ShellCommand c(command, *pid, Fd(), std::move(to_child.write), std::move(from_child.read));
  auto pidfd = sys::pidfd_open(*pid);
  if (!pidfd) return fail(std::move(pidfd.error()).with_object(object));
  c.pidfd_ = std::move(*pidfd);
  for (const Fd* f : {&c.in_, &c.out_}) {
    if (!f->valid()) continue;
    if (auto r = f->set_nonblocking(true); !r) return fail(std::move(r.error()).with_object(object));
  }
  return c;
}

ShellCommand::~ShellCommand() {
  if (pid_ > 0 && !status_) stop(std::chrono::milliseconds(0));
}

void ShellCommand::reap() {
  auto w = sys::waitpid(pid_, 0);
  status_ = w ? w->status : 0;
}

bool ShellCommand::try_reap() {
  if (status_) return true;
  if (pid_ <= 0) return false;
  auto r = sys::poll_one(pidfd_.get(), POLLIN, Deadline::immediate());
  if (!r || *r == 0) return false;
  // Exited, not yet reaped: its pid (the group's id) cannot be reused, so the group is
  // still the one it made. What it left running there goes too.
  (void)sys::kill(-pid_, SIGTERM);
  reap();
  return true;
}

void ShellCommand::stop(std::chrono::milliseconds grace) {
  if (status_ || pid_ <= 0) return;
  in_.reset();  // a filter sees the end of its input and may finish by itself
  out_.reset();
  if (grace.count() > 0) (void)sys::poll_one(pidfd_.get(), POLLIN, Deadline::after(grace));
  (void)sys::kill(-pid_, SIGTERM);
  auto r = sys::poll_one(pidfd_.get(), POLLIN, Deadline::after(std::chrono::seconds(2)));
  if (!r || *r == 0) (void)sys::kill(-pid_, SIGKILL);
  reap();
}

int ShellCommand::exit_status() const noexcept {
  return status_ && WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
}

int ShellCommand::signal() const noexcept { return status_ && WIFSIGNALED(*status_) ? WTERMSIG(*status_) : 0; }

std::string ShellCommand::describe() const {
  if (!status_) return "running";
  if (int sig = signal(); sig != 0) return fmt::format("killed by signal {} ({})", sig, ::strsignal(sig));
  const int st = exit_status();
  if (st == 127) return "exited with status 127 (/bin/sh: command not found)";
  if (st == 126) return "exited with status 126 (/bin/sh: command not executable)";
  return fmt::format("exited with status {}", st);
}

}  // namespace ipcx::cli
