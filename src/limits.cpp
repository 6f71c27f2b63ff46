// SPDX-License-Identifier: MIT
#include "ipcx/limits.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "kernel_limits.hpp"
#include "sys/io.hpp"
#include "sys/process.hpp"

namespace ipcx::limits {
namespace {

std::string join(std::string_view root, std::string_view path) {
  if (root.empty() || root == "/") return std::string(path);
  std::string r(root);
  while (!r.empty() && r.back() == '/') r.pop_back();
  return r + std::string(path);
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::uint64_t> read_number(std::string_view root, std::string_view sysctl) {
  auto v = detail::read_sysctl_numbers(sysctl, root);
  if (v.empty()) return std::nullopt;
  return v.front();
}

Rlimit rlimit(int which) {
  Rlimit out;
  auto r = sys::getrlimit(which);
  if (!r) return out;
  out.soft = r->rlim_cur == RLIM64_INFINITY ? UINT64_MAX : r->rlim_cur;
  out.hard = r->rlim_max == RLIM64_INFINITY ? UINT64_MAX : r->rlim_max;
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// RemoveIPC= in a logind.conf-style file, within [Login]; the last assignment wins.
void scan_logind_file(const std::string& path, Limits& l) {
  auto text = read_text(path);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  bool in_login = false;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      in_login = t == "[Login]";
      continue;
    }
    if (!in_login || !t.starts_with("RemoveIPC")) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos || trim(std::string_view(t).substr(0, eq)) != "RemoveIPC") continue;
    std::string v = trim(std::string_view(t).substr(eq + 1));
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (v == "yes" || v == "true" || v == "1" || v == "on") {
      l.remove_ipc = true;
    } else if (v == "no" || v == "false" || v == "0" || v == "off") {
      l.remove_ipc = false;
    } else {
      continue;
    }
    l.remove_ipc_source = path;
  }
}

std::vector<std::string> conf_files(const std::string& dir) {
  std::vector<std::string> out;
  auto names = sys::readdir_names(dir.c_str());
  if (!names) return out;
  for (auto& n : *names) {
    if (n.size() > 5 && n.ends_with(".conf")) out.push_back(std::move(n));
  }
  return out;
}

// systemd's order: the main file, then drop-ins sorted by file name over every directory
// (a name in /etc hides the same name in /run and /usr/lib).
void read_logind(std::string_view root, Limits& l) {
  const std::string main_conf = join(root, "/etc/systemd/logind.conf");
  for (const char* bin : {"/usr/lib/systemd/systemd-logind", "/lib/systemd/systemd-logind"}) {
    if (sys::stat(join(root, bin).c_str())) l.logind_present = true;
  }
  if (sys::stat(main_conf.c_str())) l.logind_present = true;
  scan_logind_file(main_conf, l);
  std::vector<std::pair<std::string, std::string>> dropins;  // name, full path
  for (const char* dir : {"/usr/lib/systemd/logind.conf.d", "/usr/local/lib/systemd/logind.conf.d",
                          "/run/systemd/logind.conf.d", "/etc/systemd/logind.conf.d"}) {
    std::string full = join(root, dir);
    for (auto& n : conf_files(full)) {
      auto it = std::find_if(dropins.begin(), dropins.end(), [&](const auto& p) { return p.first == n; });
      if (it != dropins.end()) {
        it->second = full + "/" + n;  // later directories take precedence
      } else {
        dropins.emplace_back(n, full + "/" + n);
      }
    }
  }
  std::sort(dropins.begin(), dropins.end());
  for (const auto& [n, path] : dropins) scan_logind_file(path, l);
  if (!dropins.empty()) l.logind_present = true;
}

std::optional<std::uint64_t> size_option(std::string_view opts, std::uint64_t page) {
  auto p = opts.find("size=");
  while (p != std::string_view::npos && p > 0 && opts[p - 1] != ',') p = opts.find("size=", p + 1);
  if (p == std::string_view::npos) return std::nullopt;
  std::string_view v = opts.substr(p + 5);
  v = v.substr(0, v.find(','));
  std::uint64_t n = 0;
  auto [q, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{}) return std::nullopt;
  std::string_view suffix(q, static_cast<std::size_t>(v.data() + v.size() - q));
  if (suffix == "k" || suffix == "K") return n << 10;
  if (suffix == "m" || suffix == "M") return n << 20;
  if (suffix == "g" || suffix == "G") return n << 30;
  if (suffix == "%") return std::nullopt;
  if (suffix.empty()) return n * (opts.find("nr_blocks") != std::string_view::npos ? page : 1);
  return std::nullopt;
}

// /proc/mounts: /dev/shm (tmpfs) and /dev/mqueue (mqueue).
void read_mounts(std::string_view root, Limits& l) {
  auto text = read_text(join(root, "/proc/mounts"));
  if (!text) text = read_text(join(root, "/proc/self/mounts"));
  if (!text) return;
  std::istringstream in(*text);
  std::string dev, dir, type, opts;
  std::string line;
  std::optional<std::uint64_t> shm_size;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (!(ls >> dev >> dir >> type >> opts)) continue;
    if (dir == "/dev/shm") {
      l.dev_shm_mounted = true;
      shm_size = size_option(opts, l.page_size);
    }
    if (dir == "/dev/mqueue" && type == "mqueue") l.mqueue_mounted = true;
  }
  if (!l.dev_shm_mounted) return;
  if (root.empty() || root == "/") {
    if (auto vfs = sys::statvfs("/dev/shm")) {
      l.dev_shm_size = static_cast<std::uint64_t>(vfs->f_blocks) * vfs->f_frsize;
      l.dev_shm_free = static_cast<std::uint64_t>(vfs->f_bavail) * vfs->f_frsize;
      return;
    }
  }
  l.dev_shm_size = shm_size.value_or(0);
  l.dev_shm_free = l.dev_shm_size;
}

std::string bytes(std::uint64_t n) {
  if (n >= (1ULL << 62)) return "unlimited";  // e.g. kernel.shmmax's default, ULONG_MAX - 2^24
  constexpr std::uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024, TiB = GiB * 1024;
  if (n >= TiB * 1024) return fmt::format("{} bytes", n);
  if (n >= TiB && n % TiB == 0) return fmt::format("{} TiB", n / TiB);
  if (n >= GiB) return fmt::format("{:.4g} GiB", static_cast<double>(n) / GiB);
  if (n >= MiB) return fmt::format("{:.4g} MiB", static_cast<double>(n) / MiB);
  if (n >= KiB) return fmt::format("{:.4g} KiB", static_cast<double>(n) / KiB);
  return fmt::format("{} bytes", n);
}

constexpr const char* kPersist = " (to keep it across reboots: a line in /etc/sysctl.d/90-ipc.conf)";

// A sysctl with a floor below which programs commonly fail.
Finding sysctl_check(std::string name, const std::optional<std::uint64_t>& v, std::uint64_t floor,
                     std::uint64_t suggest, std::string meaning, std::string when_low, bool is_bytes = false) {
  Finding f;
  f.name = std::move(name);
  if (!v) {
    f.value = "not available";
    f.verdict = Verdict::warn;
    f.detail = fmt::format("/proc/sys/{} is missing: the kernel may lack this IPC mechanism "
                           "(CONFIG_SYSVIPC / CONFIG_POSIX_MQUEUE) or /proc/sys is not mounted",
                           [&] { std::string p = f.name; std::replace(p.begin(), p.end(), '.', '/'); return p; }());
    return f;
  }
  f.value = is_bytes || *v >= (1ULL << 62) ? fmt::format("{} ({})", *v, bytes(*v)) : std::to_string(*v);
  f.numbers.emplace_back(is_bytes ? "bytes" : "count", *v);
  if (*v < floor) {
    f.verdict = Verdict::warn;
    f.detail = fmt::format("{}; below {} ({}): {}", meaning, floor, is_bytes ? bytes(floor) : "the usual default",
                           when_low);
    f.fix = fmt::format("sysctl -w {}={}{}", f.name, suggest, kPersist);
  } else {
    f.detail = meaning;
  }
  return f;
}

}  // namespace

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::warn: return "warn";
    case Verdict::fail: return "fail";
  }
  return "?";
}

Result<Limits> read_limits(std::string_view root) {
  std::string r = root.empty() ? std::string("/") : std::string(root);
  auto st = sys::stat(r.c_str());
  if (!st) return fail(std::move(st.error()));
  if (!S_ISDIR(st->st_mode)) return fail(Errc::invalid_argument, "read_limits", r, "not a directory");
  Limits l;
  long page = ::sysconf(_SC_PAGESIZE);
  if (page > 0) l.page_size = static_cast<std::uint64_t>(page);
  l.mq_msg_max = read_number(root, "fs.mqueue.msg_max");
  l.mq_msgsize_max = read_number(root, "fs.mqueue.msgsize_max");
  l.mq_queues_max = read_number(root, "fs.mqueue.queues_max");
  l.mq_msg_default = read_number(root, "fs.mqueue.msg_default");
  l.mq_msgsize_default = read_number(root, "fs.mqueue.msgsize_default");
  l.msgmax = read_number(root, "kernel.msgmax");
  l.msgmnb = read_number(root, "kernel.msgmnb");
  l.msgmni = read_number(root, "kernel.msgmni");
  l.shmmax = read_number(root, "kernel.shmmax");
  l.shmall = read_number(root, "kernel.shmall");
  l.shmmni = read_number(root, "kernel.shmmni");
  l.shm_rmid_forced = read_number(root, "kernel.shm_rmid_forced");
  auto sem = detail::read_sysctl_numbers("kernel.sem", root);
  if (sem.size() == 4) {
    l.semmsl = sem[0];
    l.semmns = sem[1];
    l.semopm = sem[2];
    l.semmni = sem[3];
  }
  l.rlimit_msgqueue = rlimit(RLIMIT_MSGQUEUE);
  l.rlimit_memlock = rlimit(RLIMIT_MEMLOCK);
  read_mounts(root, l);
  read_logind(root, l);
  return l;
}

std::vector<Finding> diagnose(const Limits& l) {
  std::vector<Finding> out;
  constexpr std::uint64_t MiB = 1 << 20;

  // /dev/shm: POSIX shared memory, POSIX semaphores and ipcx rings live there.
  {
    Finding f;
    f.name = "/dev/shm";
    if (!l.dev_shm_mounted) {
      f.value = "not mounted";
      f.flags.emplace_back("mounted", false);
      f.verdict = Verdict::fail;
      f.detail = "shm_open, sem_open and shm:// rings fail: POSIX shared memory lives in this tmpfs";
      f.fix = "mount -t tmpfs -o mode=1777,size=1g tmpfs /dev/shm";
    } else {
      f.value = fmt::format("{} ({} free)", bytes(l.dev_shm_size), bytes(l.dev_shm_free));
      f.flags.emplace_back("mounted", true);
      f.numbers = {{"size_bytes", l.dev_shm_size}, {"free_bytes", l.dev_shm_free}};
      f.detail = "holds POSIX shared memory, POSIX semaphores and shm:// rings";
      if (l.dev_shm_size > 0 && l.dev_shm_size < 256 * MiB) {
        f.verdict = Verdict::warn;
        f.detail += fmt::format("; only {} (containers default to 64 MiB): a larger segment or ring fails at "
                                "create in ipcx, and with SIGBUS on first touch in programs that do not check",
                                bytes(l.dev_shm_size));
        f.fix = "docker/podman run --shm-size=1g; Kubernetes: an emptyDir with medium: Memory at /dev/shm; "
                "on a host: mount -o remount,size=1g /dev/shm";
      } else if (l.dev_shm_size > 0 && l.dev_shm_free < l.dev_shm_size / 10) {
        f.verdict = Verdict::warn;
        f.detail += "; less than 10% free: new segments will fail";
        f.fix = "ipcx ls --type posixshm --stale, then ipcx rm --stale to remove what nobody uses; or remount larger";
      }
    }
    out.push_back(std::move(f));
  }
  {
    Finding f;
    f.name = "/dev/mqueue";
    f.flags.emplace_back("mounted", l.mqueue_mounted);
    if (l.mqueue_mounted) {
      f.value = "mounted";
      f.detail = "POSIX message queues can be listed (ipcx ls, ls /dev/mqueue)";
    } else {
      f.value = "not mounted";
      f.verdict = Verdict::warn;
      f.detail = "POSIX message queues work, but cannot be listed or inspected by name";
      f.fix = "mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue (ipcx ls does this when run as root)";
    }
    out.push_back(std::move(f));
  }

  out.push_back(sysctl_check("fs.mqueue.msg_max", l.mq_msg_max, 10, 1024,
                             "the most messages a POSIX queue may hold (mq_maxmsg); unprivileged mq_open above it fails with EINVAL",
                             "queues are shallower than most programs expect"));
  out.push_back(sysctl_check("fs.mqueue.msgsize_max", l.mq_msgsize_max, 8192, 65536,
                             "the largest POSIX queue message (mq_msgsize)", "larger messages cannot be queued", true));
  out.push_back(sysctl_check("fs.mqueue.queues_max", l.mq_queues_max, 256, 1024,
                             "POSIX queues on the host (root is exempt)", "mq_open fails with ENOSPC early"));
  out.push_back(sysctl_check("kernel.msgmax", l.msgmax, 8192, 65536, "the largest System V message",
                             "msgsnd fails with EINVAL for larger messages", true));
  out.push_back(sysctl_check("kernel.msgmnb", l.msgmnb, 16384, 65536,
                             "bytes one System V queue holds by default (msg_qbytes)",
                             "senders block (or fail with IPC_NOWAIT) sooner", true));
  out.push_back(sysctl_check("kernel.msgmni", l.msgmni, 1024, 32000, "System V message queues on the host",
                             "msgget fails with ENOSPC"));
  out.push_back(sysctl_check("kernel.shmmax", l.shmmax, 1ULL << 30, 1ULL << 36, "the largest System V segment",
                             "shmget fails with EINVAL for larger segments", true));
  {
    std::optional<std::uint64_t> shmall_bytes;
    if (l.shmall) shmall_bytes = *l.shmall > UINT64_MAX / l.page_size ? UINT64_MAX : *l.shmall * l.page_size;
    auto f = sysctl_check("kernel.shmall", l.shmall, (1ULL << 30) / l.page_size, (1ULL << 36) / l.page_size,
                          fmt::format("System V shared memory on the host, in pages of {} bytes{}", l.page_size,
                                      shmall_bytes ? fmt::format(" ({})", bytes(*shmall_bytes)) : ""),
                          "shmget fails with ENOSPC");
    if (shmall_bytes) f.numbers = {{"pages", *l.shmall}, {"bytes", *shmall_bytes}};
    out.push_back(std::move(f));
  }
  out.push_back(sysctl_check("kernel.shmmni", l.shmmni, 4096, 4096, "System V segments on the host",
                             "shmget fails with ENOSPC"));
  if (l.shm_rmid_forced) {
    Finding f;
    f.name = "kernel.shm_rmid_forced";
    f.value = std::to_string(*l.shm_rmid_forced);
    f.numbers.emplace_back("count", *l.shm_rmid_forced);
    if (*l.shm_rmid_forced != 0) {
      f.verdict = Verdict::warn;
      f.detail = "System V segments are destroyed when their last process detaches (or their creator exits "
                 "without attaching): a segment cannot outlive its users";
      f.fix = "sysctl -w kernel.shm_rmid_forced=0";
    } else {
      f.detail = "System V segments live until removed (ipcx rm / ipcrm), even with no process attached";
    }
    out.push_back(std::move(f));
  }
  {
    Finding f;
    f.name = "kernel.sem";
    if (!l.semmsl) {
      f.value = "not available";
      f.verdict = Verdict::warn;
      f.detail = "/proc/sys/kernel/sem is missing: the kernel may lack System V IPC";
    } else {
      f.value = fmt::format("{} {} {} {}", *l.semmsl, *l.semmns, *l.semopm, *l.semmni);
      f.numbers = {{"semmsl", *l.semmsl}, {"semmns", *l.semmns}, {"semopm", *l.semopm}, {"semmni", *l.semmni}};
      f.detail = "SEMMSL (semaphores per set), SEMMNS (on the host), SEMOPM (operations per semop), SEMMNI (sets)";
      std::vector<std::string> low;
      if (*l.semmsl < 250) low.push_back(fmt::format("SEMMSL {} < 250", *l.semmsl));
      if (*l.semmns < 32000) low.push_back(fmt::format("SEMMNS {} < 32000", *l.semmns));
      if (*l.semopm < 32) low.push_back(fmt::format("SEMOPM {} < 32", *l.semopm));
      if (*l.semmni < 128) low.push_back(fmt::format("SEMMNI {} < 128", *l.semmni));
      if (!low.empty()) {
        f.verdict = Verdict::warn;
        std::string list;
        for (const auto& s : low) list += (list.empty() ? "" : ", ") + s;
        f.detail += "; low: " + list + " (semget or semop fails with EINVAL/ENOSPC/E2BIG)";
        f.fix = fmt::format("sysctl -w kernel.sem=\"32000 1024000000 500 32000\"{}", kPersist);
      }
    }
    out.push_back(std::move(f));
  }
  {
    Finding f;
    f.name = "RLIMIT_MSGQUEUE";
    f.value = fmt::format("{} (hard {})", bytes(l.rlimit_msgqueue.soft), bytes(l.rlimit_msgqueue.hard));
    f.numbers = {{"soft_bytes", l.rlimit_msgqueue.soft}, {"hard_bytes", l.rlimit_msgqueue.hard}};
    f.detail = "bytes all of this user's POSIX queues may reserve (each: mq_maxmsg x mq_msgsize plus overhead)";
    if (l.rlimit_msgqueue.soft < 819200) {
      f.verdict = Verdict::warn;
      f.detail += "; below the kernel default of 800 KiB: mq_open fails with EMFILE early";
      f.fix = "ulimit -q unlimited (shell); LimitMSGQUEUE=infinity (systemd unit); msgqueue in /etc/security/limits.conf";
    }
    out.push_back(std::move(f));
  }
  {
    Finding f;
    f.name = "RLIMIT_MEMLOCK";
    f.value = fmt::format("{} (hard {})", bytes(l.rlimit_memlock.soft), bytes(l.rlimit_memlock.hard));
    f.numbers = {{"soft_bytes", l.rlimit_memlock.soft}, {"hard_bytes", l.rlimit_memlock.hard}};
    f.detail = "memory this process may lock (mlock, MAP_LOCKED, SHM_LOCK, huge-page segments)";
    if (l.rlimit_memlock.soft < 8 * MiB) {
      f.verdict = Verdict::warn;
      f.detail += "; below 8 MiB: locking a ring or segment in memory fails with ENOMEM/EPERM";
      f.fix = "ulimit -l unlimited (shell); LimitMEMLOCK=infinity (systemd unit); memlock in /etc/security/limits.conf";
    }
    out.push_back(std::move(f));
  }
  {
    Finding f;
    f.name = "systemd-logind RemoveIPC";
    f.flags.emplace_back("logind", l.logind_present);
    if (!l.logind_present) {
      f.value = "no logind";
      f.detail = "systemd-logind is not installed: nothing removes IPC objects at logout";
    } else {
      bool on = l.remove_ipc.value_or(true);
      f.flags.emplace_back("remove_ipc", on);
      f.value = l.remove_ipc ? fmt::format("{} ({})", on ? "yes" : "no", l.remove_ipc_source) : "yes (default)";
      if (on) {
        f.verdict = Verdict::warn;
        f.detail = "when a regular user's (UID >= 1000) last session ends, logind removes every IPC object they "
                   "own: a service or tmux running as that user loses its queues, segments and semaphores";
        f.fix = "run services as system users (UID < 1000), or set RemoveIPC=no in "
                "/etc/systemd/logind.conf.d/ipc.conf and restart systemd-logind";
      } else {
        f.detail = "IPC objects survive logout";
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace ipcx::limits
