// SPDX-License-Identifier: MIT
#include "kernel_limits.hpp"

#include <fcntl.h>
#include <linux/capability.h>

#include <charconv>

#include <fmt/format.h>

#include "sys/io.hpp"
#include "sys/process.hpp"

namespace ipcx::detail {
namespace {

template <typename T>
std::optional<T> parse(std::string_view word) {
  T v{};
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc{} || p != word.data() + word.size()) return std::nullopt;
  return v;
}

// The whitespace-separated words of `text`.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  constexpr std::string_view kSpace = " \t\n";
  for (std::size_t at = text.find_first_not_of(kSpace); at != std::string_view::npos;) {
    std::size_t end = text.find_first_of(kSpace, at);
    out.push_back(text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    at = end == std::string_view::npos ? end : text.find_first_not_of(kSpace, end);
  }
  return out;
}

}  // namespace

std::optional<std::string> read_sysctl_text(std::string_view name, std::string_view root) {
  std::string path(root);
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += "/proc/sys/";
  for (char c : name) path += c == '.' ? '/' : c;
  auto fd = sys::open(path.c_str(), O_RDONLY);
  if (!fd) return std::nullopt;
  std::string text;
  char buf[512];
  for (;;) {  // a sysctl is read whole in one call; loop for the ones that are not
    auto n = sys::read(fd->get(), buf, sizeof buf);
    if (!n) return std::nullopt;
    if (*n == 0) break;
    text.append(buf, *n);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::vector<std::uint64_t> read_sysctl_numbers(std::string_view name, std::string_view root) {
  std::vector<std::uint64_t> out;
  auto text = read_sysctl_text(name, root);
  if (!text) return out;
  for (auto w : words(*text)) {
    auto v = parse<std::uint64_t>(w);
    if (!v) break;
    out.push_back(*v);
  }
  return out;
}

std::optional<long long> read_sysctl(std::string_view name) {
  auto text = read_sysctl_text(name);
  if (!text) return std::nullopt;
  auto w = words(*text);
  if (w.empty()) return std::nullopt;
  return parse<long long>(w.front());
}

std::string sysctl_limit_text(std::string_view name, std::optional<long long> wanted) {
  auto value = read_sysctl(name);
  std::string now = value ? fmt::format("{} = {}", name, *value) : fmt::format("{} (unreadable)", name);
  std::string to = wanted ? std::to_string(*wanted) : std::string("N");
  return fmt::format("{}; raise it with `sysctl -w {}={}` as root", now, name, to);
}

bool has_cap_sys_resource() {
  auto r = sys::capget_effective(CAP_SYS_RESOURCE);
  return r && *r;
}

std::string nofile_limit_text() {
  auto r = sys::getrlimit(RLIMIT_NOFILE);
  const std::string n = !r                                  ? std::string("unreadable")
                        : r->rlim_cur == RLIM64_INFINITY ? std::string("unlimited")
                                                           : std::to_string(r->rlim_cur);
  return fmt::format("RLIMIT_NOFILE = {}; raise it with `ulimit -n` (prlimit --nofile for a running process)", n);
}

}  // namespace ipcx::detail
