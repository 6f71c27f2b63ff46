// SPDX-License-Identifier: MIT
#include "ipcx/deadline.hpp"

#include <climits>

namespace ipcx {
namespace {

timespec to_timespec(std::chrono::nanoseconds ns) noexcept {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(ns);
  return timespec{static_cast<time_t>(s.count()), static_cast<long>((ns - s).count())};
}

}  // namespace

Deadline::Clock::duration Deadline::remaining() const noexcept {
  switch (kind_) {
    case Kind::never: return Clock::duration::max();
    case Kind::immediate: return Clock::duration::zero();
    case Kind::at: break;
  }
  auto left = when_ - Clock::now();
  return left > Clock::duration::zero() ? left : Clock::duration::zero();
}

int Deadline::poll_timeout_ms() const noexcept {
  if (kind_ == Kind::never) return -1;
  auto left = remaining();
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

timespec Deadline::monotonic_timespec() const noexcept {
  if (kind_ == Kind::immediate) return to_timespec(Clock::now().time_since_epoch());
  return to_timespec(when_.time_since_epoch());
}

timespec Deadline::realtime_timespec() const noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(remaining());
  auto total = std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec) + left;
  return to_timespec(total);
}

timespec Deadline::relative_timespec() const noexcept {
  return to_timespec(std::chrono::duration_cast<std::chrono::nanoseconds>(remaining()));
}

}  // namespace ipcx
