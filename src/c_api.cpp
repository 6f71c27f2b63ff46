// SPDX-License-Identifier: MIT
// The C API's errors, version and Channel (include/ipcx/c/error.h, channel.h): thin
// handles over ipcx::Channel, Listener, Loan and ReadView, and the pipe and socketpair
// factories. Shared memory is in c_api_shm.cpp, synchronisation in c_api_sync.cpp, the
// queues below the Channel in c_api_mq.cpp, placement in c_api_place.cpp.
#include "ipcx/ipcx.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "c_api_channel.hpp"
#include "c_api_support.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/pipe.hpp"
#include "ipcx/socket.hpp"
#include "ipcx/sysv_mq.hpp"
#include "ipcx/version.h"

struct ipcx_listener {
  ipcx::Listener l;
};
struct ipcx_loan {
  ipcx::Loan loan;
};
struct ipcx_view {
  ipcx::ReadView view;
};
struct ipcx_batch {
  ipcx::MessageBatch batch;
};

using ipcx::capi::clear_error;
using ipcx::capi::deadline;
using ipcx::capi::guarded;
using ipcx::capi::make_handle;
using ipcx::capi::need;
using ipcx::capi::set_error;
using ipcx::capi::status;

static_assert(static_cast<int>(ipcx::Errc::corrupt) + 1 == IPCX_CORRUPT, "C error kinds follow ipcx::Errc");

namespace {

// Copies a URL into the caller's buffer: its length, or -1 with the size it needs.
ssize_t copy_url(const ipcx::Result<std::string>& url, const char* op, char* buf, size_t cap, ipcx_error* err) {
  if (!url) {
    set_error(err, url.error());
    return -1;
  }
  if (url->size() + 1 > cap || !buf) {
    set_error(err, ipcx::Error::make(ipcx::Errc::message_too_large, op, *url,
                                     "the buffer is shorter than the URL and its NUL")
                       .with_size(url->size() + 1));
    return -1;
  }
  std::memcpy(buf, url->c_str(), url->size() + 1);
  clear_error(err);
  return static_cast<ssize_t>(url->size());
}

ipcx::SendOptions send_options(const ipcx_send_options* o) {
  ipcx::SendOptions so;  // type 1: what a sysvmq message without a type carries
  if (!o) return so;
  if (o->type != 0) so.type = o->type;
  so.priority = o->priority;
  if (o->fds) so.fds = std::span<const int>(o->fds, o->nfds);
  return so;
}

}  // namespace

extern "C" {

const char* ipcx_errc_name(ipcx_errc kind) {
  if (kind == IPCX_OK) return "ok";
  if (kind < IPCX_OK || kind > IPCX_CORRUPT) return "unknown";
  return ipcx::to_string(static_cast<ipcx::Errc>(static_cast<int>(kind) - 1)).data();
}

const char* ipcx_version(int* major, int* minor, int* patch) {
  if (major) *major = IPCX_VERSION_MAJOR;
  if (minor) *minor = IPCX_VERSION_MINOR;
  if (patch) *patch = IPCX_VERSION_PATCH;
  return IPCX_VERSION_STRING;
}

ipcx_channel* ipcx_open(const char* url, ipcx_error* err) {
  return guarded(err, "ipcx_open", static_cast<ipcx_channel*>(nullptr), [&]() -> ipcx_channel* {
    if (!need(url, "ipcx_open", "url", err)) return nullptr;
    return make_handle<ipcx_channel>(ipcx::Channel::open(url), err);
  });
}

ipcx_channel* ipcx_bind(const char* url, ipcx_error* err) {
  return guarded(err, "ipcx_bind", static_cast<ipcx_channel*>(nullptr), [&]() -> ipcx_channel* {
    if (!need(url, "ipcx_bind", "url", err)) return nullptr;
    return make_handle<ipcx_channel>(ipcx::Channel::bind(url), err);
  });
}

void ipcx_close(ipcx_channel* ch) { delete ch; }

int ipcx_send_msg(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, const ipcx_send_options* o,
                  ipcx_error* err) {
  return guarded(err, "ipcx_send", -1, [&] {
    if (!need(ch, "ipcx_send", "the channel", err)) return -1;
    if (!data && len) return need(data, "ipcx_send", "data (with a non-zero length)", err), -1;
    if (o && !o->fds && o->nfds) return need(o->fds, "ipcx_send", "fds (with nfds > 0)", err), -1;
    return status(ch->ch.send({static_cast<const std::byte*>(data), len}, deadline(timeout_ms), send_options(o)),
                  err);
  });
}

int ipcx_send_ex(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, long type, unsigned priority,
                 ipcx_error* err) {
  ipcx_send_options o{};
  o.type = type;
  o.priority = priority;
  return ipcx_send_msg(ch, data, len, timeout_ms, &o, err);
}

int ipcx_send(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, ipcx_error* err) {
  return ipcx_send_msg(ch, data, len, timeout_ms, nullptr, err);
}

ssize_t ipcx_receive_msg(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, ipcx_received* r,
                         ipcx_error* err) {
  return guarded(err, "ipcx_receive", ssize_t{-1}, [&]() -> ssize_t {
    if (!need(ch, "ipcx_receive", "the channel", err)) return -1;
    if (!buf && cap) return need(buf, "ipcx_receive", "buf (with a non-zero capacity)", err), -1;
    if (r && !r->fds && r->fds_cap) return need(r->fds, "ipcx_receive", "fds (with fds_cap > 0)", err), -1;
    ipcx::ReceiveOptions o;
    if (r) {
      o.type = r->type;
      o.except = r->except != 0;
    }
    auto got = ch->ch.receive({static_cast<std::byte*>(buf), cap}, deadline(timeout_ms), o);
    if (!got) {
      set_error(err, got.error());
      return -1;
    }
    if (r) {
      r->type = got->type;
      r->priority = got->priority;
      r->lost = got->lost;
      r->nfds = std::min(got->fds.size(), r->fds_cap);
      r->nfds_dropped = got->fds.size() - r->nfds;
      for (std::size_t i = 0; i < r->nfds; ++i) r->fds[i] = got->fds[i].release();
      // The rest close with `got`.
    }
    clear_error(err);
    return static_cast<ssize_t>(got->size);
  });
}

ssize_t ipcx_receive_ex(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, long msgtyp, long* type,
                        unsigned* priority, ipcx_error* err) {
  ipcx_received r{};
  r.type = msgtyp;
  ssize_t n = ipcx_receive_msg(ch, buf, cap, timeout_ms, &r, err);
  if (n >= 0) {
    if (type) *type = r.type;
    if (priority) *priority = r.priority;
  }
  return n;
}

ssize_t ipcx_receive(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, ipcx_error* err) {
  return ipcx_receive_msg(ch, buf, cap, timeout_ms, nullptr, err);
}

ssize_t ipcx_send_batch(ipcx_channel* ch, const void* const* msgs, const size_t* lens, size_t n, long timeout_ms,
                        ipcx_error* err) {
  return guarded(err, "ipcx_send_batch", ssize_t{-1}, [&]() -> ssize_t {
    if (!need(ch, "ipcx_send_batch", "the channel", err)) return -1;
    if (n > 0 && (!need(msgs, "ipcx_send_batch", "msgs", err) || !need(lens, "ipcx_send_batch", "lens", err))) return -1;
    const ipcx::Deadline d = deadline(timeout_ms);
    // In chunks of views on the stack: no allocation per call.
    std::array<std::span<const std::byte>, 64> views;
    std::size_t sent = 0;
    while (sent < n) {
      const std::size_t count = std::min(n - sent, views.size());
      for (std::size_t i = 0; i < count; ++i) views[i] = {static_cast<const std::byte*>(msgs[sent + i]), lens[sent + i]};
      auto b = ch->ch.send_batch(std::span(views).first(count), d);
      sent += b.sent;
      if (!b.all()) {
        set_error(err, b.error.error());
        return static_cast<ssize_t>(sent);
      }
    }
    clear_error(err);
    return static_cast<ssize_t>(n);
  });
}

ipcx_batch* ipcx_batch_new(size_t capacity, size_t message_size, ipcx_error* err) {
  return guarded(err, "ipcx_batch_new", static_cast<ipcx_batch*>(nullptr), [&]() -> ipcx_batch* {
    auto* b = new ipcx_batch{ipcx::MessageBatch(capacity, message_size)};  // bad_alloc: caught by guarded()
    clear_error(err);
    return b;
  });
}

void ipcx_batch_free(ipcx_batch* b) { delete b; }

ssize_t ipcx_receive_batch(ipcx_channel* ch, ipcx_batch* b, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_receive_batch", ssize_t{-1}, [&]() -> ssize_t {
    if (!need(ch, "ipcx_receive_batch", "the channel", err) || !need(b, "ipcx_receive_batch", "the batch", err)) {
      return -1;
    }
    auto n = ch->ch.receive_batch(b->batch, deadline(timeout_ms));
    if (!n) {
      set_error(err, n.error());
      return -1;
    }
    clear_error(err);
    return static_cast<ssize_t>(*n);
  });
}

const void* ipcx_batch_data(const ipcx_batch* b, size_t i, size_t* len) {
  if (!b || i >= b->batch.size()) {
    if (len) *len = 0;
    return nullptr;
  }
  if (len) *len = b->batch.data(i).size();
  return b->batch.data(i).data();
}

int ipcx_pollable_fd(const ipcx_channel* ch) { return ch ? ch->ch.pollable_fd() : -1; }
size_t ipcx_max_message_size(const ipcx_channel* ch) { return ch ? ch->ch.max_message_size() : 0; }

int ipcx_peer_credentials(const ipcx_channel* ch, pid_t* pid, uid_t* uid, gid_t* gid, ipcx_error* err) {
  return guarded(err, "ipcx_peer_credentials", -1, [&] {
    if (!need(ch, "ipcx_peer_credentials", "the channel", err)) return -1;
    auto p = ch->ch.peer();
    if (!p) {
      set_error(err, ipcx::Error::make(ipcx::Errc::not_supported, "ipcx_peer_credentials", ch->ch.url(),
                                       "this transport does not know its peer (unix sockets do)"));
      return -1;
    }
    if (pid) *pid = p->pid;
    if (uid) *uid = p->uid;
    if (gid) *gid = p->gid;
    clear_error(err);
    return 0;
  });
}

ssize_t ipcx_local_url(const ipcx_channel* ch, char* buf, size_t cap, ipcx_error* err) {
  return guarded(err, "ipcx_local_url", ssize_t{-1}, [&]() -> ssize_t {
    if (!need(ch, "ipcx_local_url", "the channel", err)) return -1;
    return copy_url(ipcx::local_url(ch->ch), "ipcx_local_url", buf, cap, err);
  });
}

int ipcx_sysvmq_id(const ipcx_channel* ch) {
  const ipcx::SysvMq* q = ch ? ipcx::sysv_mq(ch->ch) : nullptr;
  return q ? q->id() : -1;
}

int ipcx_sysvmq_remove(ipcx_channel* ch, ipcx_error* err) {
  return guarded(err, "ipcx_sysvmq_remove", -1, [&] {
    if (!need(ch, "ipcx_sysvmq_remove", "the channel", err)) return -1;
    ipcx::SysvMq* q = ipcx::sysv_mq(ch->ch);
    if (!q) {
      set_error(err, ipcx::Error::make(ipcx::Errc::invalid_argument, "ipcx_sysvmq_remove", ch->ch.url(),
                                       "not a sysvmq:// channel"));
      return -1;
    }
    return status(q->remove(), err);
  });
}

ipcx_loan* ipcx_loan_begin(ipcx_channel* ch, size_t size, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_loan_begin", static_cast<ipcx_loan*>(nullptr), [&]() -> ipcx_loan* {
    if (!need(ch, "ipcx_loan_begin", "the channel", err)) return nullptr;
    auto l = ch->ch.loan(size, deadline(timeout_ms));
    if (!l) {
      set_error(err, l.error());
      return nullptr;
    }
    // If this allocation fails, `l` abandons the loan on the way out.
    return make_handle<ipcx_loan>(std::move(l), err);
  });
}

void* ipcx_loan_data(const ipcx_loan* l) { return l ? l->loan.data().data() : nullptr; }
size_t ipcx_loan_size(const ipcx_loan* l) { return l ? l->loan.data().size() : 0; }

int ipcx_loan_commit(ipcx_channel* ch, ipcx_loan* l, size_t size, ipcx_error* err) {
  return guarded(err, "ipcx_loan_commit", -1, [&] {
    if (!need(l, "ipcx_loan_commit", "the loan", err)) return -1;
    if (!ch) {
      delete l;  // frees the loan as promised; abandons it
      return need(ch, "ipcx_loan_commit", "the channel", err), -1;
    }
    auto r = ch->ch.commit(std::move(l->loan), size);
    delete l;  // a failed commit leaves the loan armed: deleting abandons it
    return status(r, err);
  });
}

void ipcx_loan_abandon(ipcx_loan* l) { delete l; }

ipcx_view* ipcx_read(ipcx_channel* ch, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_read", static_cast<ipcx_view*>(nullptr), [&]() -> ipcx_view* {
    if (!need(ch, "ipcx_read", "the channel", err)) return nullptr;
    return make_handle<ipcx_view>(ch->ch.read(deadline(timeout_ms)), err);
  });
}

const void* ipcx_view_data(const ipcx_view* v) { return v ? v->view.data().data() : nullptr; }
size_t ipcx_view_size(const ipcx_view* v) { return v ? v->view.data().size() : 0; }
uint64_t ipcx_view_lost(const ipcx_view* v) { return v ? v->view.lost() : 0; }
void ipcx_view_release(ipcx_view* v) { delete v; }

int ipcx_pipe(ipcx_channel** reader, ipcx_channel** writer, ipcx_error* err) {
  return guarded(err, "ipcx_pipe", -1, [&] {
    if (!need(reader, "ipcx_pipe", "reader", err) || !need(writer, "ipcx_pipe", "writer", err)) return -1;
    auto p = ipcx::make_pipe();
    if (!p) return status(p, err);
    auto* r = new ipcx_channel{std::move(p->reader)};
    try {
      *writer = new ipcx_channel{std::move(p->writer)};
    } catch (...) {
      delete r;
      throw;
    }
    *reader = r;
    clear_error(err);
    return 0;
  });
}

int ipcx_socketpair(ipcx_socket_type type, ipcx_channel** first, ipcx_channel** second, ipcx_error* err) {
  return guarded(err, "ipcx_socketpair", -1, [&] {
    if (!need(first, "ipcx_socketpair", "first", err) || !need(second, "ipcx_socketpair", "second", err)) return -1;
    ipcx::SocketType t;
    switch (type) {
      case IPCX_STREAM: t = ipcx::SocketType::stream; break;
      case IPCX_DGRAM: t = ipcx::SocketType::datagram; break;
      case IPCX_SEQPACKET: t = ipcx::SocketType::seqpacket; break;
      default: return ipcx::capi::set_invalid(err, "ipcx_socketpair", "type is not an ipcx_socket_type"), -1;
    }
    auto p = ipcx::make_socket_pair(t);
    if (!p) return status(p, err);
    auto* a = new ipcx_channel{std::move(p->first)};
    try {
      *second = new ipcx_channel{std::move(p->second)};
    } catch (...) {
      delete a;
      throw;
    }
    *first = a;
    clear_error(err);
    return 0;
  });
}

ipcx_listener* ipcx_listen(const char* url, ipcx_error* err) {
  return guarded(err, "ipcx_listen", static_cast<ipcx_listener*>(nullptr), [&]() -> ipcx_listener* {
    if (!need(url, "ipcx_listen", "url", err)) return nullptr;
    return make_handle<ipcx_listener>(ipcx::Listener::listen(url), err);
  });
}

ipcx_channel* ipcx_accept(ipcx_listener* l, long timeout_ms, ipcx_error* err) {
  return guarded(err, "ipcx_accept", static_cast<ipcx_channel*>(nullptr), [&]() -> ipcx_channel* {
    if (!need(l, "ipcx_accept", "the listener", err)) return nullptr;
    return make_handle<ipcx_channel>(l->l.accept(deadline(timeout_ms)), err);
  });
}

int ipcx_listener_fd(const ipcx_listener* l) { return l ? l->l.pollable_fd() : -1; }

ssize_t ipcx_listener_url(const ipcx_listener* l, char* buf, size_t cap, ipcx_error* err) {
  return guarded(err, "ipcx_listener_url", ssize_t{-1}, [&]() -> ssize_t {
    if (!need(l, "ipcx_listener_url", "the listener", err)) return -1;
    return copy_url(ipcx::Result<std::string>(l->l.local_url()), "ipcx_listener_url", buf, cap, err);
  });
}

void ipcx_listener_close(ipcx_listener* l) { delete l; }

}  // extern "C"
