// SPDX-License-Identifier: MIT
// The peer libraries, each compiled in only when found at build time; a peer that was not
// found is a row that says so (skipped), never a number.
#include <fmt/format.h>

#include "cases.hpp"
#include "peers.hpp"

namespace ipcx::bench {
namespace {

[[maybe_unused]] void absent(CaseList& out, const char* name, const char* wait, const char* what,
                             const char* package) {
  out.push_back(make_skipped(
      name, "peer", wait, fmt::format("{} was not found when ipcx-bench was built (apt-get install {}, then rebuild)", what, package)));
}

}  // namespace

std::unique_ptr<Case> make_skipped(std::string name, std::string impl, std::string wait, std::string why) {
  class Skipped final : public Case {
   public:
    Skipped(std::string n, std::string i, std::string w, std::string y)
        : Case(std::move(n), std::move(i), std::move(w)), why_(std::move(y)) {}
    std::string skip_reason(std::size_t) const override { return why_; }
    Res<std::unique_ptr<Link>> server_link(const RunSpec&) override { return skipped(why_); }
    Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override { return skipped(why_); }

   private:
    std::string why_;
  };
  return std::make_unique<Skipped>(std::move(name), std::move(impl), std::move(wait), std::move(why));
}

void add_peers(CaseList& out) {
#if IPCX_BENCH_HAVE_BOOST
  add_boost(out);
#else
  absent(out, "boost-mq", "kernel", "Boost.Interprocess", "libboost-dev");
#endif
#if IPCX_BENCH_HAVE_ZMQ
  add_zmq(out);
#else
  absent(out, "zmq-ipc", "kernel", "libzmq", "libzmq3-dev");
  absent(out, "zmq-tcp", "kernel", "libzmq", "libzmq3-dev");
#endif
#if IPCX_BENCH_HAVE_NNG
  add_nng(out);
#else
  absent(out, "nng-ipc", "kernel", "nng", "libnng-dev");
#endif
#if IPCX_BENCH_HAVE_ICEORYX
  add_iceoryx(out);
#else
  absent(out, "iceoryx", "spin", "iceoryx_posh", "libiceoryx-posh-dev iceoryx");
  absent(out, "iceoryx", "kernel", "iceoryx_posh", "libiceoryx-posh-dev iceoryx");
#endif
}

}  // namespace ipcx::bench
