// SPDX-License-Identifier: MIT
#include "select.hpp"

#include <fnmatch.h>

#include <fmt/format.h>

#include "commands.hpp"

namespace ipcx::cli {

bool matches_any(std::string_view url, std::span<const std::string> globs) {
  if (globs.empty()) return true;
  std::string u(url);
  for (const auto& g : globs) {
    if (::fnmatch(g.c_str(), u.c_str(), 0) == 0) return true;
  }
  return false;
}

bool parse_kinds(const std::vector<std::string>& in, std::vector<inspect::Kind>& out) {
  for (const auto& item : in) {
    std::size_t start = 0;
    while (start <= item.size()) {
      std::size_t comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      std::string name = item.substr(start, comma - start);
      start = comma + 1;
      if (name.empty()) continue;
      if (name == "sysv" || name == "posix") {
        for (auto k : inspect::all_kinds()) {
          if (inspect::to_string(k).starts_with(name)) out.push_back(k);
        }
        continue;
      }
      auto k = inspect::kind_from_string(name);
      if (!k) {
        error(fmt::format("--type {}: unknown type (known: {})", name, kinds_help()));
        return false;
      }
      out.push_back(*k);
    }
  }
  return true;
}

std::string kinds_help() {
  std::string s;
  for (auto k : inspect::all_kinds()) {
    if (k == inspect::Kind::fifo) continue;  // FIFOs are not enumerable; stat/rm take them by path
    s += fmt::format("{}{}", s.empty() ? "" : " ", inspect::to_string(k));
  }
  return s + " sysv posix";
}

}  // namespace ipcx::cli
