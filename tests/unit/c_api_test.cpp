#include "ipcx/ipcx.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
