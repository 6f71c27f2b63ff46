// Openers for schemes whose transport has not landed yet: each returns a clear error. A
// transport that lands deletes its stub here and defines the opener in its own file.
#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"

namespace ipcx::detail {
namespace {
std::unexpected<Error> pending(const Url& url, const char* op) {
  return fail(Errc::not_supported, op, url.text,
              fmt::format("the {}:// transport is not implemented in this version of ipcx", to_string(url.scheme)));
}
}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_shm_ring(const Url& url, bool) { return pending(url, "open"); }

}  // namespace ipcx::detail
