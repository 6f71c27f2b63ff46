// SPDX-License-Identifier: MIT
// POSIX semaphores (C++): a named one that any process opens by name, and an unnamed one
// placed in shared memory. The child posts three jobs, the parent takes them with a
// deadline; try_wait then reports would_block. A POSIX semaphore is a bare counter: a
// holder killed between wait and post never gives its unit back (see sysv_sem.cpp).
//   $ ./example_cpp_posix_sem
//   named: took 3 jobs, then: would block; unnamed: took 1
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <new>
#include <string>

#include "ipcx/memfd.hpp"
#include "ipcx/semaphore.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string name = "/ipcx-example-jobs-" + std::to_string(::getpid());
  auto jobs = ipcx::PosixSemaphore::create(name, 0);  // exclusive, 0600; unlinked by its creator
  if (!jobs) return std::fprintf(stderr, "%s\n", jobs.error().message().c_str()), 1;
  auto mem = ipcx::Memfd::create("sem-example", 4096);
  if (!mem) return std::fprintf(stderr, "%s\n", mem.error().message().c_str()), 1;
  auto map = mem->map();
  if (!map) return std::fprintf(stderr, "%s\n", map.error().message().c_str()), 1;
  auto* done = ::new (map->data()) ipcx::UnnamedSemaphore(0);  // sem_init(pshared = 1)

  pid_t pid = ::fork();
  if (pid == 0) {
    auto mine = ipcx::PosixSemaphore::open(name);
    if (!mine) _exit(1);
    for (int i = 0; i < 3; ++i)
      if (!mine->post()) _exit(2);
    if (!done->post()) _exit(3);
    _exit(0);
  }
  int took = 0;
  while (took < 3 && jobs->wait_for(5s)) ++took;
  auto more = jobs->try_wait();
  std::printf("named: took %d jobs, then: %s; ", took, more ? "one more?" : ipcx::to_string(more.error().kind()).data());
  const bool unnamed = done->wait_for(5s).has_value();
  std::printf("unnamed: took %d\n", unnamed ? 1 : 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return took == 3 && !more && more.error().would_block() && unnamed && WIFEXITED(status) &&
                 WEXITSTATUS(status) == 0
             ? 0
             : 1;
}
