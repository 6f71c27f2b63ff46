#include "kernel_limits.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <fstream>

#include <fmt/format.h>

namespace ipcx::detail {

std::optional<long long> read_sysctl(std::string_view name) {
  std::string path = "/proc/sys/";
  for (char c : name) path += c == '.' ? '/' : c;
  std::ifstream in(path);
  std::string text;
  if (!(in >> text)) return std::nullopt;
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string sysctl_limit_text(std::string_view name, std::optional<long long> wanted) {
  auto value = read_sysctl(name);
  std::string now = value ? fmt::format("{} = {}", name, *value) : fmt::format("{} (unreadable)", name);
  std::string to = wanted ? std::to_string(*wanted) : std::string("N");
  return fmt::format("{}; raise it with `sysctl -w {}={}` as root", now, name, to);
}

bool has_cap_sys_resource() noexcept {
  // capget(2) directly: glibc has no wrapper and libcap is not a dependency.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) != 0;
}

}  // namespace ipcx::detail
