// libFuzzer: a hostile peer's bytes on a framed stream. Whatever arrives, the reader
// returns whole messages no larger than its maximum, or an error; never a crash, an
// over-read or an allocation of the announced size.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "framing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 60000) return 0;  // stay within one pipe buffer so the write cannot block
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return 0;
  ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 16);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fds[1], data + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fds[1]);
  constexpr std::size_t kMax = 4096;
  ipcx::detail::FramedStream s(fds[0], -1, kMax, "fuzz");
  std::vector<std::byte> small(16);
  for (int i = 0; i < 10000; ++i) {
    // Alternate the two receive paths: into a short buffer, and into owned memory.
    if (i % 2 == 0) {
      auto r = s.receive(small, ipcx::Deadline::immediate());
      if (r) {
        if (*r > small.size()) __builtin_trap();
        continue;
      }
      if (r.error().kind() == ipcx::Errc::message_too_large) {
        if (r.error().size() > kMax) __builtin_trap();
        continue;
      }
      break;
    }
    auto m = s.receive_message(ipcx::Deadline::immediate());
    if (!m) break;
    if (m->size() > kMax) __builtin_trap();
  }
  ::close(fds[0]);
  return 0;
}
