// SPDX-License-Identifier: MIT
// The ipcx command behaves the same way in every subcommand: exit codes, short options,
// error lines, --timeout, the version, stat with several targets, and what ls says about
// objects that have no mode or cannot be read. Driven through the installed binary.
#include <map>
#include <regex>
#include <sstream>

#include <ipcx/version.h>

#include "cli_support.hpp"

namespace ipcx::test {
namespace {

class CliConsistency : public InstalledCli {};

const char* const kCommands[] = {"send", "recv", "listen", "bridge", "ls", "stat", "rm", "doctor"};

TEST_F(CliConsistency, VersionIsIpcxAndTheLibraryVersion) {
  for (const char* flag : {"--version", "-V"}) {
    auto r = ipcx(flag);
    EXPECT_EQ(r.status, 0) << flag;
    EXPECT_EQ(r.out, "ipcx " IPCX_VERSION_STRING "\n") << flag;
  }
}

TEST_F(CliConsistency, ABadUrlIsAUsageErrorInEveryCommand) {
  const std::string fifo = unique_path("fifo");
  const std::pair<const char*, std::string> cases[] = {
      {"send", "send 'nope://x' hi"},
      {"recv", "recv 'nope://x' --timeout 1"},
      {"listen", "listen 'nope://x' --timeout 1"},
      {"bridge", "bridge -u 'nope://x' 'fifo://" + fifo + "'"},
      {"stat", "stat 'nope://x'"},
      {"rm", "rm 'nope://x'"},
      // An option the scheme does not take is a bad URL too.
      {"send option", "send 'fifo://" + fifo + "?bogus=1' hi --timeout 1"},
      {"recv option", "recv 'fifo://" + fifo + "?bogus=1' --timeout 1"},
  };
  for (const auto& [what, args] : cases) {
    auto r = ipcx(args);
    EXPECT_EQ(r.status, 2) << what << ": " << r.err;
    EXPECT_TRUE(r.err.starts_with("ipcx: ")) << what << ": " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(fifo));
}

// Every "-x,--long" pair in every command's --help: one short option, one long meaning.
TEST_F(CliConsistency, AShortOptionMeansOneThingInEveryCommand) {
  std::map<std::string, std::string> meaning;  // "-t" -> "--timeout"
  const std::regex pair(R"((^|[\s,])(-[A-Za-z]),(--[a-z][a-z-]*))");
  std::size_t seen = 0;
  for (const char* cmd : kCommands) {
    auto h = ipcx(std::string(cmd) + " --help");
    ASSERT_EQ(h.status, 0) << cmd;
    for (std::sregex_iterator it(h.out.begin(), h.out.end(), pair), end; it != end; ++it) {
      const std::string s = (*it)[2], l = (*it)[3];
      if (s == "-h") continue;
      ++seen;
      auto [at, fresh] = meaning.emplace(s, l);
      EXPECT_EQ(at->second, l) << s << " is " << at->second << " elsewhere but " << l << " in " << cmd;
    }
  }
  EXPECT_GT(seen, 5u) << "no short options found: the help format changed";
  EXPECT_EQ(meaning["-t"], "--timeout");
  EXPECT_EQ(meaning["-n"], "--count");
  EXPECT_EQ(meaning["-q"], "--quiet");
}

TEST_F(CliConsistency, ParseErrorsAreIpcxLinesAndExitTwo) {
  const std::string cases[] = {"recv fifo:///tmp/x --bogus", "recv", "ls --type", "stat", "send fifo:///tmp/x -t",
                               "rm -n 1"};
  for (const auto& args : cases) {
    auto r = ipcx(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    std::istringstream lines(r.err);
    std::string line;
    std::size_t n = 0;
    while (std::getline(lines, line)) {
      ++n;
      EXPECT_TRUE(line.starts_with("ipcx: ")) << args << ": " << line;
    }
    EXPECT_GE(n, 1u) << args;
  }
}

TEST_F(CliConsistency, ANegativeTimeoutOrCountIsSaidInWords) {
  for (const char* cmd : {"send", "recv", "listen"}) {
    auto r = ipcx(fmt::format("{} unix:@x --timeout -1", cmd));
    EXPECT_EQ(r.status, 2) << cmd;
    EXPECT_NE(r.err.find("--timeout: takes 0 or more seconds, not -1"), std::string::npos) << cmd << ": " << r.err;
    EXPECT_LT(r.err.size(), 300u) << cmd << ": " << r.err;
  }
  auto c = ipcx("recv unix:@x --count -3");
  EXPECT_EQ(c.status, 2);
  EXPECT_NE(c.err.find("--count: takes 0 or more messages, not -3"), std::string::npos) << c.err;
  EXPECT_LT(c.err.size(), 300u) << c.err;
}

TEST_F(CliConsistency, RecvTimeoutReadsAsEnglish) {
  const std::string fifo = unique_path("fifo");
  auto none = ipcx("recv 'fifo://" + fifo + "?remove=1' --timeout 0.1");
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("timed out after 0 messages"), std::string::npos) << none.err;
  EXPECT_EQ(none.err.find("any"), std::string::npos) << none.err;
  auto counted = ipcx("recv 'fifo://" + fifo + "?remove=1' --count 1 --timeout 0.1");
  EXPECT_EQ(counted.status, 1);
  EXPECT_NE(counted.err.find("timed out after 0 of 1 messages"), std::string::npos) << counted.err;
}

TEST_F(CliConsistency, RawOnAMessageQueueSendsAndReceivesWithoutComplaint) {
  if (!PlainObjects::mqueue_mounted() && ::geteuid() != 0) GTEST_SKIP() << "/dev/mqueue is not mounted";
  const std::string name = unique_posix_name("raw");
  auto s = ipcx("send --raw 'posixmq://" + name + "' hello --timeout 5");
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.err.find("framing"), std::string::npos) << s.err;
  auto r = ipcx("recv --raw 'posixmq://" + name + "' --count 1 --timeout 5");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello");  // --raw: no newline added
  ::mq_unlink(name.c_str());
}

TEST_F(CliConsistency, BenchHelpNamesIpcxBench) {
  auto r = ipcx("bench --help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ipcx bench"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ipcx-bench [OPTIONS]"), std::string::npos) << r.out;
}

TEST_F(CliConsistency, StatTakesSeveralTargets) {
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, true);
  ASSERT_EQ(child.result(), 0);
  const std::string shm = "posixshm://" + objs.shm_name, sem = "posixsem://" + objs.sem_name;

  auto both = ipcx("stat " + shm + " " + sem);
  EXPECT_EQ(both.status, 0) << both.err;
  EXPECT_NE(both.out.find("url        " + shm), std::string::npos) << both.out;
  EXPECT_NE(both.out.find(sem), std::string::npos) << both.out;

  auto json = ipcx("stat --json " + shm + " " + sem);
  ASSERT_EQ(json.status, 0) << json.err;
  auto arr = json_of(json);
  ASSERT_TRUE(arr.is_array()) << json.out;
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["url"], shm);
  EXPECT_EQ(arr[1]["url"], sem);
  auto one = json_of(ipcx("stat --json " + shm));
  EXPECT_TRUE(one.is_object()) << "one target still prints one object";

  // A bad target among good ones: reported, the others still shown, exit 2.
  auto mixed = ipcx("stat " + shm + " 'nope://x'");
  EXPECT_EQ(mixed.status, 2) << mixed.err;
  EXPECT_NE(mixed.out.find(shm), std::string::npos) << mixed.out;
  EXPECT_TRUE(mixed.err.starts_with("ipcx: ")) << mixed.err;

  // The pipeline the docs show.
  // In parentheses: shell() redirects the standard input of what it is given.
  auto xargs = shell(fmt::format("({} ls -q --match {} | xargs {} stat)", sh_quote(bin()), sh_quote(name_glob()),
                                 sh_quote(bin())));
  EXPECT_EQ(xargs.status, 0) << xargs.err;
  EXPECT_NE(xargs.out.find(shm), std::string::npos) << xargs.out;
  EXPECT_NE(xargs.out.find(objs.abstract_url()), std::string::npos) << xargs.out;
  child.release();
  objs.remove_all();
}

TEST_F(CliConsistency, AnAbstractSocketHasNoMode) {
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, true);
  ASSERT_EQ(child.result(), 0);
  auto list = json_of(ipcx("ls --json --match " + sh_quote(name_glob())));
  auto abs = find_url(list, objs.abstract_url());
  ASSERT_FALSE(abs.is_null()) << list.dump();
  EXPECT_FALSE(abs.contains("mode")) << abs.dump();
  auto path = find_url(list, objs.socket_url());
  ASSERT_FALSE(path.is_null()) << list.dump();
  EXPECT_TRUE(path.contains("mode")) << path.dump();

  auto table = ipcx("ls --match " + sh_quote(objs.abstract_url()));
  ASSERT_EQ(table.status, 0) << table.err;
  std::istringstream rows(table.out);
  std::string header, row;
  std::getline(rows, header);
  std::getline(rows, row);
  const auto col = header.find("MODE");
  ASSERT_NE(col, std::string::npos) << table.out;
  // The cell under MODE: "-", not a file mode.
  std::istringstream cells(row.substr(col));
  std::string cell;
  cells >> cell;
  EXPECT_EQ(cell, "-") << table.out;
  auto st = ipcx("stat " + objs.abstract_url());
  EXPECT_NE(st.out.find("abstract: no file, no mode"), std::string::npos) << st.out;
  child.release();
  objs.remove_all();
}

// A ring file ls cannot open is "permission denied"; one that is not a ring says so.
TEST_F(CliConsistency, LsTellsPermissionDeniedFromNotARing) {
  const std::string short_name = unique_name("short"), locked_name = unique_name("locked");
  const std::string short_file = "/dev/shm/ipcx.ring." + short_name, locked_file = "/dev/shm/ipcx.ring." + locked_name;
  {
    std::ofstream(short_file) << "not a ring";
    std::ofstream(locked_file) << "whatever is in it";
  }
  ASSERT_EQ(::chmod(locked_file.c_str(), 0), 0);
  // Root reads any file: run ls as nobody there, which may not open a mode-0 file.
  const std::string as = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  if (!as.empty() && shell("command -v setpriv").status != 0) {
    ::unlink(short_file.c_str());
    ::unlink(locked_file.c_str());
    GTEST_SKIP() << "running as root without setpriv";
  }
  auto r = shell(as + sh_quote(bin()) + " ls --type shm --match " + sh_quote(name_glob()));
  ::unlink(short_file.c_str());
  ::unlink(locked_file.c_str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream rows(r.out);
  std::string row, locked_row, short_row;
  while (std::getline(rows, row)) {
    if (row.starts_with("shm://" + locked_name + " ")) locked_row = row;
    if (row.starts_with("shm://" + short_name + " ")) short_row = row;
  }
  EXPECT_NE(locked_row.find("permission denied"), std::string::npos) << r.out;
  EXPECT_EQ(locked_row.find("not a ring"), std::string::npos) << r.out;
  EXPECT_NE(short_row.find("not a ring"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ipcx::test
