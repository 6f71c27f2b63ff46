// SPDX-License-Identifier: MIT
// Support for the CLI tests: they drive the installed ipcx, not the build tree's.
//
// Each test suite installs the "cli" component (`cmake --install BUILD --component cli
// --prefix TMP`: the binary, its man page and bash completion) into a unique directory
// once, and removes it after its last test, before the leak check runs.
#pragma once

#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace ipcx::test {

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Single-quoted for /bin/sh.
inline std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct CliResult {
  int status = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

class InstalledCli : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    // IPCX_CLI_PATH is BUILD/bin/ipcx; the build directory is two levels up.
    std::string cli = IPCX_CLI_PATH;
    std::string build = cli.substr(0, cli.rfind('/'));
    build = build.substr(0, build.rfind('/'));
    prefix_ = new std::string(unique_path("prefix"));
    auto r = run(fmt::format("cmake --install {} --component cli --prefix {}", sh_quote(build), sh_quote(*prefix_)));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() {
    if (!prefix_) return;
    std::filesystem::remove_all(*prefix_);
    delete prefix_;
    prefix_ = nullptr;
  }

  static const std::string& prefix() { return *prefix_; }
  static std::string bin() { return *prefix_ + "/bin/ipcx"; }

  // Runs the installed ipcx with `args` (already shell-quoted as needed), standard input
  // from `input` (or /dev/null), and captures stdout and stderr apart.
  static CliResult ipcx(const std::string& args, const std::string& input = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return shell(fmt::format("{} {}", sh_quote(bin()), args), input, timeout);
  }

  // Any command line, with the same capture.
  static CliResult shell(const std::string& command, const std::string& input = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::string out = unique_path("stdout"), err = unique_path("stderr"), in = unique_path("stdin");
    {
      std::ofstream f(in);
      f << input;
    }
    auto r = run(fmt::format("{} <{} >{} 2>{}", command, in, out, err), timeout);
    CliResult c{r.status, read_text_file(out), read_text_file(err)};
    ::unlink(out.c_str());
    ::unlink(err.c_str());
    ::unlink(in.c_str());
    return c;
  }

  static nlohmann::json json_of(const CliResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
    return j;
  }

 private:
  static inline std::string* prefix_ = nullptr;
};

// "sysv*://0x4abcde??": a glob for every SysV URL made from this process's unique_key().
inline std::string sysv_glob() {
  auto k = static_cast<std::uint32_t>(unique_key());
  return fmt::format("sysv*://0x{:06x}??", k >> 8);
}
// "*ipcxt-<pid>-*": every POSIX name, path or socket this process's unique names make.
inline std::string name_glob() { return fmt::format("*{}*", process_tag()); }

// The object with this URL in `ipcx ls --json` output, or null.
inline nlohmann::json find_url(const nlohmann::json& list, const std::string& url) {
  for (const auto& o : list) {
    if (o.value("url", "") == url) return o;
  }
  return nullptr;
}

inline std::string sysv_url(const char* scheme, std::int32_t key) {
  return fmt::format("{}://0x{:08x}", scheme, static_cast<std::uint32_t>(key));
}

// One object of every kind, made with the plain system calls (no ipcx code), as a C
// program would. create_and_use() runs in a child: it makes each object and keeps using it
// (attached, open, mapped, listening) until the child exits.
struct PlainObjects {
  std::int32_t shm_key = unique_key();
  std::int32_t sem_key = unique_key();
  std::int32_t msg_key = unique_key();
  std::string shm_name = unique_posix_name("shm");
  std::string sem_name = unique_posix_name("sem");
  std::string mq_name = unique_posix_name("mq");
  std::string sock_path = unique_path("sock");
  std::string abstract_name = unique_name("abstract");

  PlainObjects() = default;
  PlainObjects(const PlainObjects&) = delete;
  PlainObjects& operator=(const PlainObjects&) = delete;
  // A failed assertion returns early: nothing is left behind either way. (Forked children
  // leave through _exit, so only the test's own process runs this.)
  ~PlainObjects() { remove_all(); }

  static bool mqueue_mounted() {
    struct statfs fs {};
    return ::statfs("/dev/mqueue", &fs) == 0 && fs.f_type == 0x19800202;
  }

  // Returns 0, or the number of the step that failed.
  int create_and_use() const {
    int shm = ::shmget(shm_key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (shm < 0 || ::shmat(shm, nullptr, 0) == reinterpret_cast<void*>(-1)) return 1;
    int sem = ::semget(sem_key, 2, IPC_CREAT | IPC_EXCL | 0600);
    sembuf up{0, 1, 0};
    if (sem < 0 || ::semop(sem, &up, 1) != 0) return 2;
    int msq = ::msgget(msg_key, IPC_CREAT | IPC_EXCL | 0600);
    struct {
      long type;
      char text[8];
    } msg{7, "hello"};
    if (msq < 0 || ::msgsnd(msq, &msg, 6, 0) != 0) return 3;
    int fd = ::shm_open(shm_name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, 8192) != 0) return 4;
    if (::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED) return 4;
    if (::sem_open(sem_name.c_str(), O_CREAT | O_EXCL, 0600, 1) == SEM_FAILED) return 5;
    mq_attr attr{};
    attr.mq_maxmsg = 4;
    attr.mq_msgsize = 64;
    mqd_t q = ::mq_open(mq_name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == static_cast<mqd_t>(-1) || ::mq_send(q, "x", 1, 3) != 0) return 6;
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock_path.c_str(), sizeof a.sun_path - 1);
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 1) != 0) return 7;
    int as = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un b{};
    b.sun_family = AF_UNIX;
    std::memcpy(b.sun_path + 1, abstract_name.data(), abstract_name.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size());
    if (as < 0 || ::bind(as, reinterpret_cast<sockaddr*>(&b), len) != 0 || ::listen(as, 1) != 0) return 8;
    return 0;
  }

  // Removes whatever is left, with the plain calls; safe to call twice.
  void remove_all() const {
    if (int id = ::shmget(shm_key, 0, 0); id >= 0) ::shmctl(id, IPC_RMID, nullptr);
    if (int id = ::semget(sem_key, 0, 0); id >= 0) ::semctl(id, 0, IPC_RMID);
    if (int id = ::msgget(msg_key, 0); id >= 0) ::msgctl(id, IPC_RMID, nullptr);
    ::shm_unlink(shm_name.c_str());
    ::sem_unlink(sem_name.c_str());
    ::mq_unlink(mq_name.c_str());
    ::unlink(sock_path.c_str());
  }

  std::vector<std::string> object_urls() const {
    std::vector<std::string> v{sysv_url("sysvshm", shm_key), sysv_url("sysvsem", sem_key),
                               sysv_url("sysvmq", msg_key), "posixshm://" + shm_name, "posixsem://" + sem_name};
    if (mqueue_mounted() || ::geteuid() == 0) v.push_back("posixmq://" + mq_name);
    return v;
  }
  // The two queues hold a message nobody has read: never stale, whoever made them (ipcx rm
  // --stale keeps them for a reader); the other objects hold no unread message.
  std::vector<std::string> unread_urls() const {
    std::vector<std::string> v{sysv_url("sysvmq", msg_key)};
    if (mqueue_mounted() || ::geteuid() == 0) v.push_back("posixmq://" + mq_name);
    return v;
  }
  std::vector<std::string> no_unread_urls() const {
    std::vector<std::string> v;
    auto unread = unread_urls();
    for (auto& u : object_urls()) {
      if (std::find(unread.begin(), unread.end(), u) == unread.end()) v.push_back(u);
    }
    return v;
  }
  std::string socket_url() const { return "unix://" + sock_path; }
  std::string abstract_url() const { return "unixpacket:@" + abstract_name; }
};

// A child that runs `body`, reports its result over a pipe, then lives until release()
// (or the parent's end of the pipe closes). No sleeps: the pipe orders everything.
class Holder {
 public:
  explicit Holder(std::function<int()> body, bool stay) {
    int ready[2], hold[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(hold, O_CLOEXEC) != 0) std::abort();
    child_.emplace(Child::spawn([=] {
      ::close(ready[0]);
      ::close(hold[1]);
      int rc = body();
      char c = static_cast<char>(rc);
      if (::write(ready[1], &c, 1) != 1) return 90;
      if (stay) {
        char x;
        while (::read(hold[0], &x, 1) > 0) {
        }
      }
      return rc;
    }));
    pid_ = child_->pid();
    ::close(ready[1]);
    ::close(hold[0]);
    hold_ = hold[1];
    char c = 99;
    if (::read(ready[0], &c, 1) != 1) c = 99;
    ::close(ready[0]);
    result_ = c;
    if (!stay) {
      exit_ = child_->wait();
      ::close(hold_);
      hold_ = -1;
    }
  }
  ~Holder() { release(); }
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;

  int result() const { return result_; }
  pid_t pid() const { return pid_; }
  // Lets the child exit and reaps it; returns its exit status.
  int release() {
    if (hold_ >= 0) {
      ::close(hold_);
      hold_ = -1;
      exit_ = child_->wait();
    }
    return exit_;
  }

 private:
  std::optional<Child> child_;
  pid_t pid_ = -1;
  int hold_ = -1;
  int result_ = 99;
  int exit_ = -1;
};

}  // namespace ipcx::test
