// SPDX-License-Identifier: MIT
// libFuzzer: URL parsing and typed options never crash, and a parsed URL keeps its text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ipcx/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = ipcx::Url::parse(text);
  if (!u) {
    (void)u.error().message();
    return 0;
  }
  if (u->text != text) __builtin_trap();
  for (const auto& [k, v] : u->options) {
    (void)u->option_uint(k, 0);
    (void)u->option_size(k, 0);
    (void)u->option_bool(k, false);
    (void)u->option_mode(k, 0);
  }
  (void)u->check_options({"mode", "capacity"});
  (void)u->endpoint();
  return 0;
}
