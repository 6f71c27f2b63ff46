// SPDX-License-Identifier: MIT
#include "sys/process.hpp"

#include <linux/capability.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace ipcx::sys {

Result<rlimit64> getrlimit(int resource) {
  rlimit64 r{};
  if (::getrlimit64(static_cast<__rlimit_resource_t>(resource), &r) != 0) return fail_errno("getrlimit", errno);
  return r;
}

Result<bool> capget_effective(int cap) {
  if (cap < 0 || cap >= 32 * _LINUX_CAPABILITY_U32S_3) {
    return fail(Errc::invalid_argument, "capget", {}, "no such capability");
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return fail_errno("capget", errno);
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

Result<sigset_t> pthread_sigmask(int how, const sigset_t& set) {
  sigset_t old;
  int rc = ::pthread_sigmask(how, &set, &old);
  if (rc != 0) return fail_errno("pthread_sigmask", rc);
  return old;
}

Result<void> kill(pid_t pid, int sig) {
  if (::kill(pid, sig) != 0) return fail_errno("kill", errno, std::to_string(pid));
  return {};
}

Result<struct sigaction> sigaction(int sig, const struct sigaction& action) {
  struct sigaction old {};
  if (::sigaction(sig, &action, &old) != 0) return fail_errno("sigaction", errno, std::to_string(sig));
  return old;
}

Result<struct sigaction> sigaction_current(int sig) {
  struct sigaction now {};
  if (::sigaction(sig, nullptr, &now) != 0) return fail_errno("sigaction", errno, std::to_string(sig));
  return now;
}

Result<pid_t> fork() {
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork", errno);
  return pid;
}

Result<pid_t> posix_spawn(const char* path, const posix_spawn_file_actions_t* actions, const posix_spawnattr_t* attr,
                          char* const argv[], char* const envp[]) {
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path, actions, attr, argv, envp);
  if (rc != 0) return fail_errno("posix_spawn", rc, path);
  return pid;
}

Result<Fd> pidfd_open(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return fail_errno("pidfd_open", errno, std::to_string(pid));
  return Fd(static_cast<int>(fd));
}

Result<Waited> waitpid(pid_t pid, int options) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, options);
    if (r >= 0) return Waited{r, status};
    if (errno == EINTR) continue;  // a handler ran; the child is still to be waited for
    return fail_errno("waitpid", errno, std::to_string(pid));
  }
}

}  // namespace ipcx::sys
