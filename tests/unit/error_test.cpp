// SPDX-License-Identifier: MIT
#include "ipcx/error.hpp"

#include <gtest/gtest.h>

#include "ipcx/deadline.hpp"

#include <limits>
#include <string>

namespace ipcx {
namespace {

using namespace std::chrono_literals;

TEST(Error, MessageNamesCallObjectErrnoAndDetail) {
  auto e = Error::from_errno("mq_open", EINVAL, "/orders").with_detail("mq_maxmsg 100 > fs.mqueue.msg_max 10");
  EXPECT_EQ(e.message(), "mq_open /orders: Invalid argument (mq_maxmsg 100 > fs.mqueue.msg_max 10)");
  EXPECT_EQ(e.code(), EINVAL);
  EXPECT_EQ(e.kind(), Errc::invalid_argument);
  EXPECT_STREQ(e.op(), "mq_open");
  EXPECT_EQ(e.object(), "/orders");
}

TEST(Error, KeepsTheExactErrnoAndClassifiesOutcomes) {
  EXPECT_TRUE(Error::from_errno("read", EAGAIN).would_block());
  EXPECT_TRUE(Error::from_errno("x", ETIMEDOUT).timed_out());
  EXPECT_TRUE(Error::from_errno("write", EPIPE).peer_gone());
  EXPECT_TRUE(Error::from_errno("msgrcv", EIDRM).peer_gone());
  EXPECT_EQ(Error::from_errno("msgrcv", EIDRM).code(), EIDRM);
  EXPECT_EQ(Error::from_errno("open", EEXIST).kind(), Errc::system);
  EXPECT_EQ(Error::from_errno("open", EEXIST).code(), EEXIST);
  EXPECT_EQ(Error::make(Errc::timed_out, "receive").code(), ETIMEDOUT);
}

TEST(Error, UnknownErrnoStillPrints) {
  auto e = Error::from_errno("op", 4095);
  EXPECT_NE(e.message().find("4095"), std::string::npos) << e.message();
}

TEST(Error, SizeTravelsWithTooLarge) {
  auto e = Error::make(Errc::message_too_large, "receive", "pipe", "message of 10 bytes > buffer of 4 bytes").with_size(10);
  EXPECT_EQ(e.size(), 10u);
  EXPECT_EQ(e.message(), "receive pipe: Message too long (message of 10 bytes > buffer of 4 bytes)");
}

TEST(Deadline, KindsAndRemaining) {
  EXPECT_TRUE(Deadline::never().is_never());
  EXPECT_FALSE(Deadline::never().expired());
  EXPECT_EQ(Deadline::never().poll_timeout_ms(), -1);
  EXPECT_TRUE(Deadline::immediate().expired());
  EXPECT_EQ(Deadline::immediate().poll_timeout_ms(), 0);
  EXPECT_TRUE(Deadline::after(0ms).is_immediate());
  EXPECT_TRUE(Deadline::after(-5ms).is_immediate());
  auto d = Deadline::after(10s);
  EXPECT_FALSE(d.expired());
  EXPECT_GT(d.remaining(), 9s);
  EXPECT_LE(d.remaining(), 10s);
  EXPECT_GE(d.poll_timeout_ms(), 9000);
  EXPECT_LE(d.poll_timeout_ms(), 10000);
  // A deadline in the past has nothing left.
  auto past = Deadline::at(Deadline::Clock::now() - 1s);
  EXPECT_TRUE(past.expired());
  EXPECT_EQ(past.remaining(), Deadline::Clock::duration::zero());
  EXPECT_EQ(past.poll_timeout_ms(), 0);
}

TEST(Deadline, TimespecsAgreeWithTheClocks) {
  auto d = Deadline::after(2s);
  timespec mono = d.monotonic_timespec();
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  double diff = (mono.tv_sec - now.tv_sec) + (mono.tv_nsec - now.tv_nsec) / 1e9;
  EXPECT_GT(diff, 1.5);
  EXPECT_LE(diff, 2.0);
  timespec real = d.realtime_timespec();
  clock_gettime(CLOCK_REALTIME, &now);
  diff = (real.tv_sec - now.tv_sec) + (real.tv_nsec - now.tv_nsec) / 1e9;
  EXPECT_GT(diff, 1.5);
  EXPECT_LE(diff, 2.0);
  timespec rel = d.relative_timespec();
  EXPECT_TRUE(rel.tv_sec == 1 || (rel.tv_sec == 2 && rel.tv_nsec == 0));
}

// Issue 13: a timeout the clock cannot count (~9.2e9 s, infinity) or NaN overflowed a
// signed integer in Deadline::after (UBSan) and then failed at once.
TEST(Deadline, HugeOrNanDurationsDoNotOverflow) {
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(9.3e9)).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(1e300)).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(std::numeric_limits<double>::infinity())).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::hours::max()).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::nanoseconds::max()).is_never());
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())).is_immediate());
  EXPECT_TRUE(Deadline::after(std::chrono::duration<double>(-1.0)).is_immediate());
  // An ordinary long wait is still a time point, and not already expired.
  auto d = Deadline::after(std::chrono::duration<double>(1e6));
  EXPECT_FALSE(d.is_never());
  EXPECT_FALSE(d.expired());
  EXPECT_GT(d.remaining(), std::chrono::hours(277));
}

// Issue 13: an error repeated a 130 KB input whole, and the C API's 511-byte message lost
// the reason. The object is shortened; the reason stays within the first few hundred bytes.
TEST(Error, LongInputIsShortenedAndTheReasonKept) {
  std::string huge(130'000, 'a');
  auto e = Error::make(Errc::invalid_argument, "open", huge, "the reason");
  auto m = e.message();
  EXPECT_LT(m.size(), 300u) << m.size();
  EXPECT_NE(m.find("the reason"), std::string::npos) << m;
  EXPECT_NE(m.find("(130000 bytes)"), std::string::npos) << m;
  auto w = Error::make(Errc::system, "x").with_object(huge);
  EXPECT_LT(w.object().size(), 200u);
  // Short inputs are kept whole.
  EXPECT_EQ(shorten_input("/orders"), "/orders");
  EXPECT_EQ(shorten_input(std::string(200, 'b')), std::string(200, 'b'));
}

}  // namespace
}  // namespace ipcx
