// SPDX-License-Identifier: MIT
// iceoryx, the zero-copy reference: untyped publisher/subscriber through shared memory
// managed by its RouDi daemon, which the benchmark starts for the iceoryx rows and stops
// after them, removing every object it leaves. Two rows: busy polling take() (spin), and a
// WaitSet (a semaphore underneath: kernel), as iceoryx's examples show both.
//
// Each message is copied into a loaned chunk and out of the received chunk, as every other
// row copies it in and out of its transport; the payload itself never moves between the
// processes. Flow control for the one-way phase: the subscriber asks the publisher to
// block when its queue is full (BLOCK_PRODUCER / WAIT_FOR_CONSUMER), the queue depth chosen
// so the default RouDi mempools never run out.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "links.hpp"
#include "peers.hpp"

namespace ipcx::bench {
namespace {

using namespace std::chrono_literals;

// RouDi's default mempools: chunk payload size and count. A row's chunks come from the
// smallest pool that holds its size.
struct Pool {
  std::size_t payload;
  std::uint64_t count;
};
constexpr Pool kDefaultPools[] = {{128, 10000},       {1024, 5000},       {16384, 1000},   {131072, 200},
                                  {524288, 50},       {1048576, 30},      {4194304, 10}};
constexpr std::size_t kLargestChunk = 4194304;

std::uint64_t queue_depth(std::size_t size) {
  // The subscriber's queue may hold every chunk of the pool but the few the two sides
  // hold at once (a loan, a chunk being read, the replies): deeper, loan() would fail.
  for (const auto& p : kDefaultPools) {
    if (size <= p.payload) return std::clamp<std::uint64_t>(p.count > 8 ? p.count - 8 : 1, 1, 256);
  }
  return 1;
}

std::string find_in_path(const char* prog) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string p = dir + "/" + prog;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// RouDi for one series of rows. Objects it makes that did not exist before it started
// are removed after it stops (it removes them itself on SIGINT; this covers a crash).
class Roudi {
 public:
  Res<void> start() {
    bin_ = find_in_path("iox-roudi");
    if (bin_.empty()) return skipped("iox-roudi not found in PATH (apt-get install iceoryx)");
    const char* user = "";
    if (passwd* pw = ::getpwuid(::geteuid())) user = pw->pw_name;
    objects_ = {"/dev/shm/iceoryx_mgmt", fmt::format("/dev/shm/{}", user), "/tmp/roudi", "/tmp/roudi.lock",
                "/tmp/iox-unique-roudi.lock"};
    struct stat st{};
    if (::stat("/dev/shm/iceoryx_mgmt", &st) == 0) {
      return skipped("another RouDi is running (or a crashed one left /dev/shm/iceoryx_mgmt); "
                     "the benchmark starts its own and would disturb it");
    }
    existed_.clear();
    for (const auto& o : objects_) {
      if (::lstat(o.c_str(), &st) == 0) existed_.push_back(o);
    }
    log_ = fmt::format("/tmp/{}roudi.log", name_prefix());
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return failed_errno("open " + log_, errno);
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(fd);
      return failed_errno("fork", errno);
    }
    if (pid_ == 0) {
      // An ignored signal stays ignored across exec: RouDi must stop on SIGINT.
      for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
      ::prctl(PR_SET_PDEATHSIG, SIGINT);  // the driver gone: RouDi shuts down and cleans up
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::execl(bin_.c_str(), "iox-roudi", "-l", "info", static_cast<char*>(nullptr));
      std::fprintf(stderr, "exec %s: %s\n", bin_.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    ::close(fd);
    // Ready when it says so; it needs a moment to reserve its shared memory.
    auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      std::string log = read_log();
      if (log.find("RouDi is ready for clients") != std::string::npos) return {};
      int st2 = 0;
      if (::waitpid(pid_, &st2, WNOHANG) == pid_) {
        pid_ = -1;
        remove_leftovers();
        return skipped(fmt::format("iox-roudi could not start (exit status {}): {}",
                                   WIFEXITED(st2) ? WEXITSTATUS(st2) : 128 + WTERMSIG(st2), last_line(log)));
      }
      std::this_thread::sleep_for(20ms);
    }
    std::string log = read_log();
    stop();
    return skipped("iox-roudi did not say it was ready within 15 s: " + last_line(log));
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGINT);  // RouDi's documented way to stop: it releases its memory
      auto until = std::chrono::steady_clock::now() + 10s;
      int st = 0;
      bool gone = false;
      while (std::chrono::steady_clock::now() < until) {
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
          gone = true;
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
      if (!gone) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
      }
      pid_ = -1;
    }
    remove_leftovers();
  }

 private:
  std::string read_log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::string last_line(std::string log) {
    while (!log.empty() && (log.back() == '\n' || log.back() == ' ')) log.pop_back();
    auto nl = log.rfind('\n');
    std::string line = nl == std::string::npos ? log : log.substr(nl + 1);
    // Strip colour escapes.
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\x1b') {
        while (i < line.size() && line[i] != 'm') ++i;
        continue;
      }
      out += line[i];
    }
    return out.empty() ? "(no output)" : out;
  }
  void remove_leftovers() {
    for (const auto& o : objects_) {
      if (std::find(existed_.begin(), existed_.end(), o) == existed_.end()) ::unlink(o.c_str());
    }
    if (!log_.empty()) ::unlink(log_.c_str());
  }

  std::string bin_;
  std::string log_;
  pid_t pid_ = -1;
  std::vector<std::string> objects_;
  std::vector<std::string> existed_;
};

iox::capro::IdString_t id_string(std::string_view s) {
  // With the length given: the overload without it copies the whole capacity.
  return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, s.data(), s.size());
}

iox::capro::ServiceDescription topic(const std::string& stem, std::string_view event) {
  return {id_string("ipcx-bench"), id_string(stem), id_string(event)};
}

struct Ports {
  std::unique_ptr<iox::popo::UntypedPublisher> pub;
  std::unique_ptr<iox::popo::UntypedSubscriber> sub;
};

Ports make_ports(const std::string& stem, std::size_t size, const char* pub_event, const char* sub_event) {
  iox::popo::PublisherOptions po;
  po.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
  iox::popo::SubscriberOptions so;
  so.queueCapacity = queue_depth(size);
  so.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
  Ports p;
  p.pub = std::make_unique<iox::popo::UntypedPublisher>(topic(stem, pub_event), po);
  p.sub = std::make_unique<iox::popo::UntypedSubscriber>(topic(stem, sub_event), so);
  return p;
}

void init_runtime(const std::string& name) {
  // Its default is verbose; errors still show (and a failed row says why).
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kError,
                                                           iox::log::LogLevelOutput::kHideLogLevel);
  iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.data(), name.size()));
}

Res<void> wait_for_subscriber(iox::popo::UntypedPublisher& pub) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!pub.hasSubscribers()) {
    if (std::chrono::steady_clock::now() > until) return failed("iceoryx: the peer's subscriber did not connect in 10 s");
    std::this_thread::sleep_for(1ms);
  }
  return {};
}

class IceoryxLink final : public Link {
 public:
  IceoryxLink(Ports p, bool spin) : p_(std::move(p)), spin_(spin) {
    if (!spin_) {
      ws_ = std::make_unique<iox::popo::WaitSet<>>();
      attached_ = !ws_->attachState(*p_.sub, iox::popo::SubscriberState::HAS_DATA).has_error();
    }
  }
  ~IceoryxLink() override {
    if (ws_ && attached_) ws_->detachState(*p_.sub, iox::popo::SubscriberState::HAS_DATA);
  }
  Res<void> send(std::span<const std::byte> msg) override {
    auto chunk = p_.pub->loan(static_cast<std::uint32_t>(msg.size()));
    if (chunk.has_error()) {
      return failed(fmt::format("iceoryx loan of {} bytes failed (error {}): no mempool of the RouDi config holds it",
                                msg.size(), static_cast<int>(chunk.get_error())));
    }
    void* p = chunk.value();
    std::memcpy(p, msg.data(), msg.size());
    p_.pub->publish(p);
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    if (!spin_ && !attached_) return failed("iceoryx: WaitSet attachState failed");
    for (;;) {
      auto r = p_.sub->take();
      if (!r.has_error()) {
        const void* p = r.value();
        std::size_t n = iox::mepoo::ChunkHeader::fromUserPayload(p)->userPayloadSize();
        if (n > buf.size()) {
          p_.sub->release(p);
          return failed(fmt::format("iceoryx: a {}-byte chunk for a {}-byte buffer", n, buf.size()));
        }
        std::memcpy(buf.data(), p, n);
        p_.sub->release(p);
        return n;
      }
      if (r.get_error() != iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) {
        return failed(fmt::format("iceoryx take failed (error {})", static_cast<int>(r.get_error())));
      }
      if (spin_) {
        cpu_relax();
      } else {
        (void)ws_->wait();
      }
    }
  }

 private:
  Ports p_;
  bool spin_;
  std::unique_ptr<iox::popo::WaitSet<>> ws_;
  bool attached_ = false;
};

class Iceoryx final : public Case {
 public:
  explicit Iceoryx(bool spin)
      : Case("iceoryx", "peer", spin ? "spin" : "kernel",
             spin ? "untyped pub/sub, busy-polling take()" : "untyped pub/sub, WaitSet"),
        spin_(spin) {}
  std::string note(std::size_t size) const override {
    return fmt::format("{}; queue {}, BLOCK_PRODUCER; RouDi default config", Case::note(size), queue_depth(size));
  }
  std::string skip_reason(std::size_t size) const override {
    if (size <= kLargestChunk) return {};
    return fmt::format("limit: RouDi's default mempools hold messages up to {} B", kLargestChunk);
  }
  Res<void> begin_series() override { return roudi_.start(); }
  void end_series() override { roudi_.stop(); }
  Res<void> prepare(const RunSpec& spec) override {
    stem_ = spec.stem;
    return {};
  }
  void cleanup(const RunSpec&) override {
    // Each runtime's socket and lock in /tmp; its own exit removes them, a killed process
    // leaves them.
    for (const char* side : {"-s", "-c"}) {
      for (const char* ext : {"", ".lock"}) ::unlink(fmt::format("/tmp/{}{}{}", stem_, side, ext).c_str());
    }
  }
  Res<void> server_setup(const RunSpec& spec, std::string&) override {
    init_runtime(stem_ + "-s");
    server_ = make_ports(stem_, spec.size, "pong", "ping");
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    if (auto r = wait_for_subscriber(*server_.pub); !r) return std::unexpected(r.error());
    return std::make_unique<IceoryxLink>(std::move(server_), spin_);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    init_runtime(stem_ + "-c");
    Ports p = make_ports(stem_, spec.size, "ping", "pong");
    if (auto r = wait_for_subscriber(*p.pub); !r) return std::unexpected(r.error());
    return std::make_unique<IceoryxLink>(std::move(p), spin_);
  }

 private:
  bool spin_;
  Roudi roudi_;
  std::string stem_;
  Ports server_;
};

}  // namespace

void add_iceoryx(CaseList& out) {
  out.push_back(std::make_unique<Iceoryx>(true));
  out.push_back(std::make_unique<Iceoryx>(false));
}

}  // namespace ipcx::bench
