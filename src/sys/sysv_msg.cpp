// SPDX-License-Identifier: MIT
#include "sys/sysv_msg.hpp"

#include <cerrno>

namespace ipcx::sys {

Result<int> msgget(key_t key, int msgflg) {
  int id = ::msgget(key, msgflg);
  if (id < 0) return fail_errno("msgget", errno);
  return id;
}

Result<void> msgsnd(int msqid, const void* msgp, std::size_t msgsz, int msgflg) {
  for (;;) {
    if (::msgsnd(msqid, msgp, msgsz, msgflg) == 0) return {};
    if (errno != EINTR) return fail_errno("msgsnd", errno);
  }
}

Result<std::size_t> msgrcv(int msqid, void* msgp, std::size_t msgsz, long msgtyp, int msgflg) {
  for (;;) {
    ssize_t n = ::msgrcv(msqid, msgp, msgsz, msgtyp, msgflg);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return fail_errno("msgrcv", errno);
  }
}

Result<int> msgctl(int msqid, int cmd, msqid_ds* buf) {
  int r = ::msgctl(msqid, cmd, buf);
  if (r < 0) return fail_errno("msgctl", errno);
  return r;
}

}  // namespace ipcx::sys
