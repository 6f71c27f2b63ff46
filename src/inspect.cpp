// SPDX-License-Identifier: MIT
// ipcx::inspect: the public functions (ipcx/inspect.hpp), the staleness rules, and who uses
// what. The sources are read in inspect_{proc,sysv,posix,ring,unix}.cpp (inspect_internal.hpp).
#include "ipcx/inspect.hpp"

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
#include "ipcx/ring.hpp"
#include "ipcx/semaphore.hpp"
#include "ipcx/shm.hpp"
#include "ipcx/sysv_mq.hpp"
#include "ipcx/sysv_sem.hpp"
#include "ipcx/sysv_shm.hpp"
#include "sys/io.hpp"

namespace ipcx::inspect {
namespace internal {
namespace {

void set_state(Object& o, State s, std::string why) {
  o.state = s;
  o.state_reason = std::move(why);
}

// Messages nobody has read yet: kept for a reader to come, so never stale.
std::string holds_unread(std::uint64_t n) {
  return fmt::format("holds {} unread message{}; kept for a reader (remove it by URL)", n, n == 1 ? "" : "s");
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
      if (o.depth.value_or(0) > 0) return set_state(o, State::unknown, holds_unread(*o.depth));
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
        // An spsc/mpsc ring is kept for the next consumer: what it holds is not stale.
        if (pubsub) return set_state(o, State::stale, "no side attached");
        if (!o.depth) return set_state(o, State::unknown, "no side attached; what it holds could not be read");
        if (*o.depth > 0) return set_state(o, State::unknown, holds_unread(*o.depth));
        return set_state(o, State::stale, "no side attached; empty");
      }
      // A ring file whose header could not be read (short of descriptors, or not a ring):
      // nothing shows it is unused.
      return set_state(o, State::unknown, users.empty() ? "its header could not be read; cannot tell"
                                                        : fmt::format("open in {} process{}", users.size(),
                                                                      users.size() == 1 ? "" : "es"));
    }
    case Kind::posix_shm:
    case Kind::posix_sem:
    case Kind::posix_mq:
    case Kind::fifo: {
      if (!users.empty()) {
        return set_state(o, State::in_use,
                         fmt::format("used by {} process{}", users.size(), users.size() == 1 ? "" : "es"));
      }
      if (o.kind == Kind::posix_mq) {
        // A queue keeps its messages for whoever opens it next. Depth comes from
        // mq_getattr, or QSIZE (bytes) when the queue could not be opened.
        if (o.depth.value_or(0) > 0) return set_state(o, State::unknown, holds_unread(*o.depth));
        if (!o.depth && o.size.value_or(1) > 0) {
          return set_state(o, State::unknown, "its depth could not be read (mq_getattr); it may hold messages");
        }
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
        if (o.path.empty()) break;
        if (auto st = sys::stat(o.path.c_str())) add_file_users(o, idx, st->st_dev, st->st_ino);
        break;
      }
      case Kind::unix_socket:
        if (sock < socket_inodes.size()) add_socket_users(o, idx, socket_inodes[sock++]);
        break;
      case Kind::sysv_sem:
      case Kind::sysv_msg: break;
    }
    judge(o, idx);
    // Unknown is never stale: a scan that could not look everywhere cannot show nobody
    // uses it (short of descriptors, a user's /proc entries may have gone unread).
    if (o.state == State::stale && !idx.incomplete.empty()) {
      set_state(o, State::unknown, fmt::format("the process scan was incomplete ({}); cannot tell", idx.incomplete));
    }
  }
}

bool wants(const std::vector<Kind>& kinds, Kind k) {
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

}  // namespace

std::unexpected<Error> not_found(const Url& u, std::string what) {
  return fail(Error::from_errno("stat", ENOENT, u.text).with_detail(std::move(what)));
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
Result<Object> finish(Object o, const std::vector<ino_t>& socket_inodes) {
  auto idx = scan_processes(o.kind == Kind::sysv_shm || o.kind == Kind::posix_shm || o.kind == Kind::posix_sem ||
                            o.kind == Kind::ring);
  std::vector<Object> one;
  one.push_back(std::move(o));
  attach_users(one, socket_inodes, idx);
  return std::move(one.front());
}

}  // namespace internal

using namespace internal;

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
    case Scheme::nats:
    case Scheme::zmq_tcp:
    case Scheme::zmq_ipc:
      return fail(Errc::not_supported, "stat", u.text,
                  fmt::format("{}:// is a messaging endpoint, not an IPC object", to_string(u.scheme)));
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
    auto st = sys::lstat(std::string(spec).c_str());
    if (!st) return fail_errno("stat", st.error().code(), spec);
    std::string url;
    if (S_ISFIFO(st->st_mode)) {
      url = "fifo://" + url_escape(spec);
    } else if (S_ISSOCK(st->st_mode)) {
      url = "unix://" + url_escape(spec);
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
      auto q = SysvMq::open_id(o.id.value_or(-1));
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
