// SPDX-License-Identifier: MIT
#include "ipcx/sysv_sem.hpp"

#include <sys/ipc.h>
#include <sys/sem.h>

#include <fmt/format.h>

#include "kernel_limits.hpp"
#include "sys/sem.hpp"
#include "sys/sysv_key.hpp"

namespace ipcx {
namespace {

std::string id_text(int id) { return fmt::format("id:{}", id); }

// kernel.sem is "SEMMSL SEMMNS SEMOPM SEMMNI".
struct SemLimits {
  long semmsl = 0, semmns = 0, semopm = 0, semmni = 0;
};
SemLimits sem_limits() {
  SemLimits l;
  auto v = detail::read_sysctl_numbers("kernel.sem");
  v.resize(4);  // what cannot be read stays 0
  l.semmsl = static_cast<long>(v[0]);
  l.semmns = static_cast<long>(v[1]);
  l.semopm = static_cast<long>(v[2]);
  l.semmni = static_cast<long>(v[3]);
  return l;
}

std::chrono::system_clock::time_point from_time(time_t t) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(t));
}

Error explain_semget(Error e, std::size_t count) {
  auto l = sem_limits();
  if (e.code() == EINVAL) {
    return std::move(e).with_detail(fmt::format(
        "{} semaphores; kernel.sem SEMMSL is {} per set (or an existing set with this key is smaller); "
        "raise it with sysctl kernel.sem",
        count, l.semmsl));
  }
  if (e.code() == ENOSPC) {
    return std::move(e).with_detail(fmt::format(
        "the system limit of sets (kernel.sem SEMMNI {}) or semaphores (SEMMNS {}) is reached; remove stale "
        "sets (ipcs -s, ipcx rm) or raise it with sysctl kernel.sem",
        l.semmni, l.semmns));
  }
  return e;
}

}  // namespace

SysvSemSet::~SysvSemSet() {
  if (owns_ && id_ >= 0) (void)sys::semctl_rmid(id_);
}

SysvSemSet& SysvSemSet::operator=(SysvSemSet&& o) noexcept {
  if (this != &o) {
    if (owns_ && id_ >= 0) (void)sys::semctl_rmid(id_);
    id_ = std::exchange(o.id_, -1);
    key_ = o.key_;
    count_ = o.count_;
    owns_ = std::exchange(o.owns_, false);
  }
  return *this;
}

Result<SysvSemSet> SysvSemSet::create(key_t key, std::size_t count, const SysvSemOptions& o) {
  if (o.mode & ~0777u) return fail(Errc::invalid_argument, "semget", sysv_key_text(key), fmt::format("mode {:o} has bits beyond 0777", o.mode));
  if (count == 0 || count > 65535) {
    return fail(Errc::invalid_argument, "semget", sysv_key_text(key), fmt::format("{} semaphores; a set has 1..65535", count));
  }
  int flags = IPC_CREAT | static_cast<int>(o.mode) | (o.exclusive ? IPC_EXCL : 0);
  auto id = sys::semget(key, static_cast<int>(count), flags);
  if (!id) return fail(explain_semget(std::move(id.error()).with_object(sysv_key_text(key)), count));
  SysvSemSet s;
  s.id_ = *id;
  s.key_ = key;
  s.count_ = count;
  // Without IPC_EXCL an existing set may have been opened: it is not ours to remove, and
  // its size is what the kernel says.
  auto st = sys::semctl_stat(*id);
  if (!st) return fail(std::move(st.error()).with_object(sysv_key_text(key)));
  s.count_ = st->sem_nsems;
  s.owns_ = o.exclusive || key == IPC_PRIVATE;
  return s;
}

Result<SysvSemSet> SysvSemSet::create_private(std::size_t count, const SysvSemOptions& o) {
  SysvSemOptions p = o;
  p.exclusive = true;
  return create(IPC_PRIVATE, count, p);
}

Result<SysvSemSet> SysvSemSet::open(key_t key) {
  auto id = sys::semget(key, 0, 0);
  if (!id) return fail(std::move(id.error()).with_object(sysv_key_text(key)));
  auto st = sys::semctl_stat(*id);
  if (!st) return fail(std::move(st.error()).with_object(sysv_key_text(key)));
  SysvSemSet s;
  s.id_ = *id;
  s.key_ = key;
  s.count_ = st->sem_nsems;
  return s;
}

Result<SysvSemSet> SysvSemSet::open_id(int id) {
  auto st = sys::semctl_stat(id);
  if (!st) return fail(std::move(st.error()).with_object(id_text(id)));
  SysvSemSet s;
  s.id_ = id;
  s.key_ = st->sem_perm.__key;
  s.count_ = st->sem_nsems;
  return s;
}

Result<key_t> SysvSemSet::key_for(const char* path, int proj_id) { return sys::ftok(path, proj_id); }

Result<SysvSemInfo> SysvSemSet::stat(int id) {
  auto st = sys::semctl_stat(id);
  if (!st) return fail(std::move(st.error()).with_object(id_text(id)));
  SysvSemInfo info;
  info.id = id;
  info.key = st->sem_perm.__key;
  info.count = st->sem_nsems;
  info.mode = st->sem_perm.mode & 0777u;
  info.uid = st->sem_perm.uid;
  info.gid = st->sem_perm.gid;
  info.cuid = st->sem_perm.cuid;
  info.cgid = st->sem_perm.cgid;
  info.last_op = from_time(st->sem_otime);
  info.changed = from_time(st->sem_ctime);
  std::vector<unsigned short> vals(info.count);
  if (auto r = sys::semctl_getall(id, vals); !r) return fail(std::move(r.error()).with_object(id_text(id)));
  info.semaphores.resize(info.count);
  for (std::size_t i = 0; i < info.count; ++i) {
    auto& s = info.semaphores[i];
    s.value = vals[i];
    const int n = static_cast<int>(i);
    if (auto p = sys::semctl_getpid(id, n)) s.last_pid = *p;
    if (auto c = sys::semctl_getncnt(id, n)) s.waiting_increase = *c;
    if (auto z = sys::semctl_getzcnt(id, n)) s.waiting_zero = *z;
  }
  return info;
}

Result<SysvSemInfo> SysvSemSet::stat_key(key_t key) {
  auto id = sys::semget(key, 0, 0);
  if (!id) return fail(std::move(id.error()).with_object(sysv_key_text(key)));
  return stat(*id);
}

Result<void> SysvSemSet::remove(int id) {
  auto r = sys::semctl_rmid(id);
  if (!r) return fail(std::move(r.error()).with_object(id_text(id)));
  return {};
}

Result<void> SysvSemSet::remove_key(key_t key) {
  if (key == IPC_PRIVATE) return fail(Errc::invalid_argument, "semctl(IPC_RMID)", sysv_key_text(key), "IPC_PRIVATE names no set: remove by id");
  auto id = sys::semget(key, 0, 0);
  if (!id) return fail(std::move(id.error()).with_object(sysv_key_text(key)));
  return remove(*id);
}

Result<void> SysvSemSet::check_index(std::uint16_t index, const char* op) const {
  if (id_ < 0) return fail(Errc::invalid_argument, op, {}, "no set");
  if (index >= count_) {
    return fail(Errc::invalid_argument, op, id_text(id_), fmt::format("semaphore {} of a set of {}", index, count_));
  }
  return {};
}

Result<void> SysvSemSet::op(std::span<const SemOp> ops, Deadline d) {
  if (id_ < 0) return fail(Errc::invalid_argument, "semop", {}, "no set");
  if (ops.empty()) return fail(Errc::invalid_argument, "semop", id_text(id_), "no operations");
  std::vector<sembuf> raw;
  raw.reserve(ops.size());
  for (const auto& o : ops) {
    if (auto c = check_index(o.index, "semop"); !c) return c;
    short flags = 0;
    if (o.undo) flags |= SEM_UNDO;
    if (o.nowait || d.is_immediate()) flags |= IPC_NOWAIT;
    raw.push_back(sembuf{o.index, o.delta, flags});
  }
  auto r = sys::semtimedop(id_, raw, d);
  if (r) return {};
  auto e = std::move(r.error()).with_object(id_text(id_));
  if (e.code() == E2BIG) {
    return fail(std::move(e).with_detail(
        fmt::format("{} operations; kernel.sem SEMOPM is {}; raise it with sysctl kernel.sem", ops.size(), sem_limits().semopm)));
  }
  if (e.code() == ERANGE) return fail(std::move(e).with_detail("a value would exceed SEMVMX (32767)"));
  if (e.code() == EIDRM) return fail(std::move(e).with_detail("the set was removed"));
  return fail(std::move(e));
}

Result<int> SysvSemSet::value(std::uint16_t index) const {
  if (auto c = check_index(index, "semctl(GETVAL)"); !c) return fail(std::move(c.error()));
  return sys::semctl_getval(id_, index);
}

Result<void> SysvSemSet::set_value(std::uint16_t index, int value) {
  if (auto c = check_index(index, "semctl(SETVAL)"); !c) return c;
  auto r = sys::semctl_setval(id_, index, value);
  if (!r && r.error().code() == ERANGE) return fail(std::move(r.error()).with_detail(fmt::format("{} is outside 0..32767 (SEMVMX)", value)));
  return r;
}

Result<std::vector<unsigned short>> SysvSemSet::values() const {
  std::vector<unsigned short> v(count_);
  if (auto r = sys::semctl_getall(id_, v); !r) return fail(std::move(r.error()));
  return v;
}

Result<void> SysvSemSet::set_values(std::span<const unsigned short> values) {
  if (values.size() != count_) {
    return fail(Errc::invalid_argument, "semctl(SETALL)", id_text(id_), fmt::format("{} values for a set of {}", values.size(), count_));
  }
  return sys::semctl_setall(id_, values);
}

Result<pid_t> SysvSemSet::last_pid(std::uint16_t index) const {
  if (auto c = check_index(index, "semctl(GETPID)"); !c) return fail(std::move(c.error()));
  auto r = sys::semctl_getpid(id_, index);
  if (!r) return fail(std::move(r.error()));
  return static_cast<pid_t>(*r);
}

Result<int> SysvSemSet::waiting_for_increase(std::uint16_t index) const {
  if (auto c = check_index(index, "semctl(GETNCNT)"); !c) return fail(std::move(c.error()));
  return sys::semctl_getncnt(id_, index);
}

Result<int> SysvSemSet::waiting_for_zero(std::uint16_t index) const {
  if (auto c = check_index(index, "semctl(GETZCNT)"); !c) return fail(std::move(c.error()));
  return sys::semctl_getzcnt(id_, index);
}

Result<void> SysvSemSet::set_permissions(const SysvPermissions& p) {
  if (p.mode & ~0777u) return fail(Errc::invalid_argument, "semctl(IPC_SET)", id_text(id_), "mode has bits beyond 0777");
  semid_ds ds{};
  ds.sem_perm.uid = p.uid;
  ds.sem_perm.gid = p.gid;
  ds.sem_perm.mode = static_cast<unsigned short>(p.mode);
  return sys::semctl_set(id_, ds);
}

Result<void> SysvSemSet::remove() {
  if (id_ < 0) return {};
  auto r = sys::semctl_rmid(id_);
  owns_ = false;
  if (!r) return fail(std::move(r.error()).with_object(id_text(id_)));
  return {};
}

}  // namespace ipcx
