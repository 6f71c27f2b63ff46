// SPDX-License-Identifier: MIT
// One epoll loop serving several Channels (C++). Each Channel's pollable_fd() joins the
// loop; readable means a receive can make progress, and try_receive_message then takes
// what is there (would_block is normal: wait for the next wake). A forked child sends on a
// FIFO, a POSIX queue, a Unix datagram socket and an shm:// ring (wait=poll gives the ring
// an eventfd); the loop handles each as it comes. The child is forked first, before any
// Channel exists (a POSIX queue's readiness uses a helper thread, and a child forked from a
// threaded parent may only call async-signal-safe functions), and starts when the parent's
// pipe says every receiving end is bound.
//   $ ./example_cpp_epoll
//   fifo: "via fifo"; posixmq: "via posixmq"; unixgram: "via unixgram"; shm: "via shm"  (any order)
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"
#include "ipcx/fd.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string tag = std::to_string(::getpid());
  const std::array<std::string, 4> names{"fifo", "posixmq", "unixgram", "shm"};
  const std::array<std::string, 4> urls{"fifo:///tmp/ipcx-example-epoll-" + tag + "?remove=1",
                                        "posixmq:///ipcx-example-epoll-" + tag + "?unlink=1",
                                        "unixgram:@ipcx-example-epoll-" + tag,
                                        "shm://ipcx-example-epoll-" + tag + "?wait=poll&capacity=64k"};
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return std::perror("pipe2"), 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[1]);
    char go = 0;
    if (::read(ready[0], &go, 1) != 1) _exit(1);  // the parent closed without binding
    for (std::size_t i = urls.size(); i-- > 0;) {
      auto out = ipcx::Channel::open(urls[i]);
      if (!out || !out->send_for(ipcx::as_bytes("via " + names[i]), 5s)) _exit(1);
    }
    _exit(0);
  }
  ::close(ready[0]);
  ipcx::Fd go(ready[1]);
  std::array<ipcx::Channel, 4> ch;
  ipcx::Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return std::perror("epoll_create1"), 1;
  for (std::size_t i = 0; i < ch.size(); ++i) {
    auto c = ipcx::Channel::bind(urls[i]);  // the receiving end of each, before the child sends
    if (!c) return std::fprintf(stderr, "%s\n", c.error().message().c_str()), 1;
    ch[i] = std::move(*c);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, ch[i].pollable_fd(), &ev) != 0) return std::perror("epoll_ctl"), 1;
  }

  if (::write(go.get(), "g", 1) != 1) return std::perror("write"), 1;
  go.reset();
  std::array<bool, 4> seen{};
  std::size_t got = 0;
  while (got < ch.size()) {
    std::array<epoll_event, 4> evs;
    const int n = ::epoll_wait(ep.get(), evs.data(), static_cast<int>(evs.size()), 5000);
    if (n <= 0) return std::fprintf(stderr, "no event within 5 s\n"), 1;
    for (int e = 0; e < n; ++e) {
      const std::uint32_t i = evs[static_cast<std::size_t>(e)].data.u32;
      auto m = ch[i].try_receive_message();
      if (!m) {
        if (m.error().would_block()) continue;
        if (m.error().peer_gone()) {  // a writer closed after its message (FIFO, ring)
          ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, ch[i].pollable_fd(), nullptr);
          continue;
        }
        return std::fprintf(stderr, "%s\n", m.error().message().c_str()), 1;
      }
      std::printf("%s%s: \"%.*s\"", got ? "; " : "", names[i].c_str(), static_cast<int>(m->data.size()),
                  m->text().data());
      seen[i] = true;
      ++got;
    }
  }
  std::printf("\n");
  int status = 0;
  ::waitpid(pid, &status, 0);
  return seen[0] && seen[1] && seen[2] && seen[3] && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
