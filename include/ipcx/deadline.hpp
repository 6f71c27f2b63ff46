// SPDX-License-Identifier: MIT
// ipcx::Deadline — when a blocking call must give up.
//
// Every blocking call takes one. The public API spells it three ways:
//   ch.receive(buf);                      // Deadline::never(): wait as long as it takes
//   ch.receive_for(buf, 50ms);            // Deadline::after(50ms)
//   ch.receive_until(buf, t);             // Deadline::at(t), t on steady_clock
//   ch.try_receive(buf);                  // Deadline::immediate(): never blocks
// Time is std::chrono::steady_clock, which on Linux is CLOCK_MONOTONIC: a wall-clock
// change never shortens or stretches a wait. Value type; thread-safe to copy.
#pragma once

#include <chrono>
#include <ctime>

namespace ipcx {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr Deadline never() noexcept { return Deadline(Kind::never, {}); }
  static constexpr Deadline immediate() noexcept { return Deadline(Kind::immediate, {}); }
  static Deadline at(Clock::time_point t) noexcept { return Deadline(Kind::at, t); }
  // A wait longer than the clock can count from now (~292 years of nanoseconds, less its
  // uptime) is never(); a NaN is no positive time, so immediate(), like zero. Nothing here
  // overflows, whatever the duration's type.
  template <typename Rep, typename Period>
  static Deadline after(std::chrono::duration<Rep, Period> d) noexcept {
    if (!(d > d.zero())) return immediate();  // also a NaN, which compares false
    const auto now = Clock::now();
    // Compared in long double seconds: no integer conversion can overflow on the way.
    using Seconds = std::chrono::duration<long double>;
    if (Seconds(d) >= Seconds(Clock::time_point::max() - now) - Seconds(1)) return never();
    return at(now + std::chrono::ceil<Clock::duration>(d));
  }

  bool is_never() const noexcept { return kind_ == Kind::never; }
  bool is_immediate() const noexcept { return kind_ == Kind::immediate; }
  Clock::time_point time_point() const noexcept { return when_; }

  bool expired() const noexcept {
    return kind_ == Kind::immediate || (kind_ == Kind::at && Clock::now() >= when_);
  }
  // Time left, never negative; Clock::duration::max() for never().
  Clock::duration remaining() const noexcept;
  // For poll()/epoll_wait(): -1 forever, 0 now, otherwise milliseconds rounded up.
  int poll_timeout_ms() const noexcept;
  // Absolute CLOCK_MONOTONIC time, for futex and sem/pthread *_clockwait calls.
  timespec monotonic_timespec() const noexcept;
  // Absolute CLOCK_REALTIME time for calls that only take that clock (mq_timedsend):
  // converted at the time of the call, so a wall-clock step during the wait moves it.
  timespec realtime_timespec() const noexcept;
  // Relative time left, for semtimedop and similar.
  timespec relative_timespec() const noexcept;

 private:
  enum class Kind : unsigned char { never, immediate, at };
  constexpr Deadline(Kind k, Clock::time_point t) noexcept : kind_(k), when_(t) {}
  Kind kind_;
  Clock::time_point when_;
};

}  // namespace ipcx
