// SPDX-License-Identifier: MIT
#include "output.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include <fmt/format.h>


namespace ipcx::cli {

Table::Table(std::vector<std::string> headers, std::vector<bool> right)
    : headers_(std::move(headers)), right_(std::move(right)) {
  right_.resize(headers_.size(), false);
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) {
      out += fmt::format("\\x{:02x}", b);
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  for (auto& cell : row) cell = printable(cell);
  rows_.push_back(std::move(row));
}

std::string Table::render() const {
  std::vector<std::size_t> width(headers_.size());
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  };
  measure(headers_);
  for (const auto& r : rows_) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (std::size_t c = 0; c < row.size(); ++c) {
      bool last = c + 1 == row.size();
      if (c > 0) l += "  ";
      if (right_[c]) {
        l += fmt::format("{:>{}}", row[c], width[c]);
      } else if (last) {
        l += row[c];  // no trailing blanks
      } else {
        l += fmt::format("{:<{}}", row[c], width[c]);
      }
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* res = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return res->pw_name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  group gr{};
  group* res = nullptr;
  char buf[1024];
  if (::getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) return res->gr_name;
  return std::to_string(gid);
}

std::string human_bytes(std::uint64_t n) {
  constexpr double KiB = 1024.0;
  if (n >= (1ULL << 62)) return "unlimited";  // kernel "no limit" values such as shmmax's default
  if (n < 1024) return fmt::format("{} B", n);
  double v = static_cast<double>(n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = -1;
  while (v >= KiB && u < 4) {
    v /= KiB;
    ++u;
  }
  if (v == static_cast<double>(static_cast<std::uint64_t>(v))) return fmt::format("{} {}", static_cast<std::uint64_t>(v), units[u]);
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string local_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (!::localtime_r(&tt, &tm)) return std::to_string(t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string mode_string(unsigned mode) {
  std::string s = fmt::format("{:04o} ", mode & 07777);
  const char* rwx = "rwx";
  for (int i = 8; i >= 0; --i) s += (mode & (1u << i)) ? rwx[(8 - i) % 3] : '-';
  return s;
}

bool has_mode(const inspect::Object& o) {
  return !(o.kind == inspect::Kind::unix_socket && o.name.starts_with("@"));
}

std::string use_summary(const inspect::Object& o) {
  using inspect::Kind;
  switch (o.kind) {
    case Kind::sysv_shm: return fmt::format("{} attached", o.attached.value_or(0));
    case Kind::sysv_sem: {
      std::string s = fmt::format("{} sem{}", o.nsems.value_or(0), o.nsems.value_or(0) == 1 ? "" : "s");
      if (o.waiters.value_or(0) > 0) s += fmt::format(", {} waiting", *o.waiters);
      return s;
    }
    case Kind::sysv_msg: return fmt::format("{} msg{}", o.depth.value_or(0), o.depth.value_or(0) == 1 ? "" : "s");
    case Kind::posix_mq:
      if (o.depth && o.capacity) return fmt::format("{}/{} msgs", *o.depth, *o.capacity);
      return "? msgs";
    case Kind::posix_sem:
      if (!o.values.empty()) return fmt::format("value {}", o.values.front());
      return "-";
    case Kind::ring: {
      auto detail = [&](std::string_view key) -> std::string {
        for (const auto& [k, v] : o.details) {
          if (k == key) return v;
        }
        return {};
      };
      std::string pattern = detail("pattern");
      if (pattern.empty()) {  // the header was not read: say whether it could not be, or is not one
        const std::string header = detail("header");
        if (header.starts_with("permission denied")) return "permission denied";
        if (header.starts_with("not readable")) return "not readable";
        return "not a ring";
      }
      std::string attached = detail("sides_attached");
      if (pattern == "pubsub") return fmt::format("pubsub, {} side{} attached", attached, attached == "1" ? "" : "s");
      return fmt::format("{}, {} msg{}, {} side{} attached", pattern, o.depth.value_or(0), o.depth.value_or(0) == 1 ? "" : "s",
                         attached, attached == "1" ? "" : "s");
    }
    case Kind::posix_shm:
    case Kind::fifo: {
      auto n = o.users().size();
      return fmt::format("{} user{}", n, n == 1 ? "" : "s");
    }
    case Kind::unix_socket: return fmt::format("{} {}", o.socket_state, o.socket_type);
  }
  return "-";
}

std::string process_summary(const inspect::Object& o, std::size_t max) {
  // One entry per process, its roles joined: "123 creator+last (gone)".
  struct Entry {
    pid_t pid;
    std::string roles;
    bool alive;
  };
  std::vector<Entry> entries;
  for (const auto& p : o.processes) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.pid == p.pid; });
    if (it == entries.end()) {
      entries.push_back({p.pid, p.role, p.alive});
    } else {
      it->roles += "+" + p.role;
    }
  }
  std::string out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i == max) {
      out += fmt::format(", +{}", entries.size() - max);
      break;
    }
    const auto& e = entries[i];
    out += fmt::format("{}{} {}{}", out.empty() ? "" : ", ", e.pid, e.roles, e.alive ? "" : " (gone)");
  }
  return out.empty() ? "-" : out;
}

std::optional<std::uint64_t> whole_number(std::string_view s) noexcept {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

Json to_json(const inspect::Object& o) {
  using json = Json;
  json j;
  j["type"] = std::string(inspect::to_string(o.kind));
  j["url"] = o.url;
  j["name"] = o.name;
  if (o.key) j["key"] = static_cast<std::uint32_t>(*o.key);
  if (o.id) j["id"] = *o.id;
  j["uid"] = o.uid;
  j["owner"] = user_name(o.uid);
  j["gid"] = o.gid;
  j["group"] = group_name(o.gid);
  if (o.cuid) j["cuid"] = *o.cuid;
  if (o.cgid) j["cgid"] = *o.cgid;
  if (has_mode(o)) j["mode"] = fmt::format("{:04o}", o.mode);
  auto opt = [&](const char* name, const std::optional<std::uint64_t>& v) {
    if (v) j[name] = *v;
  };
  opt("size", o.size);
  opt("depth", o.depth);
  opt("capacity", o.capacity);
  opt("max_message", o.max_message);
  opt("attached", o.attached);
  opt("nsems", o.nsems);
  opt("waiters", o.waiters);
  if (!o.values.empty()) j["values"] = o.values;
  if (!o.socket_type.empty()) j["socket_type"] = o.socket_type;
  if (!o.socket_state.empty()) j["socket_state"] = o.socket_state;
  if (!o.path.empty()) j["path"] = o.path;
  json procs = json::array();
  for (const auto& p : o.processes) {
    json pj{{"pid", p.pid}, {"role", p.role}, {"alive", p.alive}};
    if (!p.comm.empty()) pj["comm"] = p.comm;
    if (!p.access.empty()) pj["access"] = p.access;
    procs.push_back(std::move(pj));
  }
  j["processes"] = std::move(procs);
  json times = json::object();
  for (const auto& [k, v] : o.times) times[k] = v;
  j["times"] = std::move(times);
  if (!o.details.empty()) {
    json d = json::object();
    for (const auto& [k, v] : o.details) {
      // A count or size is a number (its unit in the key: "queued_bytes"); the rest is text.
      if (auto n = whole_number(v)) {
        d[k] = *n;
      } else {
        d[k] = v;
      }
    }
    j["details"] = std::move(d);
  }
  j["state"] = std::string(inspect::to_string(o.state));
  j["state_reason"] = o.state_reason;
  return j;
}

bool is_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len = 0;
    unsigned cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (end - p < len) return false;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += len;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0u);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += rest == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string dump(const Json& j, bool pretty) {
  // Replace, never throw, on bytes that are not UTF-8 (names are the user's bytes).
  return j.dump(pretty ? 2 : -1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace ipcx::cli
