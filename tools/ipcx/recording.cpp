// SPDX-License-Identifier: MIT
#include "recording.hpp"

#include <fmt/format.h>

namespace ipcx::cli::recording {
namespace {

template <class T>
void put_le(std::string& out, T v) {
  auto u = static_cast<std::uint64_t>(v);
  for (std::size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((u >> (8 * i)) & 0xff);
}

template <class T>
T get_le(std::string_view in, std::size_t at) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) u |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return static_cast<T>(u);
}

}  // namespace

std::string header(std::uint64_t started_unix_ns) {
  std::string out(kMagic);
  put_le<std::uint32_t>(out, kVersion);
  put_le<std::uint32_t>(out, kHeaderSize);
  put_le<std::uint64_t>(out, started_unix_ns);
  return out;
}

std::string record(const Record& r) {
  std::string out;
  out.reserve(kRecordHeaderSize + r.payload.size());
  put_le<std::uint64_t>(out, r.offset_ns);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(r.payload.size()));
  put_le<std::uint32_t>(out, r.priority);
  put_le<std::int64_t>(out, r.type);
  out += r.payload;
  return out;
}

Result<Recording> parse(std::string_view in, std::string_view file) {
  auto bad = [&](std::string why) { return fail(Errc::corrupt, "replay", file, std::move(why)); };
  if (in.size() < kMagic.size() || in.substr(0, kMagic.size()) != kMagic) {
    return bad("not an ipcx recording (it does not start with IPCXREC; make one with ipcx record)");
  }
  if (in.size() < kHeaderSize) return bad(fmt::format("truncated: the header needs {} bytes, the file has {}", kHeaderSize, in.size()));
  const auto version = get_le<std::uint32_t>(in, 8);
  if (version != kVersion) return bad(fmt::format("recording version {}; this ipcx reads version {}", version, kVersion));
  const auto size = get_le<std::uint32_t>(in, 12);
  if (size < kHeaderSize || size > in.size()) return bad(fmt::format("corrupt header: header size {}", size));
  Recording rec;
  rec.started_unix_ns = get_le<std::uint64_t>(in, 16);
  std::size_t at = size;
  std::uint64_t last = 0;
  while (at < in.size()) {
    const std::size_t n = rec.records.size() + 1;
    if (in.size() - at < kRecordHeaderSize) {
      return bad(fmt::format("truncated at byte {}: message {} needs a {}-byte header, {} bytes remain", at, n,
                             kRecordHeaderSize, in.size() - at));
    }
    Record r;
    r.offset_ns = get_le<std::uint64_t>(in, at);
    const auto len = get_le<std::uint32_t>(in, at + 8);
    r.priority = get_le<std::uint32_t>(in, at + 12);
    r.type = get_le<std::int64_t>(in, at + 16);
    if (r.offset_ns < last) {
      return bad(fmt::format("corrupt at byte {}: message {}'s time ({} ns) is before the one before it ({} ns)", at, n,
                             r.offset_ns, last));
    }
    at += kRecordHeaderSize;
    if (in.size() - at < len) {
      return bad(fmt::format("truncated at byte {}: message {} has {} bytes, {} remain", at, n, len, in.size() - at));
    }
    r.payload = in.substr(at, len);
    at += len;
    last = r.offset_ns;
    rec.records.push_back(r);
  }
  return rec;
}

}  // namespace ipcx::cli::recording
