// Thin wrappers over the file and descriptor system calls: one function per call, the
// call's own name, a Result instead of -1/errno, and the EINTR decision written beside
// each. Every descriptor is opened close-on-exec.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

namespace ipcx::sys {

// open(2) with O_CLOEXEC added. EINTR (opening a FIFO blocks) is retried: nothing happened.
Result<Fd> open(const char* path, int flags, mode_t mode = 0);
// read(2)/write(2)/writev(2): EINTR is retried (no data moved when it is returned).
// Returns bytes moved; EAGAIN comes back as Errc::would_block.
Result<std::size_t> read(int fd, void* buf, std::size_t n);
Result<std::size_t> write(int fd, const void* buf, std::size_t n);
Result<std::size_t> writev(int fd, const iovec* iov, int iovcnt);
// pipe2(2) with O_CLOEXEC added: {read end, write end}.
struct PipeFds {
  Fd read;
  Fd write;
};
Result<PipeFds> pipe2(int flags);
// mkfifo(2). No EINTR.
Result<void> mkfifo(const char* path, mode_t mode);
Result<void> unlink(const char* path);
Result<void> chmod(const char* path, mode_t mode);
Result<struct stat> stat(const char* path);
Result<struct stat> fstat(int fd);
Result<struct stat> lstat(const char* path);
// fchmod(2): sets exactly `mode` (the umask narrowed the create). On a socket before
// bind() it sets the mode of the socket file bind() creates. No EINTR.
Result<void> fchmod(int fd, mode_t mode);
// fcntl F_SETPIPE_SZ / F_GETPIPE_SZ: returns the capacity the kernel actually set.
Result<std::size_t> set_pipe_size(int fd, std::size_t bytes);
Result<std::size_t> get_pipe_size(int fd);

// Waits until `fd` has any of `events` or the deadline passes. EINTR re-waits with the
// time left to the same absolute deadline. Returns the revents (0 on timeout).
Result<short> poll_one(int fd, short events, Deadline d);

}  // namespace ipcx::sys
