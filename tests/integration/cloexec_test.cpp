// SPDX-License-Identifier: MIT
// Every descriptor ipcx opens is close-on-exec: one process uses every mechanism at once
// (sockets of each kind, listeners and accepted ends, both queues with an mq_notify
// registration and its netlink socket, a FIFO's two ends, pipes, the shm:// ring with the
// eventfd of wait=poll, POSIX shared memory, a memfd), then execs a helper that lists the
// descriptors it inherited. None of those opened by the test may be among them.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "integration/socket_test_util.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/memfd.hpp"
#include "ipcx/pipe.hpp"
#include "ipcx/posix_mq.hpp"
#include "ipcx/ring.hpp"
#include "ipcx/shm.hpp"
#include "support/test_support.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;

std::vector<int> listed_by_exec_helper() {
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return {-1};
  auto helper = test::Child::exec({self, "--list-fds"});
  if (helper.wait() != 0) return {-1};
  std::vector<int> fds;
  std::istringstream in(helper.output());
  for (int fd; in >> fd;) fds.push_back(fd);
  return fds;
}

TEST(CloseOnExec, NothingIpcxOpensCrossesExec) {
  const auto before = test::open_fds().value_or(std::vector<int>{});
  std::vector<Channel> held;
  std::vector<Listener> listeners;
  auto keep = [&](Result<Channel> ch, std::string_view what) {
    ASSERT_TRUE(ch) << what << ": " << ch.error().message();
    held.push_back(std::move(*ch));
  };
  // Connection-oriented sockets: the listener, the connecting end and the accepted end.
  for (const std::string& url : {fmt::format("unix://{}", test::unique_path("cx-unix")),
                                fmt::format("unix:@{}", test::unique_name("cx-abstract")),
                                fmt::format("unixpacket://{}", test::unique_path("cx-packet")),
                                std::string("tcp://127.0.0.1:0")}) {
    auto l = Listener::listen(url);
    ASSERT_TRUE(l) << url << ": " << l.error().message();
    keep(Channel::open(l->local_url()), url);
    keep(l->accept(Deadline::after(5s)), url);
    listeners.push_back(std::move(*l));
  }
  // Datagram sockets: a bound receiver and a sender.
  const std::string gram = "unixgram://" + test::unique_path("cx-gram");
  keep(Channel::bind(gram), gram);
  keep(Channel::open(gram), gram);
  {
    auto udp = Channel::bind("udp://127.0.0.1:0");
    ASSERT_TRUE(udp) << udp.error().message();
    auto at = local_url(*udp);
    ASSERT_TRUE(at) << at.error().message();
    keep(Channel::open(*at), *at);
    held.push_back(std::move(*udp));
  }
  {
    auto pair = make_socket_pair(SocketType::seqpacket);
    ASSERT_TRUE(pair) << pair.error().message();
    held.push_back(std::move(pair->first));
    held.push_back(std::move(pair->second));
  }
  // Pipes and a FIFO's two ends.
  {
    auto p = make_duplex_pipe();
    ASSERT_TRUE(p) << p.error().message();
    held.push_back(std::move(p->first));
    held.push_back(std::move(p->second));
  }
  const std::string fifo_path = test::unique_path("cx-fifo");
  const std::string fifo = fmt::format("fifo://{}?remove=1", fifo_path);
  keep(Channel::open(fifo), fifo);
  ASSERT_GE(held.back().pollable_fd(), 0);  // the read end
  keep(Channel::open(fmt::format("fifo://{}?create=0", fifo_path)), fifo);
  ASSERT_TRUE(held.back().send(as_bytes("x"), Deadline::after(5s)));  // opens the write end
  // Queues: POSIX with an mq_notify registration (its netlink socket), and SysV.
  const std::string mq = fmt::format("posixmq://{}?unlink=1", test::unique_posix_name("cx-mq"));
  keep(Channel::open(mq), mq);
  std::atomic<int> notified{0};
  PosixMq* pmq = posix_mq(held.back());  // owned by the Channel, which stays put as `held` grows
  ASSERT_NE(pmq, nullptr);
  auto reg = pmq->notify_callback([&] { ++notified; });
  ASSERT_TRUE(reg) << reg.error().message();
  keep(Channel::open(fmt::format("sysvmq://0x{:08x}?remove=1", static_cast<std::uint32_t>(test::unique_key()))),
       "sysvmq");
  // The ring, a consumer waiting with wait=poll (an eventfd and the thread that rings it).
  const std::string ring = fmt::format("shm://{}?wait=poll", test::unique_name("cx-ring"));
  keep(Channel::bind(ring), ring);
  ASSERT_GE(held.back().pollable_fd(), 0);
  keep(Channel::open(ring), ring);
  // Shared memory segments.
  auto seg = PosixShm::create(test::unique_posix_name("cx-shm"), 4096);
  ASSERT_TRUE(seg) << seg.error().message();
  auto mem = Memfd::create("cx-memfd", 4096);
  ASSERT_TRUE(mem) << mem.error().message();

  const auto now = test::open_fds().value_or(std::vector<int>{});
  std::vector<int> opened;
  for (int fd : now) {
    if (std::find(before.begin(), before.end(), fd) == before.end()) opened.push_back(fd);
  }
  // That the check could fail: the test holds many descriptors of its own now.
  EXPECT_GE(opened.size(), 25u) << "opened: " << fmt::format("{}", fmt::join(opened, ", "));

  std::vector<int> crossed;
  for (int fd : listed_by_exec_helper()) {
    if (std::find(opened.begin(), opened.end(), fd) != opened.end() || fd < 0) crossed.push_back(fd);
  }
  EXPECT_TRUE(crossed.empty()) << "crossed exec: " << fmt::format("{}", fmt::join(crossed, ", "))
                               << " (of those opened: " << fmt::format("{}", fmt::join(opened, ", ")) << ")";
  (void)pmq->notify_cancel();
}

}  // namespace
}  // namespace ipcx
