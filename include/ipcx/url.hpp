// SPDX-License-Identifier: MIT
// ipcx::Url — the address of every channel and IPC object.
//
//   auto u = ipcx::Url::parse("posixmq:///orders?maxmsg=10&msgsize=256");
//   u->scheme == Scheme::posixmq; u->name == "/orders"; u->option("maxmsg") == "10"
//
// Schemes (see docs and DESIGN.md):
//   shm://NAME                           ipcx shared-memory ring
//   unix:///PATH  unix:@NAME             Unix stream socket (absolute path / abstract name)
//   unixgram:… unixpacket:…              Unix datagram / seqpacket, same forms
//   tcp://HOST:PORT  udp://HOST:PORT     IPv4 literal, [IPv6] literal or host name
//   fifo:///PATH                         named pipe
//   posixmq:///NAME posixshm:///NAME posixsem:///NAME    POSIX named objects
//   sysvmq://KEY sysvshm://KEY sysvsem://KEY             KEY decimal or 0x hex; also
//     …://id:N (by id), …:///PATH?proj=N (key from ftok), …://private (IPC_PRIVATE)
//   nats://HOST:PORT[,HOST:PORT…]/SUBJECT  NATS subject on a server or cluster (port 4222 if
//                                        omitted); '*' and '>' wildcards for receivers
//   zmq+tcp://HOST:PORT  zmq+ipc:///PATH ZeroMQ socket, ?pattern=… (see zmq_channel.cpp)
// Query options ride after '?', '&'-separated, percent-decoded. Each transport checks the
// options it knows and rejects the others by name. Value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipcx/error.hpp"

namespace ipcx {

enum class Scheme : std::uint8_t {
  shm, unix_stream, unix_dgram, unix_seqpacket, tcp, udp, fifo,
  posixmq, sysvmq, posixshm, sysvshm, posixsem, sysvsem,
  nats, zmq_tcp, zmq_ipc,
};

std::string_view to_string(Scheme) noexcept;  // as written in URLs: "unix", "unixgram", …

class Url {
 public:
  static Result<Url> parse(std::string_view text);

  Scheme scheme{};
  std::string text;       // the URL as given
  // shm: the ring name. posix*: "/NAME" (with its one leading slash, as the calls take it).
  // nats: the subject. zmq+ipc: the socket path.
  // unix*/fifo: the filesystem path, or the abstract name (without '@') when `abstract`.
  std::string name;
  bool abstract = false;  // unix*: Linux abstract namespace
  std::string host;       // tcp/udp/zmq+tcp: host without brackets; nats: the first server's
  std::uint16_t port = 0; // tcp/udp/zmq+tcp; nats: the first server's
  // nats: every server as "HOST:PORT" ("[V6]:PORT"), in the order given; `name` is the subject.
  std::vector<std::string> servers;
  // sysv*: exactly one of key / id / ftok path is set (key 0 is IPC_PRIVATE).
  std::optional<std::int32_t> key;
  std::optional<int> id;
  std::string ftok_path;  // with `proj` in options
  std::vector<std::pair<std::string, std::string>> options;

  // The raw value of a query option, if present.
  std::optional<std::string_view> option(std::string_view key) const;
  // Typed options; a malformed value is an error naming the option and the value.
  Result<std::uint64_t> option_uint(std::string_view key, std::uint64_t fallback) const;
  Result<bool> option_bool(std::string_view key, bool fallback) const;
  Result<unsigned> option_mode(std::string_view key, unsigned fallback) const;  // octal
  // Size with optional suffix k/K, m/M, g/G (binary), e.g. "64k".
  Result<std::uint64_t> option_size(std::string_view key, std::uint64_t fallback) const;
  // An error for the first option not in `known`.
  Result<void> check_options(std::initializer_list<std::string_view> known) const;
  // For unix*/fifo: the display form of the endpoint ("/run/x.sock" or "@name").
  std::string endpoint() const;
};

// Validation shared by the URL parser and the typed wrappers.
// A POSIX IPC name: one leading '/', then 1..NAME_MAX bytes, no other '/', not "." or "..".
Result<void> validate_posix_name(std::string_view name, const char* op);
// A name or path for an object about to be made: no control characters (bytes below 0x20
// and 0x7f), which would reach terminals and line-based tools raw. Objects that exist
// already are still opened, listed and removed whatever their names hold.
Result<void> validate_new_name(std::string_view name, const char* op);
// The inverse of what Url::parse decodes in a name or path: '%', '?', '#', space, control
// bytes and bytes from 0x80 are percent-encoded, so that the URL printed for an object
// (ipcx ls) parses back to the same object and shows no raw control byte.
std::string url_escape(std::string_view name);
// A filesystem path for a FIFO or socket: absolute, no ".." component, no NUL.
Result<void> validate_path(std::string_view path, const char* op);
// Parse a SysV key as ipcs prints it: decimal or 0x hexadecimal, 32 bits.
Result<std::int32_t> parse_sysv_key(std::string_view text);

}  // namespace ipcx
