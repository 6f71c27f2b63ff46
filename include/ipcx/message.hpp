// SPDX-License-Identifier: MIT
// The small vocabulary that the mechanisms' wrappers and the Channel share: byte views of
// text, and who sent a message.
//
//   q->send(ipcx::as_bytes("job"));              // a PosixMq, a Socket or a Channel alike
//   std::string_view s = ipcx::as_text(buf.first(r->size));
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string_view>

namespace ipcx {

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_text(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The process at the other end of a Unix socket (SO_PEERCRED, SCM_CREDENTIALS).
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

}  // namespace ipcx
