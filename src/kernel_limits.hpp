// SPDX-License-Identifier: MIT
// Kernel limits, read where the kernel publishes them, for error messages that name the
// limit, its value and how to raise it ("fs.mqueue.msg_max = 10; raise it with ...").
// This file is the one reader of /proc/sys: every other part of the library (the
// mechanisms' error texts, posix_mq_limits(), limits::read_limits and `ipcx doctor`) asks
// it. Internal: the public headers expose typed limit queries (posix_mq_limits(),
// SysvMq::limits(), limits::read_limits()). Thread-safe: every call reads /proc afresh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipcx::detail {

// The text of a sysctl given by its dotted name ("fs.mqueue.msg_max"), read from
// ROOT/proc/sys/fs/mqueue/msg_max without its trailing newline; nullopt if it cannot be
// read. With the default root the value is the one of this process's IPC namespace;
// another root reads a container's tree or a test's fake one.
std::optional<std::string> read_sysctl_text(std::string_view name, std::string_view root = "/");

// The sysctl's numbers, in order (kernel.sem has four: SEMMSL SEMMNS SEMOPM SEMMNI), up to
// the first word that is not one; empty if it cannot be read.
std::vector<std::uint64_t> read_sysctl_numbers(std::string_view name, std::string_view root = "/");

// A sysctl of this namespace as a signed number (its first, usually only, value); nullopt
// if it cannot be read or is not a number that fits.
std::optional<long long> read_sysctl(std::string_view name);

// "fs.mqueue.msg_max = 10; raise it with `sysctl -w fs.mqueue.msg_max=100`" — with the
// wanted value when known, otherwise a placeholder.
std::string sysctl_limit_text(std::string_view name, std::optional<long long> wanted = std::nullopt);

// "RLIMIT_NOFILE = 1024; raise it with `ulimit -n` (prlimit --nofile for a running
// process)": this process's descriptor limit, for EMFILE.
std::string nofile_limit_text();

// Whether CAP_SYS_RESOURCE is in this thread's effective set: it lifts the fs.mqueue
// limits (up to the kernel's hard ones), kernel.msgmnb for IPC_SET, and queues_max.
bool has_cap_sys_resource();

}  // namespace ipcx::detail
