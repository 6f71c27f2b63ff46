// SPDX-License-Identifier: MIT
// ipcx ls [--json] [--type T] [--stale] [--match GLOB] [-q]: every IPC object on the host.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/inspect.hpp"
#include "output.hpp"
#include "select.hpp"

namespace ipcx::cli {

void add_ls(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("ls", "List every IPC object on this host: System V, POSIX, Unix sockets, rings");
  cmd->footer(
      "STATE is in-use (a live process uses it), stale (nobody uses it and every process\n"
      "known to have used it is gone) or unknown. See docs/cli.md for the rules per type.\n"
      "Examples:\n"
      "  ipcx ls\n"
      "  ipcx ls --type sysvshm,posixshm --stale\n"
      "  ipcx ls --json | jq '.[] | select(.state == \"stale\") | .url'");
  struct Opts {
    bool json = false;
    bool stale = false;
    bool quiet = false;
    std::vector<std::string> types;
    std::vector<std::string> match;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_flag("--json", o->json, "One JSON array of objects, for programs");
  cmd->add_option("--type", o->types, "Only these types, comma-separated: " + kinds_help())->type_name("TYPE")->allow_extra_args(false);
  cmd->add_flag("--stale", o->stale, "Only objects whose creator and users are gone");
  cmd->add_option("--match", o->match, "Only objects whose URL matches this shell glob (repeatable)")->type_name("GLOB")->allow_extra_args(false);
  cmd->add_flag("-q,--quiet", o->quiet, "Print only the URLs, one per line");
  cmd->callback([o, &rc] {
    inspect::ListOptions lo;
    if (!parse_kinds(o->types, lo.kinds)) {
      rc = kUsage;
      return;
    }
    auto listing = inspect::list_objects(lo);
    if (!listing) {
      error(listing.error().message());
      rc = kRuntimeError;
      return;
    }
    for (const auto& n : listing->notes) error("note: " + n);
    std::vector<const inspect::Object*> shown;
    for (const auto& obj : listing->objects) {
      if (o->stale && obj.state != inspect::State::stale) continue;
      if (!matches_any(obj.url, o->match)) continue;
      shown.push_back(&obj);
    }
    if (o->json) {
      auto arr = Json::array();
      for (const auto* obj : shown) arr.push_back(to_json(*obj));
      fmt::print("{}\n", dump(arr, true));
    } else if (o->quiet) {
      for (const auto* obj : shown) fmt::print("{}\n", obj->url);
    } else {
      Table t({"URL", "ID", "OWNER", "MODE", "SIZE", "USE", "PROCESSES", "STATE"},
              {false, true, false, false, true, false, false, false});
      for (const auto* obj : shown) {
        t.add({obj->url, obj->id ? std::to_string(*obj->id) : "-", user_name(obj->uid),
               has_mode(*obj) ? fmt::format("{:04o}", obj->mode) : "-", obj->size ? human_bytes(*obj->size) : "-", use_summary(*obj),
               process_summary(*obj), std::string(inspect::to_string(obj->state))});
      }
      std::fputs(t.render().c_str(), stdout);
    }
    std::fflush(stdout);
    rc = kOk;
  });
}

}  // namespace ipcx::cli
