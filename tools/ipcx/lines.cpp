// SPDX-License-Identifier: MIT
#include "lines.hpp"

#include <cstring>

#include "sys/io.hpp"

namespace ipcx::cli {

std::optional<std::string> LineReader::take() {
  const std::size_t nl = buf_.find('\n', pos_ + scan_);
  if (nl == std::string::npos) {
    scan_ = buf_.size() - pos_;
    if (!eof_ || pos_ == buf_.size()) return std::nullopt;
    std::string last = buf_.substr(pos_);  // the last line had no '\n'
    pos_ = buf_.size();
    scan_ = 0;
    return last;
  }
  std::string line = buf_.substr(pos_, nl - pos_);
  pos_ = nl + 1;
  scan_ = 0;
  return line;
}

Result<std::size_t> LineReader::fill() {
  constexpr std::size_t kChunk = 64 * 1024;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // drop what was taken before growing
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const std::size_t old = buf_.size();
  buf_.resize(old + kChunk);
  auto n = sys::read(fd_, buf_.data() + old, kChunk);
  buf_.resize(old + (n ? *n : 0));
  if (!n) return std::unexpected(std::move(n.error()));
  if (*n == 0) eof_ = true;
  return *n;
}

Result<std::optional<std::string>> LineReader::next() {
  for (;;) {
    if (auto line = take()) return line;
    if (eof_) return std::optional<std::string>();
    if (auto n = fill(); !n) return std::unexpected(std::move(n.error()));
  }
}

void append_line(std::string& out, std::span<const std::byte> data) {
  const std::size_t old = out.size();
  out.resize(old + data.size() + 1);
  if (!data.empty()) std::memcpy(out.data() + old, data.data(), data.size());
  out.back() = '\n';
}

}  // namespace ipcx::cli
