// SPDX-License-Identifier: MIT
// A System V message queue (C++), every call of the seed's list: ftok, msgget (create,
// exclusive), msgsnd with types, msgrcv by type (> 0 exact, < 0 most urgent, MSG_EXCEPT),
// msgctl IPC_STAT (how many are queued) and IPC_RMID. A forked child sends; the parent
// waits for the child, then reads: a queue keeps messages after their sender exits.
//   $ ./example_cpp_sysv_mq
//   queued 3; type 1 "urgent"; not type 2: type 3 "log"; type 2 "normal"; removed
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "ipcx/sysv_mq.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string path = "/tmp/ipcx-example-sysvmq-" + std::to_string(::getpid());
  std::ofstream{path};  // ftok needs an existing file
  auto key = ipcx::ftok(path, 1);
  if (!key) return std::fprintf(stderr, "%s\n", key.error().message().c_str()), 1;
  auto q = ipcx::SysvMq::open(*key, {.create = true, .exclusive = true, .mode = 0600});
  if (!q) return std::fprintf(stderr, "%s\n", q.error().message().c_str()), 1;

  pid_t pid = ::fork();
  if (pid == 0) {
    auto mine = ipcx::SysvMq::open(*key);  // msgget(key, 0)
    if (!mine) _exit(1);
    if (!mine->send(ipcx::as_bytes("normal"), 2) || !mine->send(ipcx::as_bytes("log"), 3) ||
        !mine->send(ipcx::as_bytes("urgent"), 1))
      _exit(2);
    _exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  auto st = q->stat();  // msgctl(IPC_STAT)
  std::printf("queued %zu; ", st ? st->messages : 0);
  std::array<std::byte, 64> buf;
  auto show = [&](const char* what, ipcx::SysvReceiveOptions o, long expect) {
    auto r = q->receive_for(buf, 5s, o);
    if (!r) {
      std::printf("%s\n", r.error().message().c_str());
      ok = false;
      return;
    }
    std::printf("%stype %ld \"%.*s\"; ", what, r->type, static_cast<int>(r->size), reinterpret_cast<char*>(buf.data()));
    ok = ok && r->type == expect;
  };
  show("", {.type = -3}, 1);                           // lowest type <= 3: the urgent one
  show("not type 2: ", {.type = 2, .except = true}, 3);  // MSG_EXCEPT
  show("", {.type = 0}, 2);                            // the first in the queue
  ok = ok && q->remove().has_value();                  // msgctl(IPC_RMID)
  std::printf("%s\n", ok ? "removed" : "failed");
  std::remove(path.c_str());
  return ok ? 0 : 1;
}
