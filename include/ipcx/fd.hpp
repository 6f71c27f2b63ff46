// SPDX-License-Identifier: MIT
// ipcx::Fd — the one owner of a file descriptor.
//
// Move-only; moving out leaves -1; move assignment and reset() close the old descriptor.
// Not thread-safe: one owner, one thread at a time.
//
//   ipcx::Fd fd(::open("/x", O_RDONLY | O_CLOEXEC));
//   if (!fd) return ipcx::fail_errno("open", errno, "/x");
//   read(fd.get(), buf, n);  // closed when fd goes out of scope
//
// Ownership, the same for every ipcx handle. A handle owns what it holds: a descriptor,
// a mapping, an attachment closes with it. An object with a name that outlives processes
// (a POSIX shm, queue or semaphore name, a System V segment, set or queue, a Unix socket
// file) belongs to the handle that created it: destroying that handle removes it. Two
// calls, on every such handle, say and change that:
//   owns()  destroying this handle removes the object (it created it, keep() not called)
//   keep()  leave the object in the system for others when this handle goes
// A handle that opened an existing object never removes it; remove()/unlink() remove one
// now, whoever made it. release(), where a handle has it, is the other way out: it hands
// back the raw resource (descriptor, address) without closing it. Channels decide by their
// URL (remove=1, unlink=1): a Channel leaves what it created unless asked.
#pragma once

#include <utility>

#include "ipcx/error.hpp"

namespace ipcx {

class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }

  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing (release() means this on every ipcx handle).
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the held descriptor (if any) and takes `fd`. EINTR from close is treated as
  // closed: on Linux the descriptor is gone either way, and retrying could close a
  // descriptor another thread has just been given.
  void reset(int fd = -1) noexcept;

  // A new descriptor for the same file, close-on-exec.
  Result<Fd> duplicate() const;

  // Close-on-exec on or off: off only to hand the descriptor to a child across exec.
  Result<void> set_cloexec(bool on) const;
  Result<void> set_nonblocking(bool on) const;

 private:
  int fd_ = -1;
};

}  // namespace ipcx
