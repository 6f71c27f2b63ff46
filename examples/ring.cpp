// SPDX-License-Identifier: MIT
// The shm:// ring (C++), ipcx's shared-memory channel. Part 1: single producer, single
// consumer, zero copy (loan, write in place, commit; read in place, release). Part 2:
// publish/subscribe with policy=drop: a subscriber that falls behind is not waited for;
// each message it gets says how many it missed just before it (Received::lost).
//   $ ./example_cpp_ring
//   consumer read in place: "frame 0" "frame 1" "frame 2"
//   slow subscriber: received 70 + lost 930 = 1000
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ipcx/channel.hpp"

namespace {
using namespace std::chrono_literals;

bool child_ok(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool spsc_zero_copy() {
  const std::string url = "shm://ipcx-example-ring-" + std::to_string(::getpid()) + "?capacity=64k";
  pid_t pid = ::fork();
  if (pid == 0) {
    auto rx = ipcx::Channel::bind(url);  // the consumer end
    if (!rx) _exit(1);
    std::printf("consumer read in place:");
    for (int i = 0; i < 3; ++i) {
      auto v = rx->read(ipcx::Deadline::after(5s));  // a view into the ring
      if (!v) _exit(2);
      std::printf(" \"%.*s\"", static_cast<int>(v->data().size()), reinterpret_cast<const char*>(v->data().data()));
    }  // each view is released when it goes out of scope
    std::printf("\n");
    std::fflush(stdout);
    *rx = ipcx::Channel();  // _exit runs no destructors: close the ring first
    _exit(0);
  }
  auto tx = ipcx::Channel::open(url);  // the producer end
  if (!tx) return std::fprintf(stderr, "%s\n", tx.error().message().c_str()), false;
  for (int i = 0; i < 3; ++i) {
    auto loan = tx->loan(64, ipcx::Deadline::after(5s));
    if (!loan) return std::fprintf(stderr, "%s\n", loan.error().message().c_str()), false;
    const std::string text = "frame " + std::to_string(i);
    std::memcpy(loan->data().data(), text.data(), text.size());  // written in place
    if (auto c = tx->commit(std::move(*loan), text.size()); !c)
      return std::fprintf(stderr, "%s\n", c.error().message().c_str()), false;
  }
  return child_ok(pid);
}

bool pubsub_drop() {
  const std::string url = "shm://ipcx-example-drop-" + std::to_string(::getpid()) + "?pattern=pubsub&policy=drop&capacity=4k";
  constexpr std::uint64_t kCount = 1000;
  int joined[2], published[2];
  if (::pipe(joined) != 0 || ::pipe(published) != 0) return false;
  pid_t pid = ::fork();
  if (pid == 0) {
    auto rx = ipcx::Channel::bind(url);
    char c;
    if (!rx || ::write(joined[1], "x", 1) != 1 || ::read(published[0], &c, 1) != 1) _exit(1);
    std::uint64_t received = 0, lost = 0;  // read only after everything was published: slow
    for (;;) {
      auto m = rx->receive_message(ipcx::Deadline::after(5s));
      if (!m) break;  // peer_gone: the publisher closed and the rest was read
      ++received;
      lost += m->lost;
    }
    std::printf("slow subscriber: received %llu + lost %llu = %llu\n", static_cast<unsigned long long>(received),
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(received + lost));
    std::fflush(stdout);  // _exit does not flush stdio
    *rx = ipcx::Channel();  // nor run destructors: close the ring first (its last user removes it)
    _exit(received + lost == kCount && lost > 0 ? 0 : 2);
  }
  char c;
  if (::read(joined[0], &c, 1) != 1) return false;
  {
    auto pub = ipcx::Channel::open(url);
    if (!pub) return std::fprintf(stderr, "%s\n", pub.error().message().c_str()), false;
    std::vector<std::byte> m(64);
    for (std::uint64_t i = 0; i < kCount; ++i)
      if (!pub->send(m, ipcx::Deadline::after(5s))) return false;  // never waits for the subscriber
  }
  if (::write(published[1], "x", 1) != 1) return false;
  const bool ok = child_ok(pid);
  for (int fd : {joined[0], joined[1], published[0], published[1]}) ::close(fd);
  return ok;
}
}  // namespace

int main() {
  bool ok = spsc_zero_copy();
  ok = pubsub_drop() && ok;
  return ok ? 0 : 1;
}
