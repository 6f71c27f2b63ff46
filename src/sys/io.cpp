// SPDX-License-Identifier: MIT
#include "sys/io.hpp"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ipcx::sys {

Result<Fd> open(const char* path, int flags, mode_t mode) {
  for (;;) {
    int fd = ::open(path, flags | O_CLOEXEC, mode);
    if (fd >= 0) return Fd(fd);
    if (errno != EINTR) return fail_errno("open", errno, path);
  }
}

Result<std::size_t> read(int fd, void* buf, std::size_t n) {
  for (;;) {
    ssize_t r = ::read(fd, buf, n);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("read", errno);
  }
}

Result<std::size_t> write(int fd, const void* buf, std::size_t n) {
  for (;;) {
    ssize_t r = ::write(fd, buf, n);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("write", errno);
  }
}

Result<std::size_t> writev(int fd, const iovec* iov, int iovcnt) {
  for (;;) {
    ssize_t r = ::writev(fd, iov, iovcnt);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("writev", errno);
  }
}

Result<PipeFds> pipe2(int flags) {
  int fds[2];
  if (::pipe2(fds, flags | O_CLOEXEC) != 0) return fail_errno("pipe2", errno);
  return PipeFds{Fd(fds[0]), Fd(fds[1])};
}

Result<void> mkfifo(const char* path, mode_t mode) {
  if (::mkfifo(path, mode) != 0) return fail_errno("mkfifo", errno, path);
  return {};
}

Result<void> unlink(const char* path) {
  if (::unlink(path) != 0) return fail_errno("unlink", errno, path);
  return {};
}

Result<void> chmod(const char* path, mode_t mode) {
  if (::chmod(path, mode) != 0) return fail_errno("chmod", errno, path);
  return {};
}

Result<struct stat> stat(const char* path) {
  struct stat st {};
  if (::stat(path, &st) != 0) return fail_errno("stat", errno, path);
  return st;
}

Result<struct stat> fstat(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail_errno("fstat", errno);
  return st;
}

Result<struct stat> lstat(const char* path) {
  struct stat st {};
  if (::lstat(path, &st) != 0) return fail_errno("lstat", errno, path);
  return st;
}

Result<struct statvfs> statvfs(const char* path) {
  struct statvfs vfs {};
  if (::statvfs(path, &vfs) != 0) return fail_errno("statvfs", errno, path);
  return vfs;
}

Result<std::string> readlink(const char* path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path, buf, sizeof buf);
  if (n < 0) return fail_errno("readlink", errno, path);
  if (static_cast<std::size_t>(n) == sizeof buf) return fail_errno("readlink", ENAMETOOLONG, path);
  return std::string(buf, static_cast<std::size_t>(n));
}

Result<std::vector<std::string>> readdir_names(const char* path) {
  DIR* d = ::opendir(path);
  if (!d) return fail_errno("opendir", errno, path);
  std::vector<std::string> out;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
  }
  int err = errno;  // readdir returns nullptr at the end (errno untouched) and on error
  (void)::closedir(d);  // a directory stream's close cannot lose data; never retried
  if (err != 0) return fail_errno("readdir", err, path);
  return out;
}

Result<void> fchmod(int fd, mode_t mode) {
  if (::fchmod(fd, mode) != 0) return fail_errno("fchmod", errno);
  return {};
}

Result<void> set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return fail_errno("fcntl(F_GETFL)", errno);
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) < 0) return fail_errno("fcntl(F_SETFL)", errno);
  return {};
}

Result<std::size_t> set_pipe_size(int fd, std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT32_MAX)) {
    return fail(Errc::invalid_argument, "fcntl(F_SETPIPE_SZ)", {}, "capacity above 2 GiB");
  }
  int r = ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(bytes));
  if (r < 0) {
    int err = errno;
    auto e = Error::from_errno("fcntl(F_SETPIPE_SZ)", err);
    if (err == EPERM) {
      return fail(std::move(e).with_detail("above fs.pipe-max-size for an unprivileged process; "
                                           "raise it with sysctl fs.pipe-max-size"));
    }
    return fail(std::move(e));
  }
  return static_cast<std::size_t>(r);
}

Result<std::size_t> get_pipe_size(int fd) {
  int r = ::fcntl(fd, F_GETPIPE_SZ);
  if (r < 0) return fail_errno("fcntl(F_GETPIPE_SZ)", errno);
  return static_cast<std::size_t>(r);
}

Result<int> poll(std::span<pollfd> fds, Deadline d) {
  for (;;) {
    for (auto& p : fds) p.revents = 0;
    int r = ::poll(fds.data(), fds.size(), d.poll_timeout_ms());
    if (r > 0) return r;
    if (r == 0) {
      // poll's millisecond rounding can wake a hair early; only report a timeout once the
      // deadline has really passed.
      if (d.expired()) return 0;
      continue;
    }
    if (errno != EINTR) return fail_errno("poll", errno);
  }
}

Result<short> poll_one(int fd, short events, Deadline d) {
  pollfd p{fd, events, 0};
  auto r = sys::poll(std::span(&p, 1), d);
  if (!r) return fail(std::move(r.error()));
  return p.revents;
}

}  // namespace ipcx::sys
