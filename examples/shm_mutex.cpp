// SPDX-License-Identifier: MIT
// A POSIX shared-memory segment guarded by a robust, process-shared mutex (C++). Two
// accounts always sum to 100; a child locks, moves money half-way and is killed holding
// the lock. The parent's next lock reports owner_died: it repairs, marks the mutex
// consistent and goes on. SharedObject places the struct behind a checked header, so a
// process built with another layout would get Errc::corrupt instead of a misread.
//   $ ./example_cpp_shm_mutex
//   child killed holding the lock; parent: owner died, 70 + 0 -> repaired to 70 + 30
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/mutex.hpp"
#include "ipcx/placement.hpp"

namespace {
struct Bank {
  ipcx::Mutex lock;
  int a = 100, b = 0;  // a + b == 100 whenever the lock is free
  int in_flight = 0;   // taken from a, not yet given to b
};
constexpr ipcx::ObjectTag kBank{0x62616e6b31ull, 1};  // magic, layout version
}  // namespace

int main() {
  using namespace std::chrono_literals;
  const std::string name = "/ipcx-example-bank-" + std::to_string(::getpid());
  auto bank = ipcx::SharedObject<Bank>::create(name, kBank);  // segment + mapping + Bank()
  if (!bank) {
    std::fprintf(stderr, "%s\n", bank.error().message().c_str());
    return 1;
  }
  int holding[2];
  if (::pipe(holding) != 0) return 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    // Another process would use SharedObject<Bank>::open(name, kBank, deadline).
    auto g = ipcx::MutexLock::acquire((*bank)->lock, ipcx::Deadline::after(5s));
    if (!g) _exit(1);
    (*bank)->a -= 30;
    (*bank)->in_flight = 30;
    if (::write(holding[1], "x", 1) != 1) _exit(2);
    ::pause();  // killed here, lock held (_exit would not run the guard's destructor either)
    _exit(3);
  }
  char c;
  if (::read(holding[0], &c, 1) != 1) return 1;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  std::printf("child killed holding the lock; ");

  Bank& b = **bank;
  auto g = ipcx::MutexLock::acquire(b.lock, ipcx::Deadline::after(5s));
  if (!g) {
    std::fprintf(stderr, "%s\n", g.error().message().c_str());
    return 1;
  }
  const bool died = g->owner_died();
  if (died) {
    std::printf("parent: owner died, %d + %d", b.a, b.b);
    b.b += b.in_flight;
    b.in_flight = 0;
    if (auto r = g->mark_consistent(); !r) {
      std::fprintf(stderr, "%s\n", r.error().message().c_str());
      return 1;
    }
    std::printf(" -> repaired to %d + %d\n", b.a, b.b);
  }
  const bool ok = b.a + b.b == 100;
  return died && ok ? 0 : 1;  // the guard unlocks; the creator's SharedObject unlinks the name
}
