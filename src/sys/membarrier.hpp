// SPDX-License-Identifier: MIT
// membarrier(2): a memory barrier on other CPUs, so that a rarely-taken path (a thread
// about to sleep) can pay for the ordering that a hot path (a sender checking for
// sleepers) then gets for free.
#pragma once

#include "ipcx/error.hpp"

namespace ipcx::sys {

// membarrier(cmd, 0, 0). Returns the call's non-negative result (a command mask for
// MEMBARRIER_CMD_QUERY). No EINTR: the call does not sleep interruptibly.
Result<int> membarrier(int cmd);

}  // namespace ipcx::sys
