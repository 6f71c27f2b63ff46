// SPDX-License-Identifier: MIT
// ipcx rm TARGET... | --stale: remove IPC objects, refusing any a live process uses.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/inspect.hpp"
#include "options.hpp"
#include "output.hpp"
#include "select.hpp"

namespace ipcx::cli {
namespace {

struct Opts {
  std::vector<std::string> targets;
  bool stale = false;
  bool yes = false;
  bool force = false;
  bool dry_run = false;
  bool verbose = false;
  std::vector<std::string> types;
  std::vector<std::string> match;
  // ipcrm's spellings.
  std::vector<int> shmid, msqid, semid;
  std::vector<std::string> shmkey, msgkey, semkey;
};

// Asks on the terminal; anything but y/yes is no.
bool confirm(std::size_t n) {
  fmt::print(stderr, "Remove {} object{}? [y/N] ", n, n == 1 ? "" : "s");
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

// Removes one object it was given, unless a live process uses it and --force is not set.
bool remove_one(const inspect::Object& obj, const Opts& o) {
  if (obj.state == inspect::State::in_use && !o.force) {
    std::string who;
    for (pid_t p : obj.users()) who += fmt::format("{}{}", who.empty() ? " (pid " : ", ", p);
    if (!who.empty()) who += ")";
    error(fmt::format("rm {}: in use: {}{}; not removed (--force removes it anyway)", obj.url, obj.state_reason, who));
    return false;
  }
  if (o.dry_run) {
    fmt::print("would remove {}\n", obj.url);
    return true;
  }
  auto r = inspect::remove_object(obj);
  if (!r) {
    error(fmt::format("rm {}: {}", obj.url, r.error().message()));
    return false;
  }
  if (o.verbose) fmt::print("removed {}\n", obj.url);
  return true;
}

int remove_stale(const Opts& o) {
  inspect::ListOptions lo;
  if (!parse_kinds(o.types, lo.kinds)) return kUsage;
  auto pick = [&](const inspect::Listing& l) {
    std::vector<inspect::Object> out;
    for (const auto& obj : l.objects) {
      if (obj.state == inspect::State::stale && matches_any(obj.url, o.match)) out.push_back(obj);
    }
    return out;
  };
  auto listing = inspect::list_objects(lo);
  if (!listing) {
    error(listing.error().message());
    return kRuntimeError;
  }
  for (const auto& n : listing->notes) error("note: " + n);
  auto stale = pick(*listing);
  if (stale.empty()) {
    error("rm --stale: no stale objects");
    return kOk;
  }
  if (o.dry_run) {
    for (const auto& obj : stale) fmt::print("would remove {}  ({})\n", obj.url, obj.state_reason);
    return kOk;
  }
  if (!o.yes && ::isatty(STDIN_FILENO)) {
    for (const auto& obj : stale) fmt::print(stderr, "  {}  ({})\n", obj.url, obj.state_reason);
    if (!confirm(stale.size())) {
      error("rm --stale: nothing removed");
      return kRuntimeError;
    }
    // The question may have taken a while: look again, and remove only what is still stale.
    auto again = inspect::list_objects(lo);
    if (!again) {
      error(again.error().message());
      return kRuntimeError;
    }
    std::set<std::string> confirmed;
    for (const auto& obj : stale) confirmed.insert(obj.url);
    stale.clear();
    for (auto& obj : pick(*again)) {
      if (confirmed.contains(obj.url)) stale.push_back(std::move(obj));
    }
  }
  int rc = kOk;
  for (const auto& obj : stale) {
    auto r = inspect::remove_object(obj);
    if (!r) {
      // Gone meanwhile is what was wanted; any other failure is said (EINVAL is also what a
      // name ipcx cannot pass to the call gets, and that object is still there).
      if (r.error().code() == ENOENT || r.error().code() == EIDRM) continue;
      if (r.error().code() == EINVAL) {
        auto still = inspect::stat_object(obj.url);
        if (!still && still.error().code() == ENOENT) continue;
      }
      error(fmt::format("rm {}: {}", obj.url, r.error().message()));
      rc = kRuntimeError;
      continue;
    }
    fmt::print("removed {}\n", obj.url);
  }
  return rc;
}

}  // namespace

void add_rm(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("rm", "Remove IPC objects by URL, SysV key or id, or every stale one");
  cmd->footer(
      "An object a live process uses (attached, open, mapped, waited on, or made or last used\n"
      "by a live process) is not removed unless --force. --stale removes every object whose\n"
      "creator and users are gone; on a terminal it lists them and asks first.\n"
      "Exit status: 0 all removed, 1 something was not removed, 2 usage.\n"
      "Examples:\n"
      "  ipcx rm posixshm:///cam0 sysvmq://0x4000ab01\n"
      "  ipcx rm 0x4000ab01            # a key as ipcs prints it\n"
      "  ipcx rm -m 32769              # shmid, as ipcrm -m (ipcrm -q is --msqid: -q is --quiet elsewhere)\n"
      "  ipcx rm --stale --type sysvshm,posixshm --yes");
  auto o = std::make_shared<Opts>();
  cmd->add_option("TARGET", o->targets, "URL, SysV key (0x…) or SysV id");
  cmd->add_flag("--stale", o->stale, "Remove every stale object (see ipcx ls --stale)");
  cmd->add_flag("-y,--yes", o->yes, "Do not ask before removing stale objects");
  cmd->add_flag("-f,--force", o->force, "Remove even if a live process uses it");
  cmd->add_flag("--dry-run", o->dry_run, "Say what would be removed; remove nothing");
  cmd->add_flag("-v,--verbose", o->verbose, "Print each object removed");
  cmd->add_option("--type", o->types, "--stale: only these types, comma-separated: " + kinds_help())->type_name("TYPE")->allow_extra_args(false);
  cmd->add_option("--match", o->match, "--stale: only objects whose URL matches this shell glob (repeatable)")
      ->type_name("GLOB")->allow_extra_args(false);
  cmd->add_option("-m,--shmid", o->shmid, "System V segment by id (ipcrm -m)")->type_name("ID")->allow_extra_args(false);
  cmd->add_option("-M,--shmkey", o->shmkey, "System V segment by key (ipcrm -M)")->type_name("KEY")->allow_extra_args(false);
  cmd->add_option("--msqid", o->msqid, "System V queue by id (ipcrm -q)")->type_name("ID")->allow_extra_args(false);
  cmd->add_option("-Q,--msgkey", o->msgkey, "System V queue by key (ipcrm -Q)")->type_name("KEY")->allow_extra_args(false);
  cmd->add_option("-s,--semid", o->semid, "System V semaphore set by id (ipcrm -s)")->type_name("ID")->allow_extra_args(false);
  cmd->add_option("-S,--semkey", o->semkey, "System V semaphore set by key (ipcrm -S)")->type_name("KEY")->allow_extra_args(false);
  cmd->callback([o, &rc] {
    for (int id : o->shmid) o->targets.push_back(fmt::format("sysvshm://id:{}", id));
    for (int id : o->msqid) o->targets.push_back(fmt::format("sysvmq://id:{}", id));
    for (int id : o->semid) o->targets.push_back(fmt::format("sysvsem://id:{}", id));
    for (const auto& k : o->shmkey) o->targets.push_back("sysvshm://" + k);
    for (const auto& k : o->msgkey) o->targets.push_back("sysvmq://" + k);
    for (const auto& k : o->semkey) o->targets.push_back("sysvsem://" + k);
    if (o->stale && !o->targets.empty()) {
      error("rm: give TARGETs or --stale, not both");
      rc = kUsage;
      return;
    }
    if (!o->stale && o->targets.empty()) {
      error("rm: nothing to remove: give a TARGET (URL, SysV key or id) or --stale");
      rc = kUsage;
      return;
    }
    if (!o->stale && (!o->types.empty() || !o->match.empty())) {
      error("rm: --type and --match select among stale objects; use them with --stale");
      rc = kUsage;
      return;
    }
    if (o->stale) {
      rc = remove_stale(*o);
      return;
    }
    // Resolve every target first: a typo or an ambiguous key removes nothing.
    rc = kOk;
    std::vector<inspect::Object> objects;
    for (const auto& t : o->targets) {
      auto found = inspect::find_objects(t);
      if (!found) {
        error(fmt::format("rm: {}", found.error().message()));
        rc = target_exit_code(found.error());
        if (rc == kUsage) return;
        continue;
      }
      if (found->size() > 1) {
        std::string list;
        for (const auto& obj : *found) list += " " + obj.url;
        error(fmt::format("rm {}: names {} objects; give one URL:{}", t, found->size(), list));
        rc = kUsage;
        return;
      }
      objects.push_back(std::move(found->front()));
    }
    for (const auto& obj : objects) {
      if (!remove_one(obj, *o)) rc = kRuntimeError;
    }
  });
}

}  // namespace ipcx::cli
