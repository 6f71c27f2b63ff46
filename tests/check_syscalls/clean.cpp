// SPDX-License-Identifier: MIT
// Fixture for scripts/check-syscalls.sh: calls that look like system calls but are not raw
// ones. The checker must accept this file.
#include <string>

namespace sys {
long read(int fd, void* buf, unsigned long n);
}

struct Fd {
  void close();
  int get() const;
};

class Queue {
 public:
  long send(const char* msg);  // declared: a bare send() below is this method
  void close();
  ~Queue() { close(); }
  const char* name() const { return "socket(AF_NETLINK)"; }  // a call's name inside a string
};

long use(Fd& fd, Fd* p, Queue& q, char* buf) {
  // ::open("/x", 0) in a comment is not a call
  /* nor ::socket(1, 2, 3) in a block comment */
  fd.close();
  p->close();
  q.send("x");
  std::string s = "::write(1, buf, 1)";
  char c = '(';
  (void)c;
  return sys::read(fd.get(), buf, 1) + static_cast<long>(s.size());
}

long Queue::send(const char* msg) { return msg ? 1 : send(nullptr); }
