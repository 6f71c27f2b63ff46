// SPDX-License-Identifier: MIT
#include "ipcx/version.hpp"

namespace ipcx {

std::string_view version() noexcept { return IPCX_VERSION_STRING; }

}  // namespace ipcx
