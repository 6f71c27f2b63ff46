// SPDX-License-Identifier: MIT
// ipcx::PosixMq — a POSIX message queue (mq_overview(7)), every call and flag.
//
//   auto q = ipcx::PosixMq::open("/orders", {.create = true, .maxmsg = 8, .msgsize = 256});
//   q->send(ipcx::as_bytes("buy 10"), /*priority=*/5);
//   std::array<std::byte, 256> buf; auto r = q->receive_for(buf, 100ms);  // r->size, r->priority
//
// What it wraps: mq_open (O_CREAT, O_EXCL, O_NONBLOCK, a mode, mq_maxmsg/mq_msgsize),
// mq_close, mq_unlink, mq_timedsend/mq_timedreceive (priorities 0..MQ_PRIO_MAX-1, highest
// delivered first, first-in first-out within a priority), mq_getattr/mq_setattr and
// mq_notify (callback, signal and SIGEV_NONE forms, and removal).
//
// As a Channel: posixmq:///NAME. Options (see docs/message-queues.md):
//   create=1     O_CREAT: create the queue if it does not exist (0: it must exist)
//   excl=0       1: O_EXCL, fail if it exists
//   mode=0600    permissions when created, exactly (the umask does not narrow them)
//   maxmsg=N     mq_maxmsg when created (default fs.mqueue.msg_default)
//   msgsize=N    mq_msgsize when created (default fs.mqueue.msgsize_default; k/m suffixes)
//   unlink=0     1: mq_unlink the queue when this Channel closes, if this Channel created it
//   access=rw    r or w: open read-only or write-only (O_RDONLY / O_WRONLY)
// If maxmsg or msgsize is given and the queue already exists with other values, open
// fails and says both. SendOptions::priority sets a message's priority; Received::priority
// and Message::priority give it back. There is no framing: a message is exactly the bytes
// mq_send/mq_receive move, so plain C programs and ipcx read each other's messages.
//
// Deadlines: mq_timedsend/mq_timedreceive take CLOCK_REALTIME; ipcx converts the steady
// deadline at each call and re-waits if the wall clock jumped ahead, so a wall-clock step
// can shorten nothing, but a step back during a wait can lengthen it (the kernel offers no
// monotonic form). try_ calls never block. The Deadline decides how long a call waits,
// whatever O_NONBLOCK says: on a non-blocking descriptor ipcx waits in poll(2).
//
// The descriptor is a file descriptor (Linux): fd() is readable (POLLIN) when a message is
// queued and writable (POLLOUT) when there is room, so the queue joins an epoll loop. The
// kernel makes it close-on-exec.
//
// Thread-safety: send and receive may run from several threads at once (the kernel
// serialises them). The notify_* calls and close() are for one thread at a time; a
// callback may re-arm from inside itself.
#pragma once

#include <mqueue.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"
#include "ipcx/message.hpp"  // as_bytes

namespace ipcx {

namespace detail {
class MqNotifier;
}  // namespace detail

enum class MqAccess : unsigned char { read, write, read_write };

struct PosixMqOptions {
  MqAccess access = MqAccess::read_write;
  bool create = false;       // O_CREAT
  bool exclusive = false;    // O_EXCL (with create): fail with EEXIST if the queue exists
  bool nonblocking = false;  // O_NONBLOCK on this descriptor (raw calls on fd() then never block)
  unsigned mode = 0600;      // when created; applied exactly, whatever the umask
  long maxmsg = 0;           // when created: mq_maxmsg; 0 takes fs.mqueue.msg_default
  long msgsize = 0;          // when created: mq_msgsize; 0 takes fs.mqueue.msgsize_default
};

// mq_getattr's view of a queue through one descriptor.
struct PosixMqAttributes {
  long maxmsg = 0;           // capacity in messages
  long msgsize = 0;          // largest message in bytes; receive buffers must hold this much
  long curmsgs = 0;          // messages queued when asked (a snapshot: racy by nature)
  bool nonblocking = false;  // O_NONBLOCK on this descriptor
};

struct PosixMqReceived {
  std::size_t size = 0;
  unsigned priority = 0;
};

// The limits that govern POSIX queues in this IPC namespace, as the kernel publishes them
// (/proc/sys/fs/mqueue and RLIMIT_MSGQUEUE). -1 where a value cannot be read.
// Three types describe limits, on purpose: this one is what a program about to open a
// queue needs, beside the queue (with MQ_PRIO_MAX, which is not host state); SysvMqLimits
// is what msgctl(IPC_INFO) returns, field for field; limits::Limits (limits.hpp) is a
// report on a whole host for `ipcx doctor`, readable from another root, where a value
// that cannot be read is absent rather than -1. They overlap in a few sysctls, which all
// three read through the library's one reader of /proc/sys.
struct PosixMqLimits {
  long long msg_max = -1;          // fs.mqueue.msg_max: largest mq_maxmsg (unprivileged)
  long long msgsize_max = -1;      // fs.mqueue.msgsize_max: largest mq_msgsize (unprivileged)
  long long msg_default = -1;      // fs.mqueue.msg_default
  long long msgsize_default = -1;  // fs.mqueue.msgsize_default
  long long queues_max = -1;       // fs.mqueue.queues_max: queues in the namespace (unprivileged)
  long long rlimit_msgqueue = -1;  // RLIMIT_MSGQUEUE (soft): bytes of all of this user's queues
  long prio_max = 0;               // MQ_PRIO_MAX: priorities are 0 .. prio_max-1
};
PosixMqLimits posix_mq_limits();

// One open descriptor of a queue. Move-only; closing it (destructor or close()) removes
// this process's notification registration if made through it, and ends its callback
// thread. The queue itself lives until mq_unlink and the last close; the handle that
// created the name unlinks it when destroyed, unless keep() was called (fd.hpp).
class PosixMq {
 public:
  // mq_open. The name is validated (validate_posix_name). With create, whether this call
  // created the queue is known exactly (created()): O_CREAT|O_EXCL is tried first.
  static Result<PosixMq> open(std::string_view name, const PosixMqOptions& o = {});
  // mq_unlink: the name goes now; the queue when its last descriptor closes.
  static Result<void> unlink(std::string_view name);

  PosixMq() noexcept;
  PosixMq(PosixMq&& o) noexcept;
  PosixMq& operator=(PosixMq&& o) noexcept;
  PosixMq(const PosixMq&) = delete;
  PosixMq& operator=(const PosixMq&) = delete;
  ~PosixMq();

  bool valid() const noexcept { return mqd_ != static_cast<mqd_t>(-1); }
  const std::string& name() const noexcept { return name_; }
  mqd_t descriptor() const noexcept { return mqd_; }
  int fd() const noexcept { return static_cast<int>(mqd_); }  // mqd_t is a descriptor on Linux
  bool created() const noexcept { return created_; }
  bool owns() const noexcept { return owns_; }
  void keep() noexcept { owns_ = false; }
  long msgsize() const noexcept { return msgsize_; }  // fixed for the queue's life
  long maxmsg() const noexcept { return maxmsg_; }

  // mq_timedsend. Errors: message_too_large (above mq_msgsize), invalid_argument (priority
  // >= MQ_PRIO_MAX), would_block (try_, queue full), timed_out.
  Result<void> send(std::span<const std::byte> msg, unsigned priority = 0, Deadline d = Deadline::never());
  Result<void> try_send(std::span<const std::byte> msg, unsigned priority = 0) {
    return send(msg, priority, Deadline::immediate());
  }
  template <typename Rep, typename Period>
  Result<void> send_for(std::span<const std::byte> msg, unsigned priority, std::chrono::duration<Rep, Period> t) {
    return send(msg, priority, Deadline::after(t));
  }

  // mq_timedreceive: the oldest message of the highest priority. The buffer must hold
  // mq_msgsize bytes (the kernel refuses smaller ones); a shorter one is message_too_large
  // before anything is received, with Error::size() = mq_msgsize.
  Result<PosixMqReceived> receive(std::span<std::byte> buf, Deadline d = Deadline::never());
  Result<PosixMqReceived> try_receive(std::span<std::byte> buf) { return receive(buf, Deadline::immediate()); }
  template <typename Rep, typename Period>
  Result<PosixMqReceived> receive_for(std::span<std::byte> buf, std::chrono::duration<Rep, Period> t) {
    return receive(buf, Deadline::after(t));
  }

  // mq_getattr.
  Result<PosixMqAttributes> attributes() const;
  // mq_setattr: O_NONBLOCK on or off for this descriptor; returns the attributes before.
  Result<PosixMqAttributes> set_nonblocking(bool on);
  // mq_curmsgs: how many messages are queued right now; stale as soon as it returns.
  Result<long> depth_guess() const;

  // mq_notify. One registration per queue, held by one process; the kernel sends one
  // notification when a message arrives on an EMPTY queue and no process is blocked in
  // mq_receive, then drops the registration: re-arm (call again) to hear of the next one.
  // While any process holds it, registering is EBUSY (the error says so).
  //
  // Callback form (SIGEV_THREAD): `fn` runs on a thread this object owns, once per
  // notification. ipcx uses the kernel's own mechanism (a netlink socket, as glibc does)
  // but with one thread per registration that it joins on close/notify_cancel, instead of
  // glibc's fresh thread per notification, so that no callback runs after notify_cancel()
  // or the destructor returns. The thread blocks every signal. `fn` may call notify_* on
  // this object (to re-arm) and receive from it.
  Result<void> notify_callback(std::function<void()> fn);
  // Signal form (SIGEV_SIGNAL): `signo` is sent to this process, with si_code SI_MESGQ,
  // si_value.sival_int = `value`, si_pid/si_uid of the sender.
  Result<void> notify_signal(int signo, int value = 0);
  // SIGEV_NONE: holds the registration (other processes get EBUSY), delivers nothing.
  Result<void> notify_none();
  // mq_notify(NULL): drops this process's registration (a no-op if it holds none) and, for
  // the callback form, waits for a running callback to finish (unless called from it).
  Result<void> notify_cancel();

  // mq_close, reporting its error. The destructor closes silently (and then unlinks the
  // name if this handle owns it).
  Result<void> close();

 private:
  void stop_notifier() noexcept;
  void reset() noexcept;

  mqd_t mqd_ = static_cast<mqd_t>(-1);
  std::string name_;
  bool created_ = false;
  bool owns_ = false;  // created here and not kept: mq_unlink at destruction
  long msgsize_ = 0;
  long maxmsg_ = 0;
  std::shared_ptr<detail::MqNotifier> notifier_;
};

// The PosixMq under a posixmq:// Channel: ipcx::posix_mq(channel), in channel.hpp.

}  // namespace ipcx
