// SPDX-License-Identifier: MIT
// Which objects a subcommand was asked for: --type values and URL globs (ls, rm).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/inspect.hpp"

namespace ipcx::cli {

// Whether `url` matches any of the shell globs (fnmatch); true when there are none.
bool matches_any(std::string_view url, std::span<const std::string> globs);

// Parses --type values ("sysvshm,posixmq", repeatable); writes an error and returns false on
// an unknown name.
bool parse_kinds(const std::vector<std::string>& in, std::vector<inspect::Kind>& out);
// The --type help text (every kind).
std::string kinds_help();

}  // namespace ipcx::cli
