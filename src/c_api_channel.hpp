// SPDX-License-Identifier: MIT
// The C channel handle, shared by the parts of the C API that take one: the Channel calls
// (c_api.cpp) and the queue calls below the Channel (c_api_mq.cpp).
#pragma once

#include "ipcx/c/channel.h"
#include "ipcx/channel.hpp"

struct ipcx_channel {
  ipcx::Channel ch;
};
