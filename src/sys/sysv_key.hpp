// ftok(3): the System V key for a path and a project id. Header-only (inline) so that the
// SysV wrappers of every mechanism share one definition.
#pragma once

#include <sys/ipc.h>

#include <cerrno>

#include "ipcx/error.hpp"

namespace ipcx::sys {

// ftok stats the path (no EINTR). Only the low 8 bits of proj_id are used, and 0 gives a
// key many unrelated programs also get, so both are refused here.
inline Result<key_t> ftok(const char* path, int proj_id) {
  if (proj_id <= 0 || proj_id > 255) {
    return fail(Errc::invalid_argument, "ftok", path, "proj_id must be 1..255 (ftok uses only its low 8 bits)");
  }
  key_t k = ::ftok(path, proj_id);
  if (k == -1) return fail_errno("ftok", errno, path);
  return k;
}

}  // namespace ipcx::sys
