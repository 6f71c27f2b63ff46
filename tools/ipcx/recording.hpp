// SPDX-License-Identifier: MIT
// The file `ipcx record` writes and `ipcx replay` reads (docs/cli.md, "record and replay").
// All integers little-endian.
//
//   header, 24 bytes
//     0   8  magic "IPCXREC\0"
//     8   4  version: 1
//    12   4  header size in bytes: 24 (a reader skips what a later version adds)
//    16   8  when the recording started: Unix time in nanoseconds
//   then one record per message, 24 bytes and the payload
//     0   8  when it arrived: nanoseconds since the recording started (never decreasing)
//     8   4  payload size in bytes
//    12   4  posixmq priority (0 elsewhere)
//    16   8  sysvmq type (signed; 0 elsewhere)
//    24   …  the payload
//
// A file that ends inside a record, a record whose time goes backwards, or a header that
// is not this one is refused with where it goes wrong (byte offset, record number).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ipcx/error.hpp"

namespace ipcx::cli::recording {

inline constexpr std::string_view kMagic{"IPCXREC\0", 8};
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::size_t kRecordHeaderSize = 24;

struct Record {
  std::uint64_t offset_ns = 0;
  std::uint32_t priority = 0;
  std::int64_t type = 0;
  std::string_view payload;  // points into the bytes given to parse()
};

struct Recording {
  std::uint64_t started_unix_ns = 0;
  std::vector<Record> records;
};

std::string header(std::uint64_t started_unix_ns);
std::string record(const Record& r);

// Checks the whole file before anything is sent. `file` names it in the error.
Result<Recording> parse(std::string_view bytes, std::string_view file);

}  // namespace ipcx::cli::recording
