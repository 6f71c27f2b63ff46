// Kernel limits, read where the kernel publishes them, for error messages that name the
// limit, its value and how to raise it ("fs.mqueue.msg_max = 10; raise it with ...").
// Internal: the public headers expose typed limit queries (posix_mq_limits(),
// SysvMq::limits()). Thread-safe: every call reads /proc afresh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ipcx::detail {

// The value of a sysctl given by its dotted name ("fs.mqueue.msg_max"), read from
// /proc/sys/fs/mqueue/msg_max; nullopt if it cannot be read. The value is the one of this
// process's IPC namespace.
std::optional<long long> read_sysctl(std::string_view name);

// "fs.mqueue.msg_max = 10; raise it with `sysctl -w fs.mqueue.msg_max=100`" — with the
// wanted value when known, otherwise a placeholder.
std::string sysctl_limit_text(std::string_view name, std::optional<long long> wanted = std::nullopt);

// Whether CAP_SYS_RESOURCE is in this thread's effective set: it lifts the fs.mqueue
// limits (up to the kernel's hard ones), kernel.msgmnb for IPC_SET, and queues_max.
bool has_cap_sys_resource() noexcept;

}  // namespace ipcx::detail
