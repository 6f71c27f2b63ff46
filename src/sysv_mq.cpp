// SPDX-License-Identifier: MIT
#include "ipcx/sysv_mq.hpp"

#include <sys/msg.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"
#include "kernel_limits.hpp"
#include "ownership.hpp"
#include "sys/sysv_msg.hpp"

namespace ipcx {
namespace {

// msgsnd/msgrcv want `long mtype` followed by the text in one block. Messages up to the
// default kernel.msgmax are staged on the stack; longer ones on the heap. Not zeroed: every
// byte used is written first.
class MsgBuf {
 public:
  explicit MsgBuf(std::size_t text) {
    if (text + sizeof(long) <= sizeof small_) {
      p_ = small_;
    } else {
      big_.resize((text + 2 * sizeof(long) - 1) / sizeof(long));  // vector<long>: aligned for mtype
      p_ = reinterpret_cast<std::byte*>(big_.data());
    }
  }
  MsgBuf(const MsgBuf&) = delete;
  MsgBuf& operator=(const MsgBuf&) = delete;

  void* raw() noexcept { return p_; }
  std::byte* text() noexcept { return p_ + sizeof(long); }
  void set_type(long t) noexcept { std::memcpy(p_, &t, sizeof t); }
  long type() const noexcept {
    long t = 0;
    std::memcpy(&t, p_, sizeof t);
    return t;
  }

 private:
  alignas(long) std::byte small_[8192 + sizeof(long)];
  std::vector<long> big_;
  std::byte* p_ = nullptr;
};

// IPC_NOWAIT polling for finite deadlines (see the header): 50 us doubling to a cap.
class Backoff {
 public:
  explicit Backoff(std::chrono::microseconds cap) : cap_(std::max(cap, std::chrono::microseconds(1))) {}
  // Sleeps for the next interval, never past the deadline; false if it has passed already.
  bool wait(const Deadline& d) {
    if (d.expired()) return false;
    std::this_thread::sleep_for(std::min<Deadline::Clock::duration>(next_, d.remaining()));
    next_ = std::min(next_ * 2, cap_);
    return true;
  }

 private:
  std::chrono::microseconds next_{50};
  std::chrono::microseconds cap_;
};

SysvMqStat to_stat(const msqid_ds& ds) {
  SysvMqStat s;
  s.key = ds.msg_perm.__key;
  s.uid = ds.msg_perm.uid;
  s.gid = ds.msg_perm.gid;
  s.cuid = ds.msg_perm.cuid;
  s.cgid = ds.msg_perm.cgid;
  s.mode = ds.msg_perm.mode & 0777;
  s.messages = ds.msg_qnum;
  s.bytes = ds.__msg_cbytes;
  s.qbytes = ds.msg_qbytes;
  s.last_send_pid = ds.msg_lspid;
  s.last_receive_pid = ds.msg_lrpid;
  s.send_time = ds.msg_stime;
  s.receive_time = ds.msg_rtime;
  s.change_time = ds.msg_ctime;
  return s;
}

Result<msginfo> ipc_info(int cmd) {
  msginfo info{};
  // IPC_INFO and MSG_INFO fill a struct msginfo through msgctl's msqid_ds pointer.
  auto r = sys::msgctl(0, cmd, reinterpret_cast<msqid_ds*>(&info));
  if (!r) return std::unexpected(std::move(r.error()));
  return info;
}

std::unexpected<Error> removed_error(const char* op, const std::string& object) {
  return fail(Error::from_errno(op, EIDRM, object).with_detail("the queue was removed (IPC_RMID)"));
}

}  // namespace

Result<SysvMq> SysvMq::open(key_t key, const SysvMqOptions& o) {
  if (o.exclusive && !o.create) {
    return fail(Errc::invalid_argument, "msgget", sysv_key_text(key), "exclusive (IPC_EXCL) needs create (IPC_CREAT)");
  }
  if (o.mode > 0777) {
    return fail(Errc::invalid_argument, "msgget", sysv_key_text(key), fmt::format("mode 0{:o} has bits beyond 0777", o.mode));
  }
  const int mode = static_cast<int>(o.mode);
  const std::string object = key == IPC_PRIVATE ? std::string("IPC_PRIVATE") : "key " + sysv_key_text(key);
  auto fail_get = [&](Error e) {
    Error out = std::move(e).with_object(object);
    switch (out.code()) {
      case ENOENT: out = std::move(out).with_detail("no queue has this key; create it with create=1 (IPC_CREAT)"); break;
      case EEXIST: out = std::move(out).with_detail("a queue has this key and IPC_EXCL was asked (excl=1)"); break;
      case EACCES: out = std::move(out).with_detail("the queue's mode does not allow this user"); break;
      case ENOSPC:
        out = std::move(out).with_detail(fmt::format("the namespace already has its maximum number of queues: {}",
                                                     detail::sysctl_limit_text("kernel.msgmni")));
        break;
      default: break;
    }
    return fail(std::move(out));
  };

  SysvMq q;
  q.key_ = key;
  if (key == IPC_PRIVATE) {
    auto id = sys::msgget(IPC_PRIVATE, mode);  // always a new queue; IPC_CREAT is implied
    if (!id) return fail_get(std::move(id.error()));
    q.id_ = *id;
    q.created_ = q.owns_ = true;
  } else if (!o.create) {
    auto id = sys::msgget(key, 0);
    if (!id) return fail_get(std::move(id.error()));
    q.id_ = *id;
  } else {
    // IPC_CREAT|IPC_EXCL first so that created() is exact; a queue removed between the two
    // calls sends us round again (bounded: each round means another process acted).
    for (int round = 0;; ++round) {
      auto id = sys::msgget(key, IPC_CREAT | IPC_EXCL | mode);
      if (id) {
        q.id_ = *id;
        q.created_ = q.owns_ = true;
        break;
      }
      if (id.error().code() != EEXIST || o.exclusive) return fail_get(std::move(id.error()));
      auto existing = sys::msgget(key, 0);
      if (existing) {
        q.id_ = *existing;
        break;
      }
      if (existing.error().code() != ENOENT || round == 100) return fail_get(std::move(existing.error()));
    }
  }
  q.object_ = fmt::format("{} id {}", object, q.id_);
  if (auto l = q.load_limits(); !l) return std::unexpected(std::move(l.error()));
  return q;
}

Result<void> SysvMq::load_limits() {
  auto st = stat();
  if (!st) return std::unexpected(std::move(st.error()));
  qbytes_.store(st->qbytes, std::memory_order_relaxed);
  auto l = limits();
  if (!l) return std::unexpected(std::move(l.error()));
  msgmax_.store(static_cast<std::size_t>(l->msgmax), std::memory_order_relaxed);
  return {};
}

Result<SysvMq> SysvMq::open_private(unsigned mode) {
  SysvMqOptions o;
  o.create = true;
  o.mode = mode;
  return open(IPC_PRIVATE, o);
}

Result<SysvMq> SysvMq::open_id(int id) {
  SysvMq q;
  q.id_ = id;
  q.object_ = fmt::format("id {}", id);
  auto st = q.stat();
  if (!st) {
    q.id_ = -1;
    return std::unexpected(std::move(st.error()));
  }
  q.key_ = st->key;
  if (auto l = q.load_limits(); !l) {
    q.id_ = -1;
    return std::unexpected(std::move(l.error()));
  }
  return q;
}

Result<SysvMqLimits> SysvMq::limits() {
  auto info = ipc_info(IPC_INFO);
  if (!info) return fail(std::move(info.error()).with_op("msgctl(IPC_INFO)"));
  return SysvMqLimits{.msgmax = info->msgmax,
                      .msgmnb = info->msgmnb,
                      .msgmni = info->msgmni,
                      .msgpool = info->msgpool,
                      .msgmap = info->msgmap,
                      .msgtql = info->msgtql,
                      .msgssz = info->msgssz,
                      .msgseg = info->msgseg};
}

Result<SysvMqUsage> SysvMq::usage() {
  msginfo info{};
  auto r = sys::msgctl(0, MSG_INFO, reinterpret_cast<msqid_ds*>(&info));
  if (!r) return fail(std::move(r.error()).with_op("msgctl(MSG_INFO)"));
  return SysvMqUsage{.queues = info.msgpool, .messages = info.msgmap, .bytes = info.msgtql, .max_index = *r};
}

Result<std::pair<int, SysvMqStat>> SysvMq::stat_index(int index) {
  msqid_ds ds{};
  auto r = sys::msgctl(index, MSG_STAT, &ds);
  if (!r) return fail(std::move(r.error()).with_op("msgctl(MSG_STAT)").with_object(fmt::format("index {}", index)));
  return std::pair<int, SysvMqStat>(*r, to_stat(ds));
}

SysvMq::SysvMq(SysvMq&& o) noexcept
    : id_(std::exchange(o.id_, -1)),
      key_(o.key_),
      created_(o.created_),
      owns_(std::exchange(o.owns_, false)),
      qbytes_(o.qbytes_.load(std::memory_order_relaxed)),
      msgmax_(o.msgmax_.load(std::memory_order_relaxed)),
      poll_max_(o.poll_max_),
      object_(std::move(o.object_)) {}

SysvMq& SysvMq::operator=(SysvMq&& o) noexcept {
  if (this != &o) {
    if (owns_ && valid()) (void)sys::msgctl(id_, IPC_RMID, nullptr);
    id_ = std::exchange(o.id_, -1);
    key_ = o.key_;
    created_ = o.created_;
    owns_ = std::exchange(o.owns_, false);
    qbytes_.store(o.qbytes_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    msgmax_.store(o.msgmax_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    poll_max_ = o.poll_max_;
    object_ = std::move(o.object_);
  }
  return *this;
}

SysvMq::~SysvMq() {
  if (owns_ && valid()) (void)sys::msgctl(id_, IPC_RMID, nullptr);
}

// An EINVAL/EIDRM from a call on a queue that was valid when opened: if IPC_STAT no longer
// finds it, it was removed (peer_gone); otherwise the original error stands.
Error SysvMq::removed_or(Error e) const {
  if (e.code() == EIDRM) return std::move(e).with_object(object_).with_detail("the queue was removed (IPC_RMID)");
  if (e.code() == EINVAL) {
    msqid_ds ds{};
    auto st = sys::msgctl(id_, IPC_STAT, &ds);
    if (!st && (st.error().code() == EINVAL || st.error().code() == EIDRM)) return removed_error(e.op(), object_).error();
  }
  return std::move(e).with_object(object_);
}

std::size_t SysvMq::max_message_size() const noexcept {
  return std::min(msgmax_.load(std::memory_order_relaxed), qbytes_.load(std::memory_order_relaxed));
}

Result<void> SysvMq::check_size_against_qbytes(std::size_t size) {
  if (size <= qbytes_.load(std::memory_order_relaxed)) return {};
  auto st = stat();  // qbytes may have been raised since we looked
  if (!st) return std::unexpected(std::move(st.error()));
  qbytes_.store(st->qbytes, std::memory_order_relaxed);
  if (size <= st->qbytes) return {};
  return fail(Error::make(Errc::message_too_large, "msgsnd", object_,
                          fmt::format("message of {} bytes > the queue's msg_qbytes {}: it could never fit; raise "
                                      "msg_qbytes with IPC_SET (qbytes=N; above {} needs CAP_SYS_RESOURCE)",
                                      size, st->qbytes, detail::sysctl_limit_text("kernel.msgmnb")))
                  .with_size(size));
}

Result<void> SysvMq::send(std::span<const std::byte> msg, long type, Deadline d) {
  if (!valid()) return fail(Errc::invalid_argument, "msgsnd", object_, "the queue is not open");
  if (type < 1) {
    return fail(Errc::invalid_argument, "msgsnd", object_, fmt::format("message type {} must be > 0", type));
  }
  if (auto c = check_size_against_qbytes(msg.size()); !c) return c;
  MsgBuf buf(msg.size());
  buf.set_type(type);
  if (!msg.empty()) std::memcpy(buf.text(), msg.data(), msg.size());
  Backoff backoff(poll_max_);
  const int flags = d.is_never() ? 0 : IPC_NOWAIT;
  for (;;) {
    auto r = sys::msgsnd(id_, buf.raw(), msg.size(), flags);
    if (r) return {};
    const int err = r.error().code();
    if (err == EAGAIN) {
      if (d.is_immediate()) return fail(Errc::would_block, "msgsnd", object_, "the queue is full (msg_qbytes)");
      if (!backoff.wait(d)) return fail(Errc::timed_out, "msgsnd", object_, "the queue stayed full until the deadline");
      continue;
    }
    if (err == EINVAL) {
      auto l = limits();
      if (l) msgmax_.store(static_cast<std::size_t>(l->msgmax), std::memory_order_relaxed);
      if (l && msg.size() > static_cast<std::size_t>(l->msgmax)) {
        return fail(Error::make(Errc::message_too_large, "msgsnd", object_,
                                fmt::format("message of {} bytes > {}", msg.size(),
                                            detail::sysctl_limit_text("kernel.msgmax",
                                                                      static_cast<long long>(msg.size()))))
                        .with_size(msg.size()));
      }
    }
    if (err == EACCES) {
      return fail(std::move(r.error()).with_object(object_).with_detail("the queue's mode does not let this user write"));
    }
    return fail(removed_or(std::move(r.error())));
  }
}

Result<SysvReceived> SysvMq::receive(std::span<std::byte> buf, Deadline d, const SysvReceiveOptions& o) {
  if (!valid()) return fail(Errc::invalid_argument, "msgrcv", object_, "the queue is not open");
  if (o.except && o.type <= 0) {
    return fail(Errc::invalid_argument, "msgrcv", object_,
                fmt::format("MSG_EXCEPT needs a type > 0 (got {}); the kernel would ignore it", o.type));
  }
  // The staging block holds at most what the namespace lets a message be (kernel.msgmax),
  // so a large caller buffer costs no large copy area. If msgmax grew since, E2BIG below
  // sends us round with the limit re-read.
  std::size_t cap = std::min(buf.size(), msgmax_.load(std::memory_order_relaxed));
  int flags = d.is_never() ? 0 : IPC_NOWAIT;
  if (o.except) flags |= MSG_EXCEPT;
  if (o.truncate) flags |= MSG_NOERROR;
  Backoff backoff(poll_max_);
  for (;;) {
    MsgBuf mb(cap);
    auto r = sys::msgrcv(id_, mb.raw(), cap, o.type, flags);
    if (r) {
      if (*r) std::memcpy(buf.data(), mb.text(), *r);
      return SysvReceived{.size = *r, .type = mb.type()};
    }
    const int err = r.error().code();
    if (err == ENOMSG) {
      if (d.is_immediate()) return fail(std::move(r.error()).with_object(object_).with_detail("no matching message"));
      if (!backoff.wait(d)) return fail(Errc::timed_out, "msgrcv", object_, "no matching message before the deadline");
      continue;
    }
    if (err == E2BIG) {
      if (cap < buf.size()) {
        auto again = limits();
        if (again && static_cast<std::size_t>(again->msgmax) > cap) {
          msgmax_.store(static_cast<std::size_t>(again->msgmax), std::memory_order_relaxed);
          cap = std::min(buf.size(), static_cast<std::size_t>(again->msgmax));
          continue;
        }
      }
      const std::size_t msgmax = msgmax_.load(std::memory_order_relaxed);
      return fail(Error::from_errno("msgrcv", E2BIG, object_)
                      .with_detail(fmt::format("the message is longer than the buffer of {} bytes and stays queued "
                                          "(msgrcv does not say its size; {} bytes always suffice; MSG_NOERROR "
                                          "truncates instead)",
                                          buf.size(), msgmax))
                      .with_size(msgmax));
    }
    if (err == EACCES) {
      return fail(std::move(r.error()).with_object(object_).with_detail("the queue's mode does not let this user read"));
    }
    return fail(removed_or(std::move(r.error())));
  }
}

Result<SysvReceived> SysvMq::peek(std::span<std::byte> buf, long index) {
  if (!valid()) return fail(Errc::invalid_argument, "msgrcv(MSG_COPY)", object_, "the queue is not open");
  if (index < 0) {
    return fail(Errc::invalid_argument, "msgrcv(MSG_COPY)", object_, fmt::format("index {} must be >= 0", index));
  }
  MsgBuf mb(buf.size());
  // MSG_COPY reads msgtyp as the position; the kernel insists on IPC_NOWAIT with it.
  const int flags = MSG_COPY | IPC_NOWAIT;
  auto r = sys::msgrcv(id_, mb.raw(), buf.size(), index, flags);
  if (r) {
    if (*r) std::memcpy(buf.data(), mb.text(), *r);
    return SysvReceived{.size = *r, .type = mb.type()};
  }
  Error e = std::move(r.error()).with_op("msgrcv(MSG_COPY)");
  switch (e.code()) {
    case ENOSYS:
      return fail(Errc::not_supported, "msgrcv(MSG_COPY)", object_,
                  "this kernel has no MSG_COPY (it needs CONFIG_CHECKPOINT_RESTORE)");
    case ENOMSG:
      return fail(std::move(e).with_object(object_).with_detail(fmt::format("no message at index {}", index)));
    case E2BIG:
      return fail(std::move(e)
                      .with_object(object_)
                      .with_detail(fmt::format("the message at index {} is longer than the buffer of {} bytes "
                                               "(MSG_COPY cannot truncate; {} bytes always suffice)",
                                               index, buf.size(), msgmax_.load(std::memory_order_relaxed)))
                      .with_size(msgmax_.load(std::memory_order_relaxed)));
    default: return fail(removed_or(std::move(e)));
  }
}

Result<SysvMqStat> SysvMq::stat() const {
  msqid_ds ds{};
  auto r = sys::msgctl(id_, IPC_STAT, &ds);
  if (!r) {
    Error e = std::move(r.error()).with_op("msgctl(IPC_STAT)").with_object(object_);
    if (e.code() == EINVAL || e.code() == EIDRM) e = std::move(e).with_detail("no queue has this id (removed?)");
    return fail(std::move(e));
  }
  return to_stat(ds);
}

Result<void> SysvMq::change(const SysvMqChange& c) {
  msqid_ds ds{};
  if (auto r = sys::msgctl(id_, IPC_STAT, &ds); !r) {
    return fail(removed_or(std::move(r.error()).with_op("msgctl(IPC_STAT)")));
  }
  if (c.uid) ds.msg_perm.uid = *c.uid;
  if (c.gid) ds.msg_perm.gid = *c.gid;
  if (c.mode) {
    if (*c.mode > 0777) {
      return fail(Errc::invalid_argument, "msgctl(IPC_SET)", object_, fmt::format("mode 0{:o} has bits beyond 0777", *c.mode));
    }
    ds.msg_perm.mode = static_cast<unsigned short>(*c.mode);
  }
  if (c.qbytes) {
    if (*c.qbytes == 0) return fail(Errc::invalid_argument, "msgctl(IPC_SET)", object_, "msg_qbytes must be > 0");
    ds.msg_qbytes = *c.qbytes;
  }
  auto r = sys::msgctl(id_, IPC_SET, &ds);
  if (!r) {
    Error e = std::move(r.error()).with_op("msgctl(IPC_SET)").with_object(object_);
    if (e.code() == EPERM) {
      auto mnb = detail::read_sysctl("kernel.msgmnb");
      if (c.qbytes && mnb && static_cast<long long>(*c.qbytes) > *mnb && !detail::has_cap_sys_resource()) {
        return fail(std::move(e).with_detail(fmt::format(
            "msg_qbytes {} > {} (or run with CAP_SYS_RESOURCE)", *c.qbytes,
            detail::sysctl_limit_text("kernel.msgmnb", static_cast<long long>(*c.qbytes)))));
      }
      return fail(std::move(e).with_detail("only the queue's owner or creator (or CAP_SYS_ADMIN) may change it"));
    }
    return fail(removed_or(std::move(e)));
  }
  if (c.qbytes) qbytes_.store(*c.qbytes, std::memory_order_relaxed);
  return {};
}

Result<void> SysvMq::remove() {
  if (!valid()) return fail(Errc::invalid_argument, "msgctl(IPC_RMID)", object_, "the queue is not open");
  auto r = sys::msgctl(id_, IPC_RMID, nullptr);
  owns_ = false;
  if (!r) {
    Error e = std::move(r.error()).with_op("msgctl(IPC_RMID)").with_object(object_);
    if (e.code() == EPERM) return fail(std::move(e).with_detail("only the queue's owner or creator (or CAP_SYS_ADMIN) may remove it"));
    if (e.code() == EINVAL || e.code() == EIDRM) return fail(std::move(e).with_detail("no queue has this id (removed already?)"));
    return fail(std::move(e));
  }
  return {};
}

namespace detail {
namespace {

// sysvmq:// as a Channel: a SysvMq, with SendOptions::type and ReceiveOptions::type/except.
class SysvMqChannel final : public ChannelImpl {
 public:
  explicit SysvMqChannel(SysvMq q) : q_(std::move(q)) {}

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions& o) override {
    if (o.priority != 0) {
      return fail(Errc::invalid_argument, "send", q_.object(),
                  "a priority is for posixmq://; a sysvmq:// message carries a type (SendOptions::type)");
    }
    if (!o.fds.empty()) return fail(Errc::not_supported, "send", q_.object(), "message queues cannot carry descriptors");
    auto r = q_.send(msg, o.type, d);
    if (!r) return fail(std::move(r.error()).with_op("send"));
    return {};
  }

  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions& o) override {
    auto r = q_.receive(buf, d, SysvReceiveOptions{.type = o.type, .except = o.except, .truncate = false});
    if (!r) return fail(std::move(r.error()).with_op("receive"));
    return Received{.size = r->size, .type = r->type, .priority = 0, .fds = {}};
  }

  int pollable_fd() const noexcept override { return -1; }
  std::size_t max_message_size() const noexcept override { return q_.max_message_size(); }
  SysvMq& queue() noexcept { return q_; }

 private:
  SysvMq q_;
};

}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_sysvmq(const Url& url, bool) {
  if (auto c = url.check_options({"create", "excl", "mode", "remove", "qbytes", "proj", "owner"}); !c) {
    return std::unexpected(c.error());
  }
  auto create = url.option_bool("create", true);
  if (!create) return std::unexpected(create.error());
  auto excl = url.option_bool("excl", false);
  if (!excl) return std::unexpected(excl.error());
  auto mode = url.option_mode("mode", 0600);
  if (!mode) return std::unexpected(mode.error());
  auto remove = url.option_bool("remove", false);
  if (!remove) return std::unexpected(remove.error());
  auto qbytes = url.option_size("qbytes", 0);
  if (!qbytes) return std::unexpected(qbytes.error());
  if (*excl && !*create) return fail(Errc::bad_url, "url", url.text, "excl=1 needs create=1");
  if (*mode > 0777) return fail(Errc::bad_url, "url", url.text, "mode has bits beyond 0777");
  if (url.option("qbytes") && *qbytes == 0) return fail(Errc::bad_url, "url", url.text, "qbytes must be > 0");
  if (url.option("proj") && url.ftok_path.empty()) {
    return fail(Errc::bad_url, "url", url.text, "proj is for the path form, sysvmq:///PATH?proj=N");
  }

  Result<SysvMq> q;
  if (url.id) {
    if (url.option("create") || url.option("excl") || url.option("mode")) {
      return fail(Errc::bad_url, "url", url.text, "create, excl and mode do not apply to a queue named by id");
    }
    q = SysvMq::open_id(*url.id);
  } else {
    key_t key = url.key.value_or(IPC_PRIVATE);
    if (!url.ftok_path.empty()) {
      auto proj = url.option_uint("proj", 0);
      if (!proj) return std::unexpected(proj.error());
      auto k = ipcx::ftok(url.ftok_path, static_cast<int>(*proj));
      if (!k) return std::unexpected(std::move(k.error()));
      key = *k;
    }
    q = SysvMq::open(key, SysvMqOptions{.create = *create, .exclusive = *excl, .mode = *mode});
  }
  if (!q) return std::unexpected(std::move(q.error()));
  if (!q->created()) {
    auto any_owner = owner_any(url);
    if (!any_owner) return std::unexpected(any_owner.error());
    auto st = q->stat();
    if (!st) return std::unexpected(std::move(st.error()));
    if (auto own = check_owner(st->uid, *any_owner, url.text, "msgget"); !own) return std::unexpected(own.error());
  }
  if (url.option("qbytes")) {
    SysvMqChange change;
    change.qbytes = *qbytes;
    // On failure a queue this call created is still owned by q, and goes with it.
    if (auto c = q->change(change); !c) return std::unexpected(std::move(c.error()));
  }
  if (!*remove) q->keep();  // remove=0: the queue outlives the Channel
  return std::make_unique<SysvMqChannel>(std::move(*q));
}

}  // namespace detail

SysvMq* sysv_mq(const Channel& ch) noexcept {
  auto* c = dynamic_cast<detail::SysvMqChannel*>(detail::ChannelAccess::impl(ch));
  return c ? &c->queue() : nullptr;
}

}  // namespace ipcx
