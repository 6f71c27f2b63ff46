// SPDX-License-Identifier: MIT
// ipcx doctor through the installed binary: it reports a lowered limit it was shown (a
// fake /proc/sys and /etc tree given with the hidden --sysroot, and a real rlimit lowered
// with prlimit), with a verdict and a fix; table and --json; exit codes.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cli_support.hpp"

namespace ipcx::test {
namespace {

class CliDoctor : public InstalledCli {
 protected:
  void SetUp() override { root_ = unique_path("sysroot"); }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void write(const std::string& rel, const std::string& text) {
    std::string path = root_ + rel;
    std::filesystem::create_directories(path.substr(0, path.rfind('/')));
    std::ofstream(path) << text;
  }

  // A host as the kernel defaults make it, with 64 MiB /dev/shm (a container's) and
  // /dev/mqueue not mounted.
  void default_host(const std::string& msg_max) {
    write("/proc/sys/fs/mqueue/msg_max", msg_max + "\n");
    write("/proc/sys/fs/mqueue/msgsize_max", "8192\n");
    write("/proc/sys/fs/mqueue/queues_max", "256\n");
    write("/proc/sys/fs/mqueue/msg_default", "10\n");
    write("/proc/sys/fs/mqueue/msgsize_default", "8192\n");
    write("/proc/sys/kernel/msgmax", "8192\n");
    write("/proc/sys/kernel/msgmnb", "16384\n");
    write("/proc/sys/kernel/msgmni", "32000\n");
    write("/proc/sys/kernel/shmmax", "18446744073692774399\n");
    write("/proc/sys/kernel/shmall", "18446744073692774399\n");
    write("/proc/sys/kernel/shmmni", "4096\n");
    write("/proc/sys/kernel/shm_rmid_forced", "0\n");
    write("/proc/sys/kernel/sem", "32000\t1024000000\t500\t32000\n");
    write("/proc/mounts", "proc /proc proc rw 0 0\nshm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0\n");
    write("/etc/systemd/logind.conf", "[Login]\n#RemoveIPC=yes\n");
    write("/etc/systemd/logind.conf.d/ipc.conf", "[Login]\nRemoveIPC=no\n");
  }

  static nlohmann::json finding(const nlohmann::json& all, const std::string& name) {
    for (const auto& f : all) {
      if (f["name"] == name) return f;
    }
    return nullptr;
  }

  std::string root_;
};

TEST_F(CliDoctor, ReportsALoweredLimitWithAFix) {
  default_host("5");
  auto r = ipcx("doctor --sysroot " + sh_quote(root_));
  EXPECT_EQ(r.status, 0) << "warnings are not failures: " << r.err;
  // "warn  fs.mqueue.msg_max   5", then its meaning and the fix.
  auto at = r.out.find("warn  fs.mqueue.msg_max");
  ASSERT_NE(at, std::string::npos) << r.out;
  auto block = r.out.substr(at, r.out.find("\nok", at) - at);
  EXPECT_NE(block.find(" 5\n"), std::string::npos) << block;
  EXPECT_NE(block.find("fix: sysctl -w fs.mqueue.msg_max="), std::string::npos) << block;
  EXPECT_NE(r.out.find("ok    fs.mqueue.msgsize_max"), std::string::npos) << r.out;

  auto j = ipcx("doctor --json --sysroot " + sh_quote(root_));
  ASSERT_EQ(j.status, 0) << j.err;
  auto all = json_of(j);
  auto mq = finding(all, "fs.mqueue.msg_max");
  EXPECT_EQ(mq["verdict"], "warn");
  EXPECT_EQ(mq["value"], "5");
  // The same as a number, its unit in the key.
  ASSERT_TRUE(mq["values"]["count"].is_number_unsigned()) << mq.dump();
  EXPECT_EQ(mq["values"]["count"], 5);
  EXPECT_EQ(finding(all, "fs.mqueue.msgsize_max")["values"]["bytes"], 8192);
  EXPECT_EQ(finding(all, "kernel.shmmax")["values"]["bytes"], 18446744073692774399ULL);
  EXPECT_EQ(finding(all, "kernel.shmall")["values"]["pages"], 18446744073692774399ULL);
  auto sem = finding(all, "kernel.sem")["values"];
  EXPECT_EQ(sem, (nlohmann::json{{"semmsl", 32000}, {"semmns", 1024000000}, {"semopm", 500}, {"semmni", 32000}}));
  EXPECT_NE(mq["fix"].get<std::string>().find("sysctl -w fs.mqueue.msg_max="), std::string::npos);
  auto shm = finding(all, "/dev/shm");
  EXPECT_EQ(shm["verdict"], "warn");
  EXPECT_TRUE(shm["value"].get<std::string>().starts_with("64 MiB")) << shm.dump();
  EXPECT_EQ(shm["values"]["mounted"], true) << shm.dump();
  EXPECT_EQ(shm["values"]["size_bytes"], 64ULL << 20) << shm.dump();
  EXPECT_TRUE(shm["values"]["free_bytes"].is_number_unsigned()) << shm.dump();
  EXPECT_EQ(finding(all, "/dev/mqueue")["values"]["mounted"], false);
  EXPECT_NE(shm["fix"].get<std::string>().find("--shm-size"), std::string::npos);
  EXPECT_EQ(finding(all, "/dev/mqueue")["verdict"], "warn");
  EXPECT_NE(finding(all, "/dev/mqueue")["fix"].get<std::string>().find("mount -t mqueue"), std::string::npos);
  auto logind = finding(all, "systemd-logind RemoveIPC");
  EXPECT_EQ(logind["verdict"], "ok");
  EXPECT_NE(logind["value"].get<std::string>().find("ipc.conf"), std::string::npos) << logind.dump();
  EXPECT_EQ(logind["values"], (nlohmann::json{{"logind", true}, {"remove_ipc", false}})) << logind.dump();
  for (const char* name : {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.shmmax", "kernel.shmall",
                           "kernel.shmmni", "kernel.sem", "fs.mqueue.queues_max"}) {
    EXPECT_EQ(finding(all, name)["verdict"], "ok") << name;
  }

  // The same tree at the kernel default: no warning for it.
  default_host("10");
  auto fine = ipcx("doctor --json --sysroot " + sh_quote(root_));
  EXPECT_EQ(finding(json_of(fine), "fs.mqueue.msg_max")["verdict"], "ok");
}

TEST_F(CliDoctor, LoweredSemaphoreLimitsAndRemoveIpcDefault) {
  default_host("10");
  write("/proc/sys/kernel/sem", "250\t32000\t8\t128\n");
  write("/etc/systemd/logind.conf.d/ipc.conf", "[Login]\n");
  auto r = ipcx("doctor --json -q --sysroot " + sh_quote(root_));
  ASSERT_EQ(r.status, 0) << r.err;
  auto all = json_of(r);
  auto sem = finding(all, "kernel.sem");
  EXPECT_EQ(sem["verdict"], "warn");
  EXPECT_NE(sem["detail"].get<std::string>().find("SEMOPM 8 < 32"), std::string::npos) << sem.dump();
  auto logind = finding(all, "systemd-logind RemoveIPC");
  EXPECT_EQ(logind["verdict"], "warn");
  EXPECT_EQ(logind["value"], "yes (default)");
  for (const auto& f : all) EXPECT_NE(f["verdict"], "ok") << "-q shows only problems: " << f.dump();
}

TEST_F(CliDoctor, MissingDevShmFails) {
  default_host("10");
  write("/proc/mounts", "proc /proc proc rw 0 0\n");
  auto r = ipcx("doctor --sysroot " + sh_quote(root_));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("fail  /dev/shm"), std::string::npos) << r.out;
}

TEST_F(CliDoctor, RealHostAndALoweredRlimit) {
  auto r = ipcx("doctor --json");
  ASSERT_TRUE(r.status == 0 || r.status == 1) << r.err;
  auto all = json_of(r);
  for (const char* name : {"/dev/shm", "/dev/mqueue", "fs.mqueue.msg_max", "fs.mqueue.msgsize_max",
                           "fs.mqueue.queues_max", "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.shmmax",
                           "kernel.shmall", "kernel.shmmni", "kernel.sem", "RLIMIT_MSGQUEUE", "RLIMIT_MEMLOCK",
                           "systemd-logind RemoveIPC"}) {
    auto f = finding(all, name);
    ASSERT_FALSE(f.is_null()) << name;
    EXPECT_FALSE(f["value"].get<std::string>().empty()) << name;
    if (f["verdict"] != "ok") {
      EXPECT_FALSE(f["fix"].get<std::string>().empty()) << "no fix for " << f.dump();
    }
  }

  auto low = shell(fmt::format("prlimit --msgqueue=4096 --memlock=65536 {} doctor --json", sh_quote(bin())));
  ASSERT_TRUE(low.status == 0 || low.status == 1) << low.err;
  auto lowered = json_of(low);
  auto mq = finding(lowered, "RLIMIT_MSGQUEUE");
  EXPECT_EQ(mq["verdict"], "warn");
  EXPECT_TRUE(mq["value"].get<std::string>().starts_with("4 KiB")) << mq.dump();
  EXPECT_EQ(mq["values"]["soft_bytes"], 4096) << mq.dump();
  EXPECT_EQ(finding(lowered, "RLIMIT_MEMLOCK")["values"]["soft_bytes"], 65536);
  EXPECT_NE(mq["fix"].get<std::string>().find("ulimit -q"), std::string::npos);
  EXPECT_EQ(finding(lowered, "RLIMIT_MEMLOCK")["verdict"], "warn");
}

TEST_F(CliDoctor, BadSysrootIsAnError) {
  auto r = ipcx("doctor --sysroot " + sh_quote(root_ + "/absent"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("absent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ipcx::test
