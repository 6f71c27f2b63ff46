// SPDX-License-Identifier: MIT
// ipcx::inspect: POSIX objects and FIFOs, from /dev/shm (shared memory, sem.NAME semaphores;
// ring files go to inspect_ring.cpp) and /dev/mqueue.
#include "inspect_internal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "ipcx/posix_mq.hpp"
#include "ipcx/semaphore.hpp"
#include "ipcx/shm.hpp"
#include "sys/file.hpp"
#include "sys/io.hpp"
#include "sys/socket.hpp"

namespace ipcx::inspect::internal {
namespace {

constexpr long kMqueueMagic = 0x19800202;  // MQUEUE_MAGIC, linux/magic.h

void read_posix_sem_value(Object& o) {
  // stat() opens the semaphore for its value and closes it again: this process is a user
  // only until then, before the process scan.
  auto info = PosixSemaphore::stat(o.name);
  if (info && info->value) o.values.push_back(*info->value);
}

std::optional<Object> posix_shm_object(const std::string& entry, const struct stat& st, bool details) {
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  Object o;
  o.path = fmt::format("{}/{}", kShmDir, entry);
  fill_from_stat(o, st);
  if (is_ring_file(entry)) {
    ring_object(o, entry, st);
  } else if (entry.starts_with("sem.") && entry.size() > 4) {
    o.kind = Kind::posix_sem;
    // fmt, not "/" + entry.substr(4): g++ 12 at -O3 warns (-Wrestrict) inside operator+.
    o.name = fmt::format("/{}", std::string_view(entry).substr(4));
    o.url = "posixsem://" + url_escape(o.name);
    if (details) read_posix_sem_value(o);
  } else {
    o.kind = Kind::posix_shm;
    o.name = "/" + entry;
    o.url = "posixshm://" + url_escape(o.name);
    o.size = static_cast<std::uint64_t>(st.st_size);
  }
  return o;
}

bool mqueue_mounted() {
  auto fs = sys::statfs(kMqueueDir);
  return fs && static_cast<long>(fs->f_type) == kMqueueMagic;
}

// /dev/mqueue/NAME reads as "QSIZE:N NOTIFY:N SIGNO:N NOTIFY_PID:N".
void read_mq_file(Object& o) {
  auto text = read_file(o.path);
  if (!text) return;
  for (auto field : split_ws(*text)) {
    auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    auto name = field.substr(0, colon);
    auto value = parse_num<long long>(field.substr(colon + 1));
    if (!value) continue;
    if (name == "QSIZE") o.size = static_cast<std::uint64_t>(*value);
    if (name == "NOTIFY_PID" && *value > 0) {
      add_process(o, static_cast<pid_t>(*value), "notify");
    }
  }
}

void read_mq_attr(Object& o) {
  // Read-only and non-blocking: the open consumes nothing and never waits; the descriptor
  // closes before the process scan. A failure (EACCES) only leaves the depth unknown.
  PosixMqOptions mo;
  mo.access = MqAccess::read;
  mo.nonblocking = true;
  auto q = PosixMq::open(o.name, mo);
  if (!q) return;
  if (auto a = q->attributes()) {
    o.depth = static_cast<std::uint64_t>(a->curmsgs);
    o.capacity = static_cast<std::uint64_t>(a->maxmsg);
    o.max_message = static_cast<std::uint64_t>(a->msgsize);
  }
}

}  // namespace

void fill_from_stat(Object& o, const struct stat& st) {
  o.uid = st.st_uid;
  o.gid = st.st_gid;
  o.mode = st.st_mode & 07777;
  o.times.emplace_back("access", st.st_atim.tv_sec);
  o.times.emplace_back("modify", st.st_mtim.tv_sec);
  o.times.emplace_back("change", st.st_ctim.tv_sec);
}

void list_dev_shm(std::vector<Object>& out, std::vector<std::string>& notes, bool want_shm, bool want_sem,
                  bool want_ring, bool details) {
  auto entries = sys::readdir_names(kShmDir);
  if (!entries) {
    notes.push_back(fmt::format("POSIX shared memory not listed: {}: {}", kShmDir, std::strerror(entries.error().code())));
    return;
  }
  for (const auto& entry : *entries) {
    bool is_sem = entry.starts_with("sem.");
    bool is_ring = is_ring_file(entry);
    if ((is_sem && !want_sem) || (is_ring && !want_ring) || (!is_sem && !is_ring && !want_shm)) continue;
    auto st = sys::lstat(fmt::format("{}/{}", kShmDir, entry).c_str());
    if (!st) continue;  // removed while we looked
    if (auto o = posix_shm_object(entry, *st, details)) out.push_back(std::move(*o));
  }
}

void list_mqueue(std::vector<Object>& out, std::vector<std::string>& notes, bool details) {
  auto mounted = ensure_mqueue_mounted(MqueueMount::mount_if_root);
  if (!mounted || !*mounted) {
    notes.push_back(fmt::format("POSIX message queues not listed: {} is not mounted (as root: mkdir -p {} && mount -t mqueue none {})",
                                kMqueueDir, kMqueueDir, kMqueueDir));
    return;
  }
  auto entries = sys::readdir_names(kMqueueDir);
  if (!entries) {
    notes.push_back(fmt::format("POSIX message queues not listed: {}: {}", kMqueueDir, std::strerror(entries.error().code())));
    return;
  }
  for (const auto& entry : *entries) {
    std::string path = fmt::format("{}/{}", kMqueueDir, entry);
    auto st = sys::lstat(path.c_str());
    if (!st) continue;  // removed while we looked
    Object o;
    o.kind = Kind::posix_mq;
    o.name = "/" + entry;
    o.url = "posixmq://" + url_escape(o.name);
    o.path = std::move(path);
    fill_from_stat(o, *st);
    read_mq_file(o);
    if (details) read_mq_attr(o);
    out.push_back(std::move(o));
  }
}

Result<Object> stat_posix(const Url& u) {
  Kind k = kind_of_scheme(u.scheme);
  if (k == Kind::posix_mq) {
    auto mounted = ensure_mqueue_mounted(MqueueMount::mount_if_root);
    Object o;
    o.kind = k;
    o.name = u.name;
    o.url = "posixmq://" + url_escape(u.name);
    if (mounted && *mounted) {
      o.path = std::string(kMqueueDir) + u.name;
      auto st = sys::stat(o.path.c_str());
      if (!st) {
        if (st.error().code() == ENOENT) return not_found(u, fmt::format("no POSIX message queue {}", u.name));
        return std::unexpected(st.error());
      }
      fill_from_stat(o, *st);
      read_mq_file(o);
      read_mq_attr(o);
      return finish(std::move(o));
    }
    // Unmounted: the queue can still be opened, but its owner and users are not visible.
    read_mq_attr(o);
    if (!o.depth) {
      return not_found(u, fmt::format("no POSIX message queue {} (or not readable); mount {} to see more: "
                                      "mount -t mqueue none {}", u.name, kMqueueDir, kMqueueDir));
    }
    o.details.emplace_back("note", fmt::format("{} is not mounted: owner, mode and users unknown", kMqueueDir));
    o.state = State::unknown;
    o.state_reason = "users not visible without the mqueue filesystem";
    return o;
  }
  std::string entry = (k == Kind::posix_sem ? "sem." : "") + u.name.substr(1);
  std::string path = fmt::format("{}/{}", kShmDir, entry);
  auto st = sys::lstat(path.c_str());
  if (!st) {
    if (st.error().code() == ENOENT) {
      return not_found(u, fmt::format("no POSIX {} {} ({} does not exist)",
                                      k == Kind::posix_sem ? "semaphore" : "shared memory object", u.name, path));
    }
    return fail_errno("stat", st.error().code(), path);
  }
  auto o = posix_shm_object(entry, *st, true);
  if (!o) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a regular file", path));
  return finish(std::move(*o));
}

Result<Object> stat_fifo(const Url& u) {
  auto st = sys::stat(u.name.c_str());
  if (!st) {
    if (st.error().code() == ENOENT) return not_found(u, fmt::format("no FIFO at {}", u.name));
    return std::unexpected(st.error());
  }
  if (!S_ISFIFO(st->st_mode)) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a FIFO", u.name));
  Object o;
  o.kind = Kind::fifo;
  o.name = u.name;
  o.url = "fifo://" + url_escape(u.name);
  o.path = u.name;
  fill_from_stat(o, *st);
  return finish(std::move(o));
}

}  // namespace ipcx::inspect::internal

namespace ipcx::inspect {

using internal::kMqueueDir;

Result<bool> ensure_mqueue_mounted(MqueueMount how) {
  if (internal::mqueue_mounted()) return true;
  if (how != MqueueMount::mount_if_root || ::geteuid() != 0) return false;
  if (auto r = sys::mkdir(kMqueueDir, 0755); !r && r.error().code() != EEXIST) return std::unexpected(r.error());
  if (auto r = sys::mount("none", kMqueueDir, "mqueue", 0, nullptr); !r) return std::unexpected(r.error());
  return true;
}

}  // namespace ipcx::inspect
