// SPDX-License-Identifier: MIT
// The C API's queues below the Channel (include/ipcx/c/mq.h): each call finds the PosixMq
// or SysvMq under a posixmq:// or sysvmq:// channel (ipcx::posix_mq, ipcx::sysv_mq) and
// calls its wrapper, so the C side gets every flag the C++ side has, with its errors.
#include "ipcx/c/mq.h"

#include <chrono>
#include <span>

#include "c_api_channel.hpp"
#include "c_api_support.hpp"
#include "ipcx/posix_mq.hpp"
#include "ipcx/sysv_mq.hpp"

using ipcx::capi::clear_error;
using ipcx::capi::deadline;
using ipcx::capi::guarded;
using ipcx::capi::need;
using ipcx::capi::set_error;
using ipcx::capi::status;

namespace {

// The queue under `ch`, or nullptr with err saying why (a NULL channel, or another scheme).
ipcx::PosixMq* posix_queue(const ipcx_channel* ch, const char* op, ipcx_error* err) {
  if (!need(ch, op, "the channel", err)) return nullptr;
  ipcx::PosixMq* q = ipcx::posix_mq(ch->ch);
  if (!q) set_error(err, ipcx::Error::make(ipcx::Errc::invalid_argument, op, ch->ch.url(), "not a posixmq:// channel"));
  return q;
}

ipcx::SysvMq* sysv_queue(const ipcx_channel* ch, const char* op, ipcx_error* err) {
  if (!need(ch, op, "the channel", err)) return nullptr;
  ipcx::SysvMq* q = ipcx::sysv_mq(ch->ch);
  if (!q) set_error(err, ipcx::Error::make(ipcx::Errc::invalid_argument, op, ch->ch.url(), "not a sysvmq:// channel"));
  return q;
}

void to_c(const ipcx::PosixMqAttributes& a, ipcx_posixmq_attr* out) {
  out->maxmsg = a.maxmsg;
  out->msgsize = a.msgsize;
  out->curmsgs = a.curmsgs;
  out->nonblocking = a.nonblocking ? 1 : 0;
}

// A received message's size and type, or -1 with err filled.
ssize_t received(const ipcx::Result<ipcx::SysvReceived>& r, long* type, ipcx_error* err) {
  if (!r) {
    set_error(err, r.error());
    return -1;
  }
  if (type) *type = r->type;
  clear_error(err);
  return static_cast<ssize_t>(r->size);
}

}  // namespace

extern "C" {

int ipcx_posixmq_getattr(const ipcx_channel* ch, ipcx_posixmq_attr* attr, ipcx_error* err) {
  return guarded(err, "ipcx_posixmq_getattr", -1, [&] {
    ipcx::PosixMq* q = posix_queue(ch, "ipcx_posixmq_getattr", err);
    if (!q || !need(attr, "ipcx_posixmq_getattr", "attr", err)) return -1;
    auto a = q->attributes();
    if (a) to_c(*a, attr);
    return status(a, err);
  });
}

int ipcx_posixmq_setattr(ipcx_channel* ch, int nonblocking, ipcx_posixmq_attr* old, ipcx_error* err) {
  return guarded(err, "ipcx_posixmq_setattr", -1, [&] {
    ipcx::PosixMq* q = posix_queue(ch, "ipcx_posixmq_setattr", err);
    if (!q) return -1;
    auto before = q->set_nonblocking(nonblocking != 0);
    if (before && old) to_c(*before, old);
    return status(before, err);
  });
}

int ipcx_posixmq_notify_signal(ipcx_channel* ch, int signo, int value, ipcx_error* err) {
  return guarded(err, "ipcx_posixmq_notify_signal", -1, [&] {
    ipcx::PosixMq* q = posix_queue(ch, "ipcx_posixmq_notify_signal", err);
    if (!q) return -1;
    return status(q->notify_signal(signo, value), err);
  });
}

int ipcx_posixmq_notify_callback(ipcx_channel* ch, void (*fn)(void* arg), void* arg, ipcx_error* err) {
  return guarded(err, "ipcx_posixmq_notify_callback", -1, [&] {
    ipcx::PosixMq* q = posix_queue(ch, "ipcx_posixmq_notify_callback", err);
    if (!q || !need(reinterpret_cast<const void*>(fn), "ipcx_posixmq_notify_callback", "fn", err)) return -1;
    // A C function cannot throw, so nothing leaves the notifier's thread but its return.
    return status(q->notify_callback([fn, arg] { fn(arg); }), err);
  });
}

int ipcx_posixmq_notify_none(ipcx_channel* ch, ipcx_error* err) {
  return guarded(err, "ipcx_posixmq_notify_none", -1, [&] {
    ipcx::PosixMq* q = posix_queue(ch, "ipcx_posixmq_notify_none", err);
    if (!q) return -1;
    return status(q->notify_none(), err);
  });
}

int ipcx_posixmq_notify_cancel(ipcx_channel* ch, ipcx_error* err) {
  return guarded(err, "ipcx_posixmq_notify_cancel", -1, [&] {
    ipcx::PosixMq* q = posix_queue(ch, "ipcx_posixmq_notify_cancel", err);
    if (!q) return -1;
    return status(q->notify_cancel(), err);
  });
}

int ipcx_sysvmq_stat(const ipcx_channel* ch, ipcx_sysvmq_info* info, ipcx_error* err) {
  return guarded(err, "ipcx_sysvmq_stat", -1, [&] {
    ipcx::SysvMq* q = sysv_queue(ch, "ipcx_sysvmq_stat", err);
    if (!q || !need(info, "ipcx_sysvmq_stat", "info", err)) return -1;
    auto st = q->stat();
    if (st) {
      *info = ipcx_sysvmq_info{};
      info->key = st->key;
      info->uid = st->uid;
      info->cuid = st->cuid;
      info->gid = st->gid;
      info->cgid = st->cgid;
      info->mode = st->mode;
      info->messages = st->messages;
      info->bytes = st->bytes;
      info->qbytes = st->qbytes;
      info->last_send_pid = st->last_send_pid;
      info->last_receive_pid = st->last_receive_pid;
      info->send_time = st->send_time;
      info->receive_time = st->receive_time;
      info->change_time = st->change_time;
    }
    return status(st, err);
  });
}

int ipcx_sysvmq_set(ipcx_channel* ch, const ipcx_sysv_owner* owner, size_t qbytes, ipcx_error* err) {
  return guarded(err, "ipcx_sysvmq_set", -1, [&] {
    ipcx::SysvMq* q = sysv_queue(ch, "ipcx_sysvmq_set", err);
    if (!q) return -1;
    ipcx::SysvMqChange c;
    if (owner) {
      c.uid = owner->uid;
      c.gid = owner->gid;
      c.mode = owner->mode;
    }
    if (qbytes != 0) c.qbytes = qbytes;
    return status(q->change(c), err);
  });
}

ssize_t ipcx_sysvmq_receive(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, long msgtyp, int flags,
                            long* type, ipcx_error* err) {
  return guarded(err, "ipcx_sysvmq_receive", ssize_t{-1}, [&]() -> ssize_t {
    ipcx::SysvMq* q = sysv_queue(ch, "ipcx_sysvmq_receive", err);
    if (!q || (cap != 0 && !need(buf, "ipcx_sysvmq_receive", "buf", err))) return -1;
    if ((flags & ~(IPCX_MSG_EXCEPT | IPCX_MSG_NOERROR)) != 0) {
      ipcx::capi::set_invalid(err, "ipcx_sysvmq_receive", "flags other than IPCX_MSG_EXCEPT and IPCX_MSG_NOERROR");
      return -1;
    }
    ipcx::SysvReceiveOptions o;
    o.type = msgtyp;
    o.except = (flags & IPCX_MSG_EXCEPT) != 0;
    o.truncate = (flags & IPCX_MSG_NOERROR) != 0;
    return received(q->receive(std::span(static_cast<std::byte*>(buf), cap), deadline(timeout_ms), o), type, err);
  });
}

ssize_t ipcx_sysvmq_peek(const ipcx_channel* ch, void* buf, size_t cap, long index, long* type, ipcx_error* err) {
  return guarded(err, "ipcx_sysvmq_peek", ssize_t{-1}, [&]() -> ssize_t {
    ipcx::SysvMq* q = sysv_queue(ch, "ipcx_sysvmq_peek", err);
    if (!q || (cap != 0 && !need(buf, "ipcx_sysvmq_peek", "buf", err))) return -1;
    return received(q->peek(std::span(static_cast<std::byte*>(buf), cap), index), type, err);
  });
}

}  // extern "C"
