// SPDX-License-Identifier: MIT
// The C API under allocation failure: every C call that allocates is run with its first,
// second, third ... allocation failing, until it succeeds. Each failed run must return the
// call's failure value with err = IPCX_SYSTEM/ENOMEM (never an abort, never an exception
// across extern "C", never a half-made object left behind), and the run with nothing failed
// must work. The failures come from this binary's replacement of operator new.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <new>
#include <string>

#include "ipcx/ipcx.h"
#include "support/test_support.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define IPCX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define IPCX_SANITIZED 1
#endif
#endif

#ifdef IPCX_SANITIZED
// The sanitizers bring their own operator new; replacing it there would not link.
TEST(CApiAllocation, EveryFailureIsEnomemNotAnAbort) { GTEST_SKIP() << "the sanitizers own operator new here"; }
#else

namespace {

// Allocations left before one fails: -1 never fails. Only the test's own thread counts
// (a thread_local), so gtest's and other threads' allocations are untouched.
thread_local long fail_countdown = -1;

}  // namespace

void* operator new(std::size_t n) {
  if (fail_countdown == 0) {
    fail_countdown = -1;  // one failure per run: what comes after it is the code's recovery
    throw std::bad_alloc();
  }
  if (fail_countdown > 0) --fail_countdown;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

// Runs `call` with allocation k failing, k = 0, 1, 2, ... until a run sees no failure (the
// countdown was never reached). `call` returns true on success and leaves err filled.
// Returns how many runs failed an allocation.
int fail_each_allocation(const std::function<bool(ipcx_error*)>& call, const std::function<void()>& undo) {
  int failed_runs = 0;
  for (long k = 0; k < 10000; ++k) {
    ipcx_error err{};
    fail_countdown = k;
    const bool ok = call(&err);
    const bool injected = fail_countdown == -1;  // the k-th allocation happened, and failed
    fail_countdown = -1;
    if (!injected) {
      EXPECT_TRUE(ok) << "with no allocation failing: " << err.message;
      if (ok) undo();
      return failed_runs;
    }
    ++failed_runs;
    if (ok) {
      undo();  // the call recovered from the failure by itself (e.g. an error text it could not build)
      continue;
    }
    EXPECT_EQ(err.kind, IPCX_SYSTEM) << "allocation " << k << ": " << err.message;
    EXPECT_EQ(err.code, ENOMEM) << "allocation " << k << ": " << err.message;
  }
  ADD_FAILURE() << "still allocating after 10000 runs";
  return failed_runs;
}

TEST(CApiAllocation, EveryFailureIsEnomemNotAnAbort) {
  // A POSIX queue channel, its attributes and a notification callback.
  const std::string q = "posixmq://" + ipcx::test::unique_posix_name("alloc") + "?unlink=1";
  ipcx_channel* ch = nullptr;
  EXPECT_GT(fail_each_allocation([&](ipcx_error* e) { return (ch = ipcx_open(q.c_str(), e)) != nullptr; },
                                 [] {}),
            0);
  ASSERT_NE(ch, nullptr);
  EXPECT_GT(fail_each_allocation(
                [&](ipcx_error* e) {
                  return ipcx_posixmq_notify_callback(ch, [](void*) {}, nullptr, e) == 0;
                },
                [&] { EXPECT_EQ(ipcx_posixmq_notify_cancel(ch, nullptr), 0); }),
            0);
  ipcx_posixmq_attr a{};
  fail_each_allocation([&](ipcx_error* e) { return ipcx_posixmq_getattr(ch, &a, e) == 0; }, [] {});
  ipcx_close(ch);

  // A System V queue's IPC_STAT, and a receive with MSG_NOERROR.
  ipcx_channel* s = ipcx_open("sysvmq://private?remove=1", nullptr);
  ASSERT_NE(s, nullptr);
  ipcx_sysvmq_info info{};
  fail_each_allocation([&](ipcx_error* e) { return ipcx_sysvmq_stat(s, &info, e) == 0; }, [] {});
  char buf[4];
  fail_each_allocation(
      [&](ipcx_error* e) {
        if (ipcx_send_ex(s, "message", 7, 0, 3, 0, e) != 0) return false;
        long type = 0;
        const bool ok = ipcx_sysvmq_receive(s, buf, sizeof buf, 0, 3, IPCX_MSG_NOERROR, &type, e) == 4;
        if (!ok) (void)ipcx_sysvmq_receive(s, buf, sizeof buf, 0, 3, IPCX_MSG_NOERROR, nullptr, nullptr);
        return ok;
      },
      [] {});
  ipcx_close(s);

  // A System V semaphore set's GETALL (a vector inside) and a segment's handle.
  ipcx_sysvsem* set = nullptr;
  EXPECT_GT(fail_each_allocation([&](ipcx_error* e) { return (set = ipcx_sysvsem_create(IPC_PRIVATE, 4, 0600, e)) != nullptr; },
                                 [] {}),
            0);
  ASSERT_NE(set, nullptr);
  unsigned short values[4];
  EXPECT_GT(fail_each_allocation([&](ipcx_error* e) { return ipcx_sysvsem_values(set, values, 4, e) == 4; }, [] {}), 0);
  ipcx_sysvsem_close(set);
  ipcx_sysvshm* seg = nullptr;
  EXPECT_GT(fail_each_allocation(
                [&](ipcx_error* e) { return (seg = ipcx_sysvshm_create_ex(IPC_PRIVATE, 4096, 0600, IPCX_SHM_NORESERVE, 0, e)) != nullptr; },
                [&] { ipcx_sysvshm_close(seg); }),
            0);

  // Placement: a claim that fails to find room builds an error text.
  alignas(64) unsigned char small[64] = {};
  fail_each_allocation(
      [&](ipcx_error* e) {
        return ipcx_place_claim(small, sizeof small, 1, 1, 128, 8, e) == nullptr && e->kind == IPCX_INVALID_ARGUMENT;
      },
      [] {});
}

}  // namespace

#endif  // IPCX_SANITIZED
