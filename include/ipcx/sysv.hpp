// SPDX-License-Identifier: MIT
// What the System V mechanisms (message queues, semaphore sets, shared-memory segments)
// share: the key that names an object, and the owner and mode that IPC_SET changes.
//
//   auto key = ipcx::ftok("/etc/myapp.conf", 7);              // 0x07xxxxxx
//   auto q = ipcx::SysvMq::open(*key, {.create = true});
//   puts(ipcx::sysv_key_text(*key).c_str());                   // "0x0700fd01", as ipcs shows it
#pragma once

#include <sys/ipc.h>
#include <sys/types.h>

#include <string>

#include "ipcx/error.hpp"

namespace ipcx {

inline constexpr key_t kIpcPrivate = IPC_PRIVATE;

// ftok(3): a key from an existing file's inode and device and the low 8 bits of proj_id.
// proj_id must be 1..255 (0 is refused: its meaning is unspecified, and bits above the
// low 8 would be silently dropped); a missing path is an error that says the file must
// exist. Two paths on the same inode give the same key.
Result<key_t> ftok(const std::string& path, int proj_id);

// A key as ipcs and the error texts show it: "0x" and eight hex digits ("0x00001234").
std::string sysv_key_text(key_t key);

// Owner and mode for IPC_SET (SysvSemSet::set_permissions, SysvShm::set_permissions).
struct SysvPermissions {
  uid_t uid = 0;
  gid_t gid = 0;
  unsigned mode = 0600;
};

}  // namespace ipcx
