// Thin wrappers over the calls that link a file under a name. One function per call, the
// call's own name, a Result instead of -1/errno, the EINTR decision beside each. (open,
// unlink, stat and statvfs are in sys/io.hpp.)
#pragma once

#include "ipcx/error.hpp"

namespace ipcx::sys {

// link(2): a second name for the file at `from`. No EINTR (a directory operation on a
// local file system does not block on a signal).
Result<void> link(const char* from, const char* to);
// linkat(2), e.g. linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, path, AT_SYMLINK_FOLLOW) to
// give an O_TMPFILE file its name. No EINTR, as link.
Result<void> linkat(int from_dir, const char* from, int to_dir, const char* to, int flags);

}  // namespace ipcx::sys
