// SPDX-License-Identifier: MIT
#include "ipcx/posix_mq.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"
#include "kernel_limits.hpp"
#include "ownership.hpp"
#include "sys/eventfd.hpp"
#include "sys/io.hpp"
#include "sys/mq.hpp"
#include "sys/process.hpp"
#include "sys/socket.hpp"

namespace ipcx {
namespace {

// From <linux/mqueue.h>, which cannot be included beside <mqueue.h> (both define
// struct mq_attr). The kernel's SIGEV_THREAD contract: it sends the 32-byte cookie to the
// netlink socket, its last byte replaced by one of these codes.
constexpr std::size_t kNotifyCookieLen = 32;
constexpr unsigned char kNotifyWokenUp = 1;

// The kernel's hard ceilings for a privileged (CAP_SYS_RESOURCE) creator (ipc/mqueue.c,
// since Linux 3.5): fs.mqueue.msg_max and msgsize_max cannot be raised past them either.
constexpr long kHardMsgMax = 65536;
constexpr long kHardMsgSizeMax = 16L * 1024 * 1024;

long prio_max() {
  static const long v = [] {
    long p = ::sysconf(_SC_MQ_PRIO_MAX);
    return p > 0 ? p : 32768L;
  }();
  return v;
}

long long sysctl_or(std::string_view name, long long fallback) {
  auto v = detail::read_sysctl(name);
  return v ? *v : fallback;
}

// Why mq_open failed, in the kernel's own terms: which limit, its value, how to raise it.
std::string explain_open(int err, const PosixMqOptions& o, const mq_attr* attr) {
  switch (err) {
    case EEXIST: return "the queue exists and O_EXCL was asked (excl=1)";
    case ENOENT: return o.create ? std::string() : "no such queue; create it with create=1 (O_CREAT)";
    case EINVAL: {
      if (!attr) return {};
      const bool privileged = detail::has_cap_sys_resource();
      if (attr->mq_maxmsg <= 0 || attr->mq_msgsize <= 0) return "mq_maxmsg and mq_msgsize must both be > 0";
      if (privileged) {
        if (attr->mq_maxmsg > kHardMsgMax) {
          return fmt::format("mq_maxmsg {} > {}, the kernel's hard limit (HARD_MSGMAX), which no sysctl raises",
                             attr->mq_maxmsg, kHardMsgMax);
        }
        if (attr->mq_msgsize > kHardMsgSizeMax) {
          return fmt::format("mq_msgsize {} > {}, the kernel's hard limit (HARD_MSGSIZEMAX), which no sysctl raises",
                             attr->mq_msgsize, kHardMsgSizeMax);
        }
        return {};
      }
      auto msg_max = detail::read_sysctl("fs.mqueue.msg_max");
      if (msg_max && attr->mq_maxmsg > *msg_max) {
        return fmt::format("mq_maxmsg {} > {} (or run with CAP_SYS_RESOURCE)", attr->mq_maxmsg,
                           detail::sysctl_limit_text("fs.mqueue.msg_max", attr->mq_maxmsg));
      }
      auto msgsize_max = detail::read_sysctl("fs.mqueue.msgsize_max");
      if (msgsize_max && attr->mq_msgsize > *msgsize_max) {
        return fmt::format("mq_msgsize {} > {} (or run with CAP_SYS_RESOURCE)", attr->mq_msgsize,
                           detail::sysctl_limit_text("fs.mqueue.msgsize_max", attr->mq_msgsize));
      }
      return {};
    }
    case EMFILE: {
      // Either the per-user byte budget of all queues (RLIMIT_MSGQUEUE) or descriptors.
      auto mq = sys::getrlimit(RLIMIT_MSGQUEUE);
      auto nofile = sys::getrlimit(RLIMIT_NOFILE);
      std::string nofile_text = nofile ? std::to_string(nofile->rlim_cur) : std::string("unreadable");
      long long maxmsg = attr ? attr->mq_maxmsg : sysctl_or("fs.mqueue.msg_default", 10);
      long long msgsize = attr ? attr->mq_msgsize : sysctl_or("fs.mqueue.msgsize_default", 8192);
      // The kernel charges maxmsg * msgsize plus its bookkeeping (about 48 bytes per message
      // and per priority level in use); this estimate is for the message only.
      long long need = maxmsg * msgsize + maxmsg * 48 + std::min<long long>(maxmsg, prio_max()) * 48;
      std::string mq_text = !mq                               ? std::string("unreadable")
                            : mq->rlim_cur == RLIM64_INFINITY ? std::string("unlimited")
                                                              : fmt::format("{} bytes", mq->rlim_cur);
      if (o.create) {
        return fmt::format(
            "RLIMIT_MSGQUEUE = {} for all of this user's queues, and this one needs about {} bytes "
            "(mq_maxmsg {} x mq_msgsize {} + bookkeeping); raise it with `ulimit -q`, setrlimit or "
            "'msgqueue' in limits.conf, or ask for smaller queues; if the budget is not the cause, "
            "the process is out of descriptors (RLIMIT_NOFILE = {})",
            mq_text, need, maxmsg, msgsize, nofile_text);
      }
      return fmt::format("the process is out of descriptors (RLIMIT_NOFILE = {}; raise it with `ulimit -n`)",
                         nofile_text);
    }
    case ENOSPC:
      return fmt::format("the namespace already holds its maximum number of queues: {} (or run with CAP_SYS_RESOURCE)",
                         detail::sysctl_limit_text("fs.mqueue.queues_max"));
    case ENFILE:
      return fmt::format("the system is out of open files: {}", detail::sysctl_limit_text("fs.file-max"));
    case EACCES: return "the queue's mode does not allow this access for this user";
    default: return {};
  }
}

PosixMqAttributes to_attributes(const mq_attr& a) {
  return PosixMqAttributes{.maxmsg = a.mq_maxmsg,
                           .msgsize = a.mq_msgsize,
                           .curmsgs = a.mq_curmsgs,
                           .nonblocking = (a.mq_flags & O_NONBLOCK) != 0};
}

const timespec kPast{0, 0};  // an absolute time long gone: the timed calls then never block

}  // namespace

namespace detail {

// The thread behind PosixMq::notify_callback: a netlink socket the kernel sends the
// notification cookie to, an eventfd to stop it, and the callback. Shared between the
// PosixMq and the thread, so that a callback may destroy its own PosixMq.
class MqNotifier {
 public:
  static Result<std::shared_ptr<MqNotifier>> start(const std::string& object) {
    auto self = std::make_shared<MqNotifier>();
    // The kernel needs any AF_NETLINK socket here, unbound (see <linux/mqueue.h>).
    auto nl = sys::socket(AF_NETLINK, SOCK_DGRAM, 0);
    if (!nl) return fail(std::move(nl.error()).with_op("socket(AF_NETLINK)").with_object(object));
    self->netlink_ = std::move(*nl);
    auto ev = sys::eventfd(0, EFD_NONBLOCK);
    if (!ev) return fail(std::move(ev.error()).with_object(object));
    self->wake_ = std::move(*ev);
    // The thread blocks every signal: a process-directed signal (including the queue's
    // own SIGEV_SIGNAL) must go to the application's threads, not to ours. The new thread
    // inherits the mask in force when it starts; this thread's own is put back after.
    sigset_t all;
    sigfillset(&all);
    auto old = sys::pthread_sigmask(SIG_SETMASK, all);
    if (!old) return fail(std::move(old.error()).with_object(object));
    {
      std::lock_guard lock(self->mu_);
      self->thread_ = std::thread([self] { self->run(); });
    }
    (void)sys::pthread_sigmask(SIG_SETMASK, *old);  // cannot fail: the mask came from the call
    return self;
  }

  sigevent event() noexcept {
    sigevent se{};
    se.sigev_notify = SIGEV_THREAD;
    se.sigev_signo = netlink_.get();  // the kernel reads the socket's descriptor from here
    se.sigev_value.sival_ptr = cookie_.data();
    return se;
  }

  void set_callback(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    fn_ = std::move(fn);
  }

  // Ends the thread: joins it, or lets it finish on its own when called from the callback.
  void stop() noexcept {
    std::thread t;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      t = std::move(thread_);
    }
    // Cannot fail short of EBADF or a counter at its maximum (it counts stops, so never);
    // the flag is set anyway.
    (void)sys::eventfd_add(wake_.get(), 1);
    if (!t.joinable()) return;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // we are inside the callback; the loop sees stopping_ when it returns
    } else {
      t.join();
    }
  }

 private:
  void run() {
    for (;;) {
      pollfd p[2] = {{netlink_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      auto r = sys::poll(p, Deadline::never());  // re-waits on EINTR
      if (!r) return;  // cannot happen with valid descriptors
      std::function<void()> fn;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        fn = fn_;  // a copy: the callback may replace fn_ when it re-arms
      }
      if (*r <= 0 || !(p[0].revents & POLLIN)) continue;
      std::array<unsigned char, kNotifyCookieLen> got{};
      auto n = sys::recv(netlink_.get(), got.data(), got.size(), MSG_DONTWAIT);
      // NOTIFY_REMOVED (a cancel or close) needs no action: the owner stops us itself.
      if (n && *n == kNotifyCookieLen && got[kNotifyCookieLen - 1] == kNotifyWokenUp && fn) fn();
    }
  }

  Fd netlink_;
  Fd wake_;
  std::array<unsigned char, kNotifyCookieLen> cookie_{};
  std::mutex mu_;  // guards fn_, stopping_, thread_
  std::function<void()> fn_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace detail

PosixMqLimits posix_mq_limits() {
  PosixMqLimits l;
  l.msg_max = sysctl_or("fs.mqueue.msg_max", -1);
  l.msgsize_max = sysctl_or("fs.mqueue.msgsize_max", -1);
  l.msg_default = sysctl_or("fs.mqueue.msg_default", -1);
  l.msgsize_default = sysctl_or("fs.mqueue.msgsize_default", -1);
  l.queues_max = sysctl_or("fs.mqueue.queues_max", -1);
  if (auto r = sys::getrlimit(RLIMIT_MSGQUEUE)) {
    l.rlimit_msgqueue = r->rlim_cur == RLIM64_INFINITY ? -1 : static_cast<long long>(r->rlim_cur);
  }
  l.prio_max = prio_max();
  return l;
}

Result<PosixMq> PosixMq::open(std::string_view name, const PosixMqOptions& o) {
  if (auto v = validate_posix_name(name, "mq_open"); !v) return std::unexpected(std::move(v.error()));
  if (o.exclusive && !o.create) {
    return fail(Errc::invalid_argument, "mq_open", name, "exclusive (O_EXCL) needs create (O_CREAT)");
  }
  if (o.maxmsg < 0 || o.msgsize < 0) {
    return fail(Errc::invalid_argument, "mq_open", name, "mq_maxmsg and mq_msgsize must be > 0 (0 takes the default)");
  }
  if (o.create) {
    if (auto v = validate_new_name(name, "mq_open"); !v) return std::unexpected(std::move(v.error()));
    if (o.mode & ~0777u) {
      return fail(Errc::invalid_argument, "mq_open", name, fmt::format("mode {:o} has bits beyond 0777", o.mode));
    }
  }
  PosixMq q;
  q.name_.assign(name);
  int flags = o.access == MqAccess::read ? O_RDONLY : o.access == MqAccess::write ? O_WRONLY : O_RDWR;
  if (o.nonblocking) flags |= O_NONBLOCK;

  // Attributes only when asked; one missing half takes the namespace's default, since the
  // kernel wants both or neither.
  mq_attr attr{};
  const mq_attr* attr_ptr = nullptr;
  if (o.create && (o.maxmsg > 0 || o.msgsize > 0)) {
    attr.mq_maxmsg = o.maxmsg > 0 ? o.maxmsg : sysctl_or("fs.mqueue.msg_default", 10);
    attr.mq_msgsize = o.msgsize > 0 ? o.msgsize : sysctl_or("fs.mqueue.msgsize_default", 8192);
    attr_ptr = &attr;
  }
  const auto mode = static_cast<mode_t>(o.mode);
  auto fail_open = [&](Error e) {
    std::string detail = explain_open(e.code(), o, attr_ptr);
    Error out = std::move(e).with_object(name);
    if (!detail.empty()) out = std::move(out).with_detail(std::move(detail));
    return fail(std::move(out));
  };

  if (!o.create) {
    auto m = sys::mq_open(q.name_.c_str(), flags, 0, nullptr);
    if (!m) return fail_open(std::move(m.error()));
    q.mqd_ = *m;
  } else {
    // O_CREAT|O_EXCL first, so that created() is exact; without `exclusive` an EEXIST falls
    // back to opening the existing queue. A queue unlinked between the two calls sends us
    // round again; a bounded number of times, as each round means another process acted.
    for (int round = 0;; ++round) {
      auto m = sys::mq_open(q.name_.c_str(), flags | O_CREAT | O_EXCL, mode, attr_ptr);
      if (m) {
        q.mqd_ = *m;
        q.created_ = q.owns_ = true;  // from here on a failure unlinks it
        break;
      }
      if (m.error().code() != EEXIST || o.exclusive) return fail_open(std::move(m.error()));
      auto existing = sys::mq_open(q.name_.c_str(), flags, 0, nullptr);
      if (existing) {
        q.mqd_ = *existing;
        break;
      }
      if (existing.error().code() != ENOENT || round == 100) return fail_open(std::move(existing.error()));
    }
    if (q.created_) {
      // mq_open applies the umask; set exactly the mode asked for (owner-only by default).
      if (auto r = sys::fchmod(q.fd(), mode); !r) {
        (void)sys::mq_unlink(q.name_.c_str());
        return fail(std::move(r.error()).with_object(name));
      }
    }
  }
  auto a = sys::mq_getattr(q.mqd_);
  if (!a) return fail(std::move(a.error()).with_object(name));
  q.msgsize_ = a->mq_msgsize;
  q.maxmsg_ = a->mq_maxmsg;
  return q;
}

Result<void> PosixMq::unlink(std::string_view name) {
  if (auto v = validate_posix_name(name, "mq_unlink"); !v) return v;
  std::string n(name);
  auto r = sys::mq_unlink(n.c_str());
  if (!r) return fail(std::move(r.error()).with_object(name));
  return {};
}

PosixMq::PosixMq() noexcept = default;

PosixMq::PosixMq(PosixMq&& o) noexcept
    : mqd_(std::exchange(o.mqd_, static_cast<mqd_t>(-1))),
      name_(std::move(o.name_)),
      created_(o.created_),
      owns_(std::exchange(o.owns_, false)),
      msgsize_(o.msgsize_),
      maxmsg_(o.maxmsg_),
      notifier_(std::move(o.notifier_)) {}

PosixMq& PosixMq::operator=(PosixMq&& o) noexcept {
  if (this != &o) {
    reset();
    mqd_ = std::exchange(o.mqd_, static_cast<mqd_t>(-1));
    name_ = std::move(o.name_);
    created_ = o.created_;
    owns_ = std::exchange(o.owns_, false);
    msgsize_ = o.msgsize_;
    maxmsg_ = o.maxmsg_;
    notifier_ = std::move(o.notifier_);
  }
  return *this;
}

PosixMq::~PosixMq() { reset(); }

void PosixMq::reset() noexcept {
  (void)close();
  if (std::exchange(owns_, false)) (void)sys::mq_unlink(name_.c_str());  // ENOENT: already gone
}

void PosixMq::stop_notifier() noexcept {
  if (auto n = std::move(notifier_)) n->stop();
}

Result<void> PosixMq::close() {
  stop_notifier();
  if (!valid()) return {};
  auto r = sys::mq_close(std::exchange(mqd_, static_cast<mqd_t>(-1)));
  if (!r) return fail(std::move(r.error()).with_object(name_));
  return {};
}

Result<void> PosixMq::send(std::span<const std::byte> msg, unsigned priority, Deadline d) {
  if (!valid()) return fail(Errc::invalid_argument, "mq_send", name_, "the queue is not open");
  if (priority >= static_cast<unsigned long>(prio_max())) {
    return fail(Errc::invalid_argument, "mq_send", name_,
                fmt::format("priority {} is out of range 0..{} (MQ_PRIO_MAX - 1)", priority, prio_max() - 1));
  }
  if (msg.size() > static_cast<std::size_t>(msgsize_)) {
    return fail(Error::make(Errc::message_too_large, "mq_send", name_,
                            fmt::format("message of {} bytes > mq_msgsize {} of the queue", msg.size(), msgsize_))
                    .with_size(msg.size()));
  }
  // An empty span may have no storage; mq_send's pointer must not be null even for 0 bytes.
  const char* data = msg.empty() ? "" : reinterpret_cast<const char*>(msg.data());
  for (;;) {
    Result<void> r;
    if (d.is_never()) {
      r = sys::mq_send(mqd_, data, msg.size(), priority);
    } else if (d.is_immediate()) {
      r = sys::mq_timedsend(mqd_, data, msg.size(), priority, &kPast);
    } else {
      timespec ts = d.realtime_timespec();
      r = sys::mq_timedsend(mqd_, data, msg.size(), priority, &ts);
    }
    if (r) return {};
    const int err = r.error().code();
    if (err == ETIMEDOUT) {
      if (d.is_immediate()) return fail(Errc::would_block, "mq_send", name_, "the queue is full");
      if (d.expired()) return fail(Errc::timed_out, "mq_send", name_, "the queue stayed full until the deadline");
      continue;  // the wall clock jumped ahead of the steady deadline: wait the rest
    }
    if (err == EAGAIN) {  // O_NONBLOCK descriptor and a full queue
      if (d.is_immediate()) return fail(Errc::would_block, "mq_send", name_, "the queue is full");
      auto ev = sys::poll_one(fd(), POLLOUT, d);
      if (!ev) return fail(std::move(ev.error()).with_object(name_));
      if (*ev == 0) return fail(Errc::timed_out, "mq_send", name_, "the queue stayed full until the deadline");
      continue;
    }
    if (err == EBADF) return fail(std::move(r.error()).with_object(name_).with_detail("the queue was not opened for writing"));
    return fail(std::move(r.error()).with_object(name_));
  }
}

Result<PosixMqReceived> PosixMq::receive(std::span<std::byte> buf, Deadline d) {
  if (!valid()) return fail(Errc::invalid_argument, "mq_receive", name_, "the queue is not open");
  if (buf.size() < static_cast<std::size_t>(msgsize_)) {
    return fail(Error::make(Errc::message_too_large, "mq_receive", name_,
                            fmt::format("buffer of {} bytes < mq_msgsize {}: the kernel needs room for the largest "
                                        "message the queue accepts",
                                        buf.size(), msgsize_))
                    .with_size(static_cast<std::size_t>(msgsize_)));
  }
  char* data = reinterpret_cast<char*>(buf.data());
  for (;;) {
    unsigned prio = 0;
    Result<std::size_t> r;
    if (d.is_never()) {
      r = sys::mq_receive(mqd_, data, buf.size(), &prio);
    } else if (d.is_immediate()) {
      r = sys::mq_timedreceive(mqd_, data, buf.size(), &prio, &kPast);
    } else {
      timespec ts = d.realtime_timespec();
      r = sys::mq_timedreceive(mqd_, data, buf.size(), &prio, &ts);
    }
    if (r) return PosixMqReceived{.size = *r, .priority = prio};
    const int err = r.error().code();
    if (err == ETIMEDOUT) {
      if (d.is_immediate()) return fail(Errc::would_block, "mq_receive", name_, "the queue is empty");
      if (d.expired()) return fail(Errc::timed_out, "mq_receive", name_, "no message before the deadline");
      continue;
    }
    if (err == EAGAIN) {  // O_NONBLOCK descriptor and an empty queue
      if (d.is_immediate()) return fail(Errc::would_block, "mq_receive", name_, "the queue is empty");
      auto ev = sys::poll_one(fd(), POLLIN, d);
      if (!ev) return fail(std::move(ev.error()).with_object(name_));
      if (*ev == 0) return fail(Errc::timed_out, "mq_receive", name_, "no message before the deadline");
      continue;
    }
    if (err == EBADF) return fail(std::move(r.error()).with_object(name_).with_detail("the queue was not opened for reading"));
    return fail(std::move(r.error()).with_object(name_));
  }
}

Result<PosixMqAttributes> PosixMq::attributes() const {
  auto a = sys::mq_getattr(mqd_);
  if (!a) return fail(std::move(a.error()).with_object(name_));
  return to_attributes(*a);
}

Result<PosixMqAttributes> PosixMq::set_nonblocking(bool on) {
  mq_attr want{};
  want.mq_flags = on ? O_NONBLOCK : 0;
  auto old = sys::mq_setattr(mqd_, want);
  if (!old) return fail(std::move(old.error()).with_object(name_));
  return to_attributes(*old);
}

Result<long> PosixMq::depth_guess() const {
  auto a = sys::mq_getattr(mqd_);
  if (!a) return fail(std::move(a.error()).with_object(name_));
  return a->mq_curmsgs;
}

namespace {
Error notify_error(Error e, const std::string& name) {
  Error out = std::move(e).with_object(name);
  if (out.code() == EBUSY) {
    return std::move(out).with_detail(
        "the queue already has a notification registration, and it allows one: another process holds it, "
        "or this process's own has not fired yet; the holder drops it with notify_cancel() or by closing the queue");
  }
  return out;
}
}  // namespace

Result<void> PosixMq::notify_callback(std::function<void()> fn) {
  if (!valid()) return fail(Errc::invalid_argument, "mq_notify", name_, "the queue is not open");
  if (!fn) return fail(Errc::invalid_argument, "mq_notify", name_, "empty callback; use notify_cancel() to remove");
  if (!notifier_) {
    auto n = detail::MqNotifier::start(name_);
    if (!n) return std::unexpected(std::move(n.error()));
    notifier_ = std::move(*n);
  }
  notifier_->set_callback(std::move(fn));
  sigevent se = notifier_->event();
  auto r = sys::mq_notify(mqd_, &se);
  if (!r) return fail(notify_error(std::move(r.error()), name_));
  return {};
}

Result<void> PosixMq::notify_signal(int signo, int value) {
  if (!valid()) return fail(Errc::invalid_argument, "mq_notify", name_, "the queue is not open");
  if (signo <= 0 || signo >= NSIG) {
    return fail(Errc::invalid_argument, "mq_notify", name_, fmt::format("{} is not a signal number", signo));
  }
  sigevent se{};
  se.sigev_notify = SIGEV_SIGNAL;
  se.sigev_signo = signo;
  se.sigev_value.sival_int = value;
  auto r = sys::mq_notify(mqd_, &se);
  if (!r) return fail(notify_error(std::move(r.error()), name_));
  return {};
}

Result<void> PosixMq::notify_none() {
  if (!valid()) return fail(Errc::invalid_argument, "mq_notify", name_, "the queue is not open");
  sigevent se{};
  se.sigev_notify = SIGEV_NONE;
  auto r = sys::mq_notify(mqd_, &se);
  if (!r) return fail(notify_error(std::move(r.error()), name_));
  return {};
}

Result<void> PosixMq::notify_cancel() {
  if (!valid()) return fail(Errc::invalid_argument, "mq_notify", name_, "the queue is not open");
  auto r = sys::mq_notify(mqd_, nullptr);
  stop_notifier();
  if (!r) return fail(std::move(r.error()).with_object(name_));
  return {};
}

namespace detail {
namespace {

// posixmq:// as a Channel. A receive buffer shorter than mq_msgsize cannot be handed to
// the kernel, so the message is received into scratch_; if it does not fit the caller's
// buffer it is kept here (pending_) and handed out by the next receive, as the Channel
// promises ("the message stays queued"). Such a kept message is invisible to other
// processes and to pollable_fd(), and is lost if this process exits.
class PosixMqChannel final : public ChannelImpl {
 public:
  explicit PosixMqChannel(PosixMq q) : q_(std::move(q)) {}

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) override {
    if (o.type != SendOptions{}.type) {
      return fail(Errc::invalid_argument, "send", q_.name(),
                  "a message type is for sysvmq://; a posixmq:// message carries a priority");
    }
    if (!o.fds.empty()) return fail(Errc::not_supported, "send", q_.name(), "message queues cannot carry descriptors");
    auto r = q_.send(msg, o.priority, d);
    if (!r) return fail(std::move(r.error()).with_op("send"));
    return {};
  }

  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) override {
    if (o.type != 0 || o.except) {
      return fail(Errc::invalid_argument, "receive", q_.name(),
                  "type selection is for sysvmq://; a posixmq:// queue delivers the highest priority first");
    }
    if (pending_) return take_pending(buf);
    if (buf.size() >= static_cast<std::size_t>(q_.msgsize())) {
      auto r = q_.receive(buf, d);
      if (!r) return fail(std::move(r.error()).with_op("receive"));
      return Received{.size = r->size, .type = 0, .priority = r->priority, .fds = {}};
    }
    scratch_.resize(static_cast<std::size_t>(q_.msgsize()));
    auto r = q_.receive(scratch_, d);
    if (!r) return fail(std::move(r.error()).with_op("receive"));
    pending_ = true;
    pending_size_ = r->size;
    pending_priority_ = r->priority;
    return take_pending(buf);
  }

  int pollable_fd() const noexcept override { return q_.fd(); }
  std::size_t max_message_size() const noexcept override { return static_cast<std::size_t>(q_.msgsize()); }

  PosixMq& queue() noexcept { return q_; }

 private:
  Result<Received> take_pending(std::span<std::byte> buf) {
    if (pending_size_ > buf.size()) {
      return fail(Error::make(Errc::message_too_large, "receive", q_.name(),
                              fmt::format("message of {} bytes > buffer of {} bytes; it is kept for the next receive",
                                          pending_size_, buf.size()))
                      .with_size(pending_size_));
    }
    std::memcpy(buf.data(), scratch_.data(), pending_size_);
    pending_ = false;
    return Received{.size = pending_size_, .type = 0, .priority = pending_priority_, .fds = {}};
  }

  PosixMq q_;  // owns the name when unlink=1 and this Channel created the queue
  std::vector<std::byte> scratch_;
  bool pending_ = false;
  std::size_t pending_size_ = 0;
  unsigned pending_priority_ = 0;
};

}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_posixmq(const Url& url, bool) {
  if (auto c = url.check_options({"create", "excl", "mode", "maxmsg", "msgsize", "unlink", "access", "owner"}); !c) {
    return std::unexpected(c.error());
  }
  auto create = url.option_bool("create", true);
  if (!create) return std::unexpected(create.error());
  auto excl = url.option_bool("excl", false);
  if (!excl) return std::unexpected(excl.error());
  auto mode = url.option_mode("mode", 0600);
  if (!mode) return std::unexpected(mode.error());
  auto maxmsg = url.option_uint("maxmsg", 0);
  if (!maxmsg) return std::unexpected(maxmsg.error());
  auto msgsize = url.option_size("msgsize", 0);
  if (!msgsize) return std::unexpected(msgsize.error());
  auto unlink = url.option_bool("unlink", false);
  if (!unlink) return std::unexpected(unlink.error());
  MqAccess access = MqAccess::read_write;
  if (auto a = url.option("access")) {
    if (*a == "r") {
      access = MqAccess::read;
    } else if (*a == "w") {
      access = MqAccess::write;
    } else if (*a != "rw") {
      return fail(Errc::bad_url, "url", url.text, fmt::format("option access='{}' is not r, w or rw", *a));
    }
  }
  constexpr std::uint64_t kLongMax = static_cast<std::uint64_t>(LONG_MAX);
  if (*maxmsg > kLongMax || *msgsize > kLongMax) {
    return fail(Errc::bad_url, "url", url.text, "maxmsg or msgsize is out of range");
  }
  if (*excl && !*create) return fail(Errc::bad_url, "url", url.text, "excl=1 needs create=1");
  if ((url.option("maxmsg") && *maxmsg == 0) || (url.option("msgsize") && *msgsize == 0)) {
    return fail(Errc::bad_url, "url", url.text, "maxmsg and msgsize must be > 0 (leave them out for the defaults)");
  }

  PosixMqOptions o;
  o.access = access;
  o.create = *create;
  o.exclusive = *excl;
  o.mode = *mode;
  o.maxmsg = static_cast<long>(*maxmsg);
  o.msgsize = static_cast<long>(*msgsize);
  auto any_owner = owner_any(url);
  if (!any_owner) return std::unexpected(any_owner.error());
  auto q = PosixMq::open(url.name, o);
  if (!q) return std::unexpected(std::move(q.error()));
  if (!q->created()) {
    auto st = sys::fstat(q->fd());
    if (!st) return std::unexpected(std::move(st.error()));
    if (auto own = check_owner(st->st_uid, *any_owner, url.name, "mq_open"); !own) return std::unexpected(own.error());
  }
  // Attributes asked for but the queue was already there: they must match, or this side
  // would silently get a queue of another shape.
  if (!q->created() && ((o.maxmsg > 0 && o.maxmsg != q->maxmsg()) || (o.msgsize > 0 && o.msgsize != q->msgsize()))) {
    return fail(Errc::invalid_argument, "open", url.text,
                fmt::format("the queue exists with maxmsg={} msgsize={}; the URL asks for maxmsg={} msgsize={}",
                            q->maxmsg(), q->msgsize(), o.maxmsg > 0 ? std::to_string(o.maxmsg) : "(any)",
                            o.msgsize > 0 ? std::to_string(o.msgsize) : "(any)"));
  }
  if (!*unlink) q->keep();  // unlink=0: the queue outlives the Channel
  return std::make_unique<PosixMqChannel>(std::move(*q));
}

}  // namespace detail

PosixMq* posix_mq(const Channel& ch) noexcept {
  auto* c = dynamic_cast<detail::PosixMqChannel*>(detail::ChannelAccess::impl(ch));
  return c ? &c->queue() : nullptr;
}

}  // namespace ipcx
