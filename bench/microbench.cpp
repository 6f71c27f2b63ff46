// ipcx-microbench: single-process hot paths, with Google Benchmark.
//   BM_UrlParse/*          Url::parse of typical URLs
//   BM_FramedStream/N      one N-byte message framed, written to a pipe, read and unframed
//                          (framing.hpp encode + decode, two system calls included)
// The cross-process numbers are ipcx-bench's; these isolate the library's own work.
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include <benchmark/benchmark.h>

#include "framing.hpp"
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
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  }
  ::close(p[0]);
  ::close(p[1]);
}
BENCHMARK(BM_FramedStream)->Arg(64)->Arg(1024)->Arg(16 * 1024);

}  // namespace

BENCHMARK_MAIN();
