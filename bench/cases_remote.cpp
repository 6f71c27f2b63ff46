// SPDX-License-Identifier: MIT
// Beyond one host: rows for the engines ipcx rides (docs/beyond-one-host.md), on loopback.
//
//   nats         raw: the NATS C client as its examples use it (natsConnection_Publish,
//                a synchronous subscription read by natsSubscription_NextMsg);
//                ipcx: Channel::bind("nats://127.0.0.1:PORT/SUBJECT") on both sides.
//                One connection per process, both on one subject with no echo, so each
//                side receives what the other publishes.
//   zmq-ipc      ipcx: the zmq+ipc:// and zmq+tcp:// Channels with the patterns of the
//   zmq-tcp      raw libzmq rows (peer_zmq.cpp): REQ/REP round trips, PUSH/PULL one way.
//   bridge-nats  ipcx: shm:// -> `ipcx bridge` -> NATS -> `ipcx bridge` -> shm:// each way
//                (four bridge processes), so that its p50 beside the shm and nats rows is
//                the cost of the hop.
//
// Each NATS row's series runs a nats-server of its own on a free loopback port, started
// and stopped here (how: tests/support/nats_launch.hpp, which the tests share); without
// nats-server installed the rows say skipped. The driver never calls the NATS client
// itself: the client starts threads, which the measuring processes forked from the driver
// would not have.
//
// NATS has no flow control between a publisher and a subscriber (a subscriber that falls
// behind loses messages: "slow consumer"), so the one-way phase of every NATS row runs
// under the same credit window (nats_window).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cases.hpp"
#include "ipcx/channel.hpp"
#include "ipcx/ring.hpp"
#include "links.hpp"
#include "peers.hpp"
#include "support/nats_launch.hpp"

#if IPCX_BENCH_HAVE_NATS
#include <nats/nats.h>
#endif

namespace ipcx::bench {
namespace {

using namespace std::chrono_literals;

// The one-way credit window of the NATS rows: at most 8 MiB in flight, 1024 messages.
std::uint64_t nats_window(std::size_t size) {
  return std::clamp<std::uint64_t>((8u << 20) / size, 2, 1024);
}

// nats-server's default max_payload.
constexpr std::size_t kNatsMaxPayload = 1u << 20;

std::string limit_nats(std::size_t size) {
  if (size > kNatsMaxPayload) return fmt::format("limit: nats-server's default max_payload is {} bytes", kNatsMaxPayload);
  return {};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string last_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// A program this benchmark runs beside a row (nats-server, ipcx bridge): its output goes
// to a log under /tmp, it dies with the driver, and stop() ends it (SIGTERM, then SIGKILL
// after `grace`) and removes the log.
class Helper {
 public:
  Helper() = default;
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  ~Helper() { stop(); }

  Res<void> start(const std::vector<std::string>& argv, const std::string& log) {
    log_ = log;
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return failed_errno("open " + log_, errno);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(fd);
      return failed_errno("fork", errno);
    }
    if (pid_ == 0) {
      for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the driver gone: so is this
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::execv(args[0], args.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      ::_exit(127);
    }
    ::close(fd);
    return {};
  }

  // Whether it has exited (reaped then); its status in `status`.
  bool exited(int& status) {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

  std::string log() const { return log_.empty() ? std::string() : read_file(log_); }

  void stop(std::chrono::milliseconds grace = 5s) {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto until = std::chrono::steady_clock::now() + grace;
      int st = 0;
      bool gone = false;
      while (std::chrono::steady_clock::now() < until) {
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
          gone = true;
          break;
        }
        std::this_thread::sleep_for(5ms);  // polling an exit, not ordering
      }
      if (!gone) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
      }
      pid_ = -1;
    }
    if (!log_.empty()) ::unlink(log_.c_str());
    log_.clear();
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// A nats-server for one series of rows.
class NatsDaemon {
 public:
  Res<void> start() {
    std::string bin = nats_launch::server_path();
    if (bin.empty()) return skipped("nats-server is not installed (apt-get install nats-server)");
    auto s = server_.start(nats_launch::argv(bin), fmt::format("/tmp/{}nats-server.log", name_prefix()));
    if (!s) return s;
    auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      std::string log = server_.log();
      if (auto p = nats_launch::listen_port(log); p != 0) {
        port_ = p;
        return {};
      }
      int st = 0;
      if (server_.exited(st)) {
        std::string why = last_line(log);
        server_.stop();
        return failed(fmt::format("nats-server exited before it listened: {}", why));
      }
      std::this_thread::sleep_for(10ms);  // polling a log, not ordering
    }
    std::string why = last_line(server_.log());
    server_.stop();
    return failed("nats-server did not listen within 15 s: " + why);
  }
  void stop() {
    server_.stop();
    port_ = 0;
  }
  // "127.0.0.1:PORT"
  std::string address() const { return fmt::format("127.0.0.1:{}", port_); }

 private:
  Helper server_;
  std::uint16_t port_ = 0;
};

std::unexpected<Problem> from_error(const Error& e) {
  if (e.kind() == Errc::not_supported) return skipped(e.message());
  return failed(e.message());
}

// One Channel for both directions, or one per direction, as a Link.
class ChannelLink final : public Link {
 public:
  explicit ChannelLink(Channel both) : rx_(std::move(both)) {}
  ChannelLink(Channel rx, Channel tx) : rx_(std::move(rx)), tx_(std::move(tx)) {}
  Res<void> send(std::span<const std::byte> msg) override {
    auto r = (tx_ ? *tx_ : rx_).send(msg);
    if (!r) return failed(r.error().message());
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    auto r = rx_.receive(buf);
    if (!r) return failed(r.error().message());
    return r->size;
  }
  Channel& rx() { return rx_; }
  Channel& tx() { return tx_ ? *tx_ : rx_; }

 private:
  Channel rx_;
  std::optional<Channel> tx_;
};

// --- nats ----------------------------------------------------------------------------

// The subject of one measurement: its unique stem ("ipcxb-PID-N").
std::string nats_subject(const RunSpec& spec) { return spec.stem; }

class IpcxNats final : public Case {
 public:
  IpcxNats() : Case("nats", "ipcx", "kernel") {}
  std::string note(std::size_t size) const override {
    return fmt::format("Channel::bind nats://127.0.0.1/SUBJECT both sides, one subject, no echo; one-way credit window {}",
                       nats_window(size));
  }
  std::string skip_reason(std::size_t size) const override { return limit_nats(size); }
  Res<void> begin_series() override { return daemon_.start(); }
  void end_series() override { daemon_.stop(); }
  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    // bind returns once the server has the subscription: the client's first message finds it.
    auto ch = Channel::bind(url(spec));
    if (!ch) return from_error(ch.error());
    server_.emplace(std::move(*ch));
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    std::unique_ptr<Link> l = std::make_unique<ChannelLink>(std::move(*server_));
    server_.reset();
    return std::make_unique<CreditLink>(std::move(l), false, nats_window(spec.size));
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto ch = Channel::bind(url(spec));
    if (!ch) return from_error(ch.error());
    return std::make_unique<CreditLink>(std::make_unique<ChannelLink>(std::move(*ch)), true, nats_window(spec.size));
  }

 private:
  std::string url(const RunSpec& spec) const {
    return fmt::format("nats://{}/{}", daemon_.address(), nats_subject(spec));
  }
  NatsDaemon daemon_;
  std::optional<Channel> server_;
};

#if IPCX_BENCH_HAVE_NATS
std::unexpected<Problem> nats_failed(std::string_view what, natsStatus st) {
  const char* last = nats_GetLastError(nullptr);
  return failed(fmt::format("{}: {}{}{}", what, natsStatus_GetText(st), last && *last ? ": " : "", last ? last : ""));
}

// One connection with one synchronous subscription: the raw client's plainest loop.
class NatsRawLink final : public Link {
 public:
  ~NatsRawLink() override {
    if (sub_) natsSubscription_Destroy(sub_);
    if (conn_) natsConnection_Destroy(conn_);
  }
  Res<void> connect(const std::string& address, const std::string& subject) {
    subject_ = subject;
    natsOptions* opts = nullptr;
    natsStatus st = natsOptions_Create(&opts);
    std::string url = "nats://" + address;
    if (st == NATS_OK) st = natsOptions_SetURL(opts, url.c_str());
    if (st == NATS_OK) st = natsOptions_SetNoEcho(opts, true);  // each side gets only the other's messages
    if (st == NATS_OK) st = natsConnection_Connect(&conn_, opts);
    natsOptions_Destroy(opts);
    if (st != NATS_OK) return nats_failed("natsConnection_Connect " + url, st);
    st = natsConnection_SubscribeSync(&sub_, conn_, subject_.c_str());
    // The server has the subscription once a flush returns.
    if (st == NATS_OK) st = natsConnection_Flush(conn_);
    if (st != NATS_OK) return nats_failed("natsConnection_SubscribeSync " + subject_, st);
    return {};
  }
  Res<void> send(std::span<const std::byte> msg) override {
    natsStatus st = natsConnection_Publish(conn_, subject_.c_str(), msg.data(), static_cast<int>(msg.size()));
    if (st != NATS_OK) return nats_failed("natsConnection_Publish", st);
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    natsMsg* m = nullptr;
    natsStatus st;
    do {
      st = natsSubscription_NextMsg(&m, sub_, 1000);
    } while (st == NATS_TIMEOUT);
    if (st != NATS_OK) return nats_failed("natsSubscription_NextMsg", st);
    auto size = static_cast<std::size_t>(natsMsg_GetDataLength(m));
    if (size > buf.size()) {
      natsMsg_Destroy(m);
      return failed(fmt::format("natsSubscription_NextMsg: a {}-byte message for a {}-byte buffer", size, buf.size()));
    }
    std::memcpy(buf.data(), natsMsg_GetData(m), size);
    natsMsg_Destroy(m);
    return size;
  }

 private:
  natsConnection* conn_ = nullptr;
  natsSubscription* sub_ = nullptr;
  std::string subject_;
};

class RawNats final : public Case {
 public:
  RawNats() : Case("nats", "raw", "kernel") {}
  std::string note(std::size_t size) const override {
    return fmt::format("NATS C client: Publish + SubscribeSync/NextMsg, one subject, no echo; one-way credit window {}",
                       nats_window(size));
  }
  std::string skip_reason(std::size_t size) const override { return limit_nats(size); }
  Res<void> begin_series() override { return daemon_.start(); }
  void end_series() override { daemon_.stop(); }
  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    server_ = std::make_unique<NatsRawLink>();
    return server_->connect(daemon_.address(), nats_subject(spec));
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    return std::make_unique<CreditLink>(std::move(server_), false, nats_window(spec.size));
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto l = std::make_unique<NatsRawLink>();
    if (auto c = l->connect(daemon_.address(), nats_subject(spec)); !c) return std::unexpected(c.error());
    return std::make_unique<CreditLink>(std::move(l), true, nats_window(spec.size));
  }

 private:
  NatsDaemon daemon_;
  std::unique_ptr<NatsRawLink> server_;
};
#endif

// --- bridge-nats ---------------------------------------------------------------------

// The ipcx CLI: beside ipcx-bench in the build tree, or PREFIX/bin/ipcx for an installed
// PREFIX/libexec/ipcx/ipcx-bench.
std::string ipcx_cli_path() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  self[n] = '\0';
  std::string dir(self);
  dir.erase(dir.rfind('/'));
  for (const std::string& p : {dir + "/ipcx", dir + "/../../bin/ipcx"}) {
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// Messages of the start-up handshake, before the protocol: the path through four bridges
// and a server is whole only once every bridge has subscribed, and NATS drops what it
// publishes before then. The client sends probes until one comes back, then `done`; the
// server answers each probe and `done` (with done_ack, the last message before the
// protocol); the client drops the late answers up to done_ack.
enum class Hello : std::uint32_t { probe = 0x70726f62, answer = 0x616e7377, done = 0x646f6e65, done_ack = 0x61636b21 };

std::vector<std::byte> hello(Hello h) {
  std::vector<std::byte> m(kMinSize);
  auto v = static_cast<std::uint32_t>(h);
  std::memcpy(m.data(), &v, sizeof v);
  return m;
}
std::optional<Hello> hello_of(std::span<const std::byte> m) {
  if (m.size() != kMinSize) return std::nullopt;
  std::uint32_t v = 0;
  std::memcpy(&v, m.data(), sizeof v);
  return static_cast<Hello>(v);
}

constexpr auto kHandshake = 10s;  // well within the harness's 20 s of slack

class BridgeNats final : public Case {
 public:
  BridgeNats() : Case("bridge-nats", "ipcx", "sleep") {}
  std::string note(std::size_t size) const override {
    return fmt::format("shm:// -> ipcx bridge -> nats -> ipcx bridge -> shm:// each way (4 bridges); "
                       "one-way credit window {}",
                       nats_window(size));
  }
  std::string skip_reason(std::size_t size) const override {
#if IPCX_BENCH_IPCX_NATS
    if (ipcx_cli_path().empty()) return "the ipcx CLI is not beside ipcx-bench (build the ipcx target)";
    return limit_nats(size);
#else
    // The bridges would fail to open nats:// (and the driver must not try it: see the top).
    (void)size;
    return "this ipcx was built without nats:// (IPCX_WITH_NATS is OFF)";
#endif
  }
  Res<void> begin_series() override { return daemon_.start(); }
  void end_series() override { daemon_.stop(); }

  Res<void> prepare(const RunSpec& spec) override {
    std::string bin = ipcx_cli_path();
    names_.clear();
    // One ring per hop end; the sides that a bridge reads wait with wait=poll (the bridge
    // polls the ring's eventfd), the measuring processes as the shm row's default (sleep).
    std::string shape = fmt::format("capacity={}&max={}", ring_capacity(spec.size), spec.size);
    for (const char* r : {"c2b", "b2s", "s2b", "b2c"}) names_.push_back(fmt::format("{}-{}", spec.stem, r));
    auto ring = [&](std::size_t i, bool bridge_reads) {
      return fmt::format("shm://{}?{}{}", names_[i], shape, bridge_reads ? "&wait=poll" : "");
    };
    std::string nats = "nats://" + daemon_.address() + "/" + spec.stem;
    client_tx_ = ring(0, false);
    server_rx_ = ring(1, false);
    server_tx_ = ring(2, false);
    client_rx_ = ring(3, false);
    const std::array<std::array<std::string, 2>, 4> hops = {{
        {ring(0, true), nats + ".up"},   // client -> NATS
        {nats + ".up", ring(1, false)},  // NATS -> server
        {ring(2, true), nats + ".down"}, // server -> NATS
        {nats + ".down", ring(3, false)} // NATS -> client
    }};
    for (std::size_t i = 0; i < hops.size(); ++i) {
      auto s = bridges_[i].start({bin, "bridge", "-u", hops[i][0], hops[i][1]},
                                 fmt::format("/tmp/{}-bridge{}.log", spec.stem, i));
      if (!s) return s;
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    auto l = open_link(server_rx_, server_tx_);
    if (!l) return l;
    auto& ch = static_cast<ChannelLink&>(**l);
    std::vector<std::byte> buf(kMinSize * 4);
    auto until = std::chrono::steady_clock::now() + kHandshake;
    for (;;) {
      auto r = ch.rx().receive_until(buf, until);
      if (!r) return failed(handshake_failure("server", r.error().message()));
      auto h = hello_of(std::span(buf).first(r->size));
      if (h == Hello::probe || h == Hello::done) {
        bool done = h == Hello::done;
        if (auto s = ch.tx().send(hello(done ? Hello::done_ack : Hello::answer)); !s) return failed(s.error().message());
        if (done) break;
      }
    }
    return std::move(*l);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override {
    auto l = open_link(client_rx_, client_tx_);
    if (!l) return l;
    auto& ch = static_cast<ChannelLink&>(**l);
    std::vector<std::byte> buf(kMinSize * 4);
    auto until = std::chrono::steady_clock::now() + kHandshake;
    bool answered = false;
    while (!answered) {
      if (auto s = ch.tx().send(hello(Hello::probe)); !s) return failed(s.error().message());
      auto r = ch.rx().receive_for(buf, 50ms);
      if (r) {
        answered = hello_of(std::span(buf).first(r->size)) == Hello::answer;
      } else if (!r.error().timed_out()) {
        return failed(r.error().message());
      } else if (std::chrono::steady_clock::now() > until) {
        return failed(handshake_failure("client", "no probe came back"));
      }
    }
    if (auto s = ch.tx().send(hello(Hello::done)); !s) return failed(s.error().message());
    for (;;) {
      auto r = ch.rx().receive_until(buf, until + kHandshake);
      if (!r) return failed(handshake_failure("client", r.error().message()));
      if (hello_of(std::span(buf).first(r->size)) == Hello::done_ack) break;
    }
    return std::move(*l);
  }
  void cleanup(const RunSpec&) override {
    for (auto& b : bridges_) b.stop(2s);
    for (const auto& n : names_) (void)remove_ring(n);
    names_.clear();
  }

 private:
  std::string handshake_failure(const char* side, const std::string& why) const {
    return fmt::format("{}: the path through the bridges did not open within {} s ({})", side, kHandshake.count(), why);
  }
  static Res<std::unique_ptr<Link>> open_link(const std::string& rx_url, const std::string& tx_url) {
    auto rx = Channel::bind(rx_url);
    if (!rx) return from_error(rx.error());
    auto tx = Channel::open(tx_url);
    if (!tx) return from_error(tx.error());
    return std::make_unique<ChannelLink>(std::move(*rx), std::move(*tx));
  }

  NatsDaemon daemon_;
  std::array<Helper, 4> bridges_;
  std::vector<std::string> names_;
  std::string client_tx_, client_rx_, server_tx_, server_rx_;
};

// --- zmq-ipc, zmq-tcp through ipcx ---------------------------------------------------

#if IPCX_BENCH_HAVE_ZMQ
// REQ/REP for round trips and PUSH/PULL one way, as the raw libzmq row: one Channel each,
// switched at set_mode.
class ZmqChannelLink final : public Link {
 public:
  ZmqChannelLink(Channel rr, Channel pp, bool client) : rr_(std::move(rr)), pp_(std::move(pp)), client_(client) {}
  Res<void> send(std::span<const std::byte> msg) override {
    auto r = (mode_ == Mode::oneway && client_ ? pp_ : rr_).send(msg);
    if (!r) return failed(r.error().message());
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    auto r = (mode_ == Mode::oneway && !client_ ? pp_ : rr_).receive(buf);
    if (!r) return failed(r.error().message());
    return r->size;
  }
  Res<void> set_mode(Mode m) override {
    mode_ = m;
    return {};
  }

 private:
  Channel rr_, pp_;
  bool client_;
  Mode mode_ = Mode::rtt;
};

class IpcxZmq final : public Case {
 public:
  explicit IpcxZmq(bool tcp)
      : Case(tcp ? "zmq-tcp" : "zmq-ipc", "ipcx", "kernel"), tcp_(tcp) {}
  std::string note(std::size_t size) const override {
    std::string n = fmt::format("zmq+{}:// pattern=req/rep + push/pull{}", tcp_ ? "tcp" : "ipc", tcp_ ? ", 127.0.0.1" : "");
    if (zmq_hwm_for(size) != 1000) n += fmt::format(", HWM {}", zmq_hwm_for(size));
    return n;
  }
  Res<void> prepare(const RunSpec& spec) override {
    // ZeroMQ picks a free port only for a socket that binds "*", which no URL names: the
    // ports are picked here, just before the server binds them.
    addresses_.clear();
    paths_.clear();
    for (const char* what : {"rr", "pp"}) {
      if (tcp_) {
        auto port = nats_launch::free_loopback_port(SOCK_STREAM);
        if (port == 0) return failed_errno("bind 127.0.0.1:0", errno);
        addresses_.push_back(fmt::format("zmq+tcp://127.0.0.1:{}", port));
      } else {
        paths_.push_back(tmp_path(spec, fmt::format("{}.zmq", what)));
        addresses_.push_back("zmq+ipc://" + paths_.back());
      }
    }
    return {};
  }
  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    auto rr = Channel::bind(fmt::format("{}?pattern=rep&bind=1", addresses_[0]));
    if (!rr) return from_error(rr.error());
    auto pp = Channel::bind(fmt::format("{}?pattern=pull&bind=1&rcvhwm={}", addresses_[1], zmq_hwm_for(spec.size)));
    if (!pp) return from_error(pp.error());
    server_ = std::make_unique<ZmqChannelLink>(std::move(*rr), std::move(*pp), false);
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override { return std::move(server_); }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    auto rr = Channel::open(fmt::format("{}?pattern=req", addresses_[0]));
    if (!rr) return from_error(rr.error());
    auto pp = Channel::open(fmt::format("{}?pattern=push&sndhwm={}", addresses_[1], zmq_hwm_for(spec.size)));
    if (!pp) return from_error(pp.error());
    return std::make_unique<ZmqChannelLink>(std::move(*rr), std::move(*pp), true);
  }
  void cleanup(const RunSpec&) override {
    for (const auto& p : paths_) ::unlink(p.c_str());
    paths_.clear();
  }

 private:
  bool tcp_;
  std::vector<std::string> addresses_;
  std::vector<std::string> paths_;
  std::unique_ptr<Link> server_;
};
#endif

}  // namespace

void add_remote(CaseList& out) {
#if IPCX_BENCH_HAVE_NATS
  out.push_back(std::make_unique<RawNats>());
#else
  out.push_back(make_skipped("nats", "raw", "kernel", "the NATS C client was not found when ipcx-bench was built "
                                                        "(apt-get install libnats-dev, then rebuild)"));
#endif
  out.push_back(std::make_unique<IpcxNats>());
  out.push_back(std::make_unique<BridgeNats>());
#if IPCX_BENCH_HAVE_ZMQ
  out.push_back(std::make_unique<IpcxZmq>(false));
  out.push_back(std::make_unique<IpcxZmq>(true));
#else
  for (const char* n : {"zmq-ipc", "zmq-tcp"}) {
    out.push_back(make_skipped(n, "ipcx", "kernel", "libzmq was not found when ipcx-bench was built "
                                                      "(apt-get install libzmq3-dev, then rebuild)"));
  }
#endif
}

}  // namespace ipcx::bench
