// SPDX-License-Identifier: MIT
// One file per peer library; each is compiled only when CMake found the library.
#pragma once

#include "cases.hpp"

namespace ipcx::bench {

void add_boost(CaseList& out);    // peer_boost.cpp: Boost.Interprocess message_queue
void add_zmq(CaseList& out);      // peer_zmq.cpp: ZeroMQ ipc:// and tcp://, raw libzmq
// The high-water mark of the zmq rows, raw and ipcx alike, for `size`-byte messages.
int zmq_hwm_for(std::size_t size);
void add_nng(CaseList& out);      // peer_nng.cpp: nng ipc://
void add_iceoryx(CaseList& out);  // peer_iceoryx.cpp: iceoryx with its own RouDi

}  // namespace ipcx::bench
