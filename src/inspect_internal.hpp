// SPDX-License-Identifier: MIT
// What the inspect_*.cpp files share: the text helpers for what /proc says, the process
// scan, the per-source listers and stat functions, and how a stat finishes (users, state).
// One file per source the kernel publishes:
//   inspect.cpp        the public functions (ipcx/inspect.hpp), staleness, users
//   inspect_proc.cpp   /proc/<pid>/{fd,fdinfo,maps,stat}: who has what open or mapped
//   inspect_sysv.cpp   /proc/sysvipc/{shm,sem,msg}
//   inspect_posix.cpp  /dev/shm, /dev/mqueue, FIFOs
//   inspect_ring.cpp   shm:// rings (/dev/shm/ipcx.ring.NAME), read by the ring's own module
//   inspect_unix.cpp   /proc/net/unix
// Not part of the library's interface.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ipcx/error.hpp"
#include "ipcx/inspect.hpp"
#include "ipcx/url.hpp"

namespace ipcx::inspect::internal {

inline constexpr const char* kShmDir = "/dev/shm";
inline constexpr const char* kMqueueDir = "/dev/mqueue";

// ---------------------------------------------------------------------------------------
// Text (inspect_proc.cpp)

std::optional<std::string> read_file(const std::string& path);
template <typename T>
std::optional<T> parse_num(std::string_view s, int base = 10) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}
std::vector<std::string_view> split_ws(std::string_view line);
std::vector<std::string> lines_of(const std::string& text);

// ---------------------------------------------------------------------------------------
// Processes (inspect_proc.cpp)

struct Use {
  pid_t pid;
  int fd;  // -1 for a mapping
};

struct DevIno {
  dev_t dev;
  ino_t ino;
  bool operator<(const DevIno& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

// Who has what open or mapped, from /proc/<pid>/fd and /proc/<pid>/maps. Built once per
// listing. `hidden` counts processes whose descriptors we may not read.
struct ProcessIndex {
  std::map<DevIno, std::vector<Use>> files;        // open descriptors and file mappings
  std::unordered_map<ino_t, std::vector<pid_t>> sockets;
  std::unordered_map<int, std::vector<pid_t>> sysv_shm;  // shmid -> attached pids
  int hidden = 0;
  // Why the scan may have missed a user (a read of /proc that failed for another reason
  // than the process being gone, e.g. EMFILE); empty when it saw everything it could.
  // A missed user could make an object in use look stale, so then nothing is stale.
  std::string incomplete;
};

ProcessIndex scan_processes(bool want_maps);
void add_process(Object& o, pid_t pid, std::string role, std::string access = {});
void add_file_users(Object& o, const ProcessIndex& idx, dev_t dev, ino_t ino);
bool any_alive(const Object& o, std::initializer_list<std::string_view> roles);
std::string pids_in_role(const Object& o, std::initializer_list<std::string_view> roles, bool alive);
bool users_may_be_hidden(const Object& o, const ProcessIndex& idx);

// ---------------------------------------------------------------------------------------
// A stat's last steps (inspect.cpp)

std::unexpected<Error> not_found(const Url& u, std::string what);
Kind kind_of_scheme(Scheme s);
// One object, with its users and state.
Result<Object> finish(Object o, const std::vector<ino_t>& socket_inodes = {});

// ---------------------------------------------------------------------------------------
// Sources

void list_sysv_shm(std::vector<Object>& out, std::vector<std::string>& notes);  // inspect_sysv.cpp
void list_sysv_sem(std::vector<Object>& out, std::vector<std::string>& notes, bool details);
void list_sysv_msg(std::vector<Object>& out, std::vector<std::string>& notes, bool details);
Result<Object> stat_sysv(const Url& u);

void fill_from_stat(Object& o, const struct stat& st);  // inspect_posix.cpp
void list_dev_shm(std::vector<Object>& out, std::vector<std::string>& notes, bool want_shm, bool want_sem,
                  bool want_ring, bool details);
void list_mqueue(std::vector<Object>& out, std::vector<std::string>& notes, bool details);
Result<Object> stat_posix(const Url& u);
Result<Object> stat_fifo(const Url& u);

// inspect_ring.cpp: whether a /dev/shm entry is a ring's file; the ring in it, read.
bool is_ring_file(std::string_view entry);
void ring_object(Object& o, const std::string& entry, const struct stat& st);
Result<Object> stat_ring(const Url& u);

void list_unix(std::vector<Object>& out, std::vector<ino_t>& inodes);  // inspect_unix.cpp
void add_socket_users(Object& o, const ProcessIndex& idx, ino_t inode);
Result<Object> stat_unix(const Url& u);

}  // namespace ipcx::inspect::internal
