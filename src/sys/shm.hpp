// SPDX-License-Identifier: MIT
// Thin wrappers over the shared-memory system calls: POSIX shm, mmap, memfd and seals,
// fallocate, and System V shm. One function per call, the call's own name, a Result
// instead of -1/errno, the EINTR decision beside each. Every descriptor is close-on-exec.
#pragma once

#include "sys/io.hpp"

#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/types.h>

#include <cstddef>

#include "ipcx/error.hpp"
#include "ipcx/fd.hpp"

namespace ipcx::sys {

// shm_open(3) with O_CLOEXEC (glibc adds it too; said here so it is never lost). No EINTR:
// it is an open() on tmpfs, which does not block.
Result<Fd> shm_open(const char* name, int oflag, mode_t mode);
Result<void> shm_unlink(const char* name);
// ftruncate(2). EINTR is retried (it can only come before any change is made).
Result<void> ftruncate(int fd, off_t size);
// fallocate(2) mode 0 (allocate and extend): reserves the backing store so that a later
// touch cannot SIGBUS. EINTR is retried: allocation restarts where it stopped.
Result<void> fallocate(int fd, off_t offset, off_t len);
// mmap(2)/munmap(2)/msync(2)/mprotect(2)/madvise(2). None returns EINTR.
Result<void*> mmap(void* addr, std::size_t len, int prot, int flags, int fd, off_t offset);
Result<void> munmap(void* addr, std::size_t len);
Result<void> msync(void* addr, std::size_t len, int flags);
Result<void> mprotect(void* addr, std::size_t len, int prot);
Result<void> madvise(void* addr, std::size_t len, int advice);
Result<void> mlock(const void* addr, std::size_t len);

// memfd_create(2) with MFD_CLOEXEC added. No EINTR.
Result<Fd> memfd_create(const char* name, unsigned flags);
// fcntl F_ADD_SEALS / F_GET_SEALS. No EINTR.
Result<void> add_seals(int fd, unsigned seals);
Result<unsigned> get_seals(int fd);

// System V shared memory. shmget/shmctl never return EINTR; shmat/shmdt neither.
Result<int> shmget(key_t key, std::size_t size, int flags);
Result<void*> shmat(int id, const void* addr, int flags);
Result<void> shmdt(const void* addr);
Result<shmid_ds> shmctl_stat(int id);          // IPC_STAT
Result<void> shmctl_set(int id, const shmid_ds& ds);  // IPC_SET
Result<void> shmctl_rmid(int id);              // IPC_RMID

}  // namespace ipcx::sys
