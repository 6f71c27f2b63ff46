// SPDX-License-Identifier: MIT
#include "socket_channel.hpp"

#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "kernel_limits.hpp"

namespace ipcx::detail {
namespace {

// What a raw receive_message reads at most: one read's worth.
constexpr std::size_t kRawMessageChunk = 64 * 1024;

std::unexpected<Error> bad_option(const Url& url, std::string detail) {
  return fail(Errc::bad_url, "url", url.text, std::move(detail));
}

Result<std::chrono::nanoseconds> parse_seconds(const Url& url, std::string_view key, std::string_view v) {
  double s = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !(s >= 0) || s > 1e9) {
    return bad_option(url, fmt::format("option {}='{}' is not a number of seconds (e.g. 0.5)", key, v));
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

// "0,1000,alice" -> ids; names are looked up in the user (or group) database.
template <typename Id>
Result<std::vector<Id>> parse_ids(const Url& url, std::string_view key, std::string_view list, bool users) {
  std::vector<Id> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item.empty()) continue;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec == std::errc{} && p == item.data() + item.size() && v < 0xffffffffu) {
      out.push_back(static_cast<Id>(v));
      continue;
    }
    const std::string name(item);
    std::vector<char> buf(16384);
    if (users) {
      passwd pw{};
      passwd* found = nullptr;
      if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found) {
        out.push_back(static_cast<Id>(found->pw_uid));
        continue;
      }
    } else {
      group gr{};
      group* found = nullptr;
      if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found) {
        out.push_back(static_cast<Id>(found->gr_gid));
        continue;
      }
    }
    return bad_option(url, fmt::format("option {}: '{}' is not a number or a known {} name", key, item,
                                       users ? "user" : "group"));
  }
  if (out.empty()) return bad_option(url, fmt::format("option {} is empty", key));
  return out;
}

std::string credentials_text(const PeerCredentials& c) {
  return fmt::format("pid {} uid {} gid {}", c.pid, c.uid, c.gid);
}

std::string fds_lost_detail() {
  return "the message's descriptors did not all arrive (MSG_CTRUNC), usually because this process is at its "
         "open-file limit (" +
         detail::nofile_limit_text() + "); the ones that arrived were closed and the message was dropped";
}

}  // namespace

// ---- options ------------------------------------------------------------------------------

bool AllowList::allows(const PeerCredentials& c) const noexcept {
  return std::find(uids.begin(), uids.end(), c.uid) != uids.end() ||
         std::find(gids.begin(), gids.end(), c.gid) != gids.end();
}

Deadline SocketUrlOptions::connect_deadline() const {
  if (!timeout) return Deadline::never();
  if (timeout->count() == 0) return Deadline::immediate();
  return Deadline::after(*timeout);
}

Result<SocketUrlOptions> parse_socket_options(const Url& url) {
  Result<void> known;
  switch (url.scheme) {
    case Scheme::unix_stream:
    case Scheme::unix_seqpacket:
      known = url.check_options({"framing", "max", "timeout", "wait", "sndbuf", "rcvbuf", "backlog", "mode", "dir",
                                 "allow_uid", "allow_gid"});
      break;
    case Scheme::unix_dgram:
      known = url.check_options({"framing", "max", "timeout", "wait", "sndbuf", "rcvbuf", "mode", "dir"});
      break;
    case Scheme::tcp:
      known = url.check_options({"framing", "max", "timeout", "wait", "sndbuf", "rcvbuf", "backlog", "nodelay",
                                 "keepalive"});
      break;
    case Scheme::udp: known = url.check_options({"framing", "max", "sndbuf", "rcvbuf"}); break;
    default: return fail(Errc::invalid_argument, "open", url.text, "not a socket scheme");
  }
  if (!known) return std::unexpected(std::move(known.error()));

  SocketUrlOptions o;
  if (auto f = url.option("framing")) {
    if (*f == "raw") {
      o.raw = true;
    } else if (*f != "frame") {
      return bad_option(url, fmt::format("option framing='{}' is not 'frame' or 'raw'", *f));
    }
  }
  if (url.option("max")) {
    auto m = url.option_size("max", 0);
    if (!m) return std::unexpected(std::move(m.error()));
    if (*m == 0) return bad_option(url, "option max must be at least 1");
    if (*m >= kRefusalMarker) return bad_option(url, "option max must be below 4 GiB (the frame length is 32 bits)");
    o.max = *m;
  }
  if (auto t = url.option("timeout")) {
    auto s = parse_seconds(url, "timeout", *t);
    if (!s) return std::unexpected(std::move(s.error()));
    o.timeout = *s;
  }
  auto wait = url.option_bool("wait", false);
  auto nodelay = url.option_bool("nodelay", true);
  auto keepalive = url.option_bool("keepalive", false);
  auto sndbuf = url.option_size("sndbuf", 0);
  auto rcvbuf = url.option_size("rcvbuf", 0);
  auto backlog = url.option_uint("backlog", SOMAXCONN);
  auto mode = url.option_mode("mode", 0600);
  for (auto* r : {&wait, &nodelay, &keepalive}) {
    if (!*r) return std::unexpected(std::move(r->error()));
  }
  for (auto* r : {&sndbuf, &rcvbuf, &backlog}) {
    if (!*r) return std::unexpected(std::move(r->error()));
  }
  if (!mode) return std::unexpected(std::move(mode.error()));
  o.wait = *wait;
  o.nodelay = *nodelay;
  o.keepalive = *keepalive;
  o.sndbuf = *sndbuf;
  o.rcvbuf = *rcvbuf;
  if (*backlog > 65535) return bad_option(url, "option backlog must be at most 65535");
  o.backlog = static_cast<int>(*backlog);
  o.mode = *mode;
  o.mode_given = url.option("mode").has_value();

  if (auto d = url.option("dir")) {
    if (url.abstract) {
      return bad_option(url, "option dir applies to socket files; @NAME is an abstract name (no file)");
    }
    if (*d == "runtime") {
      auto r = runtime_directory();
      if (!r) return std::unexpected(std::move(r.error()));
      o.dir = std::move(*r);
    } else {
      if (auto v = validate_path(*d, "url"); !v) return bad_option(url, fmt::format("option dir: {}", v.error().detail()));
      o.dir.assign(*d);
    }
  }
  if (o.mode_given && url.abstract) {
    return bad_option(url, "option mode applies to socket files; an abstract name has no permissions "
                           "(any process in the network namespace may connect: use allow_uid/allow_gid)");
  }
  if (auto u = url.option("allow_uid")) {
    auto ids = parse_ids<uid_t>(url, "allow_uid", *u, true);
    if (!ids) return std::unexpected(std::move(ids.error()));
    o.allow.uids = std::move(*ids);
    o.allow.text = fmt::format("allow_uid={}", *u);
  }
  if (auto g = url.option("allow_gid")) {
    auto ids = parse_ids<gid_t>(url, "allow_gid", *g, false);
    if (!ids) return std::unexpected(std::move(ids.error()));
    o.allow.gids = std::move(*ids);
    o.allow.text += fmt::format("{}allow_gid={}", o.allow.text.empty() ? "" : " ", *g);
  }
  // An abstract name has no file mode: any process in the network namespace may connect,
  // so the listener's credential check is the guard. Owner-only by default, as a socket
  // file's mode 0600 is; allow_uid/allow_gid invite others.
  // (A connecting side keeps an empty list: it may talk to another user's listener.)
  o.owner_only = url.abstract && o.allow.empty() && url.scheme != Scheme::unix_dgram;
  return o;
}

std::string peer_query(const Url& url) {
  std::string out;
  for (const auto& [k, v] : url.options) {
    if (k != "framing" && k != "max") continue;
    out += fmt::format("{}{}={}", out.empty() ? "?" : "&", k, v);
  }
  return out;
}

Result<void> apply_socket_options(Socket& s, const SocketUrlOptions& o) {
  if (o.sndbuf) {
    if (auto r = s.set_send_buffer(o.sndbuf); !r) return r;
  }
  if (o.rcvbuf) {
    if (auto r = s.set_receive_buffer(o.rcvbuf); !r) return r;
  }
  if ((s.family() == AF_INET || s.family() == AF_INET6) && s.type() == SocketType::stream) {
    if (auto r = s.set_nodelay(o.nodelay); !r) return r;
    if (o.keepalive) {
      if (auto r = s.set_keepalive(true); !r) return r;
    }
  }
  return {};
}

Result<Socket> connect_with_retry(std::span<const SocketAddress> addrs, SocketType type, const SocketUrlOptions& o,
                                  const std::string& object) {
  const Deadline d = o.connect_deadline();
  std::chrono::microseconds step(500);
  for (;;) {
    std::optional<Error> last;
    bool nobody = true;
    for (const SocketAddress& addr : addrs) {
      // A fresh socket per attempt: after a failed connect a socket's state is unspecified.
      auto s = Socket::create(addr.family(), type);
      if (!s) return std::unexpected(std::move(s.error()));
      if (auto r = apply_socket_options(*s, o); !r) return fail(std::move(r.error()).with_object(object));
      if (type == SocketType::datagram && addr.family() == AF_UNIX) {
        // Autobind an abstract name, so that the other side can answer.
        if (auto b = s->bind(SocketAddress::unix_autobind()); !b) return std::unexpected(std::move(b.error()));
        if (auto p = s->set_pass_credentials(true); !p) return std::unexpected(std::move(p.error()));
      }
      auto c = s->connect(addr, d);
      if (c) return std::move(*s);
      const int err = c.error().code();
      if (c.error().timed_out() || c.error().would_block()) return fail(std::move(c.error()).with_object(object));
      nobody = nobody && (err == ENOENT || err == ECONNREFUSED);
      last = std::move(c.error());
    }
    if (nobody && o.wait && !d.is_immediate()) {
      if (d.expired()) return fail(Errc::timed_out, "connect", object, "nobody listened there before the timeout");
      std::this_thread::sleep_for(std::min<Deadline::Clock::duration>(step, d.remaining()));
      step = std::min<std::chrono::microseconds>(step * 2, std::chrono::milliseconds(20));
      continue;
    }
    if (!last) return fail(Errc::invalid_argument, "connect", object, "no address to connect to");
    Error e = std::move(*last).with_object(object);
    if (nobody && e.detail().empty()) {
      return fail(std::move(e).with_detail(type == SocketType::datagram
                                               ? "nothing is bound there"
                                               : "nothing listens there; ?wait=1 retries until ?timeout"));
    }
    return fail(std::move(e));
  }
}

std::size_t udp_limit(int family) noexcept { return family == AF_INET6 ? kUdpMaxPayloadIPv6 : kUdpMaxPayloadIPv4; }

std::size_t default_max(const Socket& s) {
  if (s.type() == SocketType::stream) return kDefaultMaxMessage;
  if (s.family() != AF_UNIX) return udp_limit(s.family());
  auto b = s.send_buffer();
  // unix_dgram_sendmsg refuses len > sk_sndbuf - 32.
  if (b && *b > 32) return *b - 32;
  return 64 * 1024;
}

// ---- SocketChannel --------------------------------------------------------------------------

std::unexpected<Error> SocketChannel::refused(const char* op, std::string_view reason) const {
  return fail(Error::from_errno(op, EACCES, object_).with_detail(fmt::format("refused by the listener: {}", reason)));
}

std::unexpected<Error> SocketChannel::with_context(Error e) const {
  if (e.object().empty()) return fail(std::move(e).with_object(object_));
  return fail(std::move(e));
}

// ---- StreamSocketChannel ------------------------------------------------------------------

StreamSocketChannel::StreamSocketChannel(Socket s, bool raw, std::size_t max, std::string object, bool connecting,
                                         std::optional<PeerCredentials> peer)
    : SocketChannel(std::move(s), std::min<std::size_t>(max, kRefusalMarker - 1), std::move(object), peer),
      raw_(raw),
      connecting_(connecting),
      end_(sock_),
      codec_(max_, object_) {}

Result<StreamEnd::Chunk> StreamSocketChannel::End::read(std::span<std::byte> buf, Deadline d) {
  auto r = sock_.receive(buf, d);
  if (!r) return std::unexpected(std::move(r.error()));
  return Chunk{.size = r->size, .fds = std::move(r->fds), .fds_lost = r->fds_lost};
}

Result<std::size_t> StreamSocketChannel::End::write(std::span<const iovec> pieces, std::span<const int> fds,
                                                    Deadline d) {
  return sock_.sendv(pieces, d, fds);
}

void StreamSocketChannel::End::broken() noexcept {
  // The connection is closed with the error: the peer sees it end, and nothing more is read.
  (void)sock_.shutdown(SHUT_RDWR);
}

std::unexpected<Error> StreamSocketChannel::fds_lost() const {
  return fail(Error::from_errno("recvmsg", EMFILE, object_).with_detail(fds_lost_detail()));
}

// A refused client's first frame is one no sender makes: the length kRefusalMarker, then
// the reason's length and the reason.
Result<void> StreamSocketChannel::check_refusal(Deadline d) {
  if (!connecting_) return {};
  auto h = codec_.peek(end_, kFrameHeader, d);
  if (!h) return std::unexpected(std::move(h.error()));
  if (load_le32(h->data()) != kRefusalMarker) return {};
  h = codec_.peek(end_, 2 * kFrameHeader, d);
  if (!h) return std::unexpected(std::move(h.error()));
  const std::uint32_t rlen = load_le32(h->data() + kFrameHeader);
  if (rlen > kRefusalReasonMax) {
    return codec_.fail_stream(end_, Error::make(Errc::corrupt, "receive", object_,
                                                fmt::format("a refusal with a {}-byte reason", rlen)));
  }
  h = codec_.peek(end_, 2 * kFrameHeader + rlen, d);
  if (!h) return std::unexpected(std::move(h.error()));
  std::string reason(reinterpret_cast<const char*>(h->data() + 2 * kFrameHeader), rlen);
  return codec_.fail_stream(end_, refused("receive", reason).error());
}

Result<Received> StreamSocketChannel::receive_raw(std::span<std::byte> buf, Deadline d) {
  if (buf.empty()) return fail(Errc::invalid_argument, "receive", object_, "a raw receive needs a buffer of at least 1 byte");
  auto r = sock_.receive(buf, d);
  if (!r) {
    if (r.error().would_block() || r.error().timed_out()) return fail(r.error().kind(), "receive", object_);
    return with_context(std::move(r.error()));
  }
  if (r->size == 0) return fail(Errc::peer_gone, "receive", object_, "the peer closed the connection");
  if (r->fds_lost) return fds_lost();
  return Received{.size = r->size, .type = 0, .priority = 0, .fds = std::move(r->fds)};
}

Result<Received> StreamSocketChannel::receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions&) {
  if (raw_) return receive_raw(buf, d);
  if (auto r = check_refusal(d); !r) return std::unexpected(std::move(r.error()));
  auto f = codec_.receive(end_, buf, d);
  if (!f) return std::unexpected(std::move(f.error()));
  if (f->fds_lost) return fds_lost();
  return Received{.size = f->size, .type = 0, .priority = 0, .fds = std::move(f->fds)};
}

Result<Message> StreamSocketChannel::receive_message(Deadline d, const ReceiveOptions&) {
  Message m;
  if (raw_) {
    m.data.resize(std::min(max_, kRawMessageChunk));
    auto r = receive_raw(m.data, d);
    if (!r) return std::unexpected(std::move(r.error()));
    m.data.resize(r->size);
    m.fds = std::move(r->fds);
    return m;
  }
  if (auto r = check_refusal(d); !r) return std::unexpected(std::move(r.error()));
  auto f = codec_.receive_message(end_, m.data, d);
  if (!f) return std::unexpected(std::move(f.error()));
  if (f->fds_lost) return fds_lost();
  m.fds = std::move(f->fds);
  return m;
}

std::unexpected<Error> StreamSocketChannel::send_failed(Error e) {
  // A refused client learns why from what the listener sent before closing.
  if (!raw_) {
    auto f = check_refusal(Deadline::immediate());
    if (!f && f.error().code() == EACCES) return fail(Error(f.error()).with_op("send"));
    return fail(std::move(e));
  }
  std::array<std::byte, 512> peek{};
  auto r = sock_.receive(peek, Deadline::immediate(), Socket::ReceiveFlags{.peek = true, .trunc = false, .want_fds = false});
  constexpr std::string_view kPrefix = "ipcx: refused by the listener: ";
  std::string_view text = as_text(std::span<const std::byte>(peek.data(), r ? r->size : 0));
  if (text.starts_with(kPrefix)) {
    text.remove_prefix(kPrefix.size());
    if (auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
    return refused("send", text);
  }
  return fail(std::move(e));
}

Result<void> StreamSocketChannel::send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) {
  if (o.fds.size() > kMaxFdsPerMessage) {
    return fail(Errc::invalid_argument, "send", object_,
                fmt::format("{} descriptors in one message; the kernel takes at most {} (SCM_MAX_FD, fixed)",
                            o.fds.size(), kMaxFdsPerMessage));
  }
  if (!o.fds.empty() && sock_.family() != AF_UNIX) {
    return fail(Errc::not_supported, "send", object_, "descriptors pass only over Unix sockets");
  }
  if (raw_ && msg.empty() && !o.fds.empty()) {
    return fail(Errc::invalid_argument, "send", object_, "in raw mode descriptors need at least one byte to ride on");
  }
  auto r = raw_ ? codec_.send_raw(end_, msg, o.fds, d) : codec_.send(end_, msg, o.fds, d);
  if (r || !r.error().peer_gone() || !connecting_) return r;
  return send_failed(std::move(r.error()));
}

BatchSent StreamSocketChannel::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d,
                                          const SendOptions& o) {
  if (raw_ || msgs.empty()) return ChannelImpl::send_batch(msgs, d, o);
  if (o.fds.size() > kMaxFdsPerMessage || (!o.fds.empty() && sock_.family() != AF_UNIX)) {
    return BatchSent{.sent = 0, .error = send(msgs[0], d, o)};  // send() says why
  }
  BatchSent b = codec_.send_batch(end_, msgs, o.fds, d);
  if (!b.all() && b.error.error().peer_gone() && connecting_) b.error = send_failed(std::move(b.error.error()));
  return b;
}

Result<std::size_t> StreamSocketChannel::receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) {
  if (raw_) return ChannelImpl::receive_batch(batch, d, o);
  if (auto c = check_batch(batch, object_); !c) return std::unexpected(std::move(c.error()));
  batch_begin(batch);
  if (auto r = check_refusal(d); !r) return std::unexpected(std::move(r.error()));
  batch_frames_.resize(batch.capacity());
  auto n = codec_.receive_batch(end_, batch_bytes(batch), batch.message_size(), batch_frames_, d);
  if (!n) return std::unexpected(std::move(n.error()));
  if (batch_frames_[0].fds_lost) return fds_lost();  // only the first can say so (framing.hpp)
  for (std::size_t i = 0; i < *n; ++i) {
    Received& r = batch_info(batch, i);
    r.size = batch_frames_[i].size;
    if (!batch_frames_[i].fds.empty()) std::swap(r.fds, batch_frames_[i].fds);
  }
  batch_end(batch, *n);
  return *n;
}

// ---- PacketSocketChannel ------------------------------------------------------------------

PacketSocketChannel::PacketSocketChannel(Socket s, std::size_t max, std::string object, bool connected,
                                         bool connecting, std::optional<PeerCredentials> peer, std::size_t udp_limit)
    : SocketChannel(std::move(s), max, std::move(object), peer),
      connected_(connected),
      check_refusal_(connecting && sock_.type() == SocketType::seqpacket),
      udp_limit_(udp_limit) {}

Result<void> PacketSocketChannel::pending_refusal() {
  if (!check_refusal_) return {};
  std::array<std::byte, kRefusalMagic.size() + kRefusalReasonMax> tmp{};
  auto r = sock_.receive(tmp, Deadline::immediate(), Socket::ReceiveFlags{.peek = true, .trunc = false, .want_fds = false});
  if (!r || r->size < kRefusalMagic.size()) return {};
  std::string_view text = as_text(std::span<const std::byte>(tmp.data(), r->size));
  if (!text.starts_with(kRefusalMagic)) return {};
  broken_ = refused("receive", text.substr(kRefusalMagic.size())).error();
  return fail(*broken_);
}

std::unexpected<Error> PacketSocketChannel::receive_failed(Error e) {
  if (e.would_block() || e.timed_out()) return fail(e.kind(), "receive", object_);
  if (e.peer_gone()) {
    if (auto r = pending_refusal(); !r) return fail(std::move(r.error()));
    if (sock_.family() != AF_UNIX) {
      return fail(std::move(e).with_object(object_).with_detail("nothing listens there (ICMP port unreachable)"));
    }
  }
  return with_context(std::move(e));
}

Result<const SocketAddress*> PacketSocketChannel::check_send(std::span<const std::byte> msg) const {
  if (broken_) return fail(Error(*broken_).with_op("send"));
  if (udp_limit_ && msg.size() > udp_limit_) {
    return fail(Error::make(Errc::message_too_large, "send", object_,
                            sock_.family() == AF_INET6
                                ? fmt::format("UDP over IPv6 carries at most 65,527 bytes in one datagram (65,535 less the "
                                              "8-byte UDP header); this message is {} bytes",
                                              msg.size())
                                : fmt::format("UDP over IPv4 carries at most 65,507 bytes in one datagram (65,535 less the "
                                              "8-byte UDP and 20-byte IPv4 headers); this message is {} bytes",
                                              msg.size()))
                    .with_size(msg.size()));
  }
  if (msg.size() > max_) {
    return fail(Error::make(Errc::message_too_large, "send", object_,
                            fmt::format("message of {} bytes > maximum of {} bytes{}", msg.size(), max_,
                                        sock_.family() == AF_UNIX
                                            ? " (option max; the kernel takes up to SO_SNDBUF - 32: raise sndbuf=, "
                                              "capped by net.core.wmem_max)"
                                            : " (option max)"))
                    .with_size(msg.size()));
  }
  if (msg.empty() && sock_.type() == SocketType::seqpacket) {
    return fail(Errc::invalid_argument, "send", object_,
                "unixpacket cannot carry a zero-length message: a zero-length read is the end of the connection");
  }
  const SocketAddress* to = nullptr;
  if (!connected_) {
    if (!heard_from_anyone_) {
      return fail(Errc::invalid_argument, "send", object_,
                  "nobody to send to yet: a bound datagram channel answers the last sender it received from");
    }
    if (reply_to_.empty() || reply_to_.is_unnamed()) {
      return fail(Errc::invalid_argument, "send", object_,
                  "the last sender has no address (it did not bind), so it cannot be answered");
    }
    to = &reply_to_;
  }
  return to;
}

std::unexpected<Error> PacketSocketChannel::send_failed(Error e, std::size_t size, const SocketAddress* to) {
  if (e.would_block() || e.timed_out()) return fail(e.kind(), "send", object_, e.detail());
  if (e.code() == EMSGSIZE) {
    auto b = sock_.send_buffer();
    return fail(std::move(e).with_object(object_).with_size(size).with_detail(
        fmt::format("the kernel refused a {}-byte datagram (SO_SNDBUF is {}; raise it with sndbuf=, capped by "
                    "net.core.wmem_max)",
                    size, b ? *b : 0)));
  }
  if (e.peer_gone() || e.code() == ENOENT) {
    if (auto r = pending_refusal(); !r) return fail(Error(r.error()).with_op("send"));
    std::string where = to ? to->to_string() : "the peer";
    return fail(Errc::peer_gone, "send", object_,
                sock_.type() == SocketType::seqpacket ? "the peer closed the connection"
                                                      : fmt::format("nothing is bound at {} any more", where));
  }
  return with_context(std::move(e));
}

Result<void> PacketSocketChannel::send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) {
  auto to = check_send(msg);
  if (!to) return std::unexpected(std::move(to.error()));
  auto n = sock_.send(msg, d, o.fds, *to);
  if (n) return {};
  return send_failed(std::move(n.error()), msg.size(), *to);
}

Result<void> PacketSocketChannel::check_first_packet(std::span<const std::byte> data) {
  if (!check_refusal_) return {};
  check_refusal_ = false;
  std::string_view text = as_text(data);
  if (text.starts_with(kRefusalMagic)) {
    broken_ = refused("receive", text.substr(kRefusalMagic.size())).error();
    return fail(*broken_);
  }
  return {};
}

Result<Received> PacketSocketChannel::receive_into(std::span<std::byte> buf, Deadline d) {
  // One recvmsg: the caller's buffer, then the spill buffer up to `max` bytes in all.
  // MSG_TRUNC reports a datagram above `max` (from a sender that ignored it) whole.
  iovec pieces[2] = {{buf.data(), buf.size()}, {nullptr, 0}};
  std::size_t count = 1;
  if (buf.size() < max_) {
    if (spill_.size() < max_ - buf.size()) spill_.resize(max_ - buf.size());
    pieces[1] = {spill_.data(), max_ - buf.size()};
    count = 2;
  }
  auto r = sock_.receivev(std::span<const iovec>(pieces, count), d,
                          Socket::ReceiveFlags{.peek = false, .trunc = true, .want_fds = true});
  if (!r) return receive_failed(std::move(r.error()));
  if (r->size == 0 && !r->truncated && sock_.type() == SocketType::seqpacket) {
    return fail(Errc::peer_gone, "receive", object_, "the peer closed the connection");
  }
  if (r->credentials) peer_ = r->credentials;
  if (!connected_) {
    reply_to_ = r->from;  // empty for a sender that never bound: it cannot be answered
    heard_from_anyone_ = true;
  }
  if (r->size > max_ || r->truncated) {
    // Above the channel's maximum, from a sender that ignored it. It is gone; say so.
    return fail(Error::make(Errc::message_too_large, "receive", object_,
                            fmt::format("a {}-byte datagram arrived, above this channel's maximum of {} bytes; it "
                                        "was discarded (raise option max)",
                                        r->size, max_))
                    .with_size(r->size));
  }
  if (r->size > buf.size()) {
    // Longer than the caller's buffer: hold it whole, with its descriptors.
    Held h;
    h.data.reserve(r->size);
    h.data.insert(h.data.end(), buf.begin(), buf.end());
    h.data.insert(h.data.end(), spill_.begin(), spill_.begin() + static_cast<std::ptrdiff_t>(r->size - buf.size()));
    h.fds = std::move(r->fds);
    h.fds_lost = r->fds_lost;
    if (auto c = check_first_packet(h.data); !c) return std::unexpected(std::move(c.error()));
    held_ = std::move(h);
    return deliver_held(buf);
  }
  if (auto c = check_first_packet(buf.first(r->size)); !c) return std::unexpected(std::move(c.error()));
  if (r->fds_lost) return fail(Error::from_errno("recvmsg", EMFILE, object_).with_detail(fds_lost_detail()));
  return Received{.size = r->size, .type = 0, .priority = 0, .fds = std::move(r->fds)};
}

Result<Received> PacketSocketChannel::deliver_held(std::span<std::byte> buf) {
  const std::size_t size = held_->data.size();
  if (size > buf.size()) {
    return fail(Error::make(Errc::message_too_large, "receive", object_,
                            fmt::format("message of {} bytes > buffer of {} bytes", size, buf.size()))
                    .with_size(size));
  }
  Held h = std::move(*held_);
  held_.reset();
  if (h.fds_lost) return fail(Error::from_errno("recvmsg", EMFILE, object_).with_detail(fds_lost_detail()));
  if (size > 0) std::memcpy(buf.data(), h.data.data(), size);
  return Received{.size = size, .type = 0, .priority = 0, .fds = std::move(h.fds)};
}

Result<Received> PacketSocketChannel::receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions&) {
  if (broken_) return fail(*broken_);
  if (held_) return deliver_held(buf);
  return receive_into(buf, d);
}

Result<Message> PacketSocketChannel::receive_message(Deadline d, const ReceiveOptions&) {
  if (broken_) return fail(*broken_);
  if (!held_) {
    // Into the spill buffer alone: the message is then held, and handed over below.
    auto r = receive_into({}, d);
    Message m;
    if (r) {  // a zero-length datagram
      m.fds = std::move(r->fds);
      return m;
    }
    if (!held_) return std::unexpected(std::move(r.error()));
  }
  Held h = std::move(*held_);
  held_.reset();
  if (h.fds_lost) return fail(Error::from_errno("recvmsg", EMFILE, object_).with_detail(fds_lost_detail()));
  Message m;
  m.data = std::move(h.data);
  m.fds = std::move(h.fds);
  return m;
}

BatchSent PacketSocketChannel::send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d,
                                          const SendOptions& o) {
  std::size_t sent = 0;
  if (!msgs.empty() && !o.fds.empty()) {  // the descriptors go with the first alone
    if (auto r = send(msgs[0], d, o); !r) return BatchSent{.sent = 0, .error = std::move(r)};
    sent = 1;
  }
  while (sent < msgs.size()) {
    // The run of messages this channel takes, up to the first it refuses.
    auto to = check_send(msgs[sent]);
    if (!to) return BatchSent{.sent = sent, .error = std::unexpected(std::move(to.error()))};
    std::size_t run = 1;
    while (sent + run < msgs.size() && check_send(msgs[sent + run])) ++run;
    auto n = sock_.send_many(msgs.subspan(sent, run), d, *to);
    if (!n) return BatchSent{.sent = sent, .error = send_failed(std::move(n.error()), msgs[sent].size(), *to)};
    sent += *n;
    if (*n < run) {
      // The kernel stopped the call: the next send finds why (or room).
      auto r = send(msgs[sent], d, {});
      if (!r) return BatchSent{.sent = sent, .error = std::move(r)};
      ++sent;
    }
  }
  return BatchSent{.sent = msgs.size(), .error = {}};
}

Result<std::size_t> PacketSocketChannel::receive_batch(MessageBatch& batch, Deadline d, const ReceiveOptions& o) {
  // recvmmsg cuts a datagram longer than its slot, so it runs only where no message this
  // channel accepts is longer (slots of at least max_); not before a connecting
  // seqpacket's first packet, which may be a refusal; and not while a message is held.
  if (batch.message_size() < max_ || check_refusal_ || broken_ || held_) return ChannelImpl::receive_batch(batch, d, o);
  if (auto c = check_batch(batch, object_); !c) return std::unexpected(std::move(c.error()));
  batch_begin(batch);
  if (batch_error_) {
    Error e = std::move(*batch_error_);
    batch_error_.reset();
    return fail(std::move(e));
  }
  batch_received_.resize(batch.capacity());
  auto n = sock_.receive_many(batch_bytes(batch), batch.message_size(), batch_received_, d);
  if (!n) return receive_failed(std::move(n.error()));
  std::size_t kept = 0;
  for (std::size_t i = 0; i < *n; ++i) {
    SocketReceived& r = batch_received_[i];
    if (r.size == 0 && !r.truncated && sock_.type() == SocketType::seqpacket) {
      if (kept == 0) return fail(Errc::peer_gone, "receive", object_, "the peer closed the connection");
      break;  // the end of the connection: the next receive reports it
    }
    if (r.credentials) peer_ = r.credentials;
    if (!connected_) {
      reply_to_ = r.from;
      heard_from_anyone_ = true;
    }
    if (r.truncated || r.fds_lost) {
      // Gone already (the kernel took it): said at the next receive_batch, after the
      // messages around it.
      batch_error_ = r.truncated
                         ? Error::make(Errc::message_too_large, "receive", object_,
                                       fmt::format("a datagram arrived above this channel's maximum of {} bytes; it "
                                                   "was discarded (raise option max)",
                                                   max_))
                         : Error::from_errno("recvmsg", EMFILE, object_).with_detail(fds_lost_detail());
      continue;
    }
    if (kept != i) {
      auto slots = batch_bytes(batch);
      std::memmove(slots.data() + kept * batch.message_size(), slots.data() + i * batch.message_size(), r.size);
    }
    Received& out = batch_info(batch, kept);
    out.size = r.size;
    if (!r.fds.empty()) std::swap(out.fds, r.fds);
    ++kept;
  }
  if (kept == 0 && batch_error_) {
    Error e = std::move(*batch_error_);
    batch_error_.reset();
    return fail(std::move(e));
  }
  batch_end(batch, kept);
  return kept;
}

// ---- SocketListener -------------------------------------------------------------------------

SocketListener::SocketListener(Socket s, SocketPath path, SocketUrlOptions o, std::string object, std::string local_url)
    : path_(std::move(path)), sock_(std::move(s)), o_(std::move(o)), object_(std::move(object)),
      local_url_(std::move(local_url)) {}

void SocketListener::send_refusal(Socket& c, const std::string& reason) {
  // Best effort and never blocking: the client may already be gone.
  std::vector<std::byte> out;
  auto put = [&](std::string_view s) {
    auto b = as_bytes(s);
    out.insert(out.end(), b.begin(), b.end());
  };
  if (c.type() == SocketType::seqpacket) {
    put(kRefusalMagic);
    put(reason);
  } else if (o_.raw) {
    put(fmt::format("ipcx: refused by the listener: {}\n", reason));
  } else {
    std::byte h[2 * kFrameHeader];
    store_le32(h, kRefusalMarker);
    store_le32(h + kFrameHeader, static_cast<std::uint32_t>(std::min(reason.size(), kRefusalReasonMax)));
    out.insert(out.end(), h, h + sizeof h);
    put(std::string_view(reason).substr(0, kRefusalReasonMax));
  }
  (void)c.send(out, Deadline::immediate());
  (void)c.shutdown(SHUT_WR);
}

Result<Channel> SocketListener::accept(Deadline d) {
  auto c = sock_.accept(d);
  if (!c) {
    if (c.error().would_block() || c.error().timed_out()) return fail(c.error().kind(), "accept", object_);
    // Out of descriptors: the client stays queued, and the error names the limit.
    Error e = std::move(c.error()).with_object(object_);
    if (e.code() == EMFILE) {
      return fail(std::move(e).with_detail("this process is out of descriptors: " + detail::nofile_limit_text()));
    }
    if (e.code() == ENFILE) {
      return fail(std::move(e).with_detail("the system is out of open files: " + detail::sysctl_limit_text("fs.file-max")));
    }
    return fail(std::move(e));
  }
  if (auto r = apply_socket_options(*c, o_); !r) return fail(std::move(r.error()).with_object(object_));
  std::optional<PeerCredentials> creds;
  if (c->family() == AF_UNIX) {
    auto pc = c->peer_credentials();
    if (!pc) return fail(std::move(pc.error()).with_object(object_));
    creds = *pc;
    const bool refused = o_.owner_only ? pc->uid != ::geteuid() : !o_.allow.empty() && !o_.allow.allows(*pc);
    if (refused) {
      const std::string why =
          o_.owner_only ? fmt::format("{} is not this listener's user, and an abstract name is owner-only unless "
                                      "allow_uid/allow_gid invite others",
                                      credentials_text(*pc))
                        : fmt::format("{} is not in the allow-list ({})", credentials_text(*pc), o_.allow.text);
      send_refusal(*c, why);
      return fail(Error::from_errno("accept", EACCES, object_).with_detail(fmt::format("refused a client: {}", why)));
    }
  }
  std::size_t max = o_.max ? static_cast<std::size_t>(*o_.max) : default_max(*c);
  auto impl = make_connected_channel(std::move(*c), o_.raw, max, object_, false, creds);
  return ChannelAccess::make(std::move(impl), object_);
}

std::unique_ptr<ChannelImpl> make_connected_channel(Socket s, bool raw, std::size_t max, std::string object,
                                                    bool connecting, std::optional<PeerCredentials> peer) {
  if (s.type() == SocketType::stream) {
    return std::make_unique<StreamSocketChannel>(std::move(s), raw, max, std::move(object), connecting, peer);
  }
  const std::size_t limit = s.family() == AF_UNIX ? 0 : udp_limit(s.family());
  return std::make_unique<PacketSocketChannel>(std::move(s), max, std::move(object), true, connecting, peer, limit);
}

}  // namespace ipcx::detail

// ---- public helpers over Channels --------------------------------------------------------------

namespace ipcx {
namespace {

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#' || c == '&') {
      out += fmt::format("%{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

namespace detail {
// The URL of a socket address.
std::string url_for(const SocketAddress& a, SocketType type) {
  if (a.family() == AF_UNIX) {
    std::string scheme = type == SocketType::stream ? "unix" : type == SocketType::datagram ? "unixgram" : "unixpacket";
    if (a.is_unnamed()) return scheme + ":";
    if (a.is_abstract()) return fmt::format("{}:@{}", scheme, url_encode(a.unix_name()));
    return fmt::format("{}://{}", scheme, url_encode(a.unix_name()));
  }
  const char* scheme = type == SocketType::stream ? "tcp" : "udp";
  if (a.family() == AF_INET6) return fmt::format("{}://[{}]:{}", scheme, a.host(), a.port());
  return fmt::format("{}://{}:{}", scheme, a.host(), a.port());
}
}  // namespace detail

Result<SocketPair> make_socket_pair(SocketType type, const SocketChannelOptions& o) {
  auto p = Socket::pair(type);
  if (!p) return std::unexpected(std::move(p.error()));
  SocketPair out;
  Socket* ends[2] = {&p->first, &p->second};
  Channel* channels[2] = {&out.first, &out.second};
  for (int i = 0; i < 2; ++i) {
    auto creds = ends[i]->peer_credentials();
    if (!creds) return std::unexpected(std::move(creds.error()));
    if (type == SocketType::datagram) {
      if (auto r = ends[i]->set_pass_credentials(true); !r) return std::unexpected(std::move(r.error()));
    }
    std::size_t max = o.max_message_size ? o.max_message_size : detail::default_max(*ends[i]);
    std::string object = fmt::format("socketpair({})", to_string(type));
    *channels[i] = detail::ChannelAccess::make(detail::make_connected_channel(std::move(*ends[i]), o.raw, max, object, false, *creds), object);
  }
  return out;
}

Result<Channel> adopt_socket(Socket s, const SocketChannelOptions& o) {
  if (!s.valid()) return fail(Errc::invalid_argument, "adopt_socket", {}, "no socket");
  std::optional<PeerCredentials> creds;
  if (s.family() == AF_UNIX && s.type() != SocketType::datagram) {
    auto c = s.peer_credentials();
    if (c) creds = *c;
  }
  auto peer = s.peer_address();
  if (!peer) {
    return fail(std::move(peer.error()).with_op("adopt_socket").with_detail("the socket is not connected"));
  }
  std::string object = peer->is_unnamed() ? fmt::format("socket({})", to_string(s.type()))
                                          : detail::url_for(*peer, s.type());
  std::size_t max = o.max_message_size ? o.max_message_size : detail::default_max(s);
  return detail::ChannelAccess::make(detail::make_connected_channel(std::move(s), o.raw, max, object, false, creds), object);
}

int socket_fd(const Channel& ch) noexcept {
  auto* s = dynamic_cast<detail::SocketChannel*>(detail::ChannelAccess::impl(ch));
  return s ? s->socket().fd() : -1;
}

Result<std::string> local_url(const Channel& ch) {
  auto* s = dynamic_cast<detail::SocketChannel*>(detail::ChannelAccess::impl(ch));
  if (!s) return fail(Errc::invalid_argument, "local_url", ch.url(), "not a socket channel");
  auto a = s->socket().local_address();
  if (!a) return std::unexpected(std::move(a.error()));
  return detail::url_for(*a, s->socket().type());
}

}  // namespace ipcx
