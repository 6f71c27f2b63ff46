// SPDX-License-Identifier: MIT
// Thin wrappers over the socket system calls: one function per call, the call's own name,
// a Result instead of -1/errno, and the EINTR decision written beside each. Every
// descriptor is created close-on-exec (SOCK_CLOEXEC, MSG_CMSG_CLOEXEC).
#pragma once

#include "sys/io.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

namespace ipcx::sys {

// socket(2) / socketpair(2) with SOCK_CLOEXEC added. No EINTR.
Result<Fd> socket(int domain, int type, int protocol);
struct SocketPairFds {
  Fd first;
  Fd second;
};
Result<SocketPairFds> socketpair(int domain, int type, int protocol);
// bind(2), listen(2), shutdown(2), getsockname(2), getpeername(2), getsockopt(2),
// setsockopt(2): none of them sleeps, so none returns EINTR.
Result<void> bind(int fd, const sockaddr* addr, socklen_t len);
Result<void> listen(int fd, int backlog);
Result<void> shutdown(int fd, int how);
Result<void> getsockname(int fd, sockaddr* addr, socklen_t* len);
Result<void> getpeername(int fd, sockaddr* addr, socklen_t* len);
Result<void> getsockopt(int fd, int level, int name, void* value, socklen_t* len);
Result<void> setsockopt(int fd, int level, int name, const void* value, socklen_t len);
// accept4(2) with SOCK_CLOEXEC added. EINTR is retried: no connection was taken.
Result<Fd> accept4(int fd, sockaddr* addr, socklen_t* len, int flags);
// connect(2). EINTR is NOT retried: the kernel goes on connecting in the background, and a
// second connect() would report EALREADY. It comes back as an error with code EINTR; the
// caller treats it like EINPROGRESS and waits for the socket to become writable.
Result<void> connect(int fd, const sockaddr* addr, socklen_t len);
// sendmsg(2) / recvmsg(2): EINTR is retried (it is returned only when nothing moved).
// recvmsg adds MSG_CMSG_CLOEXEC, so every received descriptor is close-on-exec from the
// moment it exists. EAGAIN comes back as Errc::would_block.
Result<std::size_t> sendmsg(int fd, const msghdr* msg, int flags);
Result<std::size_t> recvmsg(int fd, msghdr* msg, int flags);
// sendmmsg(2) / recvmmsg(2): several messages in one call; how many moved. EINTR is
// retried (returned only when nothing moved); recvmmsg adds MSG_CMSG_CLOEXEC, as recvmsg,
// and never waits (no timeout: the caller polls).
Result<std::size_t> sendmmsg(int fd, mmsghdr* msgs, unsigned n, int flags);
Result<std::size_t> recvmmsg(int fd, mmsghdr* msgs, unsigned n, int flags);
// recv(2): EINTR retried as for recvmsg; EAGAIN comes back as Errc::would_block.
Result<std::size_t> recv(int fd, void* buf, std::size_t len, int flags);
// fchmod and lstat live in sys/io.hpp.
// mkdir(2). No EINTR.
Result<void> mkdir(const char* path, mode_t mode);

// getaddrinfo(3): not a system call, but the one resolver. EAI_* errors are mapped to an
// Error whose detail is gai_strerror's text. The list is freed with freeaddrinfo.
struct AddrInfoDeleter {
  void operator()(addrinfo* p) const noexcept { ::freeaddrinfo(p); }
};
Result<addrinfo*> getaddrinfo(const char* host, const char* service, const addrinfo& hints);

}  // namespace ipcx::sys
