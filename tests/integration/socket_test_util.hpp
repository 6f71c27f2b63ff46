// SPDX-License-Identifier: MIT
// Helpers shared by the socket tests: a one-shot gate between two processes (a pipe, so
// ordering never rests on sleeps), descriptor counting, dropping privileges in a child,
// and a child-side check that prints what failed.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/channel.hpp"
#include "ipcx/error.hpp"
#include "support/test_support.hpp"

namespace ipcx::test {

// The open descriptors of this process (not the one used to list them), or nullopt when
// /proc/self/fd cannot be read.
inline std::optional<std::vector<int>> open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return std::nullopt;
  const int self = ::dirfd(d);
  std::vector<int> fds;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd != self) fds.push_back(fd);
  }
  ::closedir(d);
  return fds;
}

// How many descriptors are open, or -1.
inline int count_fds() {
  auto fds = open_fds();
  return fds ? static_cast<int>(fds->size()) : -1;
}

// The highest open descriptor, or -1.
inline int highest_fd() {
  auto fds = open_fds();
  if (!fds || fds->empty()) return -1;
  return *std::max_element(fds->begin(), fds->end());
}

// In a forked child: become uid/gid 65534 (nobody), with no supplementary groups.
inline bool drop_to_nobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
}

// Child-side checks: print what failed (the parent's test output shows it) and give the
// exit status to return.
inline int child_fail(std::string_view what) {
  std::fprintf(stderr, "child: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}
inline int child_fail(std::string_view what, const Error& e) {
  std::fprintf(stderr, "child: %.*s: %s\n", static_cast<int>(what.size()), what.data(), e.message().c_str());
  return 1;
}

// A process running argv with separate pipes for stdout and stderr, so a test can read
// "listening on ..." from stderr before it starts the other side.
class Piped {
 public:
  // `before_exec` runs in the child just before exec (e.g. to drop privileges).
  explicit Piped(std::vector<std::string> argv, const std::string& stdin_text = {},
                 const std::function<bool()>& before_exec = {}) {
    int out[2], err[2], in[2];
    if (::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC) || ::pipe2(in, O_CLOEXEC)) std::abort();
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      if (before_exec && !before_exec()) ::_exit(126);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    ::close(in[0]);
    out_ = out[0];
    err_ = err[0];
    if (!stdin_text.empty()) (void)!::write(in[1], stdin_text.data(), stdin_text.size());
    ::close(in[1]);
  }
  ~Piped() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }
  Piped(const Piped&) = delete;
  Piped& operator=(const Piped&) = delete;

  // Reads stderr up to and including the first line containing `needle` (or EOF/timeout).
  std::string wait_stderr_line(std::string_view needle, int timeout_ms = 10000) {
    while (err_text_.find(needle) == std::string::npos || err_text_.find('\n', err_text_.find(needle)) == std::string::npos) {
      if (!read_some(err_, err_text_, timeout_ms)) break;
    }
    return err_text_;
  }
  // Waits for exit (killing after the timeout); returns the status as Child::wait does and
  // collects all output.
  int wait(int timeout_ms = 20000) {
    while (read_some(out_, out_text_, timeout_ms)) {
    }
    while (read_some(err_, err_text_, timeout_ms)) {
    }
    int st = 0;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    pollfd p{pidfd, POLLIN, 0};
    bool exited = pidfd >= 0 && ::poll(&p, 1, timeout_ms) > 0;
    if (pidfd >= 0) ::close(pidfd);
    if (!exited) ::kill(pid_, SIGKILL);
    if (::waitpid(pid_, &st, 0) < 0) return -1;
    if (!exited) {
      pid_ = -1;
      return -1;
    }
    pid_ = -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
  }
  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }

 private:
  static bool read_some(int fd, std::string& into, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    into.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_text_;
  std::string err_text_;
};

}  // namespace ipcx::test
