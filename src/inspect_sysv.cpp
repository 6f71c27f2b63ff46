// SPDX-License-Identifier: MIT
// ipcx::inspect: System V objects, from /proc/sysvipc/{shm,sem,msg} (columns found by their
// header names).
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

#include "ipcx/sysv.hpp"
#include "ipcx/sysv_mq.hpp"
#include "ipcx/sysv_sem.hpp"
#include "ipcx/sysv_shm.hpp"

namespace ipcx::inspect::internal {
namespace {

struct SysvRow {
  std::map<std::string, std::string_view, std::less<>> cols;
  std::optional<long long> num(std::string_view name) const {
    auto it = cols.find(name);
    if (it == cols.end()) return std::nullopt;
    return parse_num<long long>(it->second);
  }
};

std::vector<SysvRow> read_sysv_table(const char* table, std::vector<std::string>& storage, std::vector<std::string>& notes) {
  std::vector<SysvRow> rows;
  auto text = read_file(fmt::format("/proc/sysvipc/{}", table));
  if (!text) {
    notes.push_back(fmt::format("System V {} not listed: /proc/sysvipc/{} is not readable ({})", table, table,
                                std::strerror(errno)));
    return rows;
  }
  storage = lines_of(*text);
  if (storage.empty()) return rows;
  auto header = split_ws(storage[0]);
  for (std::size_t i = 1; i < storage.size(); ++i) {
    auto f = split_ws(storage[i]);
    if (f.size() < header.size()) continue;
    SysvRow r;
    for (std::size_t c = 0; c < header.size(); ++c) r.cols.emplace(std::string(header[c]), f[c]);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string sysv_url(Kind k, std::int32_t key, int id) {
  if (key == 0) return fmt::format("{}://id:{}", to_string(k), id);
  return fmt::format("{}://{}", to_string(k), sysv_key_text(key));
}

void fill_sysv_common(Object& o, Kind k, const SysvRow& r, const char* id_col) {
  o.kind = k;
  o.key = static_cast<std::int32_t>(r.num("key").value_or(0));
  o.id = static_cast<int>(r.num(id_col).value_or(-1));
  o.name = sysv_key_text(*o.key);
  o.url = sysv_url(k, *o.key, *o.id);
  auto perms = r.cols.find("perms");
  unsigned mode = 0;
  if (perms != r.cols.end()) mode = parse_num<unsigned>(perms->second, 8).value_or(0);
  o.mode = mode & 0777;
  o.uid = static_cast<uid_t>(r.num("uid").value_or(0));
  o.gid = static_cast<gid_t>(r.num("gid").value_or(0));
  o.cuid = static_cast<uid_t>(r.num("cuid").value_or(0));
  o.cgid = static_cast<gid_t>(r.num("cgid").value_or(0));
}

void add_time(Object& o, const char* name, std::optional<long long> t) {
  if (t && *t > 0) o.times.emplace_back(name, *t);
}

// Every semaphore's value, last pid and waiters (the semctl calls, through SysvSemSet).
void read_sem_details(Object& o) {
  if (!o.id) return;
  auto info = SysvSemSet::stat(*o.id);
  if (!info) return;  // EACCES: values unknown; EIDRM/EINVAL: gone meanwhile
  std::uint64_t waiters = 0;
  o.values.clear();
  for (const auto& sem : info->semaphores) {
    o.values.push_back(sem.value);
    if (sem.last_pid > 0) add_process(o, sem.last_pid, "last");
    waiters += static_cast<std::uint64_t>(std::max(sem.waiting_increase, 0) + std::max(sem.waiting_zero, 0));
  }
  o.waiters = waiters;
}

std::string_view kind_noun(Kind k) {
  switch (k) {
    case Kind::sysv_shm: return "shared memory segment";
    case Kind::sysv_sem: return "semaphore set";
    case Kind::sysv_msg: return "message queue";
    default: return to_string(k);
  }
}

Result<std::int32_t> key_of(const Url& u) {
  if (!u.ftok_path.empty()) {
    auto proj = u.option_uint("proj", 0);
    if (!proj) return std::unexpected(proj.error());
    auto k = ipcx::ftok(u.ftok_path, static_cast<int>(*proj));
    if (!k) return std::unexpected(k.error());
    return static_cast<std::int32_t>(*k);
  }
  return u.key.value_or(0);
}

}  // namespace

void list_sysv_shm(std::vector<Object>& out, std::vector<std::string>& notes) {
  std::vector<std::string> storage;
  for (const auto& r : read_sysv_table("shm", storage, notes)) {
    Object o;
    fill_sysv_common(o, Kind::sysv_shm, r, "shmid");
    auto perms = r.cols.find("perms");
    unsigned raw = perms != r.cols.end() ? parse_num<unsigned>(perms->second, 8).value_or(0) : 0;
    if (raw & SHM_DEST) o.details.emplace_back("removed", "yes: destroyed when the last process detaches");
    if (raw & SHM_LOCKED) o.details.emplace_back("locked", "yes (SHM_LOCK)");
    o.size = static_cast<std::uint64_t>(r.num("size").value_or(0));
    o.attached = static_cast<std::uint64_t>(r.num("nattch").value_or(0));
    add_process(o, static_cast<pid_t>(r.num("cpid").value_or(0)), "creator");
    add_process(o, static_cast<pid_t>(r.num("lpid").value_or(0)), "last");
    add_time(o, "attach", r.num("atime"));
    add_time(o, "detach", r.num("dtime"));
    add_time(o, "change", r.num("ctime"));
    if (auto rss = r.num("rss")) o.details.emplace_back("resident_bytes", std::to_string(*rss));
    out.push_back(std::move(o));
  }
}

void list_sysv_sem(std::vector<Object>& out, std::vector<std::string>& notes, bool details) {
  std::vector<std::string> storage;
  for (const auto& r : read_sysv_table("sem", storage, notes)) {
    Object o;
    fill_sysv_common(o, Kind::sysv_sem, r, "semid");
    o.nsems = static_cast<std::uint64_t>(r.num("nsems").value_or(0));
    add_time(o, "operation", r.num("otime"));
    add_time(o, "change", r.num("ctime"));
    if (details) read_sem_details(o);
    out.push_back(std::move(o));
  }
}

void list_sysv_msg(std::vector<Object>& out, std::vector<std::string>& notes, bool details) {
  std::vector<std::string> storage;
  for (const auto& r : read_sysv_table("msg", storage, notes)) {
    Object o;
    fill_sysv_common(o, Kind::sysv_msg, r, "msqid");
    o.size = static_cast<std::uint64_t>(r.num("cbytes").value_or(0));
    o.depth = static_cast<std::uint64_t>(r.num("qnum").value_or(0));
    add_process(o, static_cast<pid_t>(r.num("lspid").value_or(0)), "last-send");
    add_process(o, static_cast<pid_t>(r.num("lrpid").value_or(0)), "last-receive");
    add_time(o, "send", r.num("stime"));
    add_time(o, "receive", r.num("rtime"));
    add_time(o, "change", r.num("ctime"));
    if (details) {
      if (auto q = SysvMq::open_id(*o.id)) {
        if (auto st = q->stat()) o.max_message = st->qbytes;
      }
    }
    out.push_back(std::move(o));
  }
}

Result<Object> stat_sysv(const Url& u) {
  Kind k = kind_of_scheme(u.scheme);
  if (u.key && *u.key == 0 && u.ftok_path.empty()) {
    return fail(Errc::invalid_argument, "stat", u.text,
                "IPC_PRIVATE (key 0) names no single object; use the id: " + std::string(to_string(k)) + "://id:N");
  }
  auto key = key_of(u);
  if (!key) return std::unexpected(key.error());
  ListOptions lo;
  lo.kinds = {k};
  auto all = list_objects(lo);
  if (!all) return std::unexpected(all.error());
  for (auto& o : all->objects) {
    if (u.id ? o.id == u.id : o.key == *key) return std::move(o);
  }
  if (u.id) return not_found(u, fmt::format("no System V {} with id {}", kind_noun(k), *u.id));
  return not_found(u, fmt::format("no System V {} with key {}", kind_noun(k), sysv_key_text(*key)));
}

}  // namespace ipcx::inspect::internal
