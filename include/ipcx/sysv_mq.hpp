// SPDX-License-Identifier: MIT
// ipcx::SysvMq — a System V message queue (msgget(2), msgsnd(2), msgrcv(2), msgctl(2)).
//
//   auto q = ipcx::SysvMq::open(0x1234, {.create = true});            // msgget, mode 0600
//   q->send(ipcx::as_bytes("job"), /*type=*/3);                        // msgsnd
//   std::array<std::byte, 512> b; auto r = q->receive_for(b, 1s, {.type = -5});  // lowest type <= 5
//
// What it wraps: ftok (with clear errors), IPC_PRIVATE, msgget (IPC_CREAT, IPC_EXCL, a
// mode), msgsnd (IPC_NOWAIT), msgrcv (msgtyp 0 / > 0 / < 0, MSG_EXCEPT, MSG_NOERROR,
// IPC_NOWAIT, MSG_COPY), msgctl (IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, MSG_INFO, MSG_STAT).
//
// As a Channel: sysvmq://KEY (decimal or 0x hex), sysvmq:///PATH?proj=N (key from ftok),
// sysvmq://private (IPC_PRIVATE: a new queue for this process and its children),
// sysvmq://id:N (an existing queue by id). Options (see docs/message-queues.md):
//   create=1   IPC_CREAT: create the queue if the key has none (0: it must exist)
//   excl=0     1: IPC_EXCL, fail if the key has a queue
//   mode=0600  permissions when created (owner-only by default)
//   remove=0   1: IPC_RMID when this Channel closes, if this Channel created the queue
//   qbytes=N   IPC_SET msg_qbytes after opening (k/m suffixes); above kernel.msgmnb needs
//              CAP_SYS_RESOURCE
//   proj=N     with a path: ftok's project id, 1..255
// SendOptions::type is the message type (> 0, default 1); ReceiveOptions::type selects as
// msgtyp does (0 first message, N > 0 first of type N, N < 0 first of the lowest type
// <= |N|) and ReceiveOptions::except is MSG_EXCEPT (first whose type is not N, N > 0).
// Received::type / Message::type give the type back. No framing: the message text is the
// bytes sent, exactly as a plain msgsnd/msgrcv program sees them. A Channel never
// truncates (no MSG_NOERROR); a message longer than the buffer stays queued and the error
// is message_too_large with Error::size() = max_message_size() (msgrcv does not say how
// long the message is; that many bytes always suffice).
//
// Deadlines. msgsnd and msgrcv have no timeout. With Deadline::never() ipcx makes the
// plain blocking call (no added latency, no CPU while waiting). With a finite deadline
// it polls with IPC_NOWAIT: the call is retried after sleeps of 50 us doubling to
// poll_interval_max() (2 ms by default), never past the deadline. Cost: a message that
// arrives while the waiter sleeps is seen up to poll_interval_max() late (on average half
// the current interval), and a long wait makes up to 1 / poll_interval_max() system calls a
// second (500/s at 2 ms, well under 1% of a core). The alternative — a blocking call
// interrupted by a per-thread timer signal — would need a signal number and a handler
// owned by the library, and still has to re-arm against the race between arming and
// blocking. try_ calls are one IPC_NOWAIT call.
//
// Removal: a receiver or sender blocked on a queue that is removed (IPC_RMID) wakes with
// EIDRM, reported as Errc::peer_gone ("the queue was removed"); a polling waiter notices
// within one interval. SysV queues have no descriptor: pollable_fd() is -1.
//
// Kernel limits named in errors: kernel.msgmax (largest message), kernel.msgmnb (default
// and unprivileged maximum msg_qbytes), kernel.msgmni (number of queues).
//
// Thread-safety: every call may run from several threads at once (the kernel serialises
// them); keep/set_poll_interval_max are for the owning thread.
#pragma once

#include <sys/ipc.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <ctime>
#include <optional>
#include <span>
#include <string>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/message.hpp"  // as_bytes
#include "ipcx/sysv.hpp"     // kIpcPrivate, ftok

namespace ipcx {

struct SysvMqOptions {
  bool create = false;     // IPC_CREAT
  bool exclusive = false;  // IPC_EXCL (with create)
  unsigned mode = 0600;    // when created (SysV ignores the umask)
};

// msgrcv's selection and flags.
struct SysvReceiveOptions {
  long type = 0;          // msgtyp: 0 first, > 0 first of that type, < 0 lowest type <= |type|
  bool except = false;    // MSG_EXCEPT: first message whose type is not `type` (type > 0)
  bool truncate = false;  // MSG_NOERROR: cut a long message to the buffer instead of failing
};

struct SysvReceived {
  std::size_t size = 0;  // bytes of message text written to the buffer
  long type = 0;
};

// msgctl(IPC_STAT): struct msqid_ds.
struct SysvMqStat {
  key_t key = 0;
  uid_t uid = 0;             // owner
  gid_t gid = 0;
  uid_t cuid = 0;            // creator
  gid_t cgid = 0;
  unsigned mode = 0;         // permission bits
  std::size_t messages = 0;  // msg_qnum
  std::size_t bytes = 0;     // bytes queued (__msg_cbytes)
  std::size_t qbytes = 0;    // msg_qbytes: capacity in bytes
  pid_t last_send_pid = 0;   // msg_lspid
  pid_t last_receive_pid = 0;  // msg_lrpid
  std::time_t send_time = 0, receive_time = 0, change_time = 0;  // msg_stime, msg_rtime, msg_ctime
};

// msgctl(IPC_SET): the fields to change; the others keep their values.
struct SysvMqChange {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<unsigned> mode;        // the low 9 bits
  std::optional<std::size_t> qbytes;   // above kernel.msgmnb needs CAP_SYS_RESOURCE
};

// msgctl(IPC_INFO): the limits of this IPC namespace (struct msginfo), field for field as
// the call returns them. kernel.msgmax, msgmnb and msgmni are also in limits::Limits, the
// host report for `ipcx doctor`, read from /proc/sys there; see PosixMqLimits for why
// the limit types are kept apart.
struct SysvMqLimits {
  int msgmax = 0;  // kernel.msgmax: largest message, bytes
  int msgmnb = 0;  // kernel.msgmnb: default msg_qbytes of a new queue
  int msgmni = 0;  // kernel.msgmni: most queues
  int msgpool = 0, msgmap = 0, msgtql = 0, msgssz = 0, msgseg = 0;  // kept for compatibility, unused by Linux
};

// msgctl(MSG_INFO): what is in use in this IPC namespace now (a snapshot).
struct SysvMqUsage {
  int queues = 0;     // msgpool: queues that exist
  int messages = 0;   // msgmap: messages in all queues
  int bytes = 0;      // msgtql: bytes in all queues
  int max_index = 0;  // the call's value: the highest index in use (for stat_index)
};

// A queue known by its id. Move-only. The queue lives in the kernel until IPC_RMID; the
// handle that created it removes it when destroyed, unless keep() was called (fd.hpp).
class SysvMq {
 public:
  // msgget(key, flags | mode). key may be kIpcPrivate (always a new queue). With create
  // and without exclusive, IPC_CREAT|IPC_EXCL is tried first, so created() is exact.
  static Result<SysvMq> open(key_t key, const SysvMqOptions& o = {});
  // msgget(IPC_PRIVATE): a new queue that only this process and those it hands the id to
  // can reach. Removed when this handle is destroyed (or by remove()), unless keep().
  static Result<SysvMq> open_private(unsigned mode = 0600);
  // An existing queue by id (from ipcs, another process, or MSG_STAT); checked with IPC_STAT.
  static Result<SysvMq> open_id(int id);

  // msgctl(IPC_INFO) / msgctl(MSG_INFO): the namespace's limits / usage.
  static Result<SysvMqLimits> limits();
  static Result<SysvMqUsage> usage();
  // msgctl(MSG_STAT): the queue at a kernel table index (0..usage().max_index), as ipcs
  // walks them; returns its id and status. EINVAL for an unused index.
  static Result<std::pair<int, SysvMqStat>> stat_index(int index);

  SysvMq() noexcept = default;
  SysvMq(SysvMq&& o) noexcept;
  SysvMq& operator=(SysvMq&& o) noexcept;
  SysvMq(const SysvMq&) = delete;
  SysvMq& operator=(const SysvMq&) = delete;
  ~SysvMq();

  bool valid() const noexcept { return id_ >= 0; }
  int id() const noexcept { return id_; }
  key_t key() const noexcept { return key_; }
  bool created() const noexcept { return created_; }
  // "key 0x40001234" or "id 7": how errors name this queue.
  const std::string& object() const noexcept { return object_; }
  // The largest message this queue takes: the smaller of kernel.msgmax and msg_qbytes,
  // as last seen (both can change; a send re-checks before refusing).
  std::size_t max_message_size() const noexcept;
  bool owns() const noexcept { return owns_; }
  void keep() noexcept { owns_ = false; }
  // The longest sleep between IPC_NOWAIT attempts when waiting with a finite deadline.
  void set_poll_interval_max(std::chrono::microseconds t) noexcept { poll_max_ = t; }
  std::chrono::microseconds poll_interval_max() const noexcept { return poll_max_; }

  // msgsnd. type must be > 0. Errors: message_too_large (above kernel.msgmax or the
  // queue's msg_qbytes, which the kernel would wait on forever), would_block (try_, full),
  // timed_out, peer_gone (removed).
  Result<void> send(std::span<const std::byte> msg, long type = 1, Deadline d = Deadline::never());
  Result<void> try_send(std::span<const std::byte> msg, long type = 1) { return send(msg, type, Deadline::immediate()); }
  template <typename Rep, typename Period>
  Result<void> send_for(std::span<const std::byte> msg, long type, std::chrono::duration<Rep, Period> t) {
    return send(msg, type, Deadline::after(t));
  }

  // msgrcv. A message longer than the buffer stays queued (message_too_large) unless
  // o.truncate (MSG_NOERROR) asks to cut it.
  // Arguments in Channel's order: the buffer, the deadline, the options.
  Result<SysvReceived> receive(std::span<std::byte> buf, Deadline d = Deadline::never(),
                               const SysvReceiveOptions& o = {});
  Result<SysvReceived> try_receive(std::span<std::byte> buf, const SysvReceiveOptions& o = {}) {
    return receive(buf, Deadline::immediate(), o);
  }
  template <typename Rep, typename Period>
  Result<SysvReceived> receive_for(std::span<std::byte> buf, std::chrono::duration<Rep, Period> t,
                                   const SysvReceiveOptions& o = {}) {
    return receive(buf, Deadline::after(t), o);
  }

  // msgrcv(MSG_COPY | IPC_NOWAIT): a copy of the message at `index` (0 is the oldest, any
  // type), left in the queue. would_block (ENOMSG) if there is no such message;
  // not_supported if the kernel lacks CONFIG_CHECKPOINT_RESTORE (ENOSYS). It cannot
  // truncate: the kernel refuses MSG_COPY|MSG_NOERROR into a short buffer (EINVAL), so a
  // short buffer is message_too_large (E2BIG) and the caller retries with a bigger one.
  Result<SysvReceived> peek(std::span<std::byte> buf, long index);

  Result<SysvMqStat> stat() const;                // msgctl(IPC_STAT)
  Result<void> change(const SysvMqChange& c);     // msgctl(IPC_STAT then IPC_SET)
  Result<void> remove();                          // msgctl(IPC_RMID); the object stays usable for errors only

 private:
  Error removed_or(Error e) const;
  Result<void> load_limits();
  Result<void> check_size_against_qbytes(std::size_t size);

  int id_ = -1;
  key_t key_ = 0;
  bool created_ = false;
  bool owns_ = false;  // created here and not kept: IPC_RMID at destruction
  // Caches, refreshed by any thread that finds them stale; relaxed atomics because each is
  // a hint re-checked against the kernel, never used to order other memory.
  std::atomic<std::size_t> qbytes_{0};      // msg_qbytes when last seen; refreshed before refusing a send
  std::atomic<std::size_t> msgmax_{8192};   // kernel.msgmax when last seen (IPC_INFO); refreshed on E2BIG
  std::chrono::microseconds poll_max_{2000};
  std::string object_;
};

// The SysvMq under a sysvmq:// Channel: ipcx::sysv_mq(channel), in channel.hpp.

}  // namespace ipcx
