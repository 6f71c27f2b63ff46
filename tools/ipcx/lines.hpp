// SPDX-License-Identifier: MIT
// Messages as lines of text, for the commands that speak to people and to other programs
// through descriptors: `ipcx send` reads standard input with a LineReader, `ipcx recv`
// prints with append_line, and `ipcx bridge` does both on its stdio and exec: sides.
//
//   LineReader in(STDIN_FILENO);
//   while (auto line = in.next()) { if (!*line) break; send(**line); }   // blocking
//
// A line is the bytes before a '\n', without it; a last line with no '\n' is a line too,
// and an empty input is none (as std::getline). Not thread-safe: one reader per object.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "ipcx/error.hpp"

namespace ipcx::cli {

class LineReader {
 public:
  // Reads `fd`, which it does not own.
  explicit LineReader(int fd) noexcept : fd_(fd) {}

  // The next whole line among the bytes already read; at the end of the input also the
  // last one with no '\n'. Never reads.
  std::optional<std::string> take();
  // One read(2) of up to 64 KiB: the bytes it got, 0 at the end of the input (then eof()).
  // Blocks as the descriptor does; Errc::would_block on a non-blocking one with none.
  Result<std::size_t> fill();
  // The input ended and every line was taken.
  bool done() const noexcept { return eof_ && pos_ == buf_.size(); }
  bool eof() const noexcept { return eof_; }

  // Blocking: the next line, or nullopt at the end of the input.
  Result<std::optional<std::string>> next();

 private:
  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;   // start of the first line not taken
  std::size_t scan_ = 0;  // bytes from pos_ already searched for '\n'
  bool eof_ = false;
};

// A message as a line: its bytes, then '\n', appended to `out`.
void append_line(std::string& out, std::span<const std::byte> data);

}  // namespace ipcx::cli
