// SPDX-License-Identifier: MIT
// ipcx ls, driven through the installed binary: it finds objects of every kind that a
// plain C child made with the system calls, in the table, in JSON, filtered by type,
// match and staleness.
#include <sstream>

#include "cli_support.hpp"

namespace ipcx::test {
namespace {

class CliLs : public InstalledCli {};

// The table line whose first column is `url`.
std::string line_of(const std::string& table, const std::string& url) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(url + " ")) return line;
  }
  return {};
}

TEST_F(CliLs, FindsEveryKindMadeByPlainCallsWithItsUser) {
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, /*stay=*/true);
  ASSERT_EQ(child.result(), 0) << "the child failed at step " << child.result();

  auto r = ipcx("ls --json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto list = json_of(r);
  ASSERT_TRUE(list.is_array());
  auto urls = objs.object_urls();
  urls.push_back(objs.socket_url());
  urls.push_back(objs.abstract_url());
  for (const auto& url : urls) {
    auto o = find_url(list, url);
    ASSERT_FALSE(o.is_null()) << url << " not listed:\n" << r.out;
    EXPECT_EQ(o["uid"], ::geteuid()) << url;
    EXPECT_EQ(o["state"], "in-use") << url << ": " << o.dump();
    bool child_seen = false;
    for (const auto& p : o["processes"]) {
      if (p["pid"] == child.pid() && p["alive"] == true) child_seen = true;
    }
    EXPECT_TRUE(child_seen) << url << " does not name the child " << child.pid() << ": " << o.dump();
  }
  auto shm = find_url(list, sysv_url("sysvshm", objs.shm_key));
  EXPECT_EQ(shm["type"], "sysvshm");
  EXPECT_EQ(shm["mode"], "0600");
  EXPECT_EQ(shm["size"], 4096);
  EXPECT_EQ(shm["attached"], 1);
  EXPECT_EQ(shm["key"], static_cast<std::uint32_t>(objs.shm_key));
  auto sem = find_url(list, sysv_url("sysvsem", objs.sem_key));
  EXPECT_EQ(sem["nsems"], 2);
  EXPECT_EQ(sem["values"], nlohmann::json::array({1, 0}));
  auto msq = find_url(list, sysv_url("sysvmq", objs.msg_key));
  EXPECT_EQ(msq["depth"], 1);
  EXPECT_EQ(msq["size"], 6);
  auto pshm = find_url(list, "posixshm://" + objs.shm_name);
  EXPECT_EQ(pshm["size"], 8192);
  auto psem = find_url(list, "posixsem://" + objs.sem_name);
  EXPECT_EQ(psem["values"], nlohmann::json::array({1}));
  if (auto mq = find_url(list, "posixmq://" + objs.mq_name); !mq.is_null()) {
    EXPECT_EQ(mq["depth"], 1);
    EXPECT_EQ(mq["capacity"], 4);
    EXPECT_EQ(mq["max_message"], 64);
  }
  auto sock = find_url(list, objs.socket_url());
  EXPECT_EQ(sock["socket_state"], "listening");
  EXPECT_EQ(sock["socket_type"], "stream");
  EXPECT_EQ(find_url(list, objs.abstract_url())["socket_type"], "seqpacket");

  // The table, from the same data: one aligned line per object.
  auto t = ipcx("ls");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(t.out.starts_with("URL ")) << t.out;
  for (const auto& url : urls) {
    auto line = line_of(t.out, url);
    ASSERT_FALSE(line.empty()) << url << " not in the table:\n" << t.out;
    EXPECT_NE(line.find("in-use"), std::string::npos) << line;
    EXPECT_NE(line.find(std::to_string(child.pid())), std::string::npos) << line;
  }
  EXPECT_NE(line_of(t.out, sysv_url("sysvshm", objs.shm_key)).find("1 attached"), std::string::npos);

  child.release();
  objs.remove_all();
}

TEST_F(CliLs, TypeMatchQuietAndStaleFilter) {
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, /*stay=*/true);
  ASSERT_EQ(child.result(), 0);

  auto r = ipcx("ls --json --type sysvshm,posixshm");
  ASSERT_EQ(r.status, 0) << r.err;
  auto list = json_of(r);
  for (const auto& o : list) {
    EXPECT_TRUE(o["type"] == "sysvshm" || o["type"] == "posixshm") << o.dump();
  }
  EXPECT_FALSE(find_url(list, sysv_url("sysvshm", objs.shm_key)).is_null());
  EXPECT_FALSE(find_url(list, "posixshm://" + objs.shm_name).is_null());

  // --quiet prints URLs only; --match narrows to this test's names.
  auto q = ipcx(fmt::format("ls -q --match {} --match {}", sh_quote(sysv_glob()), sh_quote(name_glob())));
  ASSERT_EQ(q.status, 0) << q.err;
  std::istringstream in(q.out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  auto expected = objs.object_urls();
  expected.push_back(objs.socket_url());
  expected.push_back(objs.abstract_url());
  std::sort(lines.begin(), lines.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected);

  // Everything of ours is in use: --stale shows none of it.
  auto s = ipcx(fmt::format("ls --stale --json --match {} --match {}", sh_quote(sysv_glob()), sh_quote(name_glob())));
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(json_of(s), nlohmann::json::array());

  child.release();
  // The child has gone: now its objects are stale (its socket went with it), except the
  // queues, which hold a message nobody has read.
  auto after = ipcx(fmt::format("ls --stale -q --match {} --match {}", sh_quote(sysv_glob()), sh_quote(name_glob())));
  ASSERT_EQ(after.status, 0) << after.err;
  for (const auto& url : objs.no_unread_urls()) EXPECT_NE(after.out.find(url + "\n"), std::string::npos) << after.out;
  for (const auto& url : objs.unread_urls()) EXPECT_EQ(after.out.find(url + "\n"), std::string::npos) << after.out;
  EXPECT_EQ(after.out.find(objs.socket_url()), std::string::npos);
  objs.remove_all();
}

TEST_F(CliLs, UnknownTypeIsAUsageError) {
  auto r = ipcx("ls --type sysvpipe");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("sysvpipe"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("posixmq"), std::string::npos) << "the error lists the known types: " << r.err;
  EXPECT_TRUE(r.out.empty());
  auto bad = ipcx("ls --bogus");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--bogus"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ipcx::test
