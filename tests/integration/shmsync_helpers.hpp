// SPDX-License-Identifier: MIT
// Helpers shared by the shared-memory and synchronisation tests: a one-byte pipe for
// "I am ready" between a parent and its child, a wait until a process is blocked in a
// given system call (so a test knows a child sleeps without sleeping itself), and
// descriptor passing over a socketpair (SCM_RIGHTS).
#pragma once

#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "ipcx/deadline.hpp"
#include "ipcx/fd.hpp"
#include "sys/io.hpp"

namespace ipcx::test {

// TSan reports a deliberate unlock of a mutex the thread does not hold (the misuse these
// tests check is refused) as an error of its own: such checks are skipped under it.
#if defined(__SANITIZE_THREAD__)
#define IPCX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCX_TSAN 1
#endif
#endif
#ifdef IPCX_TSAN
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif

// One direction, one byte per event. The child writes, the parent reads (or vice versa).
struct Signal {
  Fd read;
  Fd write;

  static Signal make() {
    auto p = sys::pipe2(0);
    if (!p) std::abort();
    return Signal{std::move(p->read), std::move(p->write)};
  }
  bool notify(char c = 'x') {
    auto r = sys::write(write.get(), &c, 1);
    return r && *r == 1;
  }
  // Waits for one byte (bounded); returns it, or 0 on timeout/EOF.
  char wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto p = sys::poll_one(read.get(), POLLIN, Deadline::after(timeout));
    if (!p || *p == 0) return 0;
    char c = 0;
    auto r = sys::read(read.get(), &c, 1);
    return (r && *r == 1) ? c : 0;
  }
};

// True once `pid` is blocked in system call `nr` (read from /proc/PID/syscall), false
// if that does not happen within the timeout. Polls: this is the test observing the
// kernel, not ordering by time.
inline bool wait_until_blocked_in(pid_t pid, long nr, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto d = Deadline::after(timeout);
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  while (!d.expired()) {
    std::ifstream in(path);
    long n = -2;
    if (in >> n && n == nr) return true;
    ::sched_yield();
  }
  return false;
}

// True once `pid` sleeps in futex(2) on the word at `addr` (an address in its memory; a
// forked child shares its parent's addresses for mappings made before the fork).
inline bool wait_until_futex_waiting_on(pid_t pid, const void* addr,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto d = Deadline::after(timeout);
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  while (!d.expired()) {
    std::ifstream in(path);
    long n = -2;
    std::string arg0;
    if (in >> n >> arg0 && n == SYS_futex && std::stoull(arg0, nullptr, 16) == reinterpret_cast<std::uintptr_t>(addr)) {
      return true;
    }
    ::sched_yield();
  }
  return false;
}

struct SocketPair {
  Fd a;
  Fd b;
  static SocketPair make() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    return SocketPair{Fd(sv[0]), Fd(sv[1])};
  }
};

// Sends one descriptor with one byte of data (SCM_RIGHTS).
inline bool send_fd(int sock, int fd) {
  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == 1;
}

// Receives one descriptor (close-on-exec); an invalid Fd on failure.
inline Fd recv_fd(int sock) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return Fd();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return Fd();
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return Fd(fd);
}

}  // namespace ipcx::test
