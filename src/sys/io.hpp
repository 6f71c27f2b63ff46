// SPDX-License-Identifier: MIT
// Thin wrappers over the file and descriptor system calls: one function per call, the
// call's own name, a Result instead of -1/errno, and the EINTR decision written beside
// each. Every descriptor is opened close-on-exec.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

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
// statvfs(3) (statfs(2)): the file system holding `path`. No EINTR.
Result<struct statvfs> statvfs(const char* path);
// readlink(2): the link's target. A target longer than PATH_MAX is an error (ENAMETOOLONG).
// No EINTR.
Result<std::string> readlink(const char* path);
// opendir(3)/readdir(3)/closedir(3): the names in a directory, without "." and "..", in
// the order the file system gives. No EINTR (getdents does not sleep interruptibly).
Result<std::vector<std::string>> readdir_names(const char* path);
// fchmod(2): sets exactly `mode` (the umask narrowed the create). On a socket before
// bind() it sets the mode of the socket file bind() creates. No EINTR.
Result<void> fchmod(int fd, mode_t mode);
// fcntl F_GETFL, then F_SETFL with O_NONBLOCK set or cleared (on the open file
// description: every descriptor sharing it sees the change). No EINTR.
Result<void> set_nonblocking(int fd, bool on);
// fcntl F_SETPIPE_SZ / F_GETPIPE_SZ: returns the capacity the kernel actually set.
Result<std::size_t> set_pipe_size(int fd, std::size_t bytes);
Result<std::size_t> get_pipe_size(int fd);

// poll(2): waits until one of `fds` has one of its events or the deadline passes, and
// returns how many have revents (0 on timeout). EINTR re-waits with the time left to the
// same absolute deadline.
Result<int> poll(std::span<pollfd> fds, Deadline d);
// poll() on one descriptor: returns its revents (0 on timeout).
Result<short> poll_one(int fd, short events, Deadline d);

}  // namespace ipcx::sys
