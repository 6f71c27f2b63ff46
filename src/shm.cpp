// SPDX-License-Identifier: MIT
#include "ipcx/shm.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <limits>

#include <fmt/format.h>

#include "ipcx/url.hpp"
#include "sys/io.hpp"
#include "sys/shm.hpp"

namespace ipcx {
namespace {

constexpr std::string_view kShmDir = "/dev/shm";

std::chrono::system_clock::time_point to_time_point(const timespec& ts) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                      std::chrono::nanoseconds(ts.tv_nsec)));
}

std::string space_detail(const char* fs_path, std::size_t size) {
  auto vfs = fs_path ? sys::statvfs(fs_path) : fail(Errc::invalid_argument, "statvfs");
  if (!vfs) return fmt::format("the backing store cannot hold {} bytes", size);
  std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs->f_bavail) * vfs->f_frsize;
  std::uint64_t total = static_cast<std::uint64_t>(vfs->f_blocks) * vfs->f_frsize;
  return fmt::format("{} bytes asked, {} free in {} of {}; remove stale segments (ipcx ls), ask for less, or "
                     "raise its size, e.g. mount -o remount,size=2G {}",
                     size, free_bytes, fs_path, total, fs_path);
}

}  // namespace

namespace detail {

Result<void> reserve_backing(int fd, std::size_t offset, std::size_t size, std::string_view what,
                             const char* fs_path) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<off_t>::max());
  if (offset > kMax || size > kMax - offset) {
    return fail(Errc::invalid_argument, "fallocate", what, fmt::format("size {} exceeds off_t", offset + size));
  }
  if (size == 0) return {};
  // A cheap first answer: a size beyond the free space fails without making tmpfs allocate
  // (and then release) every page it can. The fallocate below remains the real check: the
  // free space can shrink between the two.
  if (fs_path) {
    auto vfs = sys::statvfs(fs_path);
    if (vfs && vfs->f_blocks != 0 && static_cast<std::uint64_t>(vfs->f_bavail) * vfs->f_frsize < size) {
      return fail(Error::from_errno("fallocate", ENOSPC, what).with_detail(space_detail(fs_path, size)));
    }
  }
  auto r = sys::fallocate(fd, static_cast<off_t>(offset), static_cast<off_t>(size));
  if (r) return {};
  int err = r.error().code();
  if (err == ENOSPC) return fail(std::move(r.error()).with_object(what).with_detail(space_detail(fs_path, size)));
  if (err == EOPNOTSUPP) {
    // A filesystem without fallocate: size it sparsely (no reservation possible).
    if (auto t = sys::ftruncate(fd, static_cast<off_t>(offset + size)); !t) return fail(std::move(t.error()).with_object(what));
    return {};
  }
  return fail(std::move(r.error()).with_object(what));
}

}  // namespace detail

Result<void> ShmNameGuard::unlink() {
  if (name_.empty()) return {};
  auto r = sys::shm_unlink(name_.c_str());
  name_.clear();
  if (!r && r.error().code() != ENOENT) return r;
  return {};
}

void ShmNameGuard::reset() noexcept { (void)unlink(); }

std::string_view PosixShm::directory() noexcept { return kShmDir; }

Result<PosixShm> PosixShm::create(std::string_view name, std::size_t size, const PosixShmOptions& o) {
  if (auto v = validate_posix_name(name, "shm_open"); !v) return fail(std::move(v.error()));
  if (auto v = validate_new_name(name, "shm_open"); !v) return fail(std::move(v.error()));
  if (o.mode & ~0777u) return fail(Errc::invalid_argument, "shm_open", name, fmt::format("mode {:o} has bits beyond 0777", o.mode));
  PosixShm s;
  s.name_.assign(name);
  auto fd = sys::shm_open(s.name_.c_str(), O_CREAT | O_EXCL | O_RDWR, o.mode);
  if (!fd) return fail(std::move(fd.error()));
  s.fd_ = std::move(*fd);
  // From here on the name is ours: any failure below unlinks it (the guard's destructor).
  s.guard_ = ShmNameGuard(s.name_);
  if (auto r = sys::fchmod(s.fd_.get(), o.mode); !r) return fail(std::move(r.error()).with_object(name));
  if (o.reserve) {
    if (auto r = detail::reserve_backing(s.fd_.get(), 0, size, name, "/dev/shm"); !r) return fail(std::move(r.error()));
  } else if (size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    return fail(Errc::invalid_argument, "ftruncate", name, fmt::format("size {} exceeds off_t", size));
  }
  // fallocate mode 0 already extends the file; ftruncate also covers reserve=false.
  if (auto r = sys::ftruncate(s.fd_.get(), static_cast<off_t>(size)); !r) return fail(std::move(r.error()).with_object(name));
  s.size_ = size;
  s.access_ = Access::read_write;
  s.reserve_ = o.reserve;
  return s;
}

Result<PosixShm> PosixShm::open(std::string_view name, Access access) {
  if (auto v = validate_posix_name(name, "shm_open"); !v) return fail(std::move(v.error()));
  PosixShm s;
  s.name_.assign(name);
  auto fd = sys::shm_open(s.name_.c_str(), access == Access::read_write ? O_RDWR : O_RDONLY, 0);
  if (!fd) return fail(std::move(fd.error()));
  s.fd_ = std::move(*fd);
  auto st = sys::fstat(s.fd_.get());
  if (!st) return fail(std::move(st.error()).with_object(name));
  s.size_ = static_cast<std::size_t>(st->st_size);
  s.access_ = access;
  s.reserve_ = true;
  return s;
}

Result<PosixShmInfo> PosixShm::stat(std::string_view name) {
  if (auto v = validate_posix_name(name, "stat"); !v) return fail(std::move(v.error()));
  PosixShmInfo info;
  info.name.assign(name);
  info.path = fmt::format("{}{}", kShmDir, name);
  auto st = sys::stat(info.path.c_str());
  if (!st) return fail(std::move(st.error()).with_object(name));
  if (!S_ISREG(st->st_mode)) return fail(Errc::invalid_argument, "stat", name, "not a shared-memory segment");
  info.size = static_cast<std::uint64_t>(st->st_size);
  info.allocated = static_cast<std::uint64_t>(st->st_blocks) * 512u;
  info.mode = st->st_mode & 07777u;
  info.uid = st->st_uid;
  info.gid = st->st_gid;
  info.modified = to_time_point(st->st_mtim);
  info.changed = to_time_point(st->st_ctim);
  return info;
}

Result<void> PosixShm::unlink(std::string_view name) {
  if (auto v = validate_posix_name(name, "shm_unlink"); !v) return fail(std::move(v.error()));
  std::string n(name);
  return sys::shm_unlink(n.c_str());
}

Result<std::size_t> PosixShm::current_size() const {
  auto st = sys::fstat(fd_.get());
  if (!st) return fail(std::move(st.error()).with_object(name_));
  return static_cast<std::size_t>(st->st_size);
}

Result<Mapping> PosixShm::map(Access access, int extra_flags) const {
  return map(0, size_, access, extra_flags);
}

Result<Mapping> PosixShm::map(std::size_t offset, std::size_t length, Access access, int extra_flags) const {
  if (!fd_) return fail(Errc::invalid_argument, "mmap", name_, "the segment is not open");
  if (access == Access::read_write && access_ == Access::read_only) {
    return fail(Errc::invalid_argument, "mmap", name_, "a read-write mapping of a segment opened read-only");
  }
  if (offset > size_ || length > size_ - offset) {
    return fail(Errc::invalid_argument, "mmap", name_,
                fmt::format("[{}, {}+{}) is beyond the segment's {} bytes", offset, offset, length, size_));
  }
  if (offset % static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) != 0) {
    return fail(Errc::invalid_argument, "mmap", name_, fmt::format("offset {} is not a multiple of the page size", offset));
  }
  return Mapping::map(fd_.get(), length, access, static_cast<off_t>(offset), extra_flags, name_);
}

Result<void> PosixShm::resize(std::size_t new_size) {
  if (!fd_) return fail(Errc::invalid_argument, "ftruncate", name_, "the segment is not open");
  if (access_ == Access::read_only) return fail(Errc::invalid_argument, "ftruncate", name_, "the segment was opened read-only");
  if (new_size > size_ && reserve_) {
    if (auto r = detail::reserve_backing(fd_.get(), size_, new_size - size_, name_, "/dev/shm"); !r) return r;
  }
  if (new_size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    return fail(Errc::invalid_argument, "ftruncate", name_, fmt::format("size {} exceeds off_t", new_size));
  }
  if (auto r = sys::ftruncate(fd_.get(), static_cast<off_t>(new_size)); !r) return fail(std::move(r.error()).with_object(name_));
  size_ = new_size;
  return {};
}

Result<void> PosixShm::unlink_now() {
  if (guard_.owns()) return guard_.unlink();
  return sys::shm_unlink(name_.c_str());
}

}  // namespace ipcx
