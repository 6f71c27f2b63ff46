// SPDX-License-Identifier: MIT
// ipcx::inspect — every IPC object on this host, as one data model.
//
// Reads what the kernel publishes (/proc/sysvipc/*, /dev/shm, /dev/mqueue, /proc/net/unix,
// /proc/<pid>/fd and maps) into Object records that `ipcx ls`, `ipcx stat` and `ipcx rm`
// print as tables and as JSON, and that programs can use directly:
//
//   auto all = ipcx::inspect::list_objects();
//   for (const auto& o : all->objects) if (o.state == ipcx::inspect::State::stale) puts(o.url.c_str());
//   auto seg = ipcx::inspect::stat_object("sysvshm://0x1234");   // one object, in detail
//
// Every Object has a URL in the language the rest of ipcx speaks (sysvshm://0x1234,
// sysvshm://id:5 for IPC_PRIVATE, posixshm:///name, unix:///run/x.sock, unix:@abstract).
//
// Staleness. The kernel records different things per mechanism, so "stale" means:
//   sysvshm   no process attached, and the creator and the last attacher are gone
//   sysvmq    the last sender and the last receiver are gone (never used: unknown)
//   sysvsem   nobody waits, and every process that last changed a semaphore is gone
//             (never operated on: unknown)
//   posix*    no live process has it open or mapped (POSIX records no creator)
//   shm       (rings) no side holds its liveness lock and no process has it open; messages
//             left for the next consumer do not keep it (ipcx rm --stale would drop them)
//   fifo      no process has it open
//   unix      a socket file with no socket bound to it (only found by stat, by path)
// `unknown` is never stale: ipcx removes only what it can show nobody uses. As non-root,
// other users' processes cannot be inspected; an object they could open (its mode lets
// group or others in) is then `unknown` rather than stale.
//
// A listing is a snapshot: objects come and go while it is taken. Not thread-safe to
// share a Listing being built; the functions themselves keep no state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipcx/error.hpp"
#include "ipcx/url.hpp"

namespace ipcx::inspect {

enum class Kind : std::uint8_t {
  sysv_shm, sysv_sem, sysv_msg, posix_shm, posix_sem, posix_mq, unix_socket, fifo, ring,
};
// The URL scheme of the kind ("sysvshm", "posixmq", "unix", "fifo", "shm", …).
std::string_view to_string(Kind) noexcept;
// Accepts the scheme names plus "unixgram"/"unixpacket" (as unix) and "ring" (as shm).
std::optional<Kind> kind_from_string(std::string_view) noexcept;
// Every kind, in listing order.
std::vector<Kind> all_kinds();

enum class State : std::uint8_t {
  in_use,   // a live process has it attached/open/mapped, waits on it, made it or last used it
  stale,    // nobody uses it and every process known to have used it is gone
  unknown,  // no evidence either way (see above); never removed by rm --stale
};
std::string_view to_string(State) noexcept;  // "in-use", "stale", "unknown"

// A process the kernel connects to the object, and in which role.
struct ProcessRef {
  pid_t pid = 0;
  std::string role;   // creator, last, last-send, last-receive, attached, open, mapped, notify, listening
  bool alive = false;
  std::string comm;   // /proc/<pid>/comm when alive
  std::string access; // for open descriptors: "r", "w" or "rw"
};

struct Object {
  Kind kind{};
  std::string url;   // how stat and rm name it
  std::string name;  // as people say it: "0x4000ab01", "/orders", "/run/x.sock", "@name"
  std::optional<std::int32_t> key;  // sysv
  std::optional<int> id;            // sysv
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<uid_t> cuid;        // sysv: creator
  std::optional<gid_t> cgid;
  unsigned mode = 0;                // permission bits (07777)
  std::optional<std::uint64_t> size;         // bytes: segment size, bytes queued
  std::optional<std::uint64_t> depth;        // messages queued
  std::optional<std::uint64_t> capacity;     // posixmq mq_maxmsg; ring data bytes
  std::optional<std::uint64_t> max_message;  // posixmq mq_msgsize, sysvmq msg_qbytes, ring max payload
  std::optional<std::uint64_t> attached;     // sysvshm nattch
  std::optional<std::uint64_t> nsems;        // sysvsem: semaphores in the set
  std::optional<std::uint64_t> waiters;      // sysvsem: processes blocked in semop (ncnt + zcnt)
  std::vector<long> values;                  // sysvsem/posixsem values, where readable
  std::string socket_type;                   // unix: stream, dgram, seqpacket
  std::string socket_state;                  // unix: listening, bound, unbound (stale file)
  std::string path;                          // the file behind it, if any (/dev/shm/x, /dev/mqueue/x)
  std::vector<ProcessRef> processes;
  std::vector<std::pair<std::string, std::int64_t>> times;  // "change", "attach", … in Unix seconds; never-set times omitted
  std::vector<std::pair<std::string, std::string>> details;  // further facts for stat ("notify", ring fields, …)
  State state = State::unknown;
  std::string state_reason;  // why, in words: "attached by 2 processes", "creator 123 is gone"

  // Live processes using it now (attached/open/mapped/listening/notify), deduplicated.
  std::vector<pid_t> users() const;
};

struct ListOptions {
  std::vector<Kind> kinds;  // empty: every kind
  // Read what costs a call per object: sysvsem values (semctl per semaphore), posixmq depth
  // (mq_open + mq_getattr). On by default; `ls` wants them too.
  bool details = true;
};

struct Listing {
  std::vector<Object> objects;
  std::vector<std::string> notes;  // what could not be listed, and how to fix it
};

// Every object of the asked kinds. Fails only when nothing could be read at all; missing
// sources (e.g. /dev/mqueue not mounted) become notes.
Result<Listing> list_objects(const ListOptions& o = {});

// One object by URL, in full detail. Accepts every object scheme and fifo/unix*; for sysv,
// KEY, id:N or /PATH?proj=N. Not-found is Errc::system with ENOENT and says what was looked for.
Result<Object> stat_object(const Url& url);
Result<Object> stat_object(std::string_view url);

// Finds objects by what an operator types: a URL, a SysV key ("0x1234abcd") or a SysV id
// ("32769") in any of the three tables. Several matches are returned as they are.
Result<std::vector<Object>> find_objects(std::string_view spec);

// Removes the object: IPC_RMID, shm_unlink, sem_unlink, mq_unlink, or unlink for fifo and
// socket files. It does not check the state; the caller decides (ipcx rm refuses in_use
// without --force). A SysV segment still attached is destroyed after the last detach.
Result<void> remove_object(const Object& o);

// /dev/mqueue: true if mounted. If not, with MqueueMount::mount_if_root and as root,
// mounts it (mount -t mqueue none /dev/mqueue) and returns true; otherwise false.
enum class MqueueMount : std::uint8_t { check_only, mount_if_root };
Result<bool> ensure_mqueue_mounted(MqueueMount how);

}  // namespace ipcx::inspect
