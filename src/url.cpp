// SPDX-License-Identifier: MIT
#include "ipcx/url.hpp"

#include <charconv>
#include <climits>

#include <fmt/format.h>

namespace ipcx {
namespace {

struct SchemeName {
  std::string_view text;
  Scheme scheme;
};
constexpr SchemeName kSchemes[] = {
    {"shm", Scheme::shm},           {"unix", Scheme::unix_stream},
    {"unixgram", Scheme::unix_dgram}, {"unixpacket", Scheme::unix_seqpacket},
    {"tcp", Scheme::tcp},           {"udp", Scheme::udp},
    {"fifo", Scheme::fifo},         {"posixmq", Scheme::posixmq},
    {"sysvmq", Scheme::sysvmq},     {"posixshm", Scheme::posixshm},
    {"sysvshm", Scheme::sysvshm},   {"posixsem", Scheme::posixsem},
    {"sysvsem", Scheme::sysvsem},   {"nats", Scheme::nats},
    {"zmq+tcp", Scheme::zmq_tcp},   {"zmq+ipc", Scheme::zmq_ipc},
};

std::unexpected<Error> bad(std::string_view url, std::string detail) {
  return fail(Errc::bad_url, "url", url, std::move(detail));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; "%zz" or a truncated escape is an error.
Result<std::string> decode(std::string_view url, std::string_view in, std::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) {
      return bad(url, fmt::format("truncated percent escape in {}", what));
    }
    int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return bad(url, fmt::format("bad percent escape '{}' in {}", in.substr(i, 3), what));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.find('\0') != std::string::npos) return bad(url, fmt::format("NUL byte in {}", what));
  return out;
}

bool is_sysv(Scheme s) { return s == Scheme::sysvmq || s == Scheme::sysvshm || s == Scheme::sysvsem; }
bool is_posix_named(Scheme s) { return s == Scheme::posixmq || s == Scheme::posixshm || s == Scheme::posixsem; }
bool is_unix(Scheme s) {
  return s == Scheme::unix_stream || s == Scheme::unix_dgram || s == Scheme::unix_seqpacket;
}

Result<std::uint64_t> parse_u64(std::string_view text, int base) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) {
    return fail(Errc::invalid_argument, "parse");
  }
  return v;
}

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "HOST:PORT" or "[V6]:PORT", as tcp://, udp://, zmq+tcp:// and each nats:// server write
// it; `default_port` is used when ":PORT" is left out (0: the port is required).
Result<HostPort> parse_host_port(std::string_view url, std::string_view hostport, std::string_view scheme,
                                 std::uint16_t default_port = 0) {
  std::string_view host, port;
  bool has_port = true;
  if (hostport.starts_with("[")) {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad(url, "IPv6 literal is missing its ']'");
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (after.empty() && default_port != 0) {
      has_port = false;
    } else if (!after.starts_with(":")) {
      return bad(url, "missing ':PORT' after the IPv6 literal");
    }
    port = after.empty() ? after : after.substr(1);
  } else {
    auto c = hostport.rfind(':');
    if (c == std::string_view::npos) {
      if (default_port == 0) return bad(url, fmt::format("missing ':PORT' in {}://HOST:PORT", scheme));
      has_port = false;
      host = hostport;
    } else {
      host = hostport.substr(0, c);
      if (host.find(':') != std::string_view::npos) return bad(url, "an IPv6 literal must be in brackets: [::1]:PORT");
      port = hostport.substr(c + 1);
    }
  }
  if (host.empty()) return bad(url, "missing host");
  HostPort hp{std::string(host), default_port};
  if (has_port) {
    auto p = parse_u64(port, 10);
    if (!p || *p > 65535) return bad(url, fmt::format("port '{}' is not a number from 0 to 65535", port));
    hp.port = static_cast<std::uint16_t>(*p);
  }
  return hp;
}

// A NATS subject: '.'-separated tokens, none empty, no white space; '*' and '>' only as whole
// tokens, '>' only last. Wildcards are checked again by the sender (it cannot publish to one).
Result<void> validate_subject(std::string_view url, std::string_view subject) {
  if (subject.empty()) return bad(url, "missing subject: nats://HOST:PORT/SUBJECT");
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = subject.find('.', start);
    std::string_view token = subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (token.empty()) return bad(url, fmt::format("subject '{}' has an empty token ('..' or a '.' at an end)", subject));
    for (char c : token) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        return bad(url, fmt::format("subject '{}' contains white space", subject));
      }
    }
    if (token.size() > 1 && (token.find('*') != std::string_view::npos || token.find('>') != std::string_view::npos)) {
      return bad(url, fmt::format("subject '{}': '*' and '>' are wildcards only as a whole token", subject));
    }
    if (dot == std::string_view::npos) break;
    if (token == ">") return bad(url, fmt::format("subject '{}': '>' may only be the last token", subject));
    start = dot + 1;
  }
  return {};
}

}  // namespace

std::string_view to_string(Scheme s) noexcept {
  for (const auto& e : kSchemes) {
    if (e.scheme == s) return e.text;
  }
  return "?";
}

Result<void> validate_posix_name(std::string_view name, const char* op) {
  auto err = [&](std::string why) { return fail(Errc::invalid_argument, op, name, std::move(why)); };
  if (name.size() < 2 || name[0] != '/') return err("a POSIX IPC name is '/' followed by at least one character");
  if (name.size() - 1 > NAME_MAX) {
    return err(fmt::format("name is {} bytes; at most {} after the leading '/'", name.size() - 1, NAME_MAX));
  }
  std::string_view rest = name.substr(1);
  if (rest.find('/') != std::string_view::npos) return err("no '/' is allowed after the leading one");
  if (rest == "." || rest == "..") return err("'.' and '..' are not names");
  if (rest.find('\0') != std::string_view::npos) return err("NUL byte in name");
  return {};
}

Result<void> validate_new_name(std::string_view name, const char* op) {
  for (char c : name) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      return fail(Errc::invalid_argument, op, url_escape(name),
                  fmt::format("control character 0x{:02x} in a new object's name", b));
    }
  }
  return {};
}

std::string url_escape(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '%' || c == '?' || c == '#') {
      out += fmt::format("%{:02X}", b);
    } else {
      out += c;
    }
  }
  return out;
}

Result<void> validate_path(std::string_view path, const char* op) {
  auto err = [&](std::string why) { return fail(Errc::invalid_argument, op, path, std::move(why)); };
  if (path.empty() || path[0] != '/') return err("the path must be absolute");
  if (path.size() >= PATH_MAX) return err("path too long");
  if (path.find('\0') != std::string_view::npos) return err("NUL byte in path");
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return err("'..' is not allowed in a path");
    start = end + 1;
  }
  if (path.back() == '/') return err("the path names a directory");
  return {};
}

Result<std::int32_t> parse_sysv_key(std::string_view text) {
  bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  auto v = parse_u64(hex ? text.substr(2) : text, hex ? 16 : 10);
  if (!v || *v > 0xffffffffULL) {
    return fail(Errc::invalid_argument, "key", text, "a SysV key is decimal or 0x hexadecimal, 32 bits");
  }
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(*v));
}

Result<Url> Url::parse(std::string_view text) {
  Url u;
  u.text.assign(text);
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return bad(text, "missing scheme, expected SCHEME:…");
  std::string_view scheme = text.substr(0, colon);
  bool found = false;
  for (const auto& e : kSchemes) {
    if (e.text == scheme) {
      u.scheme = e.scheme;
      found = true;
    }
  }
  if (!found) {
    return bad(text, fmt::format("unknown scheme '{}' (known: shm unix unixgram unixpacket tcp udp fifo "
                                 "posixmq sysvmq posixshm sysvshm posixsem sysvsem nats zmq+tcp zmq+ipc)", shorten_input(scheme)));
  }
  std::string_view rest = text.substr(colon + 1);

  // Query.
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!query.empty()) {
      std::size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.empty()) continue;
      std::size_t eq = pair.find('=');
      auto key = decode(text, pair.substr(0, eq), "option name");
      if (!key) return std::unexpected(key.error());
      if (key->empty()) return bad(text, "empty option name");
      auto value = decode(text, eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1),
                          fmt::format("option '{}'", *key));
      if (!value) return std::unexpected(value.error());
      for (const auto& [k, v] : u.options) {
        if (k == *key) return bad(text, fmt::format("option '{}' given twice", *key));
      }
      u.options.emplace_back(std::move(*key), std::move(*value));
    }
  }
  if (rest.find('#') != std::string_view::npos) return bad(text, "fragments ('#') are not used");

  if (is_unix(u.scheme) && (rest.starts_with("@") || rest.starts_with("//@"))) {
    auto d = decode(text, rest.substr(rest.find('@') + 1), "abstract name");
    if (!d) return std::unexpected(d.error());
    if (d->empty()) return bad(text, "empty abstract socket name after '@'");
    if (d->size() > 107) return bad(text, fmt::format("abstract name is {} bytes; at most 107", d->size()));
    u.abstract = true;
    u.name = std::move(*d);
    return u;
  }
  if (!rest.starts_with("//")) return bad(text, fmt::format("expected '{}://…' after the scheme", scheme));
  rest.remove_prefix(2);

  if (u.scheme == Scheme::shm) {
    auto d = decode(text, rest, "name");
    if (!d) return std::unexpected(d.error());
    if (d->empty()) return bad(text, "missing ring name: shm://NAME");
    if (d->size() > 200) return bad(text, fmt::format("ring name is {} bytes; at most 200", d->size()));
    for (char c : *d) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '_' || c == '.';
      if (!ok) return bad(text, fmt::format("ring name '{}' may hold only letters, digits, '-', '_' and '.'", shorten_input(*d)));
    }
    if (*d == "." || *d == ".." || d->find("..") != std::string::npos) {
      return bad(text, fmt::format("ring name '{}' may not contain '..'", shorten_input(*d)));
    }
    u.name = std::move(*d);
    return u;
  }

  if (u.scheme == Scheme::tcp || u.scheme == Scheme::udp || u.scheme == Scheme::zmq_tcp) {
    if (rest.find('/') != std::string_view::npos) {
      return bad(text, fmt::format("unexpected path after {}://HOST:PORT", scheme));
    }
    auto hp = parse_host_port(text, rest, scheme);
    if (!hp) return std::unexpected(hp.error());
    u.host = std::move(hp->host);
    u.port = hp->port;
    return u;
  }

  if (u.scheme == Scheme::nats) {
    std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return bad(text, "missing subject: nats://HOST:PORT/SUBJECT");
    std::string_view list = rest.substr(0, slash);
    if (list.empty()) return bad(text, "missing server: nats://HOST:PORT/SUBJECT");
    while (true) {
      std::size_t comma = list.find(',');
      auto hp = parse_host_port(text, list.substr(0, comma), scheme, 4222);
      if (!hp) return std::unexpected(hp.error());
      if (u.servers.empty()) {
        u.host = hp->host;
        u.port = hp->port;
      }
      bool v6 = hp->host.find(':') != std::string::npos;
      u.servers.push_back(v6 ? fmt::format("[{}]:{}", hp->host, hp->port) : fmt::format("{}:{}", hp->host, hp->port));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    auto subject = decode(text, rest.substr(slash + 1), "subject");
    if (!subject) return std::unexpected(subject.error());
    if (auto v = validate_subject(text, *subject); !v) return std::unexpected(v.error());
    u.name = std::move(*subject);
    return u;
  }

  if (is_sysv(u.scheme)) {
    if (rest.starts_with("/")) {  // sysvmq:///PATH?proj=N
      auto d = decode(text, rest, "path");
      if (!d) return std::unexpected(d.error());
      if (auto v = validate_path(*d, "url"); !v) return bad(text, v.error().detail());
      auto proj = u.option("proj");
      if (!proj) return bad(text, "a key from a path needs ?proj=N (1..255)");
      auto pv = parse_u64(*proj, 10);
      if (!pv || *pv == 0 || *pv > 255) return bad(text, fmt::format("proj '{}' must be 1..255 (ftok uses its low 8 bits, and 0 is refused)", *proj));
      u.ftok_path = std::move(*d);
      return u;
    }
    if (rest.starts_with("id:")) {
      auto v = parse_u64(rest.substr(3), 10);
      if (!v || *v > INT_MAX) return bad(text, fmt::format("id '{}' is not a non-negative number", shorten_input(rest.substr(3))));
      u.id = static_cast<int>(*v);
      return u;
    }
    if (rest == "private") {
      u.key = 0;
      return u;
    }
    if (rest.empty()) return bad(text, fmt::format("missing key: {}://KEY, {}://id:N or {}:///PATH?proj=N", scheme, scheme, scheme));
    auto k = parse_sysv_key(rest);
    if (!k) return bad(text, fmt::format("key '{}' is not decimal or 0x hexadecimal (32 bits)", shorten_input(rest)));
    if (*k == 0) {
      return bad(text, fmt::format("key 0 is IPC_PRIVATE: every open makes a new object no other process can "
                                   "find; write {}://private to mean that, or {}://id:N for one that exists",
                                   scheme, scheme));
    }
    u.key = *k;
    return u;
  }

  // Path-like schemes: fifo, unix*, posix*, zmq+ipc.
  auto d = decode(text, rest, "path");
  if (!d) return std::unexpected(d.error());
  if (is_posix_named(u.scheme)) {
    if (auto v = validate_posix_name(*d, "url"); !v) return bad(text, v.error().detail());
    u.name = std::move(*d);
    return u;
  }
  if (auto v = validate_path(*d, "url"); !v) return bad(text, fmt::format("path '{}': {}", shorten_input(*d), v.error().detail()));
  if ((is_unix(u.scheme) || u.scheme == Scheme::zmq_ipc) && d->size() > 107) {
    return bad(text, fmt::format("socket path is {} bytes; sun_path holds at most 107", d->size()));
  }
  u.name = std::move(*d);
  return u;
}

std::optional<std::string_view> Url::option(std::string_view opt) const {
  for (const auto& [k, v] : options) {
    if (k == opt) return std::string_view(v);
  }
  return std::nullopt;
}

Result<std::uint64_t> Url::option_uint(std::string_view opt, std::uint64_t fallback) const {
  auto v = option(opt);
  if (!v) return fallback;
  auto n = parse_u64(*v, 10);
  if (!n) return bad(text, fmt::format("option {}='{}' is not a non-negative integer", opt, shorten_input(*v)));
  return *n;
}

Result<std::uint64_t> Url::option_size(std::string_view opt, std::uint64_t fallback) const {
  auto v = option(opt);
  if (!v) return fallback;
  std::string_view digits = *v;
  std::uint64_t mult = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k': case 'K': mult = 1ULL << 10; break;
      case 'm': case 'M': mult = 1ULL << 20; break;
      case 'g': case 'G': mult = 1ULL << 30; break;
      default: break;
    }
    if (mult != 1) digits.remove_suffix(1);
  }
  auto n = parse_u64(digits, 10);
  if (!n || *n > UINT64_MAX / mult) {
    return bad(text, fmt::format("option {}='{}' is not a size (a number, optionally with k, m or g)", opt, shorten_input(*v)));
  }
  return *n * mult;
}

Result<bool> Url::option_bool(std::string_view opt, bool fallback) const {
  auto v = option(opt);
  if (!v) return fallback;
  if (*v == "" || *v == "1" || *v == "true" || *v == "yes" || *v == "on") return true;
  if (*v == "0" || *v == "false" || *v == "no" || *v == "off") return false;
  return bad(text, fmt::format("option {}='{}' is not a boolean (1/0, true/false, yes/no)", opt, shorten_input(*v)));
}

Result<unsigned> Url::option_mode(std::string_view opt, unsigned fallback) const {
  auto v = option(opt);
  if (!v) return fallback;
  auto n = parse_u64(*v, 8);
  if (!n) return bad(text, fmt::format("option {}='{}' is not an octal mode such as 0600", opt, shorten_input(*v)));
  if (*n > 0777) {
    return bad(text, fmt::format("option {}='{}' has bits beyond 0777: only permission bits (setuid, setgid and "
                                 "sticky are not for IPC objects)", opt, shorten_input(*v)));
  }
  return static_cast<unsigned>(*n);
}

Result<void> Url::check_options(std::initializer_list<std::string_view> known) const {
  for (const auto& [k, v] : options) {
    bool ok = false;
    for (auto known_name : known) ok = ok || known_name == k;
    if (!ok) {
      std::string list;
      for (auto known_name : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", known_name);
      return bad(text, fmt::format("unknown option '{}' for {}:// (known: {})", shorten_input(k), to_string(scheme),
                                   list.empty() ? "none" : list));
    }
  }
  return {};
}

std::string Url::endpoint() const { return abstract ? "@" + name : name; }

}  // namespace ipcx
