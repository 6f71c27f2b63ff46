// SPDX-License-Identifier: MIT
#include "ipcx/ipcx.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

TEST(CApi, BadUrlFillsTheErrorWithWhatAndWhy) {
  ipcx_error err;
  EXPECT_EQ(ipcx_open("nope://x", &err), nullptr);
  EXPECT_EQ(err.kind, IPCX_BAD_URL);
  EXPECT_EQ(err.code, EINVAL);
  EXPECT_NE(std::string(err.message).find("unknown scheme 'nope'"), std::string::npos) << err.message;
  EXPECT_STREQ(ipcx_errc_name(err.kind), "bad URL");
  EXPECT_EQ(ipcx_open("nope://x", nullptr), nullptr);  // err may be NULL
}

TEST(CApi, NullHandlesAreErrorsNotCrashes) {
  ipcx_error err;
  char buf[4];
  EXPECT_EQ(ipcx_send(nullptr, "x", 1, 0, &err), -1);
  EXPECT_EQ(err.kind, IPCX_INVALID_ARGUMENT);
  EXPECT_EQ(ipcx_receive(nullptr, buf, sizeof buf, 0, &err), -1);
  EXPECT_EQ(ipcx_open(nullptr, &err), nullptr);
  EXPECT_EQ(ipcx_pollable_fd(nullptr), -1);
  ipcx_close(nullptr);
}

TEST(CApi, FifoRoundTripShortBufferAndTimeout) {
  const std::string url = "fifo://" + ipcx::test::unique_path("c") + "?remove=1";
  ipcx_error err;
  ipcx_channel* r = ipcx_open(url.c_str(), &err);
  ASSERT_NE(r, nullptr) << err.message;
  char buf[16];
  EXPECT_EQ(ipcx_receive(r, buf, sizeof buf, 0, &err), -1);
  EXPECT_EQ(err.kind, IPCX_WOULD_BLOCK);
  EXPECT_EQ(ipcx_receive(r, buf, sizeof buf, 20, &err), -1);
  EXPECT_EQ(err.kind, IPCX_TIMED_OUT);
  auto child = ipcx::test::Child::spawn([&] {
    ipcx_error e;
    ipcx_channel* w = ipcx_open(url.c_str(), &e);
    if (!w) return 1;
    int rc = ipcx_send(w, "hello, C", 8, 5000, &e);
    ipcx_close(w);
    return rc == 0 ? 0 : 2;
  });
  EXPECT_EQ(ipcx_receive(r, buf, 4, 5000, &err), -1);
  EXPECT_EQ(err.kind, IPCX_MESSAGE_TOO_LARGE);
  EXPECT_EQ(err.size, 8u);
  ASSERT_EQ(ipcx_receive(r, buf, sizeof buf, 5000, &err), 8) << err.message;
  EXPECT_EQ(std::string(buf, 8), "hello, C");
  EXPECT_EQ(ipcx_receive(r, buf, sizeof buf, 5000, &err), -1);
  EXPECT_EQ(err.kind, IPCX_PEER_GONE);
  EXPECT_EQ(child.wait(), 0);
  ipcx_close(r);
}

// Batches from C: a child sends five messages in one call, the parent takes them in
// batches of at most three; a message too large for a slot stops a batch and stays queued.
TEST(CApi, BatchesOverAFifo) {
  const std::string url = "fifo://" + ipcx::test::unique_path("cb") + "?remove=1";
  ipcx_error err;
  ipcx_channel* r = ipcx_open(url.c_str(), &err);
  ASSERT_NE(r, nullptr) << err.message;
  ipcx_batch* b = ipcx_batch_new(3, 8, &err);
  ASSERT_NE(b, nullptr) << err.message;
  EXPECT_EQ(ipcx_receive_batch(r, b, 0, &err), -1);
  EXPECT_EQ(err.kind, IPCX_WOULD_BLOCK);
  auto child = ipcx::test::Child::spawn([&] {
    ipcx_error e;
    ipcx_channel* w = ipcx_open(url.c_str(), &e);
    if (!w) return 1;
    const char* msgs[] = {"one", "two", "three", "four", "a message too long", "five"};
    size_t lens[6];
    for (int i = 0; i < 6; ++i) lens[i] = std::strlen(msgs[i]);
    ssize_t n = ipcx_send_batch(w, reinterpret_cast<const void* const*>(msgs), lens, 6, 5000, &e);
    ipcx_close(w);
    return n == 6 ? 0 : 2;
  });
  std::vector<std::string> got;
  auto take = [&](ssize_t n) {
    for (ssize_t i = 0; i < n; ++i) {
      size_t len = 0;
      const void* p = ipcx_batch_data(b, static_cast<size_t>(i), &len);
      got.emplace_back(static_cast<const char*>(p), len);
    }
  };
  ASSERT_EQ(child.wait(), 0);  // all five went: the FIFO holds them
  ssize_t n = ipcx_receive_batch(r, b, 5000, &err);
  ASSERT_EQ(n, 3) << err.message;
  take(n);
  n = ipcx_receive_batch(r, b, 5000, &err);
  ASSERT_EQ(n, 1) << "stops before the message too large for its slot: " << err.message;
  take(n);
  EXPECT_EQ(ipcx_receive_batch(r, b, 5000, &err), -1);
  EXPECT_EQ(err.kind, IPCX_MESSAGE_TOO_LARGE);
  EXPECT_EQ(err.size, 18u);
  char big[32];
  ASSERT_EQ(ipcx_receive(r, big, sizeof big, 5000, &err), 18) << err.message;
  n = ipcx_receive_batch(r, b, 5000, &err);
  ASSERT_EQ(n, 1) << err.message;
  take(n);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three", "four", "five"}));
  EXPECT_EQ(ipcx_receive_batch(r, b, 5000, &err), -1);
  EXPECT_EQ(err.kind, IPCX_PEER_GONE);
  ipcx_batch_free(b);
  ipcx_close(r);
}

// A new user's report: ipcx_send_ex with type 0 on posixmq:// must mean "no type".
TEST(CApi, SendExTypeZeroIsNoType) {
  const std::string url = "posixmq://" + ipcx::test::unique_posix_name("c") + "?unlink=1";
  ipcx_error err;
  ipcx_channel* q = ipcx_open(url.c_str(), &err);
  ASSERT_NE(q, nullptr) << err.message;
  EXPECT_EQ(ipcx_send_ex(q, "p", 1, 0, 0, 3, &err), 0) << err.message;
  EXPECT_EQ(ipcx_send_ex(q, "t", 1, 0, 2, 0, &err), -1);  // a type is for sysvmq://
  EXPECT_EQ(err.kind, IPCX_INVALID_ARGUMENT);
  char buf[8];
  unsigned prio = 0;
  EXPECT_EQ(ipcx_receive_ex(q, buf, sizeof buf, 0, 0, nullptr, &prio, &err), 1) << err.message;
  EXPECT_EQ(prio, 3u);
  ipcx_close(q);

  // On sysvmq://, type 0 sends type 1 (as ipcx_send does).
  ipcx_channel* s = ipcx_open("sysvmq://private?remove=1", &err);
  ASSERT_NE(s, nullptr) << err.message;
  EXPECT_EQ(ipcx_send_ex(s, "x", 1, 0, 0, 0, &err), 0) << err.message;
  long type = 0;
  EXPECT_EQ(ipcx_receive_ex(s, buf, sizeof buf, 0, 0, &type, nullptr, &err), 1) << err.message;
  EXPECT_EQ(type, 1);
  ipcx_close(s);
}

// err.size on sysvmq://: the message's size for a send; for a receive into a short buffer
// a size that receives it (kernel.msgmax), and the message stays queued.
TEST(CApi, SysvTooLargeSizes) {
  ipcx_error err;
  ipcx_channel* s = ipcx_open("sysvmq://private?remove=1", &err);
  ASSERT_NE(s, nullptr) << err.message;
  const std::size_t max = ipcx_max_message_size(s);
  std::vector<char> big(max + 1, 'b');
  EXPECT_EQ(ipcx_send(s, big.data(), big.size(), 0, &err), -1);
  EXPECT_EQ(err.kind, IPCX_MESSAGE_TOO_LARGE);
  EXPECT_EQ(err.size, max + 1);
  ASSERT_EQ(ipcx_send(s, big.data(), 300, 0, &err), 0) << err.message;
  char small[10];
  EXPECT_EQ(ipcx_receive(s, small, sizeof small, 0, &err), -1);
  EXPECT_EQ(err.kind, IPCX_MESSAGE_TOO_LARGE);
  EXPECT_GE(err.size, 300u);
  std::vector<char> fits(err.size);
  EXPECT_EQ(ipcx_receive(s, fits.data(), fits.size(), 0, &err), 300) << err.message;
  ipcx_close(s);
}

TEST(CApi, VersionIsTheProjects) {
  int major = -1, minor = -1, patch = -1;
  const std::string v = ipcx_version(&major, &minor, &patch);
  EXPECT_EQ(v, std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
  EXPECT_EQ(ipcx_version(nullptr, nullptr, nullptr), v);
}

// The robust mutex through the C API: a child killed holding it; the parent is told, repairs
// and marks it consistent.
TEST(CApi, MutexOwnerDiedAcrossProcesses) {
  const std::string name = ipcx::test::unique_posix_name("cmtx");
  ipcx_error err;
  ipcx_shm* seg = ipcx_shm_create(name.c_str(), 4096, 0600, &err);
  ASSERT_NE(seg, nullptr) << err.message;
  ipcx_mapping* map = ipcx_shm_map(seg, 1, &err);
  ASSERT_NE(map, nullptr) << err.message;
  auto* m = static_cast<ipcx_mutex*>(ipcx_mapping_data(map));
  ASSERT_EQ(ipcx_mutex_init(m, &err), 0) << err.message;
  ipcx::test::Gate holding;
  auto child = ipcx::test::Child::spawn([&] {
    ipcx_error e;
    if (ipcx_mutex_lock(m, 5000, &e) != IPCX_LOCK_ACQUIRED) return 1;
    holding.open();
    ::pause();
    return 2;
  });
  ASSERT_EQ(holding.wait(), 'x');
  EXPECT_EQ(ipcx_mutex_lock(m, 10, &err), -1);
  EXPECT_EQ(err.kind, IPCX_TIMED_OUT);
  child.kill(SIGKILL);
  EXPECT_EQ(child.wait(), 128 + SIGKILL);
  EXPECT_EQ(ipcx_mutex_lock(m, 5000, &err), IPCX_LOCK_OWNER_DIED) << err.message;
  EXPECT_EQ(ipcx_mutex_lock(m, -1, &err), -1);  // error-checking: this thread holds it
  EXPECT_EQ(err.kind, IPCX_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err.message).find("already holds"), std::string::npos) << err.message;
  EXPECT_EQ(ipcx_mutex_consistent(m, &err), 0) << err.message;
  EXPECT_EQ(ipcx_mutex_unlock(m, &err), 0) << err.message;
  EXPECT_EQ(ipcx_mutex_lock(m, 0, &err), IPCX_LOCK_ACQUIRED) << err.message;
  EXPECT_EQ(ipcx_mutex_unlock(m, &err), 0) << err.message;
  ipcx_mutex_destroy(m);
  ipcx_unmap(map);
  ipcx_shm_close(seg);
}

// A System V unit taken with SEM_UNDO comes back when its holder is killed.
TEST(CApi, SysvSemUndoAcrossProcesses) {
  ipcx_error err;
  ipcx_sysvsem* set = ipcx_sysvsem_create(ipcx::test::unique_key(), 2, 0600, &err);
  ASSERT_NE(set, nullptr) << err.message;
  ASSERT_EQ(ipcx_sysvsem_set_value(set, 1, 1, &err), 0) << err.message;
  ipcx::test::Gate holding;
  auto child = ipcx::test::Child::spawn([&] {
    ipcx_error e;
    ipcx_semop take{1, -1, IPCX_SEM_UNDO};
    if (ipcx_sysvsem_op(set, &take, 1, 5000, &e) != 0) return 1;
    holding.open();
    ::pause();
    return 2;
  });
  ASSERT_EQ(holding.wait(), 'x');
  EXPECT_EQ(ipcx_sysvsem_value(set, 1, &err), 0);
  child.kill(SIGKILL);
  EXPECT_EQ(child.wait(), 128 + SIGKILL);
  EXPECT_EQ(ipcx_sysvsem_value(set, 1, &err), 1) << err.message;
  ipcx_semop bad{0, -1, 0x40};
  EXPECT_EQ(ipcx_sysvsem_op(set, &bad, 1, 0, &err), -1);
  EXPECT_EQ(err.kind, IPCX_INVALID_ARGUMENT);
  ipcx_sysvsem_close(set);
}

// A memfd sealed, passed over a socketpair with its credentials, adopted and read.
TEST(CApi, MemfdPassedOverASocketpair) {
  ipcx_error err;
  ipcx_channel *a = nullptr, *b = nullptr;
  ASSERT_EQ(ipcx_socketpair(IPCX_SEQPACKET, &a, &b, &err), 0) << err.message;
  ipcx_memfd* mfd = ipcx_memfd_create("capi", 4096, &err);
  ASSERT_NE(mfd, nullptr) << err.message;
  {
    ipcx_mapping* w = ipcx_memfd_map(mfd, 1, &err);
    ASSERT_NE(w, nullptr) << err.message;
    std::memcpy(ipcx_mapping_data(w), "frame", 6);
    ipcx_unmap(w);
  }
  ASSERT_EQ(ipcx_memfd_add_seals(mfd, IPCX_SEAL_SHRINK | IPCX_SEAL_WRITE, &err), 0) << err.message;
  const pid_t parent = ::getpid();
  auto child = ipcx::test::Child::spawn([&] {
    ipcx_error e;
    ipcx_close(a);
    char buf[8];
    int fds[1] = {-1};
    ipcx_received r{};
    r.fds = fds;
    r.fds_cap = 1;
    if (ipcx_receive_msg(b, buf, sizeof buf, 5000, &r, &e) != 1 || r.nfds != 1) return 1;
    ipcx_memfd* got = ipcx_memfd_adopt(fds[0], IPCX_SEAL_SHRINK | IPCX_SEAL_WRITE, &e);
    if (!got) return 2;
    ipcx_mapping* m = ipcx_memfd_map(got, 0, &e);
    if (!m || std::strcmp(static_cast<const char*>(ipcx_mapping_data(m)), "frame") != 0) return 3;
    if (ipcx_memfd_map(got, 1, &e) != nullptr) return 4;  // sealed against writing
    pid_t pid = 0;
    if (ipcx_peer_credentials(b, &pid, nullptr, nullptr, &e) != 0 || pid != parent) return 5;
    ipcx_unmap(m);
    ipcx_memfd_close(got);
    ipcx_close(b);
    return 0;
  });
  ipcx_close(b);
  int fd = ipcx_memfd_fd(mfd);
  ipcx_send_options o{};
  o.fds = &fd;
  o.nfds = 1;
  EXPECT_EQ(ipcx_send_msg(a, "m", 1, 5000, &o, &err), 0) << err.message;
  EXPECT_EQ(child.wait(), 0);
  ipcx_memfd_close(mfd);
  ipcx_close(a);

  // A descriptor that is not a memfd is refused, and closed.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_EQ(ipcx_memfd_adopt(fds[0], 0, &err), nullptr);
  EXPECT_EQ(err.kind, IPCX_INVALID_ARGUMENT) << err.message;
  EXPECT_EQ(::close(fds[0]), -1);  // already closed by the adopt
  ::close(fds[1]);
}

// Loan, commit and read in place on shm://, across processes; a loan abandoned sends nothing.
TEST(CApi, ShmLoanCommitAndReadInPlace) {
  const std::string url = "shm://" + ipcx::test::unique_name("czc") + "?capacity=4k";
  ipcx_error err;
  auto child = ipcx::test::Child::spawn([&] {
    ipcx_error e;
    ipcx_channel* rx = ipcx_bind(url.c_str(), &e);
    if (!rx) return 1;
    ipcx_view* v = ipcx_read(rx, 5000, &e);
    if (!v || ipcx_view_size(v) != 3 || std::memcmp(ipcx_view_data(v), "abc", 3) != 0) return 2;
    ipcx_view_release(v);
    v = ipcx_read(rx, 5000, &e);  // the abandoned loan never arrives; "def" does
    if (!v || ipcx_view_size(v) != 3 || std::memcmp(ipcx_view_data(v), "def", 3) != 0) return 3;
    ipcx_view_release(v);
    ipcx_close(rx);
    return 0;
  });
  ipcx_channel* tx = ipcx_open(url.c_str(), &err);
  ASSERT_NE(tx, nullptr) << err.message;
  ipcx_loan* l = ipcx_loan_begin(tx, 8, 5000, &err);
  ASSERT_NE(l, nullptr) << err.message;
  std::memcpy(ipcx_loan_data(l), "abc", 3);
  EXPECT_EQ(ipcx_loan_commit(tx, l, 3, &err), 0) << err.message;
  l = ipcx_loan_begin(tx, 8, 5000, &err);
  ASSERT_NE(l, nullptr) << err.message;
  std::memcpy(ipcx_loan_data(l), "xyz", 3);
  ipcx_loan_abandon(l);
  l = ipcx_loan_begin(tx, 8, 5000, &err);
  ASSERT_NE(l, nullptr) << err.message;
  EXPECT_EQ(ipcx_loan_commit(tx, l, 9, &err), -1);  // more than loaned: refused, and freed
  EXPECT_EQ(err.kind, IPCX_MESSAGE_TOO_LARGE) << err.message;
  l = ipcx_loan_begin(tx, 8, 5000, &err);
  ASSERT_NE(l, nullptr) << err.message;
  std::memcpy(ipcx_loan_data(l), "def", 3);
  EXPECT_EQ(ipcx_loan_commit(tx, l, 3, &err), 0) << err.message;
  EXPECT_EQ(child.wait(), 0);
  ipcx_close(tx);
}

}  // namespace
