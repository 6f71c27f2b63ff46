// SPDX-License-Identifier: MIT
// A Unix stream socket (C++): the server listens on a path; a forked client connects and
// sends a message with an open descriptor attached (SCM_RIGHTS). The server checks the
// client's credentials (SO_PEERCRED, from the kernel) and reads from the passed descriptor.
// Messages on a stream are length-framed, so each arrives whole.
//   $ ./example_cpp_unix_stream
//   server: client pid 1235 uid 1000; message "here is a pipe"; read "through the passed fd"
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string url = "unix:///tmp/ipcx-example-" + std::to_string(::getpid()) + ".sock";
  auto l = ipcx::Listener::listen(url);  // listening before the fork: the client cannot race it
  if (!l) return std::fprintf(stderr, "%s\n", l.error().message().c_str()), 1;

  pid_t pid = ::fork();
  if (pid == 0) {
    auto c = ipcx::Channel::open(url);
    if (!c) _exit(1);
    int p[2];
    if (::pipe(p) != 0 || ::write(p[1], "through the passed fd", 21) != 21) _exit(2);
    ::close(p[1]);
    ipcx::SendOptions o;
    o.fds = std::span<const int>(&p[0], 1);  // borrowed: we still close ours
    if (!c->send_for(ipcx::as_bytes("here is a pipe"), 5s, o)) _exit(3);
    ::close(p[0]);
    if (!c->receive_message_for(5s)) _exit(4);  // the server's "ok"
    _exit(0);  // (the child's copy of the listener is not the owner of the path)
  }
  auto c = l->accept_for(5s);
  if (!c) return std::fprintf(stderr, "%s\n", c.error().message().c_str()), 1;
  auto who = c->peer();
  auto m = c->receive_message_for(5s);
  if (!m || !who || m->fds.size() != 1) return std::fprintf(stderr, "no message with a descriptor\n"), 1;
  char text[64];
  const ssize_t got = ::read(m->fds[0].get(), text, sizeof text);  // the Fd closes itself
  std::printf("server: client pid %d uid %d; message \"%.*s\"; read \"%.*s\"\n", static_cast<int>(who->pid),
              static_cast<int>(who->uid), static_cast<int>(m->data.size()), m->text().data(),
              static_cast<int>(got > 0 ? got : 0), text);
  (void)c->send_for(ipcx::as_bytes("ok"), 5s);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return who->pid == pid && got == 21 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
