// SPDX-License-Identifier: MIT
#include "ipcx/fifo.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "ownership.hpp"
#include "pipe_channel.hpp"
#include "sys/io.hpp"

namespace ipcx {

Result<void> make_fifo(const std::string& path, unsigned mode) {
  if (auto v = validate_path(path, "mkfifo"); !v) return v;
  if (auto v = validate_new_name(path, "mkfifo"); !v) return v;
  if (auto r = sys::mkfifo(path.c_str(), mode); !r) return r;
  // mkfifo applies the umask; set exactly what was asked.
  if (auto r = sys::chmod(path.c_str(), mode); !r) {
    (void)sys::unlink(path.c_str());
    return r;
  }
  return {};
}

namespace detail {
namespace {

class FifoChannel final : public PipeChannel {
 public:
  FifoChannel(std::string path, std::size_t max, std::size_t capacity, bool remove_on_close, std::string url)
      : PipeChannel(Fd(), Fd(), false, max, std::move(url)),
        path_(std::move(path)),
        capacity_(capacity),
        remove_(remove_on_close) {}

  ~FifoChannel() override {
    if (remove_) (void)sys::unlink(path_.c_str());
  }

 protected:
  Result<void> ensure_read() override {
    if (read_fd() >= 0) return {};
    // O_NONBLOCK: opening the read end never waits for a writer.
    auto fd = sys::open(path_.c_str(), O_RDONLY | O_NONBLOCK);
    if (!fd) return fail(std::move(fd.error()).with_object(object()));
    if (auto c = check_fifo(fd->get()); !c) return c;
    if (auto c = apply_capacity(fd->get()); !c) return c;
    adopt(std::move(*fd), Fd());
    return {};
  }

  Result<void> ensure_write(Deadline d) override {
    if (write_fd() >= 0) return {};
    // With no reader, a non-blocking open for writing fails with ENXIO; a blocking one
    // would wait with no deadline. Retry with a growing pause until the deadline.
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      auto fd = sys::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd) {
        if (auto c = check_fifo(fd->get()); !c) return c;
        if (auto c = apply_capacity(fd->get()); !c) return c;
        adopt(Fd(), std::move(*fd));
        return {};
      }
      if (fd.error().code() != ENXIO) return fail(std::move(fd.error()).with_object(object()));
      if (d.is_immediate()) return fail(Errc::would_block, "send", object(), "no reader has the FIFO open");
      if (d.expired()) return fail(Errc::timed_out, "send", object(), "no reader opened the FIFO before the deadline");
      auto left = d.remaining();
      std::this_thread::sleep_for(std::min<Deadline::Clock::duration>(pause, left));
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
  }

 private:
  Result<void> check_fifo(int fd) {
    auto st = sys::fstat(fd);
    if (!st) return fail(std::move(st.error()).with_object(object()));
    if (!S_ISFIFO(st->st_mode)) return fail(Errc::invalid_argument, "open", object(), "the path exists and is not a FIFO");
    return {};
  }
  Result<void> apply_capacity(int fd) {
    auto r = size_pipe(fd, capacity_, false);
    if (!r) return fail(std::move(r.error()).with_object(object()));
    return {};
  }

  std::string path_;
  std::size_t capacity_;
  bool remove_;
};

}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_fifo(const Url& url, bool) {
  if (auto c = url.check_options({"mode", "create", "remove", "capacity", "max", "owner"}); !c) {
    return std::unexpected(c.error());
  }
  auto any_owner = owner_any(url);
  if (!any_owner) return std::unexpected(any_owner.error());
  auto mode = url.option_mode("mode", 0600);
  auto create = url.option_bool("create", true);
  auto remove = url.option_bool("remove", false);
  auto capacity = url.option_size("capacity", 0);
  auto max = url.option_size("max", kDefaultMaxMessage);
  if (!mode) return std::unexpected(mode.error());
  if (!create) return std::unexpected(create.error());
  if (!remove) return std::unexpected(remove.error());
  if (!capacity) return std::unexpected(capacity.error());
  if (!max) return std::unexpected(max.error());
  if (*max > UINT32_MAX) {
    return fail(Errc::invalid_argument, "open", url.text, "max must be below 4 GiB (the frame length is 32 bits)");
  }
  bool created = false;
  auto st = sys::stat(url.name.c_str());
  if (st) {
    if (!S_ISFIFO(st->st_mode)) return fail(Errc::invalid_argument, "open", url.text, "the path exists and is not a FIFO");
    if (auto own = check_owner(st->st_uid, *any_owner, url.name, "open"); !own) return std::unexpected(own.error());
  } else if (st.error().code() == ENOENT && *create) {
    auto made = make_fifo(url.name, *mode);
    if (made) {
      created = true;
    } else if (made.error().code() != EEXIST) {  // EEXIST: the peer made it first; use it
      return fail(std::move(made.error()).with_object(url.text));
    } else if (auto again = sys::stat(url.name.c_str()); again) {
      if (auto own = check_owner(again->st_uid, *any_owner, url.name, "open"); !own) return std::unexpected(own.error());
    }
  } else {
    return fail(std::move(st.error()).with_object(url.text));
  }
  return std::make_unique<FifoChannel>(url.name, *max, *capacity, created && *remove, url.text);
}

}  // namespace detail
}  // namespace ipcx
