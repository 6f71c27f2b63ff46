// SPDX-License-Identifier: MIT
#include "support/test_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "ipcx/fd.hpp"
#include "ipcx/ring.hpp"

namespace ipcx::test {
namespace {

std::atomic<unsigned> g_counter{0};

unsigned next() { return g_counter.fetch_add(1); }

void scan_dir(const char* dir, const std::string& tag, std::vector<std::string>& out) {
  DIR* d = ::opendir(dir);
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.find(tag) != std::string::npos) out.push_back(fmt::format("{}/{}", dir, name));
  }
  ::closedir(d);
}

void scan_sysv(const char* table, std::vector<std::string>& out) {
  std::ifstream in(fmt::format("/proc/sysvipc/{}", table));
  std::string line;
  std::getline(in, line);  // header
  const std::uint32_t mine = 0x40000000u | ((static_cast<std::uint32_t>(::getpid()) & 0x3fffffu) << 8);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    long long key = 0;
    long long id = 0;
    ls >> key >> id;
    auto k = static_cast<std::uint32_t>(key);
    if ((k & 0xffffff00u) == mine) out.push_back(fmt::format("sysv {} key 0x{:08x} id {}", table, k, id));
  }
}

}  // namespace

std::string process_tag() { return fmt::format("ipcxt-{}-", ::getpid()); }
std::string unique_name(std::string_view what) { return fmt::format("{}{}-{}", process_tag(), next(), what); }
std::string unique_path(std::string_view what) { return "/tmp/" + unique_name(what); }
// fmt rather than "/" + string: g++ 12 at -O3 reports a false -Wrestrict on the latter.
std::string unique_posix_name(std::string_view what) { return fmt::format("/{}", unique_name(what)); }
std::int32_t unique_key() {
  std::uint32_t k = 0x40000000u | ((static_cast<std::uint32_t>(::getpid()) & 0x3fffffu) << 8) | (next() & 0xffu);
  return static_cast<std::int32_t>(k);
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
  return v;
}

std::vector<std::string> leftovers() {
  std::vector<std::string> out;
  const std::string tag = process_tag();
  scan_dir("/tmp", tag, out);
  scan_dir("/dev/shm", tag, out);
  scan_dir("/dev/mqueue", tag, out);
  scan_sysv("msg", out);
  scan_sysv("shm", out);
  scan_sysv("sem", out);
  // Abstract and path Unix sockets still bound by anyone.
  std::ifstream unix_table("/proc/net/unix");
  std::string line;
  while (std::getline(unix_table, line)) {
    if (line.find(tag) != std::string::npos) out.push_back("socket " + line.substr(line.rfind(' ') + 1));
  }
  return out;
}

Child Child::spawn(std::function<int()> body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return Child(pid, pidfd, {});
}

Child Child::exec(std::vector<std::string> argv) {
  std::string out = unique_path("child-output");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);  // dup2 clears CLOEXEC on 1 and 2
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return Child(pid, pidfd, out);
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::exchange(o.pidfd_, -1)), out_path_(std::move(o.out_path_)) {}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (!out_path_.empty()) ::unlink(out_path_.c_str());
}

Gate::Gate() {
  if (::pipe2(fds_, O_CLOEXEC) != 0) std::abort();
}

Gate::~Gate() {
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

void Gate::open(char c) { (void)!::write(fds_[1], &c, 1); }

char Gate::wait(int timeout_ms) {
  pollfd p{fds_[0], POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return 0;
  char c = 0;
  return ::read(fds_[0], &c, 1) == 1 ? c : 0;
}

int Child::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  pollfd p{pidfd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r == 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return -1;
  }
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

void Child::kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string Child::output() const {
  std::ifstream in(out_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run(const std::string& command, std::chrono::milliseconds timeout) {
  auto c = Child::exec({"/bin/sh", "-c", command});
  CommandResult r;
  r.status = c.wait(timeout);
  r.output = c.output();
  return r;
}

std::string cli_path() {
#ifdef IPCX_CLI_PATH
  if (const char* env = std::getenv("IPCX_CLI")) return env;
  return IPCX_CLI_PATH;
#else
  return "ipcx";
#endif
}

Result<Mapping> map_ring_file(const std::string& name) {
  const std::string path = ring_path(name);
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return std::unexpected(Error::from_errno("open", errno, path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(Error::from_errno("fstat", errno, path));
  return Mapping::map(fd.get(), static_cast<std::size_t>(st.st_size), Access::read_write, 0, 0, path);
}

}  // namespace ipcx::test
