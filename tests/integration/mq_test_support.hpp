// SPDX-License-Identifier: MIT
// Helpers shared by the message-queue tests: existence checks (the leak check cannot see
// POSIX queues when /dev/mqueue is not mounted, nor IPC_PRIVATE SysV queues), guards that
// remove what a failing test made, capability and namespace tricks for the limit tests,
// and a wait for "the child is blocked in this system call".
#pragma once

#include <fcntl.h>
#include <linux/capability.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace ipcx::test {

inline bool posix_mq_exists(const std::string& name) {
  mqd_t q = ::mq_open(name.c_str(), O_RDONLY);
  if (q == static_cast<mqd_t>(-1)) return errno != ENOENT;
  ::mq_close(q);
  return true;
}

inline bool sysv_msg_id_exists(int id) {
  msqid_ds ds{};
  return ::msgctl(id, IPC_STAT, &ds) == 0;
}

// Unlinks a POSIX queue at scope exit, so that a failing test leaves nothing behind.
class MqNameGuard {
 public:
  explicit MqNameGuard(std::string name) : name_(std::move(name)) {}
  ~MqNameGuard() { (void)::mq_unlink(name_.c_str()); }
  MqNameGuard(const MqNameGuard&) = delete;
  MqNameGuard& operator=(const MqNameGuard&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Removes a SysV queue (by key or id) at scope exit.
class SysvGuard {
 public:
  static SysvGuard key(key_t k) { return SysvGuard(k, -1); }
  static SysvGuard id(int i) { return SysvGuard(0, i); }
  ~SysvGuard() {
    int id = id_;
    if (id < 0 && key_ != 0) id = ::msgget(key_, 0);
    if (id >= 0) (void)::msgctl(id, IPC_RMID, nullptr);
  }
  SysvGuard(SysvGuard&& o) noexcept : key_(o.key_), id_(o.id_) { o.key_ = 0, o.id_ = -1; }
  SysvGuard& operator=(SysvGuard&&) = delete;

 private:
  SysvGuard(key_t k, int i) : key_(k), id_(i) {}
  key_t key_;
  int id_;
};

// Drops CAP_SYS_RESOURCE from this process's effective set (for a forked child), so that
// the unprivileged limits apply even when the tests run as root. True if it is gone.
inline bool drop_cap_sys_resource() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  data[CAP_SYS_RESOURCE / 32].effective &= ~(1u << (CAP_SYS_RESOURCE % 32));
  if (::syscall(SYS_capset, &header, data) != 0) return false;
  ::syscall(SYS_capget, &header, data);
  return (data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) == 0;
}

// A one-shot "ready" signal from a forked child to the parent, through a pipe.
class ReadyPipe {
 public:
  ReadyPipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~ReadyPipe() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  ReadyPipe(const ReadyPipe&) = delete;
  ReadyPipe& operator=(const ReadyPipe&) = delete;
  void signal() {
    char c = 'r';
    (void)!::write(fds_[1], &c, 1);
  }
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    pollfd p{fds_[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return false;
    char c;
    return ::read(fds_[0], &c, 1) == 1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Whether a child may unshare its IPC namespace and set that namespace's sysctls here.
inline bool can_use_private_ipc_namespace(const char* sysctl_name);

// Writes a sysctl of this process's IPC namespace; for children that have unshared one.
inline bool write_sysctl(const std::string& dotted, long long value) {
  std::string path = "/proc/sys/";
  for (char c : dotted) path += c == '.' ? '/' : c;
  std::ofstream out(path);
  out << value << '\n';
  out.flush();
  return static_cast<bool>(out);
}

inline bool can_use_private_ipc_namespace(const char* sysctl_name) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (::unshare(CLONE_NEWIPC) != 0) ::_exit(1);
    std::string path = "/proc/sys/";
    for (const char* c = sysctl_name; *c; ++c) path += *c == '.' ? '/' : *c;
    long long value = 0;
    {
      std::ifstream in(path);
      if (!(in >> value)) ::_exit(2);
    }
    ::_exit(write_sysctl(sysctl_name, value) ? 0 : 3);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The system call `pid` is in, from /proc/PID/syscall: -1 while running, -2 if unknown.
inline long current_syscall(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/syscall", pid));
  std::string first;
  if (!(in >> first)) return -2;
  if (first == "running") return -1;
  try {
    return std::stol(first);
  } catch (...) {
    return -2;
  }
}

// Waits (bounded) until `pid` sits in one of `calls`: a condition the test needs before
// acting (e.g. "the receiver is blocked"), not a guess at timing. False if it never does
// or /proc cannot tell (callers then still act; the outcome must be the same).
inline bool wait_in_syscall(pid_t pid, std::initializer_list<long> calls,
                            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    long now = current_syscall(pid);
    if (now == -2) return false;
    for (long c : calls) {
      if (now == c) return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

// A SIGUSR1 handler installed without SA_RESTART that writes one byte to a pipe, so that
// the parent knows the signal interrupted the child (for the EINTR tests).
inline int g_signal_pipe = -1;
inline void install_interrupting_handler(int pipe_write_end) {
  g_signal_pipe = pipe_write_end;
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    char c = 's';
    (void)!::write(g_signal_pipe, &c, 1);
  };
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the interrupted call returns EINTR
  ::sigaction(SIGUSR1, &sa, nullptr);
}

// Reports a failed check from a forked child on stderr and yields its exit code.
#define IPCX_CHILD_CHECK(cond, code)                                                  \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "child check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      return (code);                                                                  \
    }                                                                                 \
  } while (0)

}  // namespace ipcx::test
