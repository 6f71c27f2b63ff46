// SPDX-License-Identifier: MIT
#include "sys/socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ipcx::sys {

Result<Fd> socket(int domain, int type, int protocol) {
  int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return fail_errno("socket", errno);
  return Fd(fd);
}

Result<SocketPairFds> socketpair(int domain, int type, int protocol) {
  int fds[2];
  if (::socketpair(domain, type | SOCK_CLOEXEC, protocol, fds) != 0) return fail_errno("socketpair", errno);
  return SocketPairFds{Fd(fds[0]), Fd(fds[1])};
}

Result<void> bind(int fd, const sockaddr* addr, socklen_t len) {
  if (::bind(fd, addr, len) != 0) return fail_errno("bind", errno);
  return {};
}

Result<void> listen(int fd, int backlog) {
  if (::listen(fd, backlog) != 0) return fail_errno("listen", errno);
  return {};
}

Result<void> shutdown(int fd, int how) {
  if (::shutdown(fd, how) != 0) return fail_errno("shutdown", errno);
  return {};
}

Result<void> getsockname(int fd, sockaddr* addr, socklen_t* len) {
  if (::getsockname(fd, addr, len) != 0) return fail_errno("getsockname", errno);
  return {};
}

Result<void> getpeername(int fd, sockaddr* addr, socklen_t* len) {
  if (::getpeername(fd, addr, len) != 0) return fail_errno("getpeername", errno);
  return {};
}

Result<void> getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  if (::getsockopt(fd, level, name, value, len) != 0) return fail_errno("getsockopt", errno);
  return {};
}

Result<void> setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  if (::setsockopt(fd, level, name, value, len) != 0) return fail_errno("setsockopt", errno);
  return {};
}

Result<Fd> accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  for (;;) {
    int c = ::accept4(fd, addr, len, flags | SOCK_CLOEXEC);
    if (c >= 0) return Fd(c);
    if (errno != EINTR) return fail_errno("accept4", errno);
  }
}

Result<void> connect(int fd, const sockaddr* addr, socklen_t len) {
  if (::connect(fd, addr, len) != 0) return fail_errno("connect", errno);
  return {};
}

Result<std::size_t> sendmsg(int fd, const msghdr* msg, int flags) {
  for (;;) {
    ssize_t r = ::sendmsg(fd, msg, flags);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("sendmsg", errno);
  }
}

Result<std::size_t> recvmsg(int fd, msghdr* msg, int flags) {
  for (;;) {
    ssize_t r = ::recvmsg(fd, msg, flags | MSG_CMSG_CLOEXEC);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("recvmsg", errno);
  }
}

Result<std::size_t> sendmmsg(int fd, mmsghdr* msgs, unsigned n, int flags) {
  for (;;) {
    int r = ::sendmmsg(fd, msgs, n, flags);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("sendmmsg", errno);
  }
}

Result<std::size_t> recvmmsg(int fd, mmsghdr* msgs, unsigned n, int flags) {
  for (;;) {
    int r = ::recvmmsg(fd, msgs, n, flags | MSG_CMSG_CLOEXEC, nullptr);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("recvmmsg", errno);
  }
}

Result<std::size_t> recv(int fd, void* buf, std::size_t len, int flags) {
  for (;;) {
    ssize_t r = ::recv(fd, buf, len, flags);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) return fail_errno("recv", errno);
  }
}

Result<void> mkdir(const char* path, mode_t mode) {
  if (::mkdir(path, mode) != 0) return fail_errno("mkdir", errno, path);
  return {};
}

Result<addrinfo*> getaddrinfo(const char* host, const char* service, const addrinfo& hints) {
  addrinfo* out = nullptr;
  int rc = ::getaddrinfo(host, service, &hints, &out);
  if (rc == 0) return out;
  if (rc == EAI_SYSTEM) return fail_errno("getaddrinfo", errno, host ? host : "");
  int err = rc == EAI_NONAME || rc == EAI_NODATA ? ENOENT : (rc == EAI_AGAIN ? EAGAIN : EINVAL);
  // EAI_AGAIN is a temporary resolver failure, not "would block": report it as a system error.
  auto e = Error::from_errno("getaddrinfo", err, host ? host : "").with_detail(::gai_strerror(rc));
  if (rc == EAI_AGAIN) e = Error::make(Errc::system, "getaddrinfo", host ? host : "", ::gai_strerror(rc));
  return fail(std::move(e));
}

}  // namespace ipcx::sys
