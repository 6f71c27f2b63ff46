// SPDX-License-Identifier: MIT
#include "ipcx/error.hpp"

#include <cstring>

#include <fmt/format.h>

namespace ipcx {

std::string shorten_input(std::string_view input) {
  constexpr std::size_t kWhole = 200, kHead = 160;
  if (input.size() <= kWhole) return std::string(input);
  std::size_t head = kHead;
  // Cut before a UTF-8 continuation byte, not inside a character.
  while (head > 0 && (static_cast<unsigned char>(input[head]) & 0xc0) == 0x80) --head;
  return fmt::format("{}… ({} bytes)", input.substr(0, head), input.size());
}

std::string_view to_string(Errc kind) noexcept {
  switch (kind) {
    case Errc::system: return "system error";
    case Errc::would_block: return "would block";
    case Errc::timed_out: return "timed out";
    case Errc::peer_gone: return "peer gone";
    case Errc::message_too_large: return "message too large";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::bad_url: return "bad URL";
    case Errc::not_supported: return "not supported";
    case Errc::corrupt: return "corrupt data";
  }
  return "unknown";
}

Errc Error::classify(int err) noexcept {
  switch (err) {
    case EAGAIN: return Errc::would_block;  // EWOULDBLOCK is the same value on Linux
    case ENOMSG: return Errc::would_block;  // msgrcv with IPC_NOWAIT: nothing matching
    case ETIMEDOUT: return Errc::timed_out;
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
    case EIDRM: return Errc::peer_gone;
    case EMSGSIZE:
    case E2BIG: return Errc::message_too_large;
    case EINVAL: return Errc::invalid_argument;
    case ENOTSUP: return Errc::not_supported;
    case EBADMSG: return Errc::corrupt;
    default: return Errc::system;
  }
}

int Error::default_errno(Errc kind) noexcept {
  switch (kind) {
    case Errc::system: return EIO;
    case Errc::would_block: return EAGAIN;
    case Errc::timed_out: return ETIMEDOUT;
    case Errc::peer_gone: return EPIPE;
    case Errc::message_too_large: return EMSGSIZE;
    case Errc::invalid_argument: return EINVAL;
    case Errc::bad_url: return EINVAL;
    case Errc::not_supported: return ENOTSUP;
    case Errc::corrupt: return EBADMSG;
  }
  return EIO;
}

std::string Error::message() const {
  std::string out = op_;
  if (!object_.empty()) {
    if (!out.empty()) out += ' ';
    out += object_;
  }
  if (!out.empty()) out += ": ";
  if (kind_ == Errc::bad_url) {
    out += "bad URL";
  } else if (kind_ == Errc::peer_gone && errno_ == EPIPE) {
    out += "peer gone";
  } else if (kind_ == Errc::corrupt) {
    out += "corrupt data";
  } else {
    const char* text = strerrordesc_np(errno_);  // thread-safe, unlike strerror
    out += text ? text : fmt::format("errno {}", errno_);
  }
  if (!detail_.empty()) out += fmt::format(" ({})", detail_);
  return out;
}

}  // namespace ipcx
