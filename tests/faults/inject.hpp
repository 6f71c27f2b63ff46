// SPDX-License-Identifier: MIT
// Injected faults: this test binary defines mmap, fallocate, ftruncate, write, writev,
// sendmsg, accept4, mq_open and malloc itself, so every call that libipcx (linked statically) makes to them
// comes here first and goes on to the C library unless a test armed a fault. A fault is
// armed per thread, so the test's own machinery (gtest, other threads) is never hit.
//
//   fault::arm(fault::Call::fallocate, ENOSPC);   // the next fallocate on this thread fails
//   auto r = ipcx::RingProducer::open(name, o);  // ... and this must say so cleanly
//   EXPECT_EQ(fault::disarm(fault::Call::fallocate), 1);
//
// Only for unsanitized builds: ASan and TSan define these symbols themselves.
#pragma once

namespace ipcx::test::fault {

enum class Call { mmap, fallocate, ftruncate, write, writev, sendmsg, accept4, mq_open, malloc, count_ };

// From now on, on this thread: `call` goes through `skip` times, then fails with `err`
// `times` times (every time when times < 0); with fd >= 0 only calls on that descriptor
// count.
void arm(Call call, int err, long skip = 0, long times = 1, int fd = -1) noexcept;
// Stops the fault; returns how many calls it failed.
long disarm(Call call) noexcept;

}  // namespace ipcx::test::fault
