// SPDX-License-Identifier: MIT
// A System V semaphore set with SEM_UNDO (C++). One semaphore, one unit: a lock that
// survives its holder's death. The child waits (takes a unit) with undo and is killed; the kernel
// reverses its operation at exit, and the parent waits. op() applies several operations
// atomically (all or none) — here, also shown taking two semaphores at once.
//   $ ./example_cpp_sysv_sem
//   child holds the unit (value 0); killed; value back to 1; parent took both
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "ipcx/sysv_sem.hpp"

int main() {
  using namespace std::chrono_literals;
  auto set = ipcx::SysvSemSet::create_private(2);  // IPC_PRIVATE; removed by its creator
  if (!set) return std::fprintf(stderr, "%s\n", set.error().message().c_str()), 1;
  const unsigned short initial[] = {1, 1};
  if (auto r = set->set_values(initial); !r) return std::fprintf(stderr, "%s\n", r.error().message().c_str()), 1;

  int holding[2];
  if (::pipe(holding) != 0) return 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!set->wait(0, ipcx::Deadline::after(5s), {.undo = true})) _exit(1);
    if (::write(holding[1], "x", 1) != 1) _exit(2);
    ::pause();  // killed here, holding semaphore 0
    _exit(3);
  }
  char c;
  if (::read(holding[0], &c, 1) != 1) return 1;
  std::printf("child holds the unit (value %d); ", set->value(0).value_or(-1));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  const int back = set->value(0).value_or(-1);
  std::printf("killed; value back to %d; ", back);
  // Both semaphores in one atomic semop: neither is taken unless both can be.
  auto both = set->op({{.index = 0, .delta = -1, .undo = true}, {.index = 1, .delta = -1, .undo = true}},
                      ipcx::Deadline::after(5s));
  std::printf("parent %s\n", both ? "took both" : both.error().message().c_str());
  return back == 1 && both ? 0 : 1;
}
