// SPDX-License-Identifier: MIT
// Futex wait/wake on a shared 32-bit word (C++): a ping-pong. ipcx::Futex is exactly one
// atomic word, so it fits any shared layout. The word goes 0 -> 1 (ping) -> 2 (pong); each
// side sleeps while the word holds the value it saw, and the other side stores first, then
// wakes. Success of a wait never means the condition holds (wake-ups can be spurious):
// re-read and loop; would_block means the word changed before the sleep.
//   $ ./example_cpp_futex
//   child: got the ping; parent: got the pong
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <new>

#include "ipcx/futex.hpp"
#include "ipcx/memfd.hpp"

namespace {
// Sleeps while the word is `seen`, until the deadline; true once it changed.
bool wait_change(ipcx::Futex& f, std::uint32_t seen, ipcx::Deadline d) {
  while (f.load() == seen) {
    auto r = f.wait(seen, d);
    if (!r && !r.error().would_block()) return false;  // timed out
  }
  return true;
}
}  // namespace

int main() {
  using namespace std::chrono_literals;
  auto mem = ipcx::Memfd::create("futex-example", 4096);  // no name to clean up
  if (!mem) return std::fprintf(stderr, "%s\n", mem.error().message().c_str()), 1;
  auto map = mem->map();
  if (!map) return std::fprintf(stderr, "%s\n", map.error().message().c_str()), 1;
  auto* f = ::new (map->data()) ipcx::Futex(0);  // placed once, before the fork

  pid_t pid = ::fork();
  if (pid == 0) {
    if (!wait_change(*f, 0, ipcx::Deadline::after(5s))) _exit(1);
    std::printf("child: got the ping; ");
    std::fflush(stdout);
    f->store(2);  // release: whoever sees 2 sees everything written before it
    if (!f->wake_all()) _exit(2);
    _exit(0);
  }
  f->store(1);
  if (auto w = f->wake_one(); !w) return std::fprintf(stderr, "%s\n", w.error().message().c_str()), 1;
  const bool ok = wait_change(*f, 1, ipcx::Deadline::after(5s)) && f->load() == 2;
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf("parent: %s\n", ok ? "got the pong" : "no pong");
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
