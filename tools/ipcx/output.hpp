// SPDX-License-Identifier: MIT
// Output shared by the subcommands: aligned tables for people and JSON for programs, both
// made from the same records (ipcx::inspect::Object, ipcx::limits::Finding).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipcx/inspect.hpp"

namespace ipcx::cli {

// JSON objects keep their keys in the order written: the output reads like the table.
using Json = nlohmann::ordered_json;

// Text from the host (a name, a path, a process's comm) made safe for a terminal and for
// line-based tools: control bytes, DEL and bytes from 0x80 become \xNN, and a backslash
// \\, so that no name can add a row or send an escape sequence.
std::string printable(std::string_view text);

// A table printed with every column as wide as its widest cell. Columns named in
// `right` are right-aligned (numbers).
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right = {});
  void add(std::vector<std::string> row);
  std::string render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string user_name(uid_t uid);   // "alice", or the number when unknown
std::string group_name(gid_t gid);
std::string human_bytes(std::uint64_t n);          // "512 B", "4 KiB", "1.5 MiB"
std::string local_time(std::int64_t unix_seconds);  // "2024-05-01 12:00:03"
std::string mode_string(unsigned mode);            // "0600 rw-------"
// Whether the object has a file mode: an abstract Unix socket has none (no file).
bool has_mode(const inspect::Object& o);

// The one-word summary of how the object is used ("1 attached", "3/10 msgs", …).
std::string use_summary(const inspect::Object& o);
// Processes, compact: "123 creator, 124 attached, 99 last (gone)".
std::string process_summary(const inspect::Object& o, std::size_t max = 4);

// A decimal count as written in a detail ("42"), or nothing for any other text (no sign,
// no leading zero, at most 19 digits so it fits).
std::optional<std::uint64_t> whole_number(std::string_view s) noexcept;

// The object for --json: counts, sizes, ids and times are numbers, the rest text.
Json to_json(const inspect::Object& o);

// Whether the bytes are well-formed UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF), so they can travel as a JSON string.
bool is_utf8(std::string_view s) noexcept;
// RFC 4648 base64 with padding.
std::string base64(std::string_view bytes);

// JSON text of one line for programs (no pretty printing) or indented for --json on a
// single object.
std::string dump(const Json& j, bool pretty);

}  // namespace ipcx::cli
