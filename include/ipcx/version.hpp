// SPDX-License-Identifier: MIT
// ipcx's version: the macros of <ipcx/version.h> (generated from CMake's project(VERSION))
// and the version of the library a program runs with.
//
//   #include <ipcx/version.hpp>
//   static_assert(IPCX_VERSION_MAJOR == 0);
//   std::println("ipcx {} (built against {})", ipcx::version(), IPCX_VERSION_STRING);
//
// The macros say what a program was compiled against; version() says what it is linked
// with (a shared library may have been replaced since). Thread-safe: it returns a constant.
#pragma once

#include <string_view>

#include <ipcx/version.h>

namespace ipcx {

// "MAJOR.MINOR.PATCH" of the linked library.
std::string_view version() noexcept;

}  // namespace ipcx
