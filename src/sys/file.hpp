// SPDX-License-Identifier: MIT
// Thin wrappers over the calls that name files and file systems: linking a file under a
// name, asking a file system for its type, mounting one. One function per call, the
// call's own name, a Result instead of -1/errno, the EINTR decision beside each. (open,
// unlink, stat and statvfs are in sys/io.hpp.)
#pragma once

#include <sys/statfs.h>

#include "ipcx/error.hpp"

namespace ipcx::sys {

// link(2): a second name for the file at `from`. No EINTR (a directory operation on a
// local file system does not block on a signal).
Result<void> link(const char* from, const char* to);
// linkat(2), e.g. linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, path, AT_SYMLINK_FOLLOW) to
// give an O_TMPFILE file its name. No EINTR, as link.
Result<void> linkat(int from_dir, const char* from, int to_dir, const char* to, int flags);
// statfs(2): the file system holding `path`, with its type (f_type, the magic number that
// statvfs does not report). No EINTR.
Result<struct statfs> statfs(const char* path);
// mount(2). No EINTR (the kernel restarts it or finishes it).
Result<void> mount(const char* source, const char* target, const char* fstype, unsigned long flags,
                   const void* data);

}  // namespace ipcx::sys
