// SPDX-License-Identifier: MIT
#include "ipcx/memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <limits>

#include <fmt/format.h>

#include "ipcx/shm.hpp"  // detail::reserve_backing
#include "sys/io.hpp"
#include "sys/shm.hpp"

namespace ipcx {
namespace {

static_assert(Memfd::kSealSeal == F_SEAL_SEAL && Memfd::kSealShrink == F_SEAL_SHRINK &&
                  Memfd::kSealGrow == F_SEAL_GROW && Memfd::kSealWrite == F_SEAL_WRITE,
              "seal constants are the kernel's");
#ifdef F_SEAL_FUTURE_WRITE
static_assert(Memfd::kSealFutureWrite == F_SEAL_FUTURE_WRITE, "seal constants are the kernel's");
#endif

constexpr unsigned kAllSeals =
    Memfd::kSealSeal | Memfd::kSealShrink | Memfd::kSealGrow | Memfd::kSealWrite | Memfd::kSealFutureWrite;

std::string seal_names(unsigned s) {
  std::string out;
  auto add = [&](unsigned bit, const char* n) {
    if (s & bit) out += out.empty() ? n : fmt::format("|{}", n);
  };
  add(Memfd::kSealSeal, "seal");
  add(Memfd::kSealShrink, "shrink");
  add(Memfd::kSealGrow, "grow");
  add(Memfd::kSealWrite, "write");
  add(Memfd::kSealFutureWrite, "future_write");
  return out.empty() ? "none" : out;
}

std::string object_of(const std::string& name) { return fmt::format("memfd:{}", name); }

}  // namespace

Result<Memfd> Memfd::create(std::string_view name, std::size_t size, const MemfdOptions& o) {
  // The kernel limits the label to 249 bytes (NAME_MAX minus "memfd:").
  if (name.size() > 249 || name.find('\0') != std::string_view::npos || name.find('/') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "memfd_create", name, "a label of at most 249 bytes, without '/' or NUL");
  }
  Memfd m;
  m.name_.assign(name);
  unsigned flags = (o.allow_sealing ? MFD_ALLOW_SEALING : 0u) | (o.huge_pages ? MFD_HUGETLB : 0u);
  auto fd = sys::memfd_create(m.name_.c_str(), flags);
  if (!fd) {
    auto e = std::move(fd.error()).with_object(object_of(m.name_));
    if (o.huge_pages && (e.code() == EINVAL || e.code() == ENOMEM)) {
      return fail(std::move(e).with_detail("MFD_HUGETLB needs hugetlbfs support and reserved huge pages (vm.nr_hugepages)"));
    }
    return fail(std::move(e));
  }
  m.fd_ = std::move(*fd);
  if (o.reserve) {
    // The internal tmpfs has no size limit to report; memory and cgroup limits apply.
    if (auto r = detail::reserve_backing(m.fd_.get(), 0, size, object_of(m.name_), nullptr); !r) {
      return fail(std::move(r.error()));
    }
  }
  if (size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    return fail(Errc::invalid_argument, "ftruncate", object_of(m.name_), "size exceeds off_t");
  }
  if (auto r = sys::ftruncate(m.fd_.get(), static_cast<off_t>(size)); !r) {
    return fail(std::move(r.error()).with_object(object_of(m.name_)));
  }
  m.size_ = size;
  m.reserve_ = o.reserve;
  return m;
}

Result<Memfd> Memfd::adopt(Fd fd, unsigned required_seals) {
  if (!fd) return fail(Errc::invalid_argument, "adopt", "memfd", "no descriptor");
  // F_GET_SEALS succeeds only on shmem/hugetlbfs files (a memfd, or a file in /dev/shm):
  // anything else (a pipe, a socket, a regular file) is refused before it is mapped.
  auto seals = sys::get_seals(fd.get());
  if (!seals) {
    if (seals.error().code() == EINVAL) {
      return fail(Errc::invalid_argument, "fcntl(F_GET_SEALS)", "memfd", "the descriptor is not a memfd");
    }
    return fail(std::move(seals.error()));
  }
  if ((*seals & required_seals) != required_seals) {
    return fail(Errc::corrupt, "adopt", "memfd",
                fmt::format("seals {} lack {}", seal_names(*seals), seal_names(required_seals & ~*seals)));
  }
  auto st = sys::fstat(fd.get());
  if (!st) return fail(std::move(st.error()));
  Memfd m;
  m.fd_ = std::move(fd);
  m.size_ = static_cast<std::size_t>(st->st_size);
  m.reserve_ = true;
  // The label, for errors: readlink of /proc/self/fd/N is "/memfd:NAME (deleted)".
  std::string link = fmt::format("/proc/self/fd/{}", m.fd_.get());
  if (auto target = sys::readlink(link.c_str())) {
    std::string_view v(*target);
    if (v.starts_with("/memfd:")) v.remove_prefix(7);
    if (v.ends_with(" (deleted)")) v.remove_suffix(10);
    m.name_.assign(v);
  }
  return m;
}

Result<void> Memfd::add_seals(unsigned s) {
  if (s & ~kAllSeals) return fail(Errc::invalid_argument, "fcntl(F_ADD_SEALS)", object_of(name_), fmt::format("unknown seal bits {:#x}", s));
  auto r = sys::add_seals(fd_.get(), s);
  if (r) return {};
  auto e = std::move(r.error()).with_object(object_of(name_));
  if (e.code() == EBUSY) {
    return fail(std::move(e).with_detail("a writable shared mapping exists: unmap it before kSealWrite, or use kSealFutureWrite"));
  }
  if (e.code() == EPERM) return fail(std::move(e).with_detail("sealed against new seals (kSealSeal, or created without allow_sealing)"));
  return fail(std::move(e));
}

Result<unsigned> Memfd::seals() const {
  auto r = sys::get_seals(fd_.get());
  if (!r) return fail(std::move(r.error()).with_object(object_of(name_)));
  return *r;
}

Result<Mapping> Memfd::map(Access access, int extra_flags) const {
  if (!fd_) return fail(Errc::invalid_argument, "mmap", object_of(name_), "no descriptor");
  auto m = Mapping::map(fd_.get(), size_, access, 0, extra_flags, object_of(name_));
  if (!m && m.error().code() == EPERM && access == Access::read_write) {
    return fail(std::move(m.error()).with_detail("sealed against writing (kSealWrite or kSealFutureWrite): map read-only"));
  }
  return m;
}

Result<void> Memfd::resize(std::size_t new_size) {
  if (new_size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    return fail(Errc::invalid_argument, "ftruncate", object_of(name_), "size exceeds off_t");
  }
  if (new_size > size_ && reserve_) {
    if (auto r = detail::reserve_backing(fd_.get(), size_, new_size - size_, object_of(name_), nullptr); !r) {
      if (r.error().code() == EPERM) return fail(std::move(r.error()).with_detail("sealed against growing (kSealGrow)"));
      return r;
    }
  }
  auto r = sys::ftruncate(fd_.get(), static_cast<off_t>(new_size));
  if (!r) {
    auto e = std::move(r.error()).with_object(object_of(name_));
    if (e.code() == EPERM) return fail(std::move(e).with_detail(new_size < size_ ? "sealed against shrinking (kSealShrink)" : "sealed against growing (kSealGrow)"));
    return fail(std::move(e));
  }
  size_ = new_size;
  return {};
}

}  // namespace ipcx
