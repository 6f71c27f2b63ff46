// SPDX-License-Identifier: MIT
// What every part of the C API (src/c_api*.cpp) shares: filling ipcx_error, turning a
// millisecond timeout into a Deadline, and the guard that keeps C++ exceptions inside.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "ipcx/c/error.h"
#include "ipcx/deadline.hpp"
#include "ipcx/error.hpp"

namespace ipcx::capi {

// Copies what the message needs without allocating if allocation fails: the C side always
// gets a kind, an errno and at least the call's name.
inline void set_error(ipcx_error* err, const Error& e) noexcept {
  if (!err) return;
  err->kind = static_cast<ipcx_errc>(static_cast<int>(e.kind()) + 1);
  err->code = e.code();
  err->size = e.size();
  try {
    std::string m = e.message();
    std::size_t n = std::min(m.size(), sizeof err->message - 1);
    std::memcpy(err->message, m.data(), n);
    err->message[n] = '\0';
  } catch (...) {  // std::bad_alloc building the text
    std::size_t n = std::min(std::strlen(e.op()), sizeof err->message - 1);
    std::memcpy(err->message, e.op(), n);
    err->message[n] = '\0';
  }
}

inline void clear_error(ipcx_error* err) noexcept {
  if (!err) return;
  err->kind = IPCX_OK;
  err->code = 0;
  err->size = 0;
  err->message[0] = '\0';
}

// Allocation failure, written without allocating.
inline void set_no_memory(ipcx_error* err, const char* op) noexcept {
  if (!err) return;
  err->kind = IPCX_SYSTEM;
  err->code = ENOMEM;
  err->size = 0;
  std::snprintf(err->message, sizeof err->message, "%s: Cannot allocate memory", op);
}

inline void set_invalid(ipcx_error* err, const char* op, const char* why) noexcept {
  if (!err) return;
  err->kind = IPCX_INVALID_ARGUMENT;
  err->code = EINVAL;
  err->size = 0;
  std::snprintf(err->message, sizeof err->message, "%s: Invalid argument (%s)", op, why);
}

// A required pointer argument: NULL is an error that names it, never a crash.
inline bool need(const void* p, const char* op, const char* what, ipcx_error* err) noexcept {
  if (p) return true;
  char why[96];
  std::snprintf(why, sizeof why, "%s is NULL", what);
  set_invalid(err, op, why);
  return false;
}

// -1 waits forever, 0 never blocks, otherwise that many milliseconds from now.
inline Deadline deadline(long timeout_ms) noexcept {
  if (timeout_ms < 0) return Deadline::never();
  if (timeout_ms == 0) return Deadline::immediate();
  return Deadline::after(std::chrono::milliseconds(timeout_ms));
}

// Runs `f` (which fills err itself) and turns any exception into an error: nothing C++
// crosses an extern "C" function. std::bad_alloc is ENOMEM; anything else is a bug in
// ipcx, reported rather than terminating the C program.
template <typename R, typename F>
R guarded(ipcx_error* err, const char* op, R on_failure, F&& f) noexcept {
  try {
    return std::forward<F>(f)();
  } catch (const std::bad_alloc&) {
    set_no_memory(err, op);
  } catch (...) {
    if (err) {
      err->kind = IPCX_SYSTEM;
      err->code = EFAULT;
      err->size = 0;
      std::snprintf(err->message, sizeof err->message, "%s: unexpected C++ exception inside ipcx", op);
    }
  }
  return on_failure;
}

// The end of most calls: 0 and a cleared err, or -1 and err filled.
template <typename T>
int status(const Result<T>& r, ipcx_error* err) noexcept {
  if (!r) {
    set_error(err, r.error());
    return -1;
  }
  clear_error(err);
  return 0;
}

// A Result's value into a new C handle `H{value}`, or NULL with err filled.
template <typename H, typename T>
H* make_handle(Result<T>&& r, ipcx_error* err) {
  if (!r) {
    set_error(err, r.error());
    return nullptr;
  }
  H* h = new H{std::move(*r)};  // std::bad_alloc is caught by guarded()
  clear_error(err);
  return h;
}

}  // namespace ipcx::capi
