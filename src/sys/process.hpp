// SPDX-License-Identifier: MIT
// Thin wrappers over the calls about the calling process itself (its resource limits, its
// capabilities, its signal mask and its signal handlers), over kill, which signals another,
// and over the calls that make and reap children (fork, posix_spawn, pidfd_open, waitpid).
// One function per call, the call's own name, a Result instead of -1/errno. Only waitpid
// sleeps; the EINTR decision is beside it.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

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

// fork(2): 0 in the child, the child's pid in the parent. Only async-signal-safe calls
// may follow in the child of a process with threads. No EINTR.
Result<pid_t> fork();
// posix_spawn(3): starts `path` with `argv` and `envp`, the descriptors and signal state
// as `actions` and `attr` set them (either may be null). The call reports its error as a
// number (an exec failure too, through glibc's CLONE_VFORK), not in errno. No EINTR.
Result<pid_t> posix_spawn(const char* path, const posix_spawn_file_actions_t* actions,
                          const posix_spawnattr_t* attr, char* const argv[], char* const envp[]);
// pidfd_open(2): a descriptor for process `pid`, readable once it has exited; close-on-exec
// (the kernel always sets it). Called directly: glibc before 2.36 has no wrapper. No EINTR.
Result<Fd> pidfd_open(pid_t pid);
// waitpid(2) with `options` (WNOHANG: pid 0 when it has not changed state yet). EINTR is
// retried: the child is still there to be waited for.
struct Waited {
  pid_t pid = 0;
  int status = 0;  // as waitpid stores it: WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG
};
Result<Waited> waitpid(pid_t pid, int options);

}  // namespace ipcx::sys
