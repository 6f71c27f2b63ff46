// SPDX-License-Identifier: MIT
// Fixture for scripts/check-syscalls.sh: every line marked RAW must be reported, nothing else.
#include <sys/socket.h>
#include <unistd.h>

struct Pipe {
  long write(const void* p, unsigned long n);  // a method named like a call: a declaration
};

int f(int fd, char* buf) {
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);  // RAW
  if (read(fd, buf, 1) < 0) return -1;  // RAW
  (void)::close(s);  // RAW
  return ::eventfd(0, 0);  // RAW
}

int g(int fd) {
  if (fd > 0 && shutdown(fd, 2) < 0) return -2;  // RAW
  return fcntl(fd, 1);  // RAW
}
