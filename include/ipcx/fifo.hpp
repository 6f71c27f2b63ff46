// SPDX-License-Identifier: MIT
// Named pipes (FIFOs) as Channels: fifo:///PATH.
//
//   auto ch = ipcx::Channel::open("fifo:///tmp/demo?remove=1");  // mkfifo 0600 if missing
//   ch->send(ipcx::as_bytes("hello"), ipcx::Deadline::after(5s));  // waits for a reader
//
// A FIFO is one-way. The Channel opens the read end on its first receive (or pollable_fd)
// and the write end on its first send, so one URL serves both sides. Opening the write
// end with no reader fails at once in the kernel (ENXIO); ipcx retries until the send's
// deadline (polling every 1–20 ms: a reader's open cannot be waited for otherwise), and
// a try_send reports would_block "no reader". When every writer has closed, receive
// returns peer_gone (until another writer opens).
//
// URL options:
//   mode=0600      permissions if this side creates the FIFO (owner-only by default)
//   create=1       create the FIFO if it does not exist (0: it must exist)
//   remove=0       1: unlink the FIFO when this Channel closes, if this Channel created it
//   capacity=N     pipe buffer size (F_SETPIPE_SZ; k/m suffixes). Default 128k (a 64 KiB
//                  message and its length in one write), capped by fs.pipe-max-size, best
//                  effort, never shrinking a pipe the peer made larger
//   max=64m        largest message accepted (framing), both directions
// Messages are length-framed as on anonymous pipes (pipe.hpp); frames up to PIPE_BUF are
// atomic, so several writers may share a FIFO for messages up to 4092 bytes.
#pragma once

#include <string>

#include "ipcx/channel.hpp"

namespace ipcx {

struct FifoInfo {
  std::string path;
  unsigned mode = 0;
  uid_t owner = 0;
  std::size_t capacity = 0;  // pipe buffer size, if an end is open
};

// Creates a FIFO with exactly `mode` (umask does not narrow it). EEXIST if it exists.
Result<void> make_fifo(const std::string& path, unsigned mode = 0600);

}  // namespace ipcx
