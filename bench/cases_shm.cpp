// SPDX-License-Identifier: MIT
// Shared-memory rows measured with raw primitives: the floor (spin), the futex floor, and
// eventfd. All three move the message through the same ring of slots in an anonymous
// shared mapping (one ring per direction) with one memcpy on each side; only the way a
// process waits differs. That makes the floor the lower bound of every other row: any
// transport has to at least copy the message in and out and tell the other side.
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "cases.hpp"

namespace ipcx::bench {
namespace {

enum class Wait : std::uint8_t { spin, futex, eventfd };

// One direction. Producer and consumer fields sit on their own cache lines so that only
// the line being handed over moves between the cores.
struct alignas(64) RingHeader {
  alignas(64) std::atomic<std::uint64_t> head;            // messages published (producer)
  alignas(64) std::atomic<std::uint32_t> head_word;       // futex word: low 32 bits of head
  std::atomic<std::uint32_t> consumer_waiting;
  alignas(64) std::atomic<std::uint64_t> tail;            // messages consumed (consumer)
  alignas(64) std::atomic<std::uint32_t> tail_word;       // futex word: low 32 bits of tail
  std::atomic<std::uint32_t> producer_waiting;
};
static_assert(sizeof(RingHeader) == 4 * 64);

long futex(std::atomic<std::uint32_t>* w, int op, std::uint32_t val) {
  // Shared (not FUTEX_PRIVATE_FLAG): the word is in memory shared by two processes.
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), op, val, nullptr, nullptr, 0);
}

std::size_t slot_bytes(std::size_t size) { return (size + 63) & ~std::size_t{63}; }
std::size_t slots_for(std::size_t size) {
  // Deep enough for one-way throughput, bounded to a few MiB per direction.
  std::size_t n = (4u << 20) / slot_bytes(size);
  return std::clamp<std::size_t>(n, 2, 64);
}

class RingEnd {
 public:
  RingEnd(RingHeader* h, std::byte* slots, std::size_t nslots, std::size_t size, Wait w, int efd_data,
          int efd_space)
      : h_(h), slots_(slots), n_(nslots), size_(size), stride_(slot_bytes(size)), wait_(w), efd_data_(efd_data),
        efd_space_(efd_space) {}

  Res<void> push(std::span<const std::byte> msg) {
    std::uint64_t head = h_->head.load(std::memory_order_relaxed);  // only this process writes it
    // The consumer's tail is read only when the ring looks full by the last value seen, so
    // a send does not pull the consumer's cache line across every time (as SPSC queues do).
    while (head - tail_seen_ >= n_) {
      tail_seen_ = h_->tail.load(std::memory_order_acquire);
      if (head - tail_seen_ < n_) break;
      if (auto r = wait_space(head); !r) return r;
    }
    std::memcpy(slots_ + (head % n_) * stride_, msg.data(), msg.size());
    h_->head.store(head + 1, std::memory_order_release);  // publishes the slot's bytes
    return signal_data(head + 1);
  }

  Res<std::size_t> pop(std::span<std::byte> buf) {
    std::uint64_t tail = h_->tail.load(std::memory_order_relaxed);  // only this process writes it
    while (h_->head.load(std::memory_order_acquire) == tail) {
      if (auto r = wait_data(tail); !r) return std::unexpected(std::move(r.error()));
    }
    std::memcpy(buf.data(), slots_ + (tail % n_) * stride_, size_);
    h_->tail.store(tail + 1, std::memory_order_release);  // the slot may be reused
    if (auto r = signal_space(tail + 1); !r) return std::unexpected(std::move(r.error()));
    return size_;
  }

 private:
  // The waiter sets its flag, then looks again; the other side publishes, then reads the
  // flag. All four are seq_cst, so at least one of them sees the other: no lost wake-up.
  Res<void> wait_data(std::uint64_t tail) {
    switch (wait_) {
      case Wait::spin: cpu_relax(); return {};
      case Wait::futex: {
        h_->consumer_waiting.store(1, std::memory_order_seq_cst);
        std::uint32_t w = h_->head_word.load(std::memory_order_seq_cst);
        if (h_->head.load(std::memory_order_seq_cst) == tail) {
          // EAGAIN (the word moved) and EINTR both just mean: look again.
          if (futex(&h_->head_word, FUTEX_WAIT, w) != 0 && errno != EAGAIN && errno != EINTR) {
            return failed_errno("futex wait", errno);
          }
        }
        h_->consumer_waiting.store(0, std::memory_order_relaxed);
        return {};
      }
      case Wait::eventfd: {
        // Every message writes the counter, so a read never misses one; a count left from
        // messages already taken only makes the loop look again.
        std::uint64_t v;
        if (::read(efd_data_, &v, sizeof v) < 0 && errno != EINTR) return failed_errno("read eventfd", errno);
        return {};
      }
    }
    return {};
  }
  Res<void> signal_data(std::uint64_t head) {
    switch (wait_) {
      case Wait::spin: return {};
      case Wait::futex:
        h_->head_word.store(static_cast<std::uint32_t>(head), std::memory_order_seq_cst);
        if (h_->consumer_waiting.load(std::memory_order_seq_cst) != 0) {
          if (futex(&h_->head_word, FUTEX_WAKE, 1) < 0) return failed_errno("futex wake", errno);
        }
        return {};
      case Wait::eventfd: {
        std::uint64_t one = 1;
        if (::write(efd_data_, &one, sizeof one) < 0) return failed_errno("write eventfd", errno);
        return {};
      }
    }
    return {};
  }
  Res<void> wait_space(std::uint64_t head) {
    if (wait_ == Wait::spin) {
      cpu_relax();
      return {};
    }
    h_->producer_waiting.store(1, std::memory_order_seq_cst);
    std::uint32_t w = h_->tail_word.load(std::memory_order_seq_cst);
    if (head - h_->tail.load(std::memory_order_seq_cst) >= n_) {
      if (wait_ == Wait::futex) {
        if (futex(&h_->tail_word, FUTEX_WAIT, w) != 0 && errno != EAGAIN && errno != EINTR) {
          return failed_errno("futex wait", errno);
        }
      } else {
        std::uint64_t v;
        if (::read(efd_space_, &v, sizeof v) < 0 && errno != EINTR) return failed_errno("read eventfd", errno);
      }
    }
    h_->producer_waiting.store(0, std::memory_order_relaxed);
    return {};
  }
  Res<void> signal_space(std::uint64_t tail) {
    if (wait_ == Wait::spin) return {};
    h_->tail_word.store(static_cast<std::uint32_t>(tail), std::memory_order_seq_cst);
    if (h_->producer_waiting.load(std::memory_order_seq_cst) == 0) return {};
    if (wait_ == Wait::futex) {
      if (futex(&h_->tail_word, FUTEX_WAKE, 1) < 0) return failed_errno("futex wake", errno);
    } else {
      std::uint64_t one = 1;
      if (::write(efd_space_, &one, sizeof one) < 0) return failed_errno("write eventfd", errno);
    }
    return {};
  }

  RingHeader* h_;
  std::byte* slots_;
  std::size_t n_;
  std::size_t size_;
  std::size_t stride_;
  Wait wait_;
  int efd_data_;
  int efd_space_;
  std::uint64_t tail_seen_ = 0;  // producer: the consumer's tail when last read
};

class RingLink final : public Link {
 public:
  RingLink(RingEnd tx, RingEnd rx) : tx_(tx), rx_(rx) {}
  Res<void> send(std::span<const std::byte> msg) override { return tx_.push(msg); }
  Res<std::size_t> receive(std::span<std::byte> buf) override { return rx_.pop(buf); }

 private:
  RingEnd tx_;
  RingEnd rx_;
};

class RingCase final : public Case {
 public:
  RingCase(std::string name, std::string wait_label, Wait w, std::string note)
      : Case(std::move(name), "raw", std::move(wait_label), std::move(note)), wait_(w) {}

  Res<void> prepare(const RunSpec& spec) override {
    nslots_ = slots_for(spec.size);
    dir_bytes_ = sizeof(RingHeader) + nslots_ * slot_bytes(spec.size);
    auto r = SharedRegion::make(2 * dir_bytes_);
    if (!r) return std::unexpected(std::move(r.error()));
    region_ = std::move(*r);
    for (int d = 0; d < 2; ++d) new (region_.data() + d * dir_bytes_) RingHeader{};
    if (wait_ == Wait::eventfd) {
      for (int& fd : efd_) {
        fd = ::eventfd(0, EFD_CLOEXEC);
        if (fd < 0) return failed_errno("eventfd", errno);
      }
    }
    return {};
  }
  void after_fork() override { release(); }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override { return end(spec, 1, 0); }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override { return end(spec, 0, 1); }
  void cleanup(const RunSpec&) override { release(); }

 private:
  // Direction 0 carries client -> server, direction 1 server -> client.
  Res<std::unique_ptr<Link>> end(const RunSpec& spec, int tx, int rx) {
    auto make = [&](int d) {
      auto* base = region_.data() + static_cast<std::size_t>(d) * dir_bytes_;
      return RingEnd(reinterpret_cast<RingHeader*>(base), base + sizeof(RingHeader), nslots_, spec.size, wait_,
                     efd_[2 * d], efd_[2 * d + 1]);
    };
    return std::make_unique<RingLink>(make(tx), make(rx));
  }
  void release() {
    region_.reset();
    for (int& fd : efd_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }

  Wait wait_;
  std::size_t nslots_ = 0;
  std::size_t dir_bytes_ = 0;
  SharedRegion region_;
  int efd_[4] = {-1, -1, -1, -1};  // per direction: data, space
};

}  // namespace

std::unique_ptr<Case> make_floor() {
  return std::make_unique<RingCase>("floor", "spin", Wait::spin,
                                    "both spin on shared cache lines; one memcpy each side");
}

void add_shared_memory_raw(CaseList& out) {
  out.push_back(make_floor());
  out.push_back(std::make_unique<RingCase>("futex-floor", "kernel", Wait::futex,
                                           "futex wait/wake on the same ring (waiter flag)"));
  out.push_back(std::make_unique<RingCase>("eventfd", "kernel", Wait::eventfd,
                                           "payload in a shared ring; blocking read(2) of an eventfd wakes"));
  out.push_back(make_skipped(
      "eventfd", "ipcx", "kernel", "no eventfd:// Channel: eventfd is how the shm ring's wait=poll wakes (see the shm poll row)"));
}

}  // namespace ipcx::bench
