// SPDX-License-Identifier: MIT
// The interposed calls (see inject.hpp). Each one asks its thread's plan whether to fail,
// and otherwise calls the C library's own function (dlsym RTLD_NEXT; malloc goes to
// __libc_malloc, since dlsym itself may allocate).
#include "faults/inject.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdlib>

extern "C" void* __libc_malloc(std::size_t size);

namespace ipcx::test::fault {
namespace {

struct Plan {
  int err;
  long skip;
  long times;
  int fd;
  long failed;
};
// Plain thread_local data (constant-initialized): reading it never allocates, which
// matters inside malloc.
thread_local Plan plans[static_cast<int>(Call::count_)] = {};

bool should_fail(Call c, int fd) noexcept {
  Plan& p = plans[static_cast<int>(c)];
  if (p.err == 0 || p.times == 0) return false;
  if (p.fd >= 0 && fd != p.fd) return false;
  if (p.skip > 0) {
    --p.skip;
    return false;
  }
  if (p.times > 0) --p.times;
  ++p.failed;
  errno = p.err;
  return true;
}

template <class F>
F real(const char* name) noexcept {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (!f) std::abort();
  return reinterpret_cast<F>(f);
}

}  // namespace

void arm(Call call, int err, long skip, long times, int fd) noexcept {
  plans[static_cast<int>(call)] = Plan{err, skip, times, fd, 0};
}

long disarm(Call call) noexcept {
  Plan& p = plans[static_cast<int>(call)];
  const long n = p.failed;
  p = Plan{};
  return n;
}

}  // namespace ipcx::test::fault

using ipcx::test::fault::Call;
using ipcx::test::fault::should_fail;
using ipcx::test::fault::real;

extern "C" {

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
  static auto next = real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap");
  if (should_fail(Call::mmap, fd)) return MAP_FAILED;
  return next(addr, len, prot, flags, fd, off);
}

int fallocate(int fd, int mode, off_t off, off_t len) {
  static auto next = real<int (*)(int, int, off_t, off_t)>("fallocate");
  if (should_fail(Call::fallocate, fd)) return -1;
  return next(fd, mode, off, len);
}

int ftruncate(int fd, off_t len) noexcept {
  static auto next = real<int (*)(int, off_t)>("ftruncate");
  if (should_fail(Call::ftruncate, fd)) return -1;
  return next(fd, len);
}

ssize_t write(int fd, const void* buf, size_t n) {
  static auto next = real<ssize_t (*)(int, const void*, size_t)>("write");
  if (should_fail(Call::write, fd)) return -1;
  return next(fd, buf, n);
}

ssize_t writev(int fd, const iovec* iov, int n) {
  static auto next = real<ssize_t (*)(int, const iovec*, int)>("writev");
  if (should_fail(Call::writev, fd)) return -1;
  return next(fd, iov, n);
}

ssize_t sendmsg(int fd, const msghdr* m, int flags) {
  static auto next = real<ssize_t (*)(int, const msghdr*, int)>("sendmsg");
  if (should_fail(Call::sendmsg, fd)) return -1;
  return next(fd, m, flags);
}

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  static auto next = real<int (*)(int, sockaddr*, socklen_t*, int)>("accept4");
  if (should_fail(Call::accept4, fd)) return -1;
  return next(fd, addr, len, flags);
}

mqd_t mq_open(const char* name, int oflag, ...) noexcept {
  static auto next = real<mqd_t (*)(const char*, int, ...)>("mq_open");
  if (should_fail(Call::mq_open, -1)) return static_cast<mqd_t>(-1);
  if (oflag & O_CREAT) {
    va_list ap;
    va_start(ap, oflag);
    const auto mode = static_cast<mode_t>(va_arg(ap, unsigned));
    auto* attr = va_arg(ap, mq_attr*);
    va_end(ap);
    return next(name, oflag, mode, attr);
  }
  return next(name, oflag);
}

void* malloc(size_t size) noexcept {
  if (should_fail(Call::malloc, -1)) return nullptr;
  return __libc_malloc(size);
}

}  // extern "C"
