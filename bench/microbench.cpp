// SPDX-License-Identifier: MIT
// ipcx-microbench: single-process hot paths, with Google Benchmark.
//   BM_UrlParse/*          Url::parse of typical URLs
//   BM_FramedStream/N      one N-byte message framed, written to a pipe, read and unframed
//                          (framing.hpp encode + decode, two system calls included)
//   BM_FramedStreamBatch/N a batch of N-byte messages (as many as fill 32 KiB, at most 64)
//                          framed into one write, then decoded from one read into a
//                          MessageBatch's slots (FrameCodec::send_batch / receive_batch);
//                          items are messages, to compare with BM_FramedStream's one each
//   BM_RingCopy/N          shm ring: send (loan, memcpy, commit) then receive (copy out),
//                          one process holding both ends, wait=spin (never waits here)
//   BM_RingZeroCopy/N      shm ring: loan + commit, read + release, no copy
//   BM_Memcpy/N            one plain memcpy of N bytes between two buffers: the unit in
//                          which ipcx-bench's shm rows are read (the floor and the Channel
//                          rows copy twice a hop, shm-zc once)
// The cross-process numbers are ipcx-bench's; these isolate the library's own work.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "framing.hpp"
#include "ipcx/ring.hpp"
#include "ipcx/url.hpp"

namespace {

void BM_UrlParse(benchmark::State& state, const char* url) {
  for (auto _ : state) {
    auto u = ipcx::Url::parse(url);
    benchmark::DoNotOptimize(u);
    if (!u) state.SkipWithError("parse failed");
  }
}
BENCHMARK_CAPTURE(BM_UrlParse, shm, "shm://orders");
BENCHMARK_CAPTURE(BM_UrlParse, posixmq_options, "posixmq:///orders?maxmsg=10&msgsize=256&mode=0600");
BENCHMARK_CAPTURE(BM_UrlParse, tcp_ipv6, "tcp://[::1]:5555");
BENCHMARK_CAPTURE(BM_UrlParse, unix_abstract, "unix:@ipcx-demo");

void BM_FramedStream(benchmark::State& state) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    state.SkipWithError("pipe2 failed");
    return;
  }
  {
    auto n = static_cast<std::size_t>(state.range(0));
    ipcx::detail::FramedStream tx(-1, p[1], n, "bench");
    ipcx::detail::FramedStream rx(p[0], -1, n, "bench");
    std::vector<std::byte> msg(n, std::byte{0x5a});
    std::vector<std::byte> buf(n);
    for (auto _ : state) {
      auto s = tx.send(msg, ipcx::Deadline::immediate());
      auto r = rx.receive(buf, ipcx::Deadline::immediate());
      if (!s || !r || *r != n) {
        state.SkipWithError("framed send/receive failed");
        break;
      }
      benchmark::DoNotOptimize(buf.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  }
  ::close(p[0]);
  ::close(p[1]);
}
BENCHMARK(BM_FramedStream)->Arg(64)->Arg(1024)->Arg(16 * 1024);

void BM_FramedStreamBatch(benchmark::State& state) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    state.SkipWithError("pipe2 failed");
    return;
  }
  {
    const auto n = static_cast<std::size_t>(state.range(0));
    // Within the pipe's 64 KiB, so that a batch always goes out whole.
    const std::size_t count = std::clamp<std::size_t>((32 * 1024) / (n + ipcx::detail::kFrameHeader), 1, 64);
    ipcx::detail::FramedStream tx(-1, p[1], n, "bench");
    ipcx::detail::FramedStream rx(p[0], -1, n, "bench");
    std::vector<std::vector<std::byte>> msgs(count, std::vector<std::byte>(n, std::byte{0x5a}));
    std::vector<std::span<const std::byte>> views(msgs.begin(), msgs.end());
    std::vector<std::byte> slots(count * n);
    std::vector<ipcx::detail::FrameCodec::Frame> frames(count);
    for (auto _ : state) {
      auto s = tx.send_batch(views, ipcx::Deadline::immediate());
      std::size_t got = 0;
      while (got < count) {
        auto r = rx.receive_batch(std::span(slots).subspan(got * n), n, std::span(frames).subspan(got),
                                  ipcx::Deadline::immediate());
        if (!r) break;
        got += *r;
      }
      if (!s.all() || s.sent != count || got != count) {
        state.SkipWithError("framed batch send/receive failed");
        break;
      }
      benchmark::DoNotOptimize(slots.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * count * n));
  }
  ::close(p[0]);
  ::close(p[1]);
}
BENCHMARK(BM_FramedStreamBatch)->Arg(64)->Arg(1024)->Arg(16 * 1024);

// Both ends of one ring in this process; the ring's name is removed when they close.
struct RingPair {
  std::string name = fmt::format("ipcxb-{}-micro", ::getpid());
  std::optional<ipcx::RingProducer> tx;
  std::optional<ipcx::RingConsumer> rx;
  explicit RingPair(benchmark::State& state) {
    ipcx::RingOptions o;
    o.wait = ipcx::WaitStrategy::spin;
    auto c = ipcx::RingConsumer::open(name, o);
    auto p = ipcx::RingProducer::open(name, o);
    if (!c || !p) {
      state.SkipWithError("ring open failed");
      return;
    }
    rx.emplace(std::move(*c));
    tx.emplace(std::move(*p));
  }
  ~RingPair() {
    tx.reset();
    rx.reset();
    (void)ipcx::remove_ring(name);
  }
};

void BM_RingCopy(benchmark::State& state) {
  RingPair ring(state);
  if (!ring.tx) return;
  auto n = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> msg(n, std::byte{0x5a});
  std::vector<std::byte> buf(n);
  for (auto _ : state) {
    auto s = ring.tx->send(msg);
    auto r = ring.rx->receive(buf);
    if (!s || !r || r->size != n) {
      state.SkipWithError("ring send/receive failed");
      break;
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_RingCopy)->Arg(64)->Arg(1024)->Arg(16 * 1024);

void BM_RingZeroCopy(benchmark::State& state) {
  RingPair ring(state);
  if (!ring.tx) return;
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    auto loan = ring.tx->loan(n);
    if (!loan) {
      state.SkipWithError("loan failed");
      break;
    }
    loan->data()[0] = std::byte{1};
    if (!ring.tx->commit(std::move(*loan), n)) {
      state.SkipWithError("commit failed");
      break;
    }
    auto view = ring.rx->read();
    if (!view || view->data().size() != n) {
      state.SkipWithError("read failed");
      break;
    }
    benchmark::DoNotOptimize(view->data()[0]);
  }
}
BENCHMARK(BM_RingZeroCopy)->Arg(64)->Arg(16 * 1024);

void BM_Memcpy(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  // Both buffers 64-byte aligned: glibc's memcpy is several times slower on some CPUs when
  // source and destination differ in their low address bits (two malloc'ed vectors of
  // 4 KiB sit 4 KiB + 16 bytes apart), which is not the price of a copy.
  const std::size_t span = (n + 63) / 64 * 64;
  auto* src = static_cast<std::byte*>(std::aligned_alloc(64, span));
  auto* dst = static_cast<std::byte*>(std::aligned_alloc(64, span));
  if (!src || !dst) {
    std::free(src);
    std::free(dst);
    state.SkipWithError("aligned_alloc failed");
    return;
  }
  std::memset(src, 0x5a, n);
  std::memset(dst, 0, n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(src);
    std::memcpy(dst, src, n);
    benchmark::ClobberMemory();  // the copy is not optimized away
  }
  std::free(src);
  std::free(dst);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Memcpy)->Arg(64)->Arg(4 * 1024)->Arg(1024 * 1024);

}  // namespace

BENCHMARK_MAIN();
