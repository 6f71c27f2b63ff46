// SPDX-License-Identifier: MIT
// ipcx stat TARGET [--json]: one object in detail — size and depth, limits, processes,
// permissions, times, and whether it is stale.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/inspect.hpp"
#include "ipcx/limits.hpp"
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

// The kernel limits that bound this object, as "name value" pairs.
std::vector<std::pair<std::string, std::string>> limits_for(const inspect::Object& o) {
  std::vector<std::pair<std::string, std::string>> out;
  auto l = limits::read_limits();
  if (!l) return out;
  auto add = [&](const char* name, const std::optional<std::uint64_t>& v, bool bytes) {
    if (v) out.emplace_back(name, bytes ? fmt::format("{} ({})", *v, human_bytes(*v)) : std::to_string(*v));
  };
  using inspect::Kind;
  switch (o.kind) {
    case Kind::sysv_shm:
      add("kernel.shmmax", l->shmmax, true);
      add("kernel.shmall", l->shmall, false);
      break;
    case Kind::sysv_msg:
      if (o.max_message) out.emplace_back("msg_qbytes", fmt::format("{} (this queue's byte capacity)", *o.max_message));
      add("kernel.msgmax", l->msgmax, true);
      add("kernel.msgmnb", l->msgmnb, true);
      break;
    case Kind::sysv_sem:
      add("kernel.sem SEMMSL", l->semmsl, false);
      add("kernel.sem SEMOPM", l->semopm, false);
      break;
    case Kind::posix_mq:
      if (o.capacity) out.emplace_back("mq_maxmsg", std::to_string(*o.capacity));
      if (o.max_message) out.emplace_back("mq_msgsize", std::to_string(*o.max_message));
      add("fs.mqueue.msg_max", l->mq_msg_max, false);
      add("fs.mqueue.msgsize_max", l->mq_msgsize_max, true);
      break;
    case Kind::posix_shm:
    case Kind::posix_sem:
    case Kind::ring:
      if (l->dev_shm_mounted) {
        out.emplace_back("/dev/shm", fmt::format("{} ({} free)", human_bytes(l->dev_shm_size), human_bytes(l->dev_shm_free)));
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
  row("mode", mode_string(o.mode));
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
  for (const auto& [k, v] : limits_for(o)) {
    row(first ? "limits" : "", fmt::format("{} {}", k, v));
    first = false;
  }
  std::size_t w = 0;
  for (const auto& [k, v] : rows) w = std::max(w, k.size());
  for (const auto& [k, v] : rows) fmt::print("{:<{}}  {}\n", k, w, printable(v));
}

}  // namespace

void add_stat(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("stat", "Show one IPC object in detail: size, depth, limits, processes, permissions");
  cmd->footer(
      "TARGET is a URL (posixshm:///NAME, posixsem:///NAME, posixmq:///NAME, sysvshm://KEY,\n"
      "sysvshm://id:N, sysvsem://KEY, sysvmq://KEY, fifo:///PATH, unix:///PATH, unix:@NAME),\n"
      "a SysV key as ipcs prints it (0x…) or a SysV id.\n"
      "Examples:\n"
      "  ipcx stat posixmq:///orders\n"
      "  ipcx stat sysvshm://0x4000ab01 --json");
  struct Opts {
    std::string target;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("TARGET", o->target, "The object: URL, SysV key (0x…) or SysV id")->required();
  cmd->add_flag("--json", o->json, "One JSON object, for programs");
  cmd->callback([o, &rc] {
    auto found = inspect::find_objects(o->target);
    if (!found) {
      error(found.error().message());
      rc = found.error().kind() == Errc::bad_url || found.error().kind() == Errc::invalid_argument ? kUsage
                                                                                                     : kRuntimeError;
      return;
    }
    if (found->size() > 1) {
      std::string list;
      for (const auto& obj : *found) list += " " + obj.url;
      error(fmt::format("stat {}: names {} objects; give one URL:{}", o->target, found->size(), list));
      rc = kUsage;
      return;
    }
    const auto& obj = found->front();
    if (o->json) {
      auto j = to_json(obj);
      auto lim = Json::object();
      for (const auto& [k, v] : limits_for(obj)) lim[k] = v;
      j["limits"] = std::move(lim);
      fmt::print("{}\n", dump(j, true));
    } else {
      print_object(obj);
    }
    std::fflush(stdout);
    rc = kOk;
  });
}

}  // namespace ipcx::cli
