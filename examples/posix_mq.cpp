// SPDX-License-Identifier: MIT
// A POSIX message queue (C++), every call of the seed's list: mq_open (create, exclusive,
// maxmsg/msgsize), mq_notify (a callback when a message arrives in the empty queue),
// mq_timedsend with priorities, mq_getattr (how many are queued), mq_setattr (O_NONBLOCK),
// mq_timedreceive (highest priority first) and mq_unlink.
//   $ ./example_cpp_posix_mq
//   notified; 3 queued of 8; prio 9 "alarm"; prio 5 "order"; prio 0 "note"; then: would block; unlinked
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>

#include "ipcx/posix_mq.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string name = "/ipcx-example-" + std::to_string(::getpid());
  auto q = ipcx::PosixMq::open(name, {.create = true, .exclusive = true, .maxmsg = 8, .msgsize = 128});
  if (!q) return std::fprintf(stderr, "%s\n", q.error().message().c_str()), 1;
  // mq_notify: one registration per queue; it fires once, when a message arrives in an
  // empty queue, on a thread of ipcx's (joined before notify_cancel or close returns).
  std::promise<void> arrived;
  if (auto r = q->notify_callback([&] { arrived.set_value(); }); !r)
    return std::fprintf(stderr, "%s\n", r.error().message().c_str()), 1;

  pid_t pid = ::fork();
  if (pid == 0) {
    auto mine = ipcx::PosixMq::open(name);  // an existing queue, read-write
    if (!mine) _exit(1);
    if (!mine->send_for(ipcx::as_bytes("note"), 0, 5s) || !mine->send_for(ipcx::as_bytes("alarm"), 9, 5s) ||
        !mine->send_for(ipcx::as_bytes("order"), 5, 5s))  // mq_timedsend
      _exit(2);
    _exit(0);
  }
  const bool notified = arrived.get_future().wait_for(5s) == std::future_status::ready;
  int status = 0;
  ::waitpid(pid, &status, 0);
  bool ok = notified && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  auto attr = q->attributes();  // mq_getattr
  std::printf("%s; %ld queued of %ld; ", notified ? "notified" : "not notified", attr ? attr->curmsgs : -1,
              attr ? attr->maxmsg : -1);
  ok = ok && q->set_nonblocking(true).has_value();  // mq_setattr(O_NONBLOCK)
  std::array<std::byte, 128> buf;  // mq_receive needs a buffer of mq_msgsize bytes
  for (unsigned expect : {9u, 5u, 0u}) {
    auto r = q->receive_for(buf, 5s);  // mq_timedreceive
    if (!r) return std::fprintf(stderr, "%s\n", r.error().message().c_str()), 1;
    std::printf("prio %u \"%.*s\"; ", r->priority, static_cast<int>(r->size), reinterpret_cast<char*>(buf.data()));
    ok = ok && r->priority == expect;
  }
  auto none = q->try_receive(buf);
  std::printf("then: %s; ", none ? "a message?" : ipcx::to_string(none.error().kind()).data());
  ok = ok && !none && none.error().would_block();
  ok = ok && ipcx::PosixMq::unlink(name).has_value();  // mq_unlink: the name goes now
  std::printf("%s\n", ok ? "unlinked" : "failed");
  return ok ? 0 : 1;
}
