// SPDX-License-Identifier: MIT
// ipcx stat TARGET... [--json]: each object in detail — size and depth, limits, processes,
// permissions, times, and whether it is stale.
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/inspect.hpp"
#include "ipcx/limits.hpp"
#include "options.hpp"
#include "output.hpp"

namespace ipcx::cli {
namespace {

std::string_view kind_title(inspect::Kind k) {
  using inspect::Kind;
  switch (k) {
    case Kind::sysv_shm: return "System V shared memory segment";
    case Kind::sysv_sem: return "System V semaphore set";
    case Kind::sysv_msg: return "System V message queue";
    case Kind::posix_shm: return "POSIX shared memory object";
    case Kind::posix_sem: return "POSIX named semaphore";
    case Kind::posix_mq: return "POSIX message queue";
    case Kind::unix_socket: return "Unix socket";
    case Kind::fifo: return "FIFO (named pipe)";
    case Kind::ring: return "ipcx shared-memory ring";
  }
  return "?";
}

// One kernel limit that bounds an object: the text the table prints, and the same as
// numbers for --json (keyed by the limit's name; a name ending in _bytes says its unit).
struct Limit {
  std::string name, text;
  std::vector<std::pair<std::string, std::uint64_t>> numbers;
};

// The kernel limits that bound this object.
std::vector<Limit> limits_for(const inspect::Object& o) {
  std::vector<Limit> out;
  auto l = limits::read_limits();
  if (!l) return out;
  auto add = [&](const char* name, const std::optional<std::uint64_t>& v, bool bytes) {
    if (v) out.push_back({name, bytes ? fmt::format("{} ({})", *v, human_bytes(*v)) : std::to_string(*v), {{name, *v}}});
  };
  using inspect::Kind;
  switch (o.kind) {
    case Kind::sysv_shm:
      add("kernel.shmmax", l->shmmax, true);
      add("kernel.shmall", l->shmall, false);
      break;
    case Kind::sysv_msg:
      if (o.max_message) {
        out.push_back({"msg_qbytes", fmt::format("{} (this queue's byte capacity)", *o.max_message), {{"msg_qbytes", *o.max_message}}});
      }
      add("kernel.msgmax", l->msgmax, true);
      add("kernel.msgmnb", l->msgmnb, true);
      break;
    case Kind::sysv_sem:
      add("kernel.sem SEMMSL", l->semmsl, false);
      add("kernel.sem SEMOPM", l->semopm, false);
      break;
    case Kind::posix_mq:
      add("mq_maxmsg", o.capacity, false);
      add("mq_msgsize", o.max_message, false);
      add("fs.mqueue.msg_max", l->mq_msg_max, false);
      add("fs.mqueue.msgsize_max", l->mq_msgsize_max, true);
      break;
    case Kind::posix_shm:
    case Kind::posix_sem:
    case Kind::ring:
      if (l->dev_shm_mounted) {
        out.push_back({"/dev/shm", fmt::format("{} ({} free)", human_bytes(l->dev_shm_size), human_bytes(l->dev_shm_free)),
                       {{"/dev/shm size_bytes", l->dev_shm_size}, {"/dev/shm free_bytes", l->dev_shm_free}}});
      }
      break;
    case Kind::unix_socket:
    case Kind::fifo: break;
  }
  return out;
}

void print_object(const inspect::Object& o) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto row = [&](std::string k, std::string v) { rows.emplace_back(std::move(k), std::move(v)); };
  row("url", o.url);
  row("type", std::string(kind_title(o.kind)));
  if (o.key) row("key", fmt::format("0x{:08x}{}", static_cast<std::uint32_t>(*o.key), *o.key == 0 ? " (IPC_PRIVATE)" : ""));
  if (o.id) row("id", std::to_string(*o.id));
  if (!o.path.empty()) row("path", o.path);
  row("owner", fmt::format("{} (uid {}), group {} (gid {})", user_name(o.uid), o.uid, group_name(o.gid), o.gid));
  if (o.cuid) row("creator", fmt::format("{} (uid {}), group {} (gid {})", user_name(*o.cuid), *o.cuid, group_name(o.cgid.value_or(0)), o.cgid.value_or(0)));
  row("mode", has_mode(o) ? mode_string(o.mode) : "- (abstract: no file, no mode)");
  const bool ring = o.kind == inspect::Kind::ring;
  const bool segment = o.kind == inspect::Kind::sysv_shm || o.kind == inspect::Kind::posix_shm || ring;
  if (o.size) row(segment ? "size" : "bytes", fmt::format("{} ({})", *o.size, human_bytes(*o.size)));
  if (ring && o.capacity) {
    row("capacity", fmt::format("{} data bytes ({}), largest message {} bytes", *o.capacity, human_bytes(*o.capacity),
                                o.max_message.value_or(0)));
  }
  if (o.depth) {
    row("messages", o.capacity && !ring ? fmt::format("{} of {}", *o.depth, *o.capacity) : std::to_string(*o.depth));
  }
  if (o.attached) row("attached", std::to_string(*o.attached));
  if (o.nsems) row("semaphores", std::to_string(*o.nsems));
  if (!o.values.empty()) {
    std::string v;
    for (long x : o.values) v += fmt::format("{}{}", v.empty() ? "" : " ", x);
    row(o.values.size() == 1 ? "value" : "values", v);
  }
  if (o.waiters) row("waiters", std::to_string(*o.waiters));
  if (!o.socket_type.empty()) row("socket", fmt::format("{}, {}", o.socket_type, o.socket_state));
  else if (!o.socket_state.empty()) row("socket", o.socket_state);
  row("state", fmt::format("{}: {}", inspect::to_string(o.state), o.state_reason));
  bool first = true;
  for (const auto& p : o.processes) {
    std::string v = fmt::format("{} {}{}", p.pid, p.role, p.access.empty() ? "" : fmt::format(" ({})", p.access));
    v += p.alive ? fmt::format(", alive{}", p.comm.empty() ? "" : ": " + p.comm) : ", gone";
    row(first ? "processes" : "", v);
    first = false;
  }
  if (first) row("processes", "none");
  first = true;
  for (const auto& [k, t] : o.times) {
    row(first ? "times" : "", fmt::format("{} {}", k, local_time(t)));
    first = false;
  }
  for (const auto& [k, v] : o.details) row(k, v);
  first = true;
  for (const auto& lim : limits_for(o)) {
    row(first ? "limits" : "", fmt::format("{} {}", lim.name, lim.text));
    first = false;
  }
  std::size_t w = 0;
  for (const auto& [k, v] : rows) w = std::max(w, k.size());
  for (const auto& [k, v] : rows) fmt::print("{:<{}}  {}\n", k, w, printable(v));
}

}  // namespace

void add_stat(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("stat", "Show IPC objects in detail: size, depth, limits, processes, permissions");
  cmd->footer(
      "TARGET is a URL (posixshm:///NAME, posixsem:///NAME, posixmq:///NAME, sysvshm://KEY,\n"
      "sysvshm://id:N, sysvsem://KEY, sysvmq://KEY, fifo:///PATH, unix:///PATH, unix:@NAME),\n"
      "a SysV key as ipcs prints it (0x…) or a SysV id. Several TARGETs are shown in turn\n"
      "(--json: one array); exit 1 if one cannot be shown, 2 if one is not a valid TARGET.\n"
      "Examples:\n"
      "  ipcx stat posixmq:///orders\n"
      "  ipcx stat sysvshm://0x4000ab01 --json\n"
      "  ipcx ls -q --type posix | xargs ipcx stat");
  struct Opts {
    std::vector<std::string> targets;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("TARGET", o->targets, "The objects: URL, SysV key (0x…) or SysV id")->required();
  cmd->add_flag("--json", o->json, "One JSON object, for programs");
  cmd->callback([o, &rc] {
    // Each target in turn; one that fails does not hide the others. The exit code is the
    // worst: 2 (a target that is not one) over 1 (one that cannot be shown).
    rc = kOk;
    auto worse = [&rc](int code) { rc = std::max(rc, code); };
    auto arr = Json::array();
    bool first = true;
    for (const auto& target : o->targets) {
      auto found = inspect::find_objects(target);
      if (!found) {
        error(found.error().message());
        worse(target_exit_code(found.error()));
        continue;
      }
      if (found->size() > 1) {
        std::string list;
        for (const auto& obj : *found) list += " " + obj.url;
        error(fmt::format("stat {}: names {} objects; give one URL:{}", target, found->size(), list));
        worse(kUsage);
        continue;
      }
      const auto& obj = found->front();
      if (o->json) {
        auto j = to_json(obj);
        auto lim = Json::object();
        for (const auto& limit : limits_for(obj)) {
          for (const auto& [k, v] : limit.numbers) lim[k] = v;
        }
        j["limits"] = std::move(lim);
        arr.push_back(std::move(j));
      } else {
        if (!first) fmt::print("\n");
        print_object(obj);
      }
      first = false;
    }
    // One TARGET prints one object, as before; several print an array.
    if (o->json && !arr.empty()) fmt::print("{}\n", dump(o->targets.size() == 1 ? arr.front() : arr, true));
    std::fflush(stdout);
  });
}

}  // namespace ipcx::cli
