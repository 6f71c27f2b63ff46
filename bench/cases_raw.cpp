// SPDX-License-Identifier: MIT
// Raw rows: each kernel mechanism driven by the plain system-call loop a careful C
// programmer writes (blocking calls, fixed-size messages, no library), the baseline of the
// ipcx row of the same mechanism.
#include <arpa/inet.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <cstring>

#include <fmt/format.h>

#include "cases.hpp"
#include "links.hpp"

namespace ipcx::bench {
namespace {

// --- pipe ----------------------------------------------------------------------------

class RawPipe final : public Case {
 public:
  RawPipe() : Case("pipe", "raw", "kernel", "two pipes, blocking read/write") {}
  Res<void> prepare(const RunSpec&) override {
    for (auto* p : {up_, down_}) {
      if (::pipe2(p, O_CLOEXEC) != 0) return failed_errno("pipe2", errno);
    }
    return {};
  }
  void after_fork() override { close_all(); }
  void cleanup(const RunSpec&) override { close_all(); }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    auto l = std::make_unique<StreamLink>(OwnedFd(std::exchange(up_[0], -1)), OwnedFd(std::exchange(down_[1], -1)));
    close_all();
    return l;
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override {
    auto l = std::make_unique<StreamLink>(OwnedFd(std::exchange(down_[0], -1)), OwnedFd(std::exchange(up_[1], -1)));
    close_all();
    return l;
  }

 private:
  void close_all() {
    for (int* p : {up_, down_}) {
      for (int i = 0; i < 2; ++i) {
        if (p[i] >= 0) ::close(p[i]);
        p[i] = -1;
      }
    }
  }
  int up_[2] = {-1, -1};    // client -> server
  int down_[2] = {-1, -1};  // server -> client
};

// --- fifo ----------------------------------------------------------------------------

class RawFifo final : public Case {
 public:
  RawFifo() : Case("fifo", "raw", "kernel", "two FIFOs, blocking open/read/write") {}
  Res<void> prepare(const RunSpec& spec) override {
    up_ = tmp_path(spec, "up.fifo");
    down_ = tmp_path(spec, "down.fifo");
    for (const auto& p : {up_, down_}) {
      if (::mkfifo(p.c_str(), 0600) != 0) return failed_errno("mkfifo " + p, errno);
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    // Both sides open "up" first: each open blocks until the other end is opened.
    int r = ::open(up_.c_str(), O_RDONLY | O_CLOEXEC);
    if (r < 0) return failed_errno("open " + up_, errno);
    OwnedFd rfd(r);
    int w = ::open(down_.c_str(), O_WRONLY | O_CLOEXEC);
    if (w < 0) return failed_errno("open " + down_, errno);
    return std::make_unique<StreamLink>(std::move(rfd), OwnedFd(w));
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override {
    int w = ::open(up_.c_str(), O_WRONLY | O_CLOEXEC);
    if (w < 0) return failed_errno("open " + up_, errno);
    OwnedFd wfd(w);
    int r = ::open(down_.c_str(), O_RDONLY | O_CLOEXEC);
    if (r < 0) return failed_errno("open " + down_, errno);
    return std::make_unique<StreamLink>(OwnedFd(r), std::move(wfd));
  }
  void cleanup(const RunSpec&) override {
    for (const auto& p : {up_, down_}) {
      if (!p.empty()) ::unlink(p.c_str());
    }
  }

 private:
  std::string up_, down_;
};

// --- unix sockets --------------------------------------------------------------------

Res<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return failed("socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

class RawUnix final : public Case {
 public:
  RawUnix(std::string name, int type, std::string note)
      : Case(std::move(name), "raw", "kernel", std::move(note)), type_(type) {}

  std::string skip_reason(std::size_t size) const override {
    if (type_ == SOCK_STREAM) return {};
    return limit_unix_dgram(size, type_ == SOCK_SEQPACKET);
  }
  Res<void> prepare(const RunSpec& spec) override {
    server_path_ = tmp_path(spec, "server.sock");
    client_path_ = tmp_path(spec, "client.sock");
    return {};
  }
  Res<void> server_setup(const RunSpec&, std::string&) override {
    int fd = ::socket(AF_UNIX, type_ | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed_errno("socket", errno);
    sock_.reset(fd);
    auto a = unix_address(server_path_);
    if (!a) return std::unexpected(a.error());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&*a), sizeof *a) != 0) return failed_errno("bind " + server_path_, errno);
    if (type_ != SOCK_DGRAM && ::listen(fd, 1) != 0) return failed_errno("listen", errno);
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override {
    if (type_ == SOCK_DGRAM) return std::make_unique<DatagramLink>(std::move(sock_), true);
    int c;
    do {
      c = ::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    if (c < 0) return failed_errno("accept", errno);
    sock_.reset();
    if (type_ == SOCK_STREAM) return std::make_unique<StreamLink>(OwnedFd(c));
    return std::make_unique<DatagramLink>(OwnedFd(c), false);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override {
    int fd = ::socket(AF_UNIX, type_ | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed_errno("socket", errno);
    OwnedFd s(fd);
    if (type_ == SOCK_DGRAM) {  // the server replies to this address
      auto me = unix_address(client_path_);
      if (!me) return std::unexpected(me.error());
      if (::bind(fd, reinterpret_cast<sockaddr*>(&*me), sizeof *me) != 0) {
        return failed_errno("bind " + client_path_, errno);
      }
    }
    auto a = unix_address(server_path_);
    if (!a) return std::unexpected(a.error());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&*a), sizeof *a) != 0) {
      return failed_errno("connect " + server_path_, errno);
    }
    if (type_ == SOCK_STREAM) return std::make_unique<StreamLink>(std::move(s));
    return std::make_unique<DatagramLink>(std::move(s), false);
  }
  void cleanup(const RunSpec&) override {
    for (const auto& p : {server_path_, client_path_}) {
      if (!p.empty()) ::unlink(p.c_str());
    }
  }

 private:
  int type_;
  std::string server_path_, client_path_;
  OwnedFd sock_;
};

// --- tcp / udp -----------------------------------------------------------------------

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

Res<void> no_delay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) return failed_errno("TCP_NODELAY", errno);
  return {};
}

class RawInet final : public Case {
 public:
  explicit RawInet(bool tcp)
      : Case(tcp ? "tcp" : "udp", "raw", "kernel",
             tcp ? "127.0.0.1, TCP_NODELAY" : "127.0.0.1; one-way with a credit window"),
        tcp_(tcp) {}
  std::string note(std::size_t size) const override {
    if (tcp_) return Case::note(size);
    return fmt::format("127.0.0.1; one-way credit window {}", udp_window(size));
  }
  std::string skip_reason(std::size_t size) const override { return tcp_ ? std::string() : limit_udp(size); }
  Res<void> server_setup(const RunSpec&, std::string& rendezvous) override {
    int fd = ::socket(AF_INET, (tcp_ ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed_errno("socket", errno);
    sock_.reset(fd);
    auto a = loopback(0);  // the kernel picks a free port
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return failed_errno("bind 127.0.0.1:0", errno);
    if (tcp_ && ::listen(fd, 1) != 0) return failed_errno("listen", errno);
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return failed_errno("getsockname", errno);
    rendezvous = std::to_string(ntohs(a.sin_port));
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    if (!tcp_) {
      return std::make_unique<CreditLink>(std::make_unique<DatagramLink>(std::move(sock_), true), false,
                                          udp_window(spec.size));
    }
    int c;
    do {
      c = ::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    if (c < 0) return failed_errno("accept", errno);
    OwnedFd conn(c);
    sock_.reset();
    if (auto r = no_delay(c); !r) return std::unexpected(r.error());
    return std::make_unique<StreamLink>(std::move(conn));
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string& rendezvous) override {
    int fd = ::socket(AF_INET, (tcp_ ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed_errno("socket", errno);
    OwnedFd s(fd);
    auto a = loopback(static_cast<std::uint16_t>(std::stoul(rendezvous)));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      return failed_errno("connect 127.0.0.1:" + rendezvous, errno);
    }
    if (!tcp_) {
      return std::make_unique<CreditLink>(std::make_unique<DatagramLink>(std::move(s), false), true,
                                          udp_window(spec.size));
    }
    if (auto r = no_delay(fd); !r) return std::unexpected(r.error());
    return std::make_unique<StreamLink>(std::move(s));
  }

 private:
  bool tcp_;
  OwnedFd sock_;
};

// --- POSIX message queues ------------------------------------------------------------

class MqLink final : public Link {
 public:
  MqLink(mqd_t tx, mqd_t rx) : tx_(tx), rx_(rx) {}
  ~MqLink() override {
    ::mq_close(tx_);
    ::mq_close(rx_);
  }
  Res<void> send(std::span<const std::byte> msg) override {
    while (::mq_send(tx_, reinterpret_cast<const char*>(msg.data()), msg.size(), 0) != 0) {
      if (errno != EINTR) return failed_errno("mq_send", errno);  // EINTR: nothing was queued
    }
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    for (;;) {
      ssize_t n = ::mq_receive(rx_, reinterpret_cast<char*>(buf.data()), buf.size(), nullptr);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return failed_errno("mq_receive", errno);  // EINTR: nothing was taken
    }
  }

 private:
  mqd_t tx_;
  mqd_t rx_;
};

class RawPosixMq final : public Case {
 public:
  RawPosixMq() : Case("posixmq", "raw", "kernel", fmt::format("mq_send/mq_receive, depth {}", posixmq_depth())) {}
  std::string skip_reason(std::size_t size) const override { return limit_posixmq(size); }
  Res<void> prepare(const RunSpec& spec) override {
    up_ = fmt::format("/{}-up", spec.stem);
    down_ = fmt::format("/{}-down", spec.stem);
    mq_attr attr{};
    attr.mq_maxmsg = posixmq_depth();
    attr.mq_msgsize = static_cast<long>(spec.size);
    for (const auto& n : {up_, down_}) {
      mqd_t q = ::mq_open(n.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
      if (q == static_cast<mqd_t>(-1)) return failed_errno("mq_open " + n, errno);
      made_.push_back(n);
      ::mq_close(q);
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override { return open(down_, up_); }
  Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override { return open(up_, down_); }
  void cleanup(const RunSpec&) override {
    for (const auto& n : made_) ::mq_unlink(n.c_str());
    made_.clear();
  }

 private:
  static Res<std::unique_ptr<Link>> open(const std::string& tx, const std::string& rx) {
    mqd_t t = ::mq_open(tx.c_str(), O_WRONLY | O_CLOEXEC);
    if (t == static_cast<mqd_t>(-1)) return failed_errno("mq_open " + tx, errno);
    mqd_t r = ::mq_open(rx.c_str(), O_RDONLY | O_CLOEXEC);
    if (r == static_cast<mqd_t>(-1)) {
      int e = errno;
      ::mq_close(t);
      return failed_errno("mq_open " + rx, e);
    }
    return std::make_unique<MqLink>(t, r);
  }
  std::string up_, down_;
  std::vector<std::string> made_;
};

// --- System V message queues --------------------------------------------------------

class SysvLink final : public Link {
 public:
  SysvLink(int tx, int rx, std::size_t size) : tx_(tx), rx_(rx), buf_(sizeof(long) + size) {}
  Res<void> send(std::span<const std::byte> msg) override {
    // msgsnd takes { long mtype; char mtext[]; }: the message goes behind the type.
    long type = 1;
    std::memcpy(buf_.data(), &type, sizeof type);
    std::memcpy(buf_.data() + sizeof type, msg.data(), msg.size());
    while (::msgsnd(tx_, buf_.data(), msg.size(), 0) != 0) {
      if (errno != EINTR) return failed_errno("msgsnd", errno);  // EINTR: nothing was queued
    }
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    for (;;) {
      ssize_t n = ::msgrcv(rx_, buf_.data(), buf.size(), 0, 0);
      if (n >= 0) {
        std::memcpy(buf.data(), buf_.data() + sizeof(long), static_cast<std::size_t>(n));
        return static_cast<std::size_t>(n);
      }
      if (errno != EINTR) return failed_errno("msgrcv", errno);  // EINTR: nothing was taken
    }
  }

 private:
  int tx_;
  int rx_;
  std::vector<std::byte> buf_;
};

class RawSysvMq final : public Case {
 public:
  RawSysvMq() : Case("sysvmq", "raw", "kernel", "msgsnd/msgrcv, one queue each way") {}
  std::string skip_reason(std::size_t size) const override { return limit_sysvmq(size); }
  Res<void> prepare(const RunSpec&) override {
    for (int* id : {&up_, &down_}) {
      auto q = create_sysv_queue();
      if (!q) return std::unexpected(q.error());
      *id = q->id;
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec& spec) override {
    return std::make_unique<SysvLink>(down_, up_, spec.size);
  }
  Res<std::unique_ptr<Link>> client_link(const RunSpec& spec, const std::string&) override {
    return std::make_unique<SysvLink>(up_, down_, spec.size);
  }
  void cleanup(const RunSpec&) override {
    for (int* id : {&up_, &down_}) {
      if (*id >= 0) ::msgctl(*id, IPC_RMID, nullptr);
      *id = -1;
    }
  }

 private:
  int up_ = -1;
  int down_ = -1;
};

}  // namespace

Res<SysvQueue> create_sysv_queue() {
  // Keys carry the tag 0x5, 22 bits of the driver's pid and a 6-bit counter, so that what
  // a run made can be told apart (and a leak attributed); a key in use is skipped.
  static unsigned counter = 0;
  const auto pid = static_cast<std::uint32_t>(::getpid()) & 0x3fffffu;
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto key = static_cast<key_t>(sysv_key_base() | (pid << 6) | (counter++ & 0x3fu));
    int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    if (id >= 0) return SysvQueue{id, key};
    if (errno != EEXIST) return failed_errno(fmt::format("msgget 0x{:08x}", static_cast<std::uint32_t>(key)), errno);
  }
  return failed("msgget: every key of this run is in use");
}

// --- limits --------------------------------------------------------------------------

std::string limit_udp(std::size_t size) {
  if (size <= 65507) return {};
  return "limit: a UDP/IPv4 datagram carries at most 65,507 bytes";
}

std::string limit_unix_dgram(std::size_t size, bool seqpacket) {
  // The kernel's answer: one message of this size into a fresh socket pair.
  int sv[2];
  if (::socketpair(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_DGRAM) | SOCK_CLOEXEC, 0, sv) != 0) return {};
  std::vector<std::byte> buf(size);
  ssize_t n = ::send(sv[0], buf.data(), size, MSG_DONTWAIT);
  int err = errno;
  ::close(sv[0]);
  ::close(sv[1]);
  if (n >= 0 || err != EMSGSIZE) return {};
  long long wmem = read_proc_number("net/core/wmem_default").value_or(0);
  return fmt::format("limit: a unix {} is at most the send buffer (net.core.wmem_default {} B); "
                     "raise it with SO_SNDBUF or sysctl",
                     seqpacket ? "seqpacket record" : "datagram", wmem);
}

long posixmq_depth() {
  return static_cast<long>(std::min<long long>(10, read_proc_number("fs/mqueue/msg_max").value_or(10)));
}

std::string limit_posixmq(std::size_t size) {
  // The kernel's answer for the two queues a run makes (RLIMIT_MSGQUEUE counts both).
  mq_attr attr{};
  attr.mq_maxmsg = posixmq_depth();
  attr.mq_msgsize = static_cast<long>(size);
  std::string names[2] = {fmt::format("/{}probe-a", name_prefix()), fmt::format("/{}probe-b", name_prefix())};
  int err = 0;
  int made = 0;
  for (auto& n : names) {
    mqd_t q = ::mq_open(n.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
    if (q == static_cast<mqd_t>(-1)) {
      err = errno;
      break;
    }
    ++made;
    ::mq_close(q);
  }
  for (int i = 0; i < made; ++i) ::mq_unlink(names[i].c_str());
  if (err == 0) return {};
  long long msgsize_max = read_proc_number("fs/mqueue/msgsize_max").value_or(0);
  rlimit rl{};
  ::getrlimit(RLIMIT_MSGQUEUE, &rl);
  if (err == EINVAL && static_cast<long long>(size) > msgsize_max) {
    return fmt::format("limit: message size {} > fs.mqueue.msgsize_max {} (raise it with sysctl)", size, msgsize_max);
  }
  if (err == EMFILE || err == ENOMEM) {
    return fmt::format("limit: 2 queues x {} messages x {} B exceed RLIMIT_MSGQUEUE {} B (raise it with ulimit -q)",
                       attr.mq_maxmsg, size, static_cast<long long>(rl.rlim_cur));
  }
  return fmt::format("limit: mq_open with {} x {} B: {}", attr.mq_maxmsg, size, std::strerror(err));
}

std::string limit_sysvmq(std::size_t size) {
  long long msgmax = read_proc_number("kernel/msgmax").value_or(8192);
  long long msgmnb = read_proc_number("kernel/msgmnb").value_or(16384);
  if (static_cast<long long>(size) > msgmax) {
    return fmt::format("limit: message size {} > kernel.msgmax {} (raise it with sysctl)", size, msgmax);
  }
  if (static_cast<long long>(size) > msgmnb) {
    return fmt::format("limit: message size {} > kernel.msgmnb {} (raise it with sysctl)", size, msgmnb);
  }
  return {};
}

void add_kernel_raw(CaseList& out) {
  out.push_back(std::make_unique<RawPipe>());
  out.push_back(std::make_unique<RawFifo>());
  out.push_back(std::make_unique<RawUnix>("unix", SOCK_STREAM, "AF_UNIX stream, blocking"));
  out.push_back(std::make_unique<RawUnix>("unixgram", SOCK_DGRAM, "AF_UNIX datagram, blocking"));
  out.push_back(std::make_unique<RawUnix>("unixpacket", SOCK_SEQPACKET, "AF_UNIX seqpacket, blocking"));
  out.push_back(std::make_unique<RawInet>(true));
  out.push_back(std::make_unique<RawInet>(false));
  out.push_back(std::make_unique<RawPosixMq>());
  out.push_back(std::make_unique<RawSysvMq>());
}

}  // namespace ipcx::bench
