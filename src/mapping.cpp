// SPDX-License-Identifier: MIT
#include "ipcx/mapping.hpp"

#include <sys/mman.h>
#include <sys/resource.h>

#include <string>

#include <fmt/format.h>

#include "sys/process.hpp"
#include "sys/shm.hpp"

namespace ipcx {

Result<Mapping> Mapping::map(int fd, std::size_t size, Access access, off_t offset, int extra_flags,
                             std::string_view what) {
  if (size == 0) return fail(Errc::invalid_argument, "mmap", what, "a mapping of 0 bytes");
  int prot = access == Access::read_write ? PROT_READ | PROT_WRITE : PROT_READ;
  auto p = sys::mmap(nullptr, size, prot, MAP_SHARED | extra_flags, fd, offset);
  if (!p) {
    auto e = std::move(p.error()).with_object(what);
    if (e.code() == EACCES && access == Access::read_write) {
      return fail(std::move(e).with_detail("the descriptor was not opened for writing"));
    }
    return fail(std::move(e));
  }
  return adopt(*p, size, access);
}

Result<void> Mapping::sync(bool wait) const {
  if (!addr_) return {};
  return sys::msync(addr_, size_, wait ? MS_SYNC : MS_ASYNC);
}

Result<void> Mapping::lock() const {
  if (!addr_) return {};
  auto r = sys::mlock(addr_, size_);
  if (!r && (r.error().code() == ENOMEM || r.error().code() == EPERM)) {
    auto rl = sys::getrlimit(RLIMIT_MEMLOCK);
    std::string limit = rl ? std::to_string(rl->rlim_cur) : std::string("(unreadable)");
    return fail(std::move(r.error())
                    .with_detail(fmt::format("{} bytes above RLIMIT_MEMLOCK {}; raise it with ulimit -l or "
                                             "limits.conf memlock, or run with CAP_IPC_LOCK",
                                             size_, limit)));
  }
  return r;
}

Result<void> Mapping::make_read_only() {
  if (!addr_) return {};
  if (auto r = sys::mprotect(addr_, size_, PROT_READ); !r) return r;
  access_ = Access::read_only;
  return {};
}

Result<void> Mapping::unmap() {
  if (!addr_) return {};
  void* addr = std::exchange(addr_, nullptr);
  std::size_t size = std::exchange(size_, 0);
  return how_ == Mapped::shmat ? sys::shmdt(addr) : sys::munmap(addr, size);
}

}  // namespace ipcx
