// SPDX-License-Identifier: MIT
#include "ipcx/sysv.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "sys/sysv_key.hpp"

namespace ipcx {

Result<key_t> ftok(const std::string& path, int proj_id) { return sys::ftok(path.c_str(), proj_id); }

std::string sysv_key_text(key_t key) { return fmt::format("0x{:08x}", static_cast<std::uint32_t>(key)); }

}  // namespace ipcx
