#include "ipcx/inspect.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

#include "ipcx/detail/ring_layout.hpp"
#include "ipcx/mapping.hpp"
#include "ipcx/posix_mq.hpp"
#include "ipcx/ring.hpp"
#include "ipcx/semaphore.hpp"
#include "ipcx/shm.hpp"
#include "ipcx/sysv_mq.hpp"
#include "ipcx/sysv_sem.hpp"
#include "ipcx/sysv_shm.hpp"
#include "sys/io.hpp"
#include "sys/ofd_lock.hpp"

namespace ipcx::inspect {
namespace {

constexpr const char* kShmDir = "/dev/shm";
constexpr const char* kMqueueDir = "/dev/mqueue";
constexpr long kMqueueMagic = 0x19800202;  // MQUEUE_MAGIC, linux/magic.h

// ---------------------------------------------------------------------------------------
// Small readers.

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename T>
std::optional<T> parse_num(std::string_view s, int base = 10) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
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

// ---------------------------------------------------------------------------------------
// Processes.

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
    st.alive = ::kill(pid, 0) == 0 || errno == EPERM;
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
};

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

ProcessIndex scan_processes(bool want_maps) {
  ProcessIndex idx;
  DIR* proc = ::opendir("/proc");
  if (!proc) return idx;
  while (dirent* e = ::readdir(proc)) {
    auto pid = parse_num<pid_t>(e->d_name);
    if (!pid) continue;
    std::string fd_dir = fmt::format("/proc/{}/fd", *pid);
    DIR* fds = ::opendir(fd_dir.c_str());
    if (!fds) {
      if (errno == EACCES || errno == EPERM) ++idx.hidden;
      continue;  // ENOENT: it exited while we looked
    }
    int dfd = ::dirfd(fds);
    while (dirent* f = ::readdir(fds)) {
      auto fd = parse_num<int>(f->d_name);
      if (!fd) continue;
      char link[256];
      ssize_t n = ::readlinkat(dfd, f->d_name, link, sizeof link - 1);
      if (n <= 0) continue;
      std::string_view target(link, static_cast<std::size_t>(n));
      if (target.starts_with("socket:[")) {
        auto ino = parse_num<ino_t>(target.substr(8, target.size() - 9));
        if (ino) idx.sockets[*ino].push_back(*pid);
        continue;
      }
      if (target.starts_with("pipe:") || target.starts_with("anon_inode:") || target.starts_with("/dev/pts") ||
          target.starts_with("/dev/null")) {
        continue;
      }
      struct stat st {};
      if (::fstatat(dfd, f->d_name, &st, 0) != 0) continue;  // follows the link to the object
      idx.files[{st.st_dev, st.st_ino}].push_back({*pid, *fd});
    }
    ::closedir(fds);
    if (!want_maps) continue;
    auto maps = read_file(fmt::format("/proc/{}/maps", *pid));
    if (!maps) continue;
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
  ::closedir(proc);
  return idx;
}

void add_process(Object& o, pid_t pid, std::string role, std::string access = {}) {
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

void set_state(Object& o, State s, std::string why) {
  o.state = s;
  o.state_reason = std::move(why);
}

// Decides o.state from the processes found; see the header for the rules.
void judge(Object& o, const ProcessIndex& idx) {
  const auto users = o.users();
  switch (o.kind) {
    case Kind::sysv_shm: {
      if (o.attached.value_or(0) > 0) {
        return set_state(o, State::in_use, fmt::format("attached by {} process{}", *o.attached, *o.attached == 1 ? "" : "es"));
      }
      if (any_alive(o, {"creator", "last"})) {
        return set_state(o, State::in_use, fmt::format("detached, but {} is alive", pids_in_role(o, {"creator", "last"}, true)));
      }
      std::string gone = pids_in_role(o, {"creator", "last"}, false);
      if (gone.empty()) return set_state(o, State::unknown, "no creator or user recorded (another PID namespace?)");
      return set_state(o, State::stale, fmt::format("attached by none; {} gone", gone));
    }
    case Kind::sysv_msg: {
      if (any_alive(o, {"last-send", "last-receive"})) {
        return set_state(o, State::in_use, fmt::format("{} is alive", pids_in_role(o, {"last-send", "last-receive"}, true)));
      }
      std::string gone = pids_in_role(o, {"last-send", "last-receive"}, false);
      if (gone.empty()) return set_state(o, State::unknown, "no message sent or received yet; the creator is not recorded");
      return set_state(o, State::stale, fmt::format("{} gone", gone));
    }
    case Kind::sysv_sem: {
      if (o.waiters.value_or(0) > 0) return set_state(o, State::in_use, fmt::format("{} process(es) waiting", *o.waiters));
      if (any_alive(o, {"last"})) {
        return set_state(o, State::in_use, fmt::format("{} is alive", pids_in_role(o, {"last"}, true)));
      }
      std::string gone = pids_in_role(o, {"last"}, false);
      if (gone.empty()) {
        return set_state(o, State::unknown,
                         o.values.empty() && o.nsems.value_or(0) > 0
                             ? "semaphores not readable (permission); cannot tell"
                             : "no operation recorded yet; the creator is not recorded");
      }
      return set_state(o, State::stale, fmt::format("no waiters; {} gone", gone));
    }
    case Kind::ring: {
      // The liveness locks are the kernel's word, in any PID namespace and for any user.
      auto detail = [&](std::string_view key) -> std::string {
        for (const auto& [k, v] : o.details) {
          if (k == key) return v;
        }
        return {};
      };
      std::string attached = detail("sides_attached");
      if (!attached.empty()) {
        const bool pubsub = detail("pattern") == "pubsub";
        const char* single = pubsub ? "publisher" : "consumer";
        const char* many = pubsub ? "subscribers" : "producers";
        if (attached != "0") {
          return set_state(o, State::in_use, fmt::format("{} {}; {} {}", single, detail(single), many, detail(many)));
        }
        if (!users.empty()) {
          return set_state(o, State::in_use, fmt::format("no side attached, but open in {} process{}", users.size(),
                                                          users.size() == 1 ? "" : "es"));
        }
        std::string why = "no side attached";
        if (o.depth.value_or(0) > 0) why += fmt::format("; {} message(s) wait for a consumer", *o.depth);
        return set_state(o, State::stale, why);
      }
      [[fallthrough]];  // not a readable ring: judged as a file
    }
    case Kind::posix_shm:
    case Kind::posix_sem:
    case Kind::posix_mq:
    case Kind::fifo: {
      if (!users.empty()) {
        return set_state(o, State::in_use,
                         fmt::format("used by {} process{}", users.size(), users.size() == 1 ? "" : "es"));
      }
      if (users_may_be_hidden(o, idx)) {
        return set_state(o, State::unknown,
                         fmt::format("no visible user, but {} processes could not be inspected (run as root)", idx.hidden));
      }
      return set_state(o, State::stale, o.kind == Kind::posix_mq ? "no process has it open"
                                        : o.kind == Kind::fifo  ? "no process has it open"
                                                                : "no process has it open or mapped");
    }
    case Kind::unix_socket: {
      if (o.socket_state == "unbound") return set_state(o, State::stale, "a socket file with no socket bound to it");
      if (!users.empty()) return set_state(o, State::in_use, fmt::format("{} by {}", o.socket_state, users.size() == 1 ? "1 process" : fmt::format("{} processes", users.size())));
      return set_state(o, State::in_use, fmt::format("{} (owner not visible)", o.socket_state));
    }
  }
}

// ---------------------------------------------------------------------------------------
// System V: /proc/sysvipc/{shm,sem,msg}, columns found by their header names.

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
  return fmt::format("{}://0x{:08x}", to_string(k), static_cast<std::uint32_t>(key));
}

void fill_sysv_common(Object& o, Kind k, const SysvRow& r, const char* id_col) {
  o.kind = k;
  o.key = static_cast<std::int32_t>(r.num("key").value_or(0));
  o.id = static_cast<int>(r.num(id_col).value_or(-1));
  o.name = fmt::format("0x{:08x}", static_cast<std::uint32_t>(*o.key));
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
    if (auto rss = r.num("rss")) o.details.emplace_back("resident", fmt::format("{} bytes", *rss));
    out.push_back(std::move(o));
  }
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
      if (auto q = SysvMq::attach(*o.id)) {
        if (auto st = q->stat()) o.max_message = st->qbytes;
      }
    }
    out.push_back(std::move(o));
  }
}

// ---------------------------------------------------------------------------------------
// POSIX: /dev/shm (shm, sem.NAME semaphores) and /dev/mqueue.

void fill_from_stat(Object& o, const struct stat& st) {
  o.uid = st.st_uid;
  o.gid = st.st_gid;
  o.mode = st.st_mode & 07777;
  o.times.emplace_back("access", st.st_atim.tv_sec);
  o.times.emplace_back("modify", st.st_mtim.tv_sec);
  o.times.emplace_back("change", st.st_ctim.tv_sec);
}

void read_posix_sem_value(Object& o) {
  // stat() opens the semaphore for its value and closes it again: this process is a user
  // only until then, before the process scan.
  auto info = PosixSemaphore::stat(o.name);
  if (info && info->value) o.values.push_back(*info->value);
}

// ---------------------------------------------------------------------------------------
// ipcx rings: /dev/shm/ipcx.ring.NAME (docs/shm-ring-layout.md).

constexpr std::string_view kRingPrefix = "ipcx.ring.";

// Whether another open file description holds a lock on `byte`: a side attached there.
bool lock_held(int fd, long byte) {
  auto c = sys::ofd_conflict(fd, sys::LockKind::write, byte, 1);
  return c && *c;
}

// Reads the ring's header through a read-only mapping (nothing in it is trusted: every
// value is checked before use), counts the messages waiting (spsc/mpsc), and asks the
// kernel which sides hold their liveness locks. The mapping and descriptor are gone
// before the process scan.
void read_ring(Object& o) {
  namespace r = detail::ring;
  auto fd = sys::open(o.path.c_str(), O_RDONLY);
  if (!fd) {
    // Told apart from "not a ring": a ring another user keeps to itself is still a ring.
    const bool denied = fd.error().code() == EACCES || fd.error().code() == EPERM;
    o.details.emplace_back("header", fmt::format("{}: {}", denied ? "permission denied" : "not readable",
                                                 fd.error().message()));
    return;
  }
  auto st = sys::fstat(fd->get());
  if (!st || static_cast<std::uint64_t>(st->st_size) < r::kHeaderSize) {
    o.details.emplace_back("header", "not a ring: the file is shorter than a ring header");
    return;
  }
  const auto file_size = static_cast<std::uint64_t>(st->st_size);
  auto head_map = Mapping::map(fd->get(), r::kHeaderSize, Access::read_only, 0, 0, o.path);
  if (!head_map) return;
  const auto* h = static_cast<const r::Header*>(head_map->data());
  const r::Identity id = h->identity;  // written once before the name existed
  const bool pow2 = id.capacity != 0 && (id.capacity & (id.capacity - 1)) == 0;
  if (id.magic != r::kMagic || id.version != r::kLayoutVersion || id.header_size != r::kHeaderSize || !pow2 ||
      id.capacity < r::kMinCapacity || id.capacity > r::kMaxCapacity || id.slots < 1 || id.slots > r::kMaxSlots ||
      id.pattern < 1 || id.pattern > 3 || id.total_size != id.header_size + id.capacity || id.total_size > file_size) {
    o.details.emplace_back("header", fmt::format("not a valid ring (magic 0x{:016x}, version {})", id.magic, id.version));
    return;
  }
  const auto pattern = static_cast<r::Pattern>(id.pattern);
  o.capacity = id.capacity;
  o.max_message = id.max_message;
  const char* pattern_name = pattern == r::Pattern::spsc ? "spsc" : pattern == r::Pattern::mpsc ? "mpsc" : "pubsub";
  o.details.emplace_back("pattern", pattern_name);
  if (pattern == r::Pattern::pubsub) {
    o.details.emplace_back("policy", id.policy == static_cast<std::uint32_t>(r::Policy::drop) ? "drop" : "block");
  }
  o.details.emplace_back("slots", std::to_string(id.slots));

  // Sides: the single side (consumer, or publisher for pubsub) on byte 1, slot i on 2 + i.
  const bool single_live = lock_held(fd->get(), r::kLockSingle);
  const std::uint32_t single_state = h->session.single_state.load(std::memory_order_acquire);
  const char* single_name = pattern == r::Pattern::pubsub ? "publisher" : "consumer";
  std::string single = single_live                               ? "attached"
                       : single_state == r::kSingleNever         ? "never attached"
                       : single_state == r::kSingleDetached      ? "detached"
                                                                 : "gone (died attached)";
  o.details.emplace_back(single_name, single);
  unsigned many_live = 0, many_dead = 0;
  for (std::uint32_t i = 0; i < id.slots; ++i) {
    bool used = h->slots[i].state.load(std::memory_order_acquire) == r::kSlotUsed;
    bool held = lock_held(fd->get(), r::kLockSlot0 + static_cast<long>(i));
    if (held) ++many_live;
    else if (used) ++many_dead;
  }
  const char* many_name = pattern == r::Pattern::pubsub ? "subscribers" : "producers";
  o.details.emplace_back(many_name, fmt::format("{} attached of {}{}", many_live, id.slots,
                                                many_dead ? fmt::format(", {} died attached", many_dead) : ""));
  o.details.emplace_back("sides_attached", std::to_string(many_live + (single_live ? 1 : 0)));

  const std::uint64_t tail = h->producer.tail.load(std::memory_order_acquire);
  if (pattern == r::Pattern::pubsub) {
    o.details.emplace_back("published", std::to_string(h->producer.tail_seq.load(std::memory_order_acquire)));
    return;
  }
  const std::uint64_t head = h->consumer.head.load(std::memory_order_acquire);
  if (tail < head || tail - head > id.capacity) {
    o.details.emplace_back("data", fmt::format("inconsistent positions (head {}, tail {})", head, tail));
    return;
  }
  o.details.emplace_back("queued_bytes", std::to_string(tail - head));
  // Count the complete messages from head to tail; stop at the first record not yet
  // complete (an mpsc producer filling it) or that fails a check.
  auto data_map = Mapping::map(fd->get(), static_cast<std::size_t>(id.total_size), Access::read_only, 0, 0, o.path);
  if (!data_map) return;
  const auto* data = static_cast<const std::byte*>(data_map->data()) + id.header_size;
  std::uint64_t messages = 0;
  std::uint64_t pos = head;
  for (std::uint64_t steps = 0; pos < tail && steps < (1u << 20); ++steps) {
    const std::uint64_t off = pos & (id.capacity - 1);
    if (off + r::kRecordHeader > id.capacity) break;
    const auto* rec = reinterpret_cast<const r::RecordHeader*>(data + off);
    const std::uint64_t stamp = rec->stamp.load(std::memory_order_acquire);
    if ((stamp & ~r::kKindMask) != pos) break;
    const std::uint64_t kind = stamp & r::kKindMask;
    const std::uint64_t len = rec->len.load(std::memory_order_relaxed);
    if (len > id.capacity || off + r::kRecordHeader + len > id.capacity) break;
    if (kind == r::kKindMessage) ++messages;
    else if (kind != r::kKindPadding && kind != r::kKindAbandoned) break;
    pos += (r::kRecordHeader + len + r::kRecordAlign - 1) / r::kRecordAlign * r::kRecordAlign;
  }
  o.depth = messages;
}

std::optional<Object> posix_shm_object(const std::string& entry, const struct stat& st, bool details) {
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  Object o;
  o.path = fmt::format("{}/{}", kShmDir, entry);
  fill_from_stat(o, st);
  if (entry.starts_with(kRingPrefix) && entry.size() > kRingPrefix.size()) {
    o.kind = Kind::ring;
    o.name = entry.substr(kRingPrefix.size());
    o.url = "shm://" + o.name;
    o.size = static_cast<std::uint64_t>(st.st_size);
    read_ring(o);  // cheap: a header and the records between head and tail
  } else if (entry.starts_with("sem.") && entry.size() > 4) {
    o.kind = Kind::posix_sem;
    o.name = "/" + entry.substr(4);
    o.url = "posixsem://" + o.name;
    if (details) read_posix_sem_value(o);
  } else {
    o.kind = Kind::posix_shm;
    o.name = "/" + entry;
    o.url = "posixshm://" + o.name;
    o.size = static_cast<std::uint64_t>(st.st_size);
  }
  return o;
}

void list_dev_shm(std::vector<Object>& out, std::vector<std::string>& notes, bool want_shm, bool want_sem,
                  bool want_ring, bool details) {
  DIR* d = ::opendir(kShmDir);
  if (!d) {
    notes.push_back(fmt::format("POSIX shared memory not listed: {}: {}", kShmDir, std::strerror(errno)));
    return;
  }
  while (dirent* e = ::readdir(d)) {
    std::string entry = e->d_name;
    if (entry == "." || entry == "..") continue;
    bool is_sem = entry.starts_with("sem.");
    bool is_ring = entry.starts_with(kRingPrefix);
    if ((is_sem && !want_sem) || (is_ring && !want_ring) || (!is_sem && !is_ring && !want_shm)) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (auto o = posix_shm_object(entry, st, details)) out.push_back(std::move(*o));
  }
  ::closedir(d);
}

bool mqueue_mounted() {
  struct statfs fs {};
  return ::statfs(kMqueueDir, &fs) == 0 && static_cast<long>(fs.f_type) == kMqueueMagic;
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

void list_mqueue(std::vector<Object>& out, std::vector<std::string>& notes, bool details) {
  auto mounted = ensure_mqueue_mounted(true);
  if (!mounted || !*mounted) {
    notes.push_back(fmt::format("POSIX message queues not listed: {} is not mounted (as root: mkdir -p {} && mount -t mqueue none {})",
                                kMqueueDir, kMqueueDir, kMqueueDir));
    return;
  }
  DIR* d = ::opendir(kMqueueDir);
  if (!d) {
    notes.push_back(fmt::format("POSIX message queues not listed: {}: {}", kMqueueDir, std::strerror(errno)));
    return;
  }
  while (dirent* e = ::readdir(d)) {
    std::string entry = e->d_name;
    if (entry == "." || entry == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    Object o;
    o.kind = Kind::posix_mq;
    o.name = "/" + entry;
    o.url = "posixmq://" + o.name;
    o.path = fmt::format("{}/{}", kMqueueDir, entry);
    fill_from_stat(o, st);
    read_mq_file(o);
    if (details) read_mq_attr(o);
    out.push_back(std::move(o));
  }
  ::closedir(d);
}

// ---------------------------------------------------------------------------------------
// Unix sockets: /proc/net/unix.

struct UnixRow {
  unsigned flags = 0;
  unsigned type = 0;
  unsigned st = 0;
  ino_t inode = 0;
  std::string path;  // "/x" or "@name"
};

constexpr unsigned kAcceptCon = 0x10000;  // __SO_ACCEPTCON: listening

std::vector<UnixRow> read_unix_table() {
  std::vector<UnixRow> rows;
  auto text = read_file("/proc/net/unix");
  if (!text) return rows;
  auto lines = lines_of(*text);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto f = split_ws(lines[i]);
    if (f.size() < 8) continue;  // no path: unnamed
    UnixRow r;
    r.flags = parse_num<unsigned>(f[3], 16).value_or(0);
    r.type = parse_num<unsigned>(f[4], 16).value_or(0);
    r.st = parse_num<unsigned>(f[5], 16).value_or(0);
    r.inode = parse_num<ino_t>(f[6]).value_or(0);
    // The path is the rest of the line (it may hold spaces).
    r.path = lines[i].substr(static_cast<std::size_t>(f[7].data() - lines[i].data()));
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string_view unix_type_name(unsigned t) {
  switch (t) {
    case 1: return "stream";
    case 2: return "dgram";
    case 5: return "seqpacket";
    default: return "?";
  }
}

std::string_view unix_scheme(unsigned t) {
  switch (t) {
    case 2: return "unixgram";
    case 5: return "unixpacket";
    default: return "unix";
  }
}

bool is_autobind(std::string_view path) {
  // autobind(2) names: '@' and five hex digits, given to unbound datagram clients.
  if (path.size() != 6 || path[0] != '@') return false;
  return std::all_of(path.begin() + 1, path.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

Object unix_object(const UnixRow& r) {
  Object o;
  o.kind = Kind::unix_socket;
  o.name = r.path;
  o.socket_type = std::string(unix_type_name(r.type));
  o.socket_state = (r.flags & kAcceptCon) ? "listening" : "bound";
  if (r.path.starts_with("@")) {
    o.url = fmt::format("{}:{}", unix_scheme(r.type), r.path);
  } else {
    o.url = fmt::format("{}://{}", unix_scheme(r.type), r.path);
    o.path = r.path;
    struct stat st {};
    if (::lstat(r.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      o.uid = st.st_uid;
      o.gid = st.st_gid;
      o.mode = st.st_mode & 07777;
    }
  }
  o.details.emplace_back("inode", std::to_string(r.inode));
  return o;
}

// Listening sockets and bound datagram sockets that have a name.
void list_unix(std::vector<Object>& out, std::vector<ino_t>& inodes) {
  for (const auto& r : read_unix_table()) {
    bool listening = (r.flags & kAcceptCon) != 0;
    bool bound_dgram = r.type == 2 && r.st == 1 && !is_autobind(r.path);
    if (!listening && !bound_dgram) continue;
    out.push_back(unix_object(r));
    inodes.push_back(r.inode);
  }
}

void add_socket_users(Object& o, const ProcessIndex& idx, ino_t inode) {
  auto it = idx.sockets.find(inode);
  if (it == idx.sockets.end()) return;
  for (pid_t p : it->second) add_process(o, p, o.socket_state == "listening" ? "listening" : "open");
}

// Users and state for everything listed, once the process index is built.
void attach_users(std::vector<Object>& objects, const std::vector<ino_t>& socket_inodes, const ProcessIndex& idx) {
  std::size_t sock = 0;
  for (auto& o : objects) {
    switch (o.kind) {
      case Kind::sysv_shm: {
        auto it = idx.sysv_shm.find(o.id.value_or(-1));
        if (it != idx.sysv_shm.end()) {
          for (pid_t p : it->second) add_process(o, p, "attached");
        }
        break;
      }
      case Kind::posix_shm:
      case Kind::posix_sem:
      case Kind::posix_mq:
      case Kind::fifo:
      case Kind::ring: {
        struct stat st {};
        if (!o.path.empty() && ::stat(o.path.c_str(), &st) == 0) add_file_users(o, idx, st.st_dev, st.st_ino);
        break;
      }
      case Kind::unix_socket:
        if (sock < socket_inodes.size()) add_socket_users(o, idx, socket_inodes[sock++]);
        break;
      case Kind::sysv_sem:
      case Kind::sysv_msg: break;
    }
    judge(o, idx);
  }
}

bool wants(const std::vector<Kind>& kinds, Kind k) {
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

std::string_view kind_noun(Kind k) {
  switch (k) {
    case Kind::sysv_shm: return "shared memory segment";
    case Kind::sysv_sem: return "semaphore set";
    case Kind::sysv_msg: return "message queue";
    default: return to_string(k);
  }
}

std::unexpected<Error> not_found(const Url& u, std::string what) {
  return fail(Error::from_errno("stat", ENOENT, u.text).with_detail(std::move(what)));
}

Result<std::int32_t> key_of(const Url& u) {
  if (!u.ftok_path.empty()) {
    auto proj = u.option_uint("proj", 0);
    if (!proj) return std::unexpected(proj.error());
    key_t k = ::ftok(u.ftok_path.c_str(), static_cast<int>(*proj));
    if (k == -1) return fail_errno("ftok", errno, u.ftok_path);
    return static_cast<std::int32_t>(k);
  }
  return u.key.value_or(0);
}

Kind kind_of_scheme(Scheme s) {
  switch (s) {
    case Scheme::sysvshm: return Kind::sysv_shm;
    case Scheme::sysvsem: return Kind::sysv_sem;
    case Scheme::sysvmq: return Kind::sysv_msg;
    case Scheme::posixshm: return Kind::posix_shm;
    case Scheme::posixsem: return Kind::posix_sem;
    case Scheme::posixmq: return Kind::posix_mq;
    case Scheme::fifo: return Kind::fifo;
    case Scheme::shm: return Kind::ring;
    default: return Kind::unix_socket;
  }
}

// One object, with its users and state.
Result<Object> finish(Object o, const std::vector<ino_t>& socket_inodes = {}) {
  auto idx = scan_processes(o.kind == Kind::sysv_shm || o.kind == Kind::posix_shm || o.kind == Kind::posix_sem ||
                            o.kind == Kind::ring);
  std::vector<Object> one;
  one.push_back(std::move(o));
  attach_users(one, socket_inodes, idx);
  return std::move(one.front());
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
  return not_found(u, fmt::format("no System V {} with key 0x{:08x}", kind_noun(k), static_cast<std::uint32_t>(*key)));
}

Result<Object> stat_posix(const Url& u) {
  Kind k = kind_of_scheme(u.scheme);
  if (k == Kind::posix_mq) {
    auto mounted = ensure_mqueue_mounted(true);
    Object o;
    o.kind = k;
    o.name = u.name;
    o.url = "posixmq://" + u.name;
    if (mounted && *mounted) {
      o.path = std::string(kMqueueDir) + u.name;
      struct stat st {};
      if (::stat(o.path.c_str(), &st) != 0) {
        if (errno == ENOENT) return not_found(u, fmt::format("no POSIX message queue {}", u.name));
        return fail_errno("stat", errno, o.path);
      }
      fill_from_stat(o, st);
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
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return not_found(u, fmt::format("no POSIX {} {} ({} does not exist)",
                                      k == Kind::posix_sem ? "semaphore" : "shared memory object", u.name, path));
    }
    return fail_errno("stat", errno, path);
  }
  auto o = posix_shm_object(entry, st, true);
  if (!o) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a regular file", path));
  return finish(std::move(*o));
}

Result<Object> stat_ring(const Url& u) {
  if (!u.options.empty()) {
    return fail(Errc::invalid_argument, "stat", u.text, "a ring is named by shm://NAME alone; its options are fixed at creation");
  }
  std::string entry = std::string(kRingPrefix) + u.name;
  std::string path = ring_path(u.name);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return not_found(u, fmt::format("no ring {} ({} does not exist)", u.name, path));
    return fail_errno("stat", errno, path);
  }
  auto o = posix_shm_object(entry, st, true);
  if (!o) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a regular file", path));
  return finish(std::move(*o));
}

Result<Object> stat_fifo(const Url& u) {
  struct stat st {};
  if (::stat(u.name.c_str(), &st) != 0) {
    if (errno == ENOENT) return not_found(u, fmt::format("no FIFO at {}", u.name));
    return fail_errno("stat", errno, u.name);
  }
  if (!S_ISFIFO(st.st_mode)) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a FIFO", u.name));
  Object o;
  o.kind = Kind::fifo;
  o.name = u.name;
  o.url = "fifo://" + u.name;
  o.path = u.name;
  fill_from_stat(o, st);
  return finish(std::move(o));
}

Result<Object> stat_unix(const Url& u) {
  const std::string want = u.abstract ? "@" + u.name : u.name;
  std::optional<Object> found;
  std::vector<ino_t> inodes;
  for (const auto& r : read_unix_table()) {
    if (r.path != want) continue;
    // Prefer the listening/bound socket over connected ones that share the name.
    bool better = !found || ((r.flags & kAcceptCon) && found->socket_state != "listening");
    if (better) {
      found = unix_object(r);
      inodes = {r.inode};
    }
  }
  if (!found) {
    if (u.abstract) return not_found(u, fmt::format("no socket is bound to the abstract name @{}", u.name));
    struct stat st {};
    if (::lstat(u.name.c_str(), &st) != 0) {
      if (errno == ENOENT) return not_found(u, fmt::format("no socket at {}", u.name));
      return fail_errno("stat", errno, u.name);
    }
    if (!S_ISSOCK(st.st_mode)) return fail(Errc::invalid_argument, "stat", u.text, fmt::format("{} is not a socket", u.name));
    Object o;
    o.kind = Kind::unix_socket;
    o.name = u.name;
    o.url = "unix://" + u.name;
    o.path = u.name;
    o.socket_state = "unbound";
    fill_from_stat(o, st);
    return finish(std::move(o));
  }
  return finish(std::move(*found), inodes);
}

}  // namespace

std::string_view to_string(Kind k) noexcept {
  switch (k) {
    case Kind::sysv_shm: return "sysvshm";
    case Kind::sysv_sem: return "sysvsem";
    case Kind::sysv_msg: return "sysvmq";
    case Kind::posix_shm: return "posixshm";
    case Kind::posix_sem: return "posixsem";
    case Kind::posix_mq: return "posixmq";
    case Kind::unix_socket: return "unix";
    case Kind::fifo: return "fifo";
    case Kind::ring: return "shm";
  }
  return "?";
}

std::optional<Kind> kind_from_string(std::string_view s) noexcept {
  if (s == "unixgram" || s == "unixpacket") return Kind::unix_socket;
  if (s == "ring") return Kind::ring;
  for (Kind k : all_kinds()) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

std::vector<Kind> all_kinds() {
  return {Kind::sysv_shm, Kind::sysv_sem, Kind::sysv_msg, Kind::posix_shm, Kind::posix_sem,
          Kind::posix_mq, Kind::ring,     Kind::unix_socket, Kind::fifo};
}

std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::in_use: return "in-use";
    case State::stale: return "stale";
    case State::unknown: return "unknown";
  }
  return "?";
}

std::vector<pid_t> Object::users() const {
  std::vector<pid_t> out;
  for (const auto& p : processes) {
    bool using_now = p.role == "attached" || p.role == "open" || p.role == "mapped" || p.role == "notify" ||
                     p.role == "listening";
    if (p.alive && using_now && std::find(out.begin(), out.end(), p.pid) == out.end()) out.push_back(p.pid);
  }
  return out;
}

Result<bool> ensure_mqueue_mounted(bool mount_if_root) {
  if (mqueue_mounted()) return true;
  if (!mount_if_root || ::geteuid() != 0) return false;
  if (::mkdir(kMqueueDir, 0755) != 0 && errno != EEXIST) return fail_errno("mkdir", errno, kMqueueDir);
  if (::mount("none", kMqueueDir, "mqueue", 0, nullptr) != 0) return fail_errno("mount", errno, kMqueueDir);
  return true;
}

Result<Listing> list_objects(const ListOptions& lo) {
  Listing l;
  const auto& k = lo.kinds;
  if (wants(k, Kind::sysv_shm)) list_sysv_shm(l.objects, l.notes);
  if (wants(k, Kind::sysv_sem)) list_sysv_sem(l.objects, l.notes, lo.details);
  if (wants(k, Kind::sysv_msg)) list_sysv_msg(l.objects, l.notes, lo.details);
  if (wants(k, Kind::posix_shm) || wants(k, Kind::posix_sem) || wants(k, Kind::ring)) {
    list_dev_shm(l.objects, l.notes, wants(k, Kind::posix_shm), wants(k, Kind::posix_sem), wants(k, Kind::ring),
                 lo.details);
  }
  if (wants(k, Kind::posix_mq)) list_mqueue(l.objects, l.notes, lo.details);
  std::vector<ino_t> socket_inodes;
  if (wants(k, Kind::unix_socket)) list_unix(l.objects, socket_inodes);
  const bool want_maps =
      wants(k, Kind::sysv_shm) || wants(k, Kind::posix_shm) || wants(k, Kind::posix_sem) || wants(k, Kind::ring);
  auto idx = scan_processes(want_maps);
  attach_users(l.objects, socket_inodes, idx);
  if (idx.hidden > 0 && ::geteuid() != 0) {
    l.notes.push_back(fmt::format("{} processes of other users could not be inspected; run as root to see every user",
                                  idx.hidden));
  }
  return l;
}

Result<Object> stat_object(const Url& u) {
  switch (u.scheme) {
    case Scheme::sysvshm:
    case Scheme::sysvsem:
    case Scheme::sysvmq: return stat_sysv(u);
    case Scheme::posixshm:
    case Scheme::posixsem:
    case Scheme::posixmq: return stat_posix(u);
    case Scheme::fifo: return stat_fifo(u);
    case Scheme::unix_stream:
    case Scheme::unix_dgram:
    case Scheme::unix_seqpacket: return stat_unix(u);
    case Scheme::shm: return stat_ring(u);
    case Scheme::tcp:
    case Scheme::udp:
      return fail(Errc::not_supported, "stat", u.text,
                  fmt::format("{}:// is a network endpoint, not an IPC object; see ss -{}lnp", to_string(u.scheme),
                              u.scheme == Scheme::tcp ? 't' : 'u'));
  }
  return fail(Errc::not_supported, "stat", u.text);
}

Result<Object> stat_object(std::string_view url) {
  auto u = Url::parse(url);
  if (!u) return std::unexpected(std::move(u.error()));
  return stat_object(*u);
}

Result<std::vector<Object>> find_objects(std::string_view spec) {
  if (spec.starts_with("/")) {
    // A path: the FIFO or socket file there.
    struct stat st {};
    if (::lstat(std::string(spec).c_str(), &st) != 0) return fail_errno("stat", errno, spec);
    std::string url;
    if (S_ISFIFO(st.st_mode)) {
      url = "fifo://" + std::string(spec);
    } else if (S_ISSOCK(st.st_mode)) {
      url = "unix://" + std::string(spec);
    } else {
      return fail(Errc::invalid_argument, "find", spec,
                  "a path names a FIFO or a socket; other objects are named by URL (posixshm:///NAME, …)");
    }
    auto o = stat_object(url);
    if (!o) return std::unexpected(std::move(o.error()));
    return std::vector<Object>{std::move(*o)};
  }
  if (spec.find(':') != std::string_view::npos && !spec.starts_with("0x") && !spec.starts_with("0X")) {
    auto o = stat_object(spec);
    if (!o) return std::unexpected(std::move(o.error()));
    return std::vector<Object>{std::move(*o)};
  }
  const bool hex = spec.starts_with("0x") || spec.starts_with("0X");
  std::optional<std::int32_t> key;
  std::optional<int> id;
  if (hex) {
    auto k = parse_sysv_key(spec);
    if (!k) {
      return fail(Errc::invalid_argument, "find", spec, "a key is 0x and up to 8 hex digits (as ipcs prints it)");
    }
    key = *k;
  } else {
    auto n = parse_num<int>(spec);
    if (!n || *n < 0) {
      return fail(Errc::invalid_argument, "find", spec,
                  "expected a URL (posixshm:///NAME, sysvshm://KEY, …), a FIFO or socket path, a SysV key (0x…) "
                  "or a SysV id (decimal)");
    }
    id = *n;
  }
  if (key && *key == 0) {
    return fail(Errc::invalid_argument, "find", spec, "key 0 is IPC_PRIVATE and names no single object; give the id");
  }
  ListOptions lo;
  lo.kinds = {Kind::sysv_shm, Kind::sysv_sem, Kind::sysv_msg};
  auto all = list_objects(lo);
  if (!all) return std::unexpected(std::move(all.error()));
  std::vector<Object> out;
  for (auto& o : all->objects) {
    if ((key && o.key == key) || (id && o.id == id)) out.push_back(std::move(o));
  }
  if (out.empty()) {
    return fail(Error::from_errno("find", ENOENT, spec)
                    .with_detail(key ? "no System V shared memory, semaphore set or message queue has this key"
                                     : "no System V shared memory, semaphore set or message queue has this id"));
  }
  return out;
}

Result<void> remove_object(const Object& o) {
  auto done = [&](Result<void> r) -> Result<void> {
    if (!r) return fail(std::move(r.error()).with_object(o.url));
    return {};
  };
  switch (o.kind) {
    case Kind::sysv_shm: return done(SysvShm::remove(o.id.value_or(-1)));
    case Kind::sysv_sem: return done(SysvSemSet::remove(o.id.value_or(-1)));
    case Kind::sysv_msg: {
      auto q = SysvMq::attach(o.id.value_or(-1));
      if (!q) return done(fail(std::move(q.error())));
      return done(q->remove());
    }
    case Kind::posix_shm: return done(PosixShm::unlink(o.name));
    case Kind::posix_sem: return done(PosixSemaphore::unlink(o.name));
    case Kind::posix_mq: return done(PosixMq::unlink(o.name));
    case Kind::fifo:
    case Kind::unix_socket:
      if (o.path.empty()) {
        return fail(Errc::not_supported, "rm", o.url,
                    "an abstract socket has no file; it goes away when its owner closes it");
      }
      return done(sys::unlink(o.path.c_str()));
    case Kind::ring: return done(remove_ring(o.name));
  }
  return fail(Errc::not_supported, "rm", o.url);
}

}  // namespace ipcx::inspect
