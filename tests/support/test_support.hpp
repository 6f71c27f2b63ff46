// SPDX-License-Identifier: MIT
// Test support: unique names, child processes, and leak accounting.
//
// Every name a test makes comes from unique_path / unique_posix_name / unique_key, which
// embed this process's pid; after the last test, main() asserts that nothing with this
// process's tag is left in /tmp, /dev/shm, /dev/mqueue or the SysV tables.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ipcx/error.hpp"
#include "ipcx/mapping.hpp"

namespace ipcx::test {

// "/tmp/ipcxt-<pid>-<n>-<what>"
std::string unique_path(std::string_view what);
// "/ipcxt-<pid>-<n>-<what>" for POSIX named objects (shm, mq, sem)
std::string unique_posix_name(std::string_view what);
// A bare name "ipcxt-<pid>-<n>-<what>" (shm:// rings, abstract sockets)
std::string unique_name(std::string_view what);
// A SysV key unique to this process: 0x40000000 | (pid & 0x3fffff) << 8 | n
std::int32_t unique_key();
// The tag every unique name carries: "ipcxt-<pid>-"
std::string process_tag();

// n bytes of a payload that differs with the position and the seed, for checking that
// what arrives is what was sent.
std::vector<std::byte> pattern(std::size_t n, unsigned seed);

// Whatever still exists with this process's tag (empty when clean).
std::vector<std::string> leftovers();

// The whole file of the shm:// ring `name`, mapped read-write as any process holding the
// file could map it: what tests that scribble over a live ring write through (unmapped
// when the Mapping goes).
Result<Mapping> map_ring_file(const std::string& name);

// One process opens, the other waits: a pipe made before fork, so ordering never rests on
// sleeps. open() may be called several times; each wait() takes one opening.
class Gate {
 public:
  Gate();
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  void open(char c = 'x');
  // The byte written, or 0 on timeout / EOF.
  char wait(int timeout_ms = 10000);

 private:
  int fds_[2] = {-1, -1};
};

// A forked child running `body`; its return value is the exit status. Waits are bounded:
// a child still running at the timeout is killed and the test fails.
class Child {
 public:
  static Child spawn(std::function<int()> body);
  // Runs argv (argv[0] is a path) in a child, with stdout/stderr captured to a file.
  static Child exec(std::vector<std::string> argv);
  Child(Child&& o) noexcept;
  Child& operator=(Child&&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  // Exit status (0..255), 128+signal if killed by a signal, -1 on timeout (child killed).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void kill(int sig);
  // Captured output of exec()'d children.
  std::string output() const;

 private:
  explicit Child(pid_t pid, int pidfd, std::string out) : pid_(pid), pidfd_(pidfd), out_path_(std::move(out)) {}
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::string out_path_;
};

// Runs a command line (through /bin/sh) and returns {exit status, stdout+stderr}; bounded
// by `timeout` (the shell is killed after it).
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run(const std::string& command, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The ipcx CLI binary under test.
std::string cli_path();

}  // namespace ipcx::test
