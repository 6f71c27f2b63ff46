// SPDX-License-Identifier: MIT
// Anonymous pipes as Channels, made in pairs for a parent and its child.
//
//   auto p = ipcx::make_pipe();                  // p->reader, p->writer
//   if (fork() == 0) { p->reader = {}; p->writer.send(ipcx::as_bytes("hi")); _exit(0); }
//   p->writer = {};                              // parent keeps only the read end
//   auto m = p->reader.receive_message_for(1s);  // "hi"; peer_gone once the child exits
//
// Stream mode (default): messages are length-framed (4-byte length), any size up to
// max_message_size (64 MiB unless set, as on unix:// and tcp://). A frame of at most
// PIPE_BUF bytes (4096 with its header) is written atomically, so several writers may
// share the pipe for such messages.
// Packet mode (O_DIRECT, Linux 3.4+): each write is one packet and one message, at most
// PIPE_BUF bytes, no header; zero-length messages cannot be sent.
// A write end whose reader has gone reports peer_gone. To make that an error rather than
// a dead process, opening a write end sets SIGPIPE to ignored if it is at its default
// (a handler you installed is left alone).
#pragma once

#include "ipcx/channel.hpp"

namespace ipcx {

struct PipeOptions {
  bool packet = false;                       // O_DIRECT packet mode
  std::size_t capacity = 0;                  // F_SETPIPE_SZ; 0: 128 KiB (stream mode), capped by
                                             // fs.pipe-max-size, best effort, never shrinking
  std::size_t max_message_size = 0;          // stream mode only; 0: the default, 64 MiB
};

struct PipePair {
  Channel reader;
  Channel writer;
};
Result<PipePair> make_pipe(const PipeOptions& o = {});

// Two pipes, one each way: each end sends and receives.
struct DuplexPipe {
  Channel first;
  Channel second;
};
Result<DuplexPipe> make_duplex_pipe(const PipeOptions& o = {});

// A Channel over inherited pipe descriptors (e.g. passed across exec); either may be
// empty for a one-way end.
Result<Channel> adopt_pipe(Fd read_end, Fd write_end, const PipeOptions& o = {});

// The descriptors under a pipe or FIFO Channel (-1 where absent, or for another
// transport), e.g. to clear close-on-exec before exec'ing a child.
struct PipeEnds {
  int read = -1;
  int write = -1;
};
PipeEnds pipe_ends(const Channel& ch) noexcept;

// Sets SIGPIPE to SIG_IGN if it is SIG_DFL. Called by every write end ipcx opens.
void ignore_sigpipe_if_default() noexcept;

}  // namespace ipcx
