// SPDX-License-Identifier: MIT
#include "ipcx/semaphore.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <climits>

#include <fmt/format.h>

#include "ipcx/url.hpp"
#include "sys/io.hpp"
#include "sys/sem.hpp"

namespace ipcx {
namespace {

// glibc keeps named semaphores as /dev/shm/sem.NAME.
constexpr std::string_view kSemPrefix = "/dev/shm/sem.";
constexpr std::size_t kMaxSemName = NAME_MAX - 4;  // "sem." + name within NAME_MAX

std::string sem_path(std::string_view name) { return fmt::format("{}{}", kSemPrefix, name.substr(1)); }

Result<void> with_name(Result<void> r, std::string_view name) {
  if (!r) return fail(std::move(r.error()).with_object(name));
  return r;
}

}  // namespace

Result<void> PosixSemaphore::validate_name(std::string_view name) {
  if (auto v = validate_posix_name(name, "sem_open"); !v) return v;
  if (name.size() - 1 > kMaxSemName) {
    return fail(Errc::invalid_argument, "sem_open", name,
                fmt::format("name is {} bytes; a semaphore name is at most {} after the '/'", name.size() - 1,
                            kMaxSemName));
  }
  return {};
}

PosixSemaphore::~PosixSemaphore() { reset(); }

PosixSemaphore& PosixSemaphore::operator=(PosixSemaphore&& o) noexcept {
  if (this != &o) {
    reset();
    sem_ = std::exchange(o.sem_, nullptr);
    name_ = std::move(o.name_);
    owns_name_ = std::exchange(o.owns_name_, false);
  }
  return *this;
}

void PosixSemaphore::reset() noexcept {
  if (sem_) (void)sys::sem_close(sem_);
  sem_ = nullptr;
  if (owns_name_) (void)sys::sem_unlink(name_.c_str());
  owns_name_ = false;
}

Result<PosixSemaphore> PosixSemaphore::create(std::string_view name, unsigned initial, const PosixSemaphoreOptions& o) {
  if (auto v = validate_name(name); !v) return fail(std::move(v.error()));
  if (auto v = validate_new_name(name, "sem_open"); !v) return fail(std::move(v.error()));
  if (o.mode & ~0777u) {
    return fail(Errc::invalid_argument, "sem_open", name, fmt::format("mode {:o} has bits beyond 0777", o.mode));
  }
  if (initial > static_cast<unsigned>(SEM_VALUE_MAX)) {
    return fail(Errc::invalid_argument, "sem_open", name, fmt::format("initial value {} above SEM_VALUE_MAX {}", initial, SEM_VALUE_MAX));
  }
  PosixSemaphore s;
  s.name_.assign(name);
  auto sem = sys::sem_open(s.name_.c_str(), O_CREAT | O_EXCL, o.mode, initial);
  if (!sem) return fail(std::move(sem.error()));
  s.sem_ = *sem;
  s.owns_name_ = true;  // from here on a failure unlinks it
  // sem_open applies the umask; set exactly what was asked.
  if (auto r = sys::chmod(sem_path(name).c_str(), o.mode); !r) return fail(std::move(r.error()).with_object(name));
  return s;
}

Result<PosixSemaphore> PosixSemaphore::open(std::string_view name) {
  if (auto v = validate_name(name); !v) return fail(std::move(v.error()));
  PosixSemaphore s;
  s.name_.assign(name);
  auto sem = sys::sem_open(s.name_.c_str(), 0, 0, 0);
  if (!sem) return fail(std::move(sem.error()));
  s.sem_ = *sem;
  return s;
}

Result<PosixSemaphoreInfo> PosixSemaphore::stat(std::string_view name) {
  if (auto v = validate_name(name); !v) return fail(std::move(v.error()));
  PosixSemaphoreInfo info;
  info.name.assign(name);
  info.path = sem_path(name);
  auto st = sys::stat(info.path.c_str());
  if (!st) return fail(std::move(st.error()).with_object(name));
  info.mode = st->st_mode & 07777u;
  info.uid = st->st_uid;
  info.gid = st->st_gid;
  info.changed = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st->st_ctim.tv_sec) + std::chrono::nanoseconds(st->st_ctim.tv_nsec)));
  if (auto s = open(name)) {
    if (auto v = s->value()) info.value = *v;
  }
  return info;
}

Result<void> PosixSemaphore::unlink(std::string_view name) {
  if (auto v = validate_name(name); !v) return fail(std::move(v.error()));
  std::string n(name);
  return sys::sem_unlink(n.c_str());
}

Result<void> PosixSemaphore::wait(Deadline d) {
  if (!sem_) return fail(Errc::invalid_argument, "sem_wait", name_, "not open");
  return with_name(sys::sem_wait(sem_, d), name_);
}

Result<void> PosixSemaphore::post() {
  if (!sem_) return fail(Errc::invalid_argument, "sem_post", name_, "not open");
  return with_name(sys::sem_post(sem_), name_);
}

Result<int> PosixSemaphore::value() const {
  if (!sem_) return fail(Errc::invalid_argument, "sem_getvalue", name_, "not open");
  return sys::sem_getvalue(sem_);
}

Result<void> PosixSemaphore::unlink_now() {
  owns_name_ = false;
  auto r = sys::sem_unlink(name_.c_str());
  if (!r && r.error().code() == ENOENT) return {};
  return r;
}

UnnamedSemaphore::UnnamedSemaphore(unsigned initial) noexcept : sem_{} {
  if (initial > static_cast<unsigned>(SEM_VALUE_MAX)) {
    init_error_ = EINVAL;
    return;
  }
  auto r = sys::sem_init(&sem_, initial);
  init_error_ = r ? 0 : r.error().code();
}

UnnamedSemaphore::~UnnamedSemaphore() {
  if (init_error_ == 0) (void)sys::sem_destroy(&sem_);
}

Result<void> UnnamedSemaphore::wait(Deadline d) {
  if (init_error_ != 0) return fail_errno("sem_init", init_error_);
  return sys::sem_wait(&sem_, d);
}

Result<void> UnnamedSemaphore::post() {
  if (init_error_ != 0) return fail_errno("sem_init", init_error_);
  return sys::sem_post(&sem_);
}

Result<int> UnnamedSemaphore::value() {
  if (init_error_ != 0) return fail_errno("sem_init", init_error_);
  return sys::sem_getvalue(&sem_);
}

}  // namespace ipcx
