// SPDX-License-Identifier: MIT
// Open file description locks (fcntl F_OFD_SETLK / F_OFD_SETLKW / F_OFD_GETLK) on byte
// ranges. They belong to the open file description, not to a process: two opens in one
// process conflict, a fork shares them, and the kernel drops them when the last
// descriptor (or mapping) of the description goes away — also when its holder is killed,
// whatever PID namespace it lives in. That is what makes them a liveness signal.
#pragma once

#include "ipcx/error.hpp"

namespace ipcx::sys {

enum class LockKind { read, write, unlock };

// F_OFD_SETLK: returns false (no error) if another description holds a conflicting lock.
// No EINTR: the call does not wait.
Result<bool> ofd_try_lock(int fd, LockKind kind, long start, long len);
// F_OFD_SETLKW: waits for the lock. EINTR is retried: nothing was taken.
Result<void> ofd_lock(int fd, LockKind kind, long start, long len);
// F_OFD_GETLK: whether another description holds a lock that conflicts with `kind`.
Result<bool> ofd_conflict(int fd, LockKind kind, long start, long len);

}  // namespace ipcx::sys
