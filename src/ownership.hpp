// SPDX-License-Identifier: MIT
// Squatting: another user can make an object first under the name a program means to use,
// and then read what the program sends into it (or feed it what it receives). A Channel
// opened by URL refuses an existing object that another user owns, unless the URL says
// that is expected with owner=any (docs/channel.md). Used by the shm://, posixmq://,
// sysvmq:// and fifo:// openers; not part of the library's interface.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "ipcx/error.hpp"
#include "ipcx/url.hpp"

namespace ipcx::detail {

// The URL's owner= option: "self" (the default: only this user's objects) or "any".
Result<bool> owner_any(const Url& url);

// Fails with EACCES, naming the owner, when `owner` is not this process's effective user
// and `any` is false.
Result<void> check_owner(uid_t owner, bool any, std::string_view object, const char* op);

}  // namespace ipcx::detail
