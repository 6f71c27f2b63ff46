// SPDX-License-Identifier: MIT
// ipcx::inspect: the process scan, from /proc/<pid>/{stat,fd,fdinfo,maps}, and the text
// helpers for what /proc says.
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

#include "sys/io.hpp"
#include "sys/process.hpp"

namespace ipcx::inspect::internal {
namespace {

struct ProcState {
  bool alive = false;
  std::string comm;
};

// /proc/<pid>/stat: a zombie has exited and holds nothing, so it counts as gone.
ProcState process_state(pid_t pid) {
  ProcState st;
  if (pid <= 0) return st;
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) {
    // Another PID namespace or hidepid=2 can hide /proc entries; kill(0) still answers.
    auto k = sys::kill(pid, 0);
    st.alive = k || k.error().code() == EPERM;
    return st;
  }
  auto close = stat->rfind(')');
  auto open = stat->find('(');
  if (close == std::string::npos || open == std::string::npos || close + 2 >= stat->size()) return st;
  char s = (*stat)[close + 2];
  st.alive = s != 'Z' && s != 'X' && s != 'x';
  st.comm = stat->substr(open + 1, close - open - 1);
  return st;
}

std::string fd_access(pid_t pid, int fd) {
  auto info = read_file(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
  if (!info) return {};
  auto p = info->find("flags:");
  if (p == std::string::npos) return {};
  std::string_view rest = std::string_view(*info).substr(p + 6);
  rest = rest.substr(0, rest.find('\n'));
  auto words = split_ws(rest);
  if (words.empty()) return {};
  auto f = parse_num<unsigned>(words.front(), 8);
  if (!f) return {};
  switch (*f & O_ACCMODE) {
    case O_RDONLY: return "r";
    case O_WRONLY: return "w";
    default: return "rw";
  }
}

}  // namespace

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

ProcessIndex scan_processes(bool want_maps) {
  ProcessIndex idx;
  // A failure that is not "it is gone" (ENOENT, ESRCH: the process or descriptor went away
  // while we looked) nor "not ours to see" (EACCES, EPERM: counted as hidden where a whole
  // process is) leaves the scan incomplete; the first one is kept as the reason.
  auto missed = [&](const std::string& what, int err) {
    if (err == ENOENT || err == ESRCH || err == EACCES || err == EPERM || !idx.incomplete.empty()) return;
    idx.incomplete = fmt::format("{}: {}", what, std::strerror(err));
  };
  auto proc = sys::readdir_names("/proc");
  if (!proc) {
    missed("/proc", proc.error().code());
    return idx;
  }
  for (const auto& pid_name : *proc) {
    auto pid = parse_num<pid_t>(pid_name);
    if (!pid) continue;
    std::string fd_dir = fmt::format("/proc/{}/fd", *pid);
    auto fds = sys::readdir_names(fd_dir.c_str());
    if (!fds) {
      if (fds.error().code() == EACCES || fds.error().code() == EPERM) {
        ++idx.hidden;
      } else {
        missed(fd_dir, fds.error().code());
      }
      continue;
    }
    for (const auto& fd_name : *fds) {
      auto fd = parse_num<int>(fd_name);
      if (!fd) continue;
      std::string fd_path = fmt::format("{}/{}", fd_dir, fd_name);
      auto link = sys::readlink(fd_path.c_str());
      if (!link) missed(fd_path, link.error().code());
      if (!link || link->empty()) continue;
      std::string_view target = *link;
      if (target.starts_with("socket:[")) {
        auto ino = parse_num<ino_t>(target.substr(8, target.size() - 9));
        if (ino) idx.sockets[*ino].push_back(*pid);
        continue;
      }
      if (target.starts_with("pipe:") || target.starts_with("anon_inode:") || target.starts_with("/dev/pts") ||
          target.starts_with("/dev/null")) {
        continue;
      }
      auto st = sys::stat(fd_path.c_str());  // follows the link to the object
      if (!st) {
        missed(fd_path, st.error().code());
        continue;
      }
      idx.files[{st->st_dev, st->st_ino}].push_back({*pid, *fd});
    }
    if (!want_maps) continue;
    std::string maps_path = fmt::format("/proc/{}/maps", *pid);
    auto maps = read_file(maps_path);
    if (!maps) {
      // read_file keeps no errno: an open says why (gone, not ours to see, or short of
      // descriptors).
      auto probe = sys::open(maps_path.c_str(), O_RDONLY);
      if (!probe) missed(maps_path, probe.error().code());
      else if (idx.incomplete.empty()) idx.incomplete = maps_path + ": could not be read";
      continue;
    }
    std::istringstream in(*maps);
    std::string line;
    std::set<DevIno> seen;  // a mapping shows once per region; count the process once
    std::set<int> seen_sysv;
    while (std::getline(in, line)) {
      // addr perms offset dev inode path
      auto f = split_ws(line);
      if (f.size() < 6) continue;
      auto ino = parse_num<ino_t>(f[4]);
      if (!ino) continue;
      std::string_view path = f[5];
      if (path.starts_with("/SYSV")) {  // a SysV segment: the inode is the shmid (0 included)
        int id = static_cast<int>(*ino);
        if (seen_sysv.insert(id).second) idx.sysv_shm[id].push_back(*pid);
        continue;
      }
      if (*ino == 0) continue;  // anonymous memory
      auto colon = f[3].find(':');
      if (colon == std::string_view::npos) continue;
      auto maj = parse_num<unsigned>(f[3].substr(0, colon), 16);
      auto min = parse_num<unsigned>(f[3].substr(colon + 1), 16);
      if (!maj || !min) continue;
      DevIno key{makedev(*maj, *min), *ino};
      if (seen.insert(key).second) idx.files[key].push_back({*pid, -1});
    }
  }
  return idx;
}

void add_process(Object& o, pid_t pid, std::string role, std::string access) {
  if (pid <= 0) return;
  for (const auto& p : o.processes) {
    if (p.pid == pid && p.role == role) return;
  }
  auto st = process_state(pid);
  o.processes.push_back(ProcessRef{pid, std::move(role), st.alive, std::move(st.comm), std::move(access)});
}

void add_file_users(Object& o, const ProcessIndex& idx, dev_t dev, ino_t ino) {
  auto it = idx.files.find({dev, ino});
  if (it == idx.files.end()) return;
  for (const auto& u : it->second) {
    if (u.fd >= 0) {
      add_process(o, u.pid, "open", fd_access(u.pid, u.fd));
    } else {
      add_process(o, u.pid, "mapped");
    }
  }
}

bool any_alive(const Object& o, std::initializer_list<std::string_view> roles) {
  for (const auto& p : o.processes) {
    if (!p.alive) continue;
    for (auto r : roles) {
      if (p.role == r) return true;
    }
  }
  return false;
}

std::string pids_in_role(const Object& o, std::initializer_list<std::string_view> roles, bool alive) {
  std::string out;
  for (const auto& p : o.processes) {
    if (p.alive != alive) continue;
    for (auto r : roles) {
      if (p.role == r) {
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", p.role, p.pid);
        break;
      }
    }
  }
  return out;
}

// Whether users of `o` could be hiding among processes we cannot inspect.
bool users_may_be_hidden(const Object& o, const ProcessIndex& idx) {
  if (idx.hidden == 0) return false;
  return o.uid != ::geteuid() || (o.mode & 0066) != 0;
}

}  // namespace ipcx::inspect::internal
