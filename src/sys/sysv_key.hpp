// SPDX-License-Identifier: MIT
// ftok(3): the System V key for a path and a project id. Header-only (inline) so that the
// SysV wrappers of every mechanism share one definition; ipcx::ftok (ipcx/sysv.hpp) and
// the mechanisms' key_for call it.
#pragma once

#include <sys/ipc.h>

#include <cerrno>
#include <string>

#include "ipcx/error.hpp"

namespace ipcx::sys {

// ftok stats the path (no EINTR). Only the low 8 bits of proj_id are used, and 0 gives a
// key whose meaning is unspecified, so both are refused here. The error names the path,
// and a missing one says that the file must exist.
inline Result<key_t> ftok(const char* path, int proj_id) {
  if (proj_id < 1 || proj_id > 255) {
    return fail(Errc::invalid_argument, "ftok", path,
                "proj_id " + std::to_string(proj_id) +
                    " must be 1..255: ftok keeps only its low 8 bits, and 0 is unspecified");
  }
  key_t k = ::ftok(path, proj_id);
  if (k == -1) {
    int err = errno;
    if (err == ENOENT) {
      return fail(Error::from_errno("ftok", err, path)
                      .with_detail("ftok makes the key from an existing file's inode and device: the path must exist"));
    }
    return fail_errno("ftok", err, path);
  }
  return k;
}

}  // namespace ipcx::sys
