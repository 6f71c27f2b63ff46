// SPDX-License-Identifier: MIT
// ipcx::Error — what failed, on what, and the exact errno.
//
// Every fallible call in ipcx returns ipcx::Result<T> (std::expected<T, Error>); no
// operating-system error is thrown. On the data path the outcomes a caller branches on
// ("would block", "timed out", "peer gone") are cheap: no allocation.
//
//   auto q = ipcx::Channel::open("posixmq:///orders");
//   if (!q) { std::fprintf(stderr, "%s\n", q.error().message().c_str()); return 1; }
//   // -> "mq_open /orders: Invalid argument (mq_maxmsg 100 > fs.mqueue.msg_max 10)"
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace ipcx {

// The outcome class a caller branches on. `system` is "any other errno".
enum class Errc : std::uint8_t {
  system,             // an operating-system error; errno() says which
  would_block,        // try_ call found nothing to do (EAGAIN)
  timed_out,          // the deadline passed (ETIMEDOUT)
  peer_gone,          // the other side closed, died or removed the object
  message_too_large,  // a message exceeds a buffer or a limit; size() is the message's size
  invalid_argument,   // the caller asked for something impossible (EINVAL)
  bad_url,            // the URL does not parse; detail names the bad part
  not_supported,      // the transport or platform cannot do this (ENOTSUP)
  corrupt,            // data from a peer or shared memory failed validation (EBADMSG)
};

std::string_view to_string(Errc) noexcept;

// An input quoted in an error: whole up to 200 bytes, otherwise its first 160 bytes, "…" and
// its length, so that a long input (a 130 KB URL) cannot push the reason out of a message
// (the C API's is 511 bytes). Every Error's object goes through it.
std::string shorten_input(std::string_view input);

class Error {
 public:
  Error() = default;

  // An errno from a system call. `op` must be a string literal (it is not copied).
  static Error from_errno(const char* op, int err, std::string_view object = {}) {
    return Error(classify(err), err, op, object);
  }
  static Error make(Errc kind, const char* op, std::string_view object = {}, std::string detail = {}) {
    return Error(kind, default_errno(kind), op, object, std::move(detail));
  }

  Errc kind() const noexcept { return kind_; }
  int code() const noexcept { return errno_; }            // the exact errno
  const char* op() const noexcept { return op_; }          // the call, e.g. "mq_open"
  const std::string& object() const noexcept { return object_; }
  const std::string& detail() const noexcept { return detail_; }
  // For message_too_large: the size of the message that did not fit (0 if unknown).
  std::size_t size() const noexcept { return size_; }

  bool would_block() const noexcept { return kind_ == Errc::would_block; }
  bool timed_out() const noexcept { return kind_ == Errc::timed_out; }
  bool peer_gone() const noexcept { return kind_ == Errc::peer_gone; }

  // Builders, for adding context as an error travels up. Each returns the changed error
  // by value, so its result must be used: `e = std::move(e).with_detail(...)`.
  [[nodiscard]] Error with_object(std::string_view object) && { object_ = shorten_input(object); return std::move(*this); }
  [[nodiscard]] Error with_detail(std::string detail) && { detail_ = std::move(detail); return std::move(*this); }
  [[nodiscard]] Error with_size(std::size_t size) && { size_ = size; return std::move(*this); }
  [[nodiscard]] Error with_op(const char* op) && { op_ = op; return std::move(*this); }

  // "op object: strerror (detail)", e.g. "mq_open /orders: Invalid argument (...)".
  std::string message() const;

  static Errc classify(int err) noexcept;
  static int default_errno(Errc kind) noexcept;

 private:
  Error(Errc kind, int err, const char* op, std::string_view object, std::string detail = {})
      : kind_(kind), errno_(err), op_(op), object_(shorten_input(object)), detail_(std::move(detail)) {}

  Errc kind_ = Errc::system;
  int errno_ = 0;
  const char* op_ = "";
  std::string object_;
  std::string detail_;
  std::size_t size_ = 0;
};

template <typename T>
using Result = std::expected<T, Error>;

// Shorthand for returning an error from a function that returns Result<T>.
inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }
inline std::unexpected<Error> fail_errno(const char* op, int err, std::string_view object = {}) {
  return std::unexpected<Error>(Error::from_errno(op, err, object));
}
inline std::unexpected<Error> fail(Errc kind, const char* op, std::string_view object = {},
                                   std::string detail = {}) {
  return std::unexpected<Error>(Error::make(kind, op, object, std::move(detail)));
}

}  // namespace ipcx
