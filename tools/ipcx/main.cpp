// SPDX-License-Identifier: MIT
// ipcx — send, receive, inspect and measure inter-process communication on Linux.
#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ipcx: inter-process communication on Linux, every mechanism behind one URL.\n"
               "URLs: shm://NAME unix:///PATH unix:@NAME unixgram:… unixpacket:… tcp://HOST:PORT\n"
               "      udp://HOST:PORT fifo:///PATH posixmq:///NAME sysvmq://KEY",
               "ipcx"};
  int rc = ipcx::cli::kOk;
  ipcx::cli::add_commands(app, rc);
  return ipcx::cli::run(app, rc, argc, argv);
}
