// SPDX-License-Identifier: MIT
// ipcx::limits — the host's IPC limits, and what they mean for a program.
//
// Reads the kernel's IPC sysctls (/proc/sys/fs/mqueue/*, kernel.msg*, kernel.shm*,
// kernel.sem), this process's RLIMIT_MSGQUEUE and RLIMIT_MEMLOCK, the size of /dev/shm,
// whether /dev/mqueue is mounted, and systemd-logind's RemoveIPC; `diagnose` turns them
// into findings with a verdict and a fix (what `ipcx doctor` prints).
//
//   auto l = ipcx::limits::read_limits();
//   for (const auto& f : ipcx::limits::diagnose(*l)) if (f.verdict != Verdict::ok) puts(f.fix.c_str());
//
// `root` lets the files be read from another tree (a container's root, or a test's fake
// /proc/sys): every path is read as root + path. Rlimits are always this process's own.
//
// Limits is a report on the host. A program about to use one mechanism asks it instead:
// posix_mq_limits() (with MQ_PRIO_MAX) and SysvMq::limits() (msgctl(IPC_INFO)) give what
// the kernel applies to this process's IPC namespace; all of them read /proc/sys through
// one reader. PosixMqLimits says why the three types are kept apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipcx/error.hpp"

namespace ipcx::limits {

struct Rlimit {
  std::uint64_t soft = 0;  // UINT64_MAX for RLIM_INFINITY
  std::uint64_t hard = 0;
};

struct Limits {
  // fs.mqueue.*
  std::optional<std::uint64_t> mq_msg_max, mq_msgsize_max, mq_queues_max, mq_msg_default, mq_msgsize_default;
  // kernel.msgmax, msgmnb, msgmni
  std::optional<std::uint64_t> msgmax, msgmnb, msgmni;
  // kernel.shmmax (bytes), shmall (pages), shmmni, shm_rmid_forced
  std::optional<std::uint64_t> shmmax, shmall, shmmni, shm_rmid_forced;
  // kernel.sem: SEMMSL SEMMNS SEMOPM SEMMNI
  std::optional<std::uint64_t> semmsl, semmns, semopm, semmni;
  Rlimit rlimit_msgqueue, rlimit_memlock;
  // /dev/shm: mounted, total and free bytes.
  bool dev_shm_mounted = false;
  std::uint64_t dev_shm_size = 0, dev_shm_free = 0;
  bool mqueue_mounted = false;
  // systemd-logind: whether it is installed, and RemoveIPC as configured (absent: default yes).
  bool logind_present = false;
  std::optional<bool> remove_ipc;
  std::string remove_ipc_source;  // the file that set it
  std::uint64_t page_size = 4096;
};

// What was read. Missing files leave fields empty; only an unreadable root fails.
Result<Limits> read_limits(std::string_view root = "/");

enum class Verdict : std::uint8_t { ok, warn, fail };
std::string_view to_string(Verdict) noexcept;  // "ok", "warn", "fail"

struct Finding {
  std::string name;     // the limit: "fs.mqueue.msg_max", "/dev/shm", "RLIMIT_MSGQUEUE", …
  std::string value;    // as read, e.g. "10", "64 MiB (62 MiB free)"
  Verdict verdict = Verdict::ok;
  std::string detail;   // what it means for a program
  std::string fix;      // the command or setting that changes it (empty when ok)
  // `value` for programs: each quantity as a number under a key that names its unit
  // ("count", "bytes", "free_bytes", "pages", "soft_bytes", …), each yes/no as a flag
  // ("mounted", "remove_ipc"). Empty when nothing could be read.
  std::vector<std::pair<std::string, std::uint64_t>> numbers;
  std::vector<std::pair<std::string, bool>> flags;
};

std::vector<Finding> diagnose(const Limits& l);

}  // namespace ipcx::limits
