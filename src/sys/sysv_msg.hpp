// SPDX-License-Identifier: MIT
// Thin wrappers over the System V message-queue calls: one function per call, the call's
// own name, a Result instead of -1/errno, and the EINTR decision beside each. Errors carry
// the call's name only; callers add the queue's key or id.
#pragma once

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

#include <cstddef>

#include "ipcx/error.hpp"
#include "sys/sysv_key.hpp"

namespace ipcx::sys {

// ftok is in sys/sysv_key.hpp, shared by every SysV mechanism.
// msgget(2). No EINTR.
Result<int> msgget(key_t key, int msgflg);
// msgsnd(2). EINTR is retried: nothing was queued, and SysV IPC calls are never restarted
// by SA_RESTART, so a handler would otherwise surface as an error on every signal.
Result<void> msgsnd(int msqid, const void* msgp, std::size_t msgsz, int msgflg);
// msgrcv(2): the size of the message text received. EINTR retried as for msgsnd.
// ENOMSG (IPC_NOWAIT, nothing matching) comes back as Errc::would_block with errno ENOMSG.
Result<std::size_t> msgrcv(int msqid, void* msgp, std::size_t msgsz, long msgtyp, int msgflg);
// msgctl(2), every command: IPC_STAT/IPC_SET/IPC_RMID take a msqid_ds; IPC_INFO/MSG_INFO
// take a msginfo through the same pointer, as the call does. Returns the call's value
// (the highest index for the *_INFO commands). No EINTR.
Result<int> msgctl(int msqid, int cmd, msqid_ds* buf);

}  // namespace ipcx::sys
