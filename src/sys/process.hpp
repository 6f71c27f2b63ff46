// SPDX-License-Identifier: MIT
// Thin wrappers over the calls about the calling process itself (its resource limits, its
// capabilities, its signal mask and its signal handlers) and over kill, which signals another. One function per call, the call's own name, a Result
// instead of -1/errno. None of them sleeps, so none returns EINTR.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include "ipcx/error.hpp"

namespace ipcx::sys {

// getrlimit(2) (prlimit64 underneath: the values are 64-bit on every ABI).
Result<rlimit64> getrlimit(int resource);
// capget(2) for this thread: whether capability `cap` (CAP_SYS_RESOURCE, ...) is in its
// effective set. Called directly: glibc has no wrapper and libcap is not a dependency.
Result<bool> capget_effective(int cap);
// pthread_sigmask(3) (rt_sigprocmask(2) for this thread): applies `how` with `set` and
// returns the mask before the call. The call reports its error as a number, not in errno.
Result<sigset_t> pthread_sigmask(int how, const sigset_t& set);
// kill(2): sends `sig` to `pid`; signal 0 only asks whether the process exists and may be
// signalled (ESRCH: none; EPERM: it exists, owned by another user). No EINTR.
Result<void> kill(pid_t pid, int sig);

// sigaction(2): installs `action` for `sig` and returns the one it replaced. No EINTR.
Result<struct sigaction> sigaction(int sig, const struct sigaction& action);
// sigaction(2) with no new action: the one installed for `sig` now.
Result<struct sigaction> sigaction_current(int sig);

}  // namespace ipcx::sys
