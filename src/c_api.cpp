// The C API (include/ipcx/ipcx.h): thin handles over Channel and Listener.
#include "ipcx/ipcx.h"

#include <chrono>
#include <cstring>
#include <new>

#include "ipcx/channel.hpp"

struct ipcx_channel {
  ipcx::Channel ch;
};
struct ipcx_listener {
  ipcx::Listener l;
};

namespace {

void set_error(ipcx_error* err, const ipcx::Error& e) {
  if (!err) return;
  err->kind = static_cast<ipcx_errc>(static_cast<int>(e.kind()) + 1);
  err->code = e.code();
  err->size = e.size();
  std::string m = e.message();
  std::size_t n = std::min(m.size(), sizeof err->message - 1);
  std::memcpy(err->message, m.data(), n);
  err->message[n] = '\0';
}

void clear_error(ipcx_error* err) {
  if (!err) return;
  err->kind = IPCX_OK;
  err->code = 0;
  err->size = 0;
  err->message[0] = '\0';
}

bool check_handle(const void* h, const char* op, ipcx_error* err) {
  if (h) return true;
  set_error(err, ipcx::Error::make(ipcx::Errc::invalid_argument, op, {}, "NULL handle"));
  return false;
}

ipcx::Deadline deadline(long timeout_ms) {
  if (timeout_ms < 0) return ipcx::Deadline::never();
  return ipcx::Deadline::after(std::chrono::milliseconds(timeout_ms));
}

ipcx_channel* wrap(ipcx::Result<ipcx::Channel> r, ipcx_error* err) {
  if (!r) {
    set_error(err, r.error());
    return nullptr;
  }
  clear_error(err);
  return new (std::nothrow) ipcx_channel{std::move(*r)};
}

}  // namespace

static_assert(static_cast<int>(ipcx::Errc::corrupt) + 1 == IPCX_CORRUPT, "C error kinds follow ipcx::Errc");

extern "C" {

ipcx_channel* ipcx_open(const char* url, ipcx_error* err) {
  if (!check_handle(url, "ipcx_open", err)) return nullptr;
  return wrap(ipcx::Channel::open(url), err);
}

ipcx_channel* ipcx_bind(const char* url, ipcx_error* err) {
  if (!check_handle(url, "ipcx_bind", err)) return nullptr;
  return wrap(ipcx::Channel::bind(url), err);
}

void ipcx_close(ipcx_channel* ch) { delete ch; }

int ipcx_send_ex(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, long type, unsigned priority,
                 ipcx_error* err) {
  if (!check_handle(ch, "ipcx_send", err)) return -1;
  if (!data && len) {
    set_error(err, ipcx::Error::make(ipcx::Errc::invalid_argument, "ipcx_send", {}, "NULL data with a non-zero length"));
    return -1;
  }
  ipcx::SendOptions o;
  o.type = type;
  o.priority = priority;
  auto r = ch->ch.send({static_cast<const std::byte*>(data), len}, deadline(timeout_ms), o);
  if (!r) {
    set_error(err, r.error());
    return -1;
  }
  clear_error(err);
  return 0;
}

int ipcx_send(ipcx_channel* ch, const void* data, size_t len, long timeout_ms, ipcx_error* err) {
  return ipcx_send_ex(ch, data, len, timeout_ms, 1, 0, err);
}

ssize_t ipcx_receive_ex(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, long msgtyp, long* type,
                        unsigned* priority, ipcx_error* err) {
  if (!check_handle(ch, "ipcx_receive", err)) return -1;
  if (!buf && cap) {
    set_error(err, ipcx::Error::make(ipcx::Errc::invalid_argument, "ipcx_receive", {}, "NULL buffer with a non-zero capacity"));
    return -1;
  }
  ipcx::ReceiveOptions o;
  o.type = msgtyp;
  auto r = ch->ch.receive({static_cast<std::byte*>(buf), cap}, deadline(timeout_ms), o);
  if (!r) {
    set_error(err, r.error());
    return -1;
  }
  if (type) *type = r->type;
  if (priority) *priority = r->priority;
  clear_error(err);
  return static_cast<ssize_t>(r->size);
}

ssize_t ipcx_receive(ipcx_channel* ch, void* buf, size_t cap, long timeout_ms, ipcx_error* err) {
  return ipcx_receive_ex(ch, buf, cap, timeout_ms, 0, nullptr, nullptr, err);
}

int ipcx_pollable_fd(const ipcx_channel* ch) { return ch ? ch->ch.pollable_fd() : -1; }
size_t ipcx_max_message_size(const ipcx_channel* ch) { return ch ? ch->ch.max_message_size() : 0; }

ipcx_listener* ipcx_listen(const char* url, ipcx_error* err) {
  if (!check_handle(url, "ipcx_listen", err)) return nullptr;
  auto r = ipcx::Listener::listen(url);
  if (!r) {
    set_error(err, r.error());
    return nullptr;
  }
  clear_error(err);
  return new (std::nothrow) ipcx_listener{std::move(*r)};
}

ipcx_channel* ipcx_accept(ipcx_listener* l, long timeout_ms, ipcx_error* err) {
  if (!check_handle(l, "ipcx_accept", err)) return nullptr;
  return wrap(l->l.accept(deadline(timeout_ms)), err);
}

int ipcx_listener_fd(const ipcx_listener* l) { return l ? l->l.pollable_fd() : -1; }
void ipcx_listener_close(ipcx_listener* l) { delete l; }

const char* ipcx_errc_name(ipcx_errc kind) {
  if (kind == IPCX_OK) return "ok";
  if (kind < IPCX_OK || kind > IPCX_CORRUPT) return "unknown";
  return ipcx::to_string(static_cast<ipcx::Errc>(static_cast<int>(kind) - 1)).data();
}

}  // extern "C"
