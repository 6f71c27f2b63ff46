// SPDX-License-Identifier: MIT
#include "sys/shm.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ipcx::sys {

Result<Fd> shm_open(const char* name, int oflag, mode_t mode) {
  int fd = ::shm_open(name, oflag | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno("shm_open", errno, name);
  return Fd(fd);
}

Result<void> shm_unlink(const char* name) {
  if (::shm_unlink(name) != 0) return fail_errno("shm_unlink", errno, name);
  return {};
}

Result<void> ftruncate(int fd, off_t size) {
  for (;;) {
    if (::ftruncate(fd, size) == 0) return {};
    if (errno != EINTR) return fail_errno("ftruncate", errno);
  }
}

Result<void> fallocate(int fd, off_t offset, off_t len) {
  for (;;) {
    if (::fallocate(fd, 0, offset, len) == 0) return {};
    if (errno != EINTR) return fail_errno("fallocate", errno);
  }
}

Result<void*> mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t offset) {
  void* p = ::mmap(addr, len, prot, flags, fd, offset);
  if (p == MAP_FAILED) return fail_errno("mmap", errno);
  return p;
}

Result<void> munmap(void* addr, std::size_t len) {
  if (::munmap(addr, len) != 0) return fail_errno("munmap", errno);
  return {};
}

Result<void> msync(void* addr, std::size_t len, int flags) {
  if (::msync(addr, len, flags) != 0) return fail_errno("msync", errno);
  return {};
}

Result<void> mprotect(void* addr, std::size_t len, int prot) {
  if (::mprotect(addr, len, prot) != 0) return fail_errno("mprotect", errno);
  return {};
}

Result<void> madvise(void* addr, std::size_t len, int advice) {
  if (::madvise(addr, len, advice) != 0) return fail_errno("madvise", errno);
  return {};
}

Result<void> mlock(const void* addr, std::size_t len) {
  if (::mlock(addr, len) != 0) return fail_errno("mlock", errno);
  return {};
}

Result<Fd> memfd_create(const char* name, unsigned flags) {
  int fd = ::memfd_create(name, flags | MFD_CLOEXEC);
  if (fd < 0) return fail_errno("memfd_create", errno, name);
  return Fd(fd);
}

Result<void> add_seals(int fd, unsigned seals) {
  if (::fcntl(fd, F_ADD_SEALS, static_cast<int>(seals)) != 0) return fail_errno("fcntl(F_ADD_SEALS)", errno);
  return {};
}

Result<unsigned> get_seals(int fd) {
  int r = ::fcntl(fd, F_GET_SEALS);
  if (r < 0) return fail_errno("fcntl(F_GET_SEALS)", errno);
  return static_cast<unsigned>(r);
}

Result<int> shmget(key_t key, std::size_t size, int flags) {
  int id = ::shmget(key, size, flags);
  if (id < 0) return fail_errno("shmget", errno);
  return id;
}

Result<void*> shmat(int id, const void* addr, int flags) {
  void* p = ::shmat(id, addr, flags);
  if (p == reinterpret_cast<void*>(-1)) return fail_errno("shmat", errno);
  return p;
}

Result<void> shmdt(const void* addr) {
  if (::shmdt(addr) != 0) return fail_errno("shmdt", errno);
  return {};
}

Result<shmid_ds> shmctl_stat(int id) {
  shmid_ds ds{};
  if (::shmctl(id, IPC_STAT, &ds) != 0) return fail_errno("shmctl(IPC_STAT)", errno);
  return ds;
}

Result<void> shmctl_set(int id, const shmid_ds& ds) {
  shmid_ds copy = ds;
  if (::shmctl(id, IPC_SET, &copy) != 0) return fail_errno("shmctl(IPC_SET)", errno);
  return {};
}

Result<void> shmctl_rmid(int id) {
  if (::shmctl(id, IPC_RMID, nullptr) != 0) return fail_errno("shmctl(IPC_RMID)", errno);
  return {};
}

}  // namespace ipcx::sys
