// SPDX-License-Identifier: MIT
// The installed man page and bash completion (generated from the binary's own option
// tables), --help with an example on every command, --version, and usage exit codes.
#include <sstream>

#include "cli_support.hpp"

namespace ipcx::test {
namespace {

class CliGenerated : public InstalledCli {};

// The subcommands `ipcx --help` lists.
std::vector<std::string> subcommands() {
  auto r = InstalledCli::ipcx("--help");
  EXPECT_EQ(r.status, 0);
  std::vector<std::string> out;
  std::istringstream in(r.out);
  bool in_list = false;
  for (std::string l; std::getline(in, l);) {
    if (l.starts_with("Subcommands:")) {
      in_list = true;
      continue;
    }
    if (in_list && l.starts_with("  ")) {
      std::istringstream w(l);
      std::string name;
      w >> name;
      out.push_back(name);
    }
  }
  return out;
}

TEST_F(CliGenerated, EveryCommandHasHelpWithAnExample) {
  auto cmds = subcommands();
  for (const char* c : {"send", "recv", "bridge", "ls", "stat", "rm", "doctor"}) {
    EXPECT_NE(std::find(cmds.begin(), cmds.end(), c), cmds.end()) << c << " missing from --help";
  }
  EXPECT_EQ(std::find(cmds.begin(), cmds.end(), "completion"), cmds.end()) << "generators stay hidden";
  for (const auto& c : cmds) {
    auto r = ipcx(c + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << c << " --help has no example:\n" << r.out;
  }
}

TEST_F(CliGenerated, ManPageDocumentsEveryCommandAndOption) {
  std::string man = read_text_file(prefix() + "/share/man/man1/ipcx.1");
  ASSERT_FALSE(man.empty()) << "share/man/man1/ipcx.1 was not installed";
  EXPECT_TRUE(man.find(".TH IPCX 1") != std::string::npos) << man.substr(0, 200);
  for (const auto& c : subcommands()) {
    EXPECT_NE(man.find(".SS \"ipcx " + c), std::string::npos) << c;
  }
  for (const char* opt : {"\\-\\-stale", "\\-\\-json", "\\-\\-force", "\\-\\-listen", "\\-\\-yes"}) {
    EXPECT_NE(man.find(opt), std::string::npos) << opt;
  }
  EXPECT_NE(man.find(".SH EXIT STATUS"), std::string::npos);
  EXPECT_NE(man.find(".BR ipcrm (1)"), std::string::npos);
  // It is what the installed binary prints now: generated, not kept by hand.
  auto now = ipcx("man");
  EXPECT_EQ(now.status, 0);
  EXPECT_EQ(now.out, man);
  // man(1) renders it without warnings, where man is installed.
  auto render = shell("command -v man >/dev/null || exit 77; MANWIDTH=100 man --warnings -l " +
                      sh_quote(prefix() + "/share/man/man1/ipcx.1"));
  if (render.status != 77) {
    EXPECT_EQ(render.status, 0) << render.err;
    EXPECT_TRUE(render.err.empty()) << render.err;
  }
}

// Completes `line` (words separated by spaces; the last word is being typed).
std::string complete(const std::string& line) {
  std::string script = InstalledCli::prefix() + "/share/bash-completion/completions/ipcx";
  std::string cmd = fmt::format(
      "bash -c {}",
      sh_quote(fmt::format("PATH={}/bin:$PATH; source {}; read -ra COMP_WORDS <<< {}; "
                           "[[ {} == *' ' ]] && COMP_WORDS+=(''); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); "
                           "COMP_LINE={}; _ipcx; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                           sh_quote(InstalledCli::prefix()), sh_quote(script), sh_quote(line), sh_quote(line),
                           sh_quote(line))));
  auto r = InstalledCli::shell(cmd);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

TEST_F(CliGenerated, BashCompletionWalksTheCommands) {
  std::string script = read_text_file(prefix() + "/share/bash-completion/completions/ipcx");
  ASSERT_NE(script.find("complete -F _ipcx ipcx"), std::string::npos);
  EXPECT_EQ(complete("ipcx l"), "listen\nls\n");
  EXPECT_EQ(complete("ipcx ls"), "ls\n");
  EXPECT_EQ(complete("ipcx do"), "doctor\n");
  EXPECT_NE(complete("ipcx ls --").find("--stale\n"), std::string::npos);
  EXPECT_NE(complete("ipcx rm --f").find("--force\n"), std::string::npos);
  std::string types = complete("ipcx ls --type sysv");
  EXPECT_NE(types.find("sysvshm\n"), std::string::npos) << types;
  EXPECT_NE(types.find("sysvmq\n"), std::string::npos) << types;
  EXPECT_NE(complete("ipcx recv posix").find("posixmq://"), std::string::npos);
  // stat and rm complete the objects that exist now.
  PlainObjects objs;
  Holder child([&] { return objs.create_and_use(); }, true);
  ASSERT_EQ(child.result(), 0);
  std::string shm = complete("ipcx stat posixshm:///ipcxt");
  EXPECT_NE(shm.find(objs.shm_name), std::string::npos) << shm;
  child.release();
  objs.remove_all();
}

// Only what the command takes: listen's schemes, no object-only schemes for a channel, no
// top-level option that does not exist.
TEST_F(CliGenerated, BashCompletionOffersNothingThatExitsTwo) {
  EXPECT_EQ(complete("ipcx listen "), "unix://\nunixpacket://\ntcp://\n");
  std::string recv = complete("ipcx recv posix");
  EXPECT_NE(recv.find("posixmq://"), std::string::npos) << recv;
  EXPECT_EQ(recv.find("posixshm://"), std::string::npos) << recv;
  std::string top = complete("ipcx --");
  EXPECT_EQ(top.find("--help-all"), std::string::npos) << top;
  for (const auto& word : {std::string("--help"), std::string("--version")}) {
    EXPECT_NE(top.find(word + "\n"), std::string::npos) << top;
    EXPECT_EQ(ipcx(word).status, 0) << word;
  }
}

// An option is not offered where the command would refuse it: after one it excludes
// (bridge's -u and -U), or a second time when it takes one value (-t). Every scheme a
// channel takes is offered, the engines' included.
TEST_F(CliGenerated, BashCompletionFollowsWhatTheLineAlreadyHas) {
  // The premise: these lines are usage errors.
  EXPECT_EQ(ipcx("bridge -u -U fifo:///nonexistent/a fifo:///nonexistent/b").status, 2);
  EXPECT_EQ(ipcx("recv fifo:///nonexistent/a -t 1 -t 2").status, 2);

  std::string bridge = complete("ipcx bridge -");
  EXPECT_NE(bridge.find("-U\n"), std::string::npos) << bridge;
  EXPECT_NE(bridge.find("-u\n"), std::string::npos) << bridge;
  std::string after_u = complete("ipcx bridge -u -");
  EXPECT_EQ(after_u.find("-U\n"), std::string::npos) << after_u;
  EXPECT_NE(after_u.find("--json\n"), std::string::npos) << after_u;
  std::string after_upper = complete("ipcx bridge fifo:///a -U posixmq:///b -");
  EXPECT_EQ(after_upper.find("-u\n"), std::string::npos) << after_upper;

  std::string recv = complete("ipcx recv fifo:///a --timeout 1 -");
  EXPECT_EQ(recv.find("-t\n"), std::string::npos) << recv;
  EXPECT_EQ(recv.find("--timeout\n"), std::string::npos) << recv;
  EXPECT_NE(recv.find("--count\n"), std::string::npos) << recv;

  EXPECT_EQ(complete("ipcx send zmq"), "zmq+tcp://\nzmq+ipc://\n");
  EXPECT_EQ(complete("ipcx recv na"), "nats://\n");
}

// bridge's endpoints are channels, stdio and exec:COMMAND; only bridge takes the last two.
TEST_F(CliGenerated, BridgeCompletesStdioAndExecBesideTheSchemes) {
  std::string first = complete("ipcx bridge ");
  for (const char* word : {"stdio\n", "exec:\n", "shm://\n", "tcp://\n"}) {
    EXPECT_NE(first.find(word), std::string::npos) << word << " in " << first;
  }
  EXPECT_EQ(complete("ipcx bridge -u stdio ex"), "exec:\n");
  EXPECT_EQ(complete("ipcx bridge st"), "stdio\n");
  std::string send = complete("ipcx send ");
  EXPECT_EQ(send.find("stdio"), std::string::npos) << send;
  EXPECT_EQ(send.find("exec:"), std::string::npos) << send;
  std::string zsh = ipcx("completion zsh").out, fish = ipcx("completion fish").out, man = ipcx("man").out;
  EXPECT_NE(zsh.find("stdio exec:"), std::string::npos);
  EXPECT_NE(fish.find("stdio exec:"), std::string::npos);
  EXPECT_NE(man.find(".B exec:COMMAND"), std::string::npos);
  EXPECT_NE(man.find(".B stdio"), std::string::npos);
}

// zsh and fish completions are installed beside bash's, generated from the same tables,
// and each shell accepts its script where the shell is installed.
TEST_F(CliGenerated, ZshAndFishCompletionsAreInstalledAndParse) {
  const std::string zsh = prefix() + "/share/zsh/site-functions/_ipcx";
  const std::string fish = prefix() + "/share/fish/vendor_completions.d/ipcx.fish";
  std::string zs = read_text_file(zsh), fs = read_text_file(fish);
  ASSERT_TRUE(zs.starts_with("#compdef ipcx")) << zs.substr(0, 200);
  EXPECT_EQ(zs, ipcx("completion zsh").out);
  EXPECT_EQ(fs, ipcx("completion fish").out);
  for (const char* cmd : {"send", "recv", "listen", "bridge", "ls", "stat", "rm", "doctor", "bench"}) {
    EXPECT_NE(zs.find(fmt::format("\n    {})", cmd)), std::string::npos) << cmd;
    EXPECT_NE(fs.find(fmt::format("-a {} -d", cmd)), std::string::npos) << cmd;
  }
  EXPECT_NE(fs.find("-l timeout"), std::string::npos);
  EXPECT_NE(zs.find("--timeout["), std::string::npos);
  EXPECT_NE(zs.find("'(-U)-u["), std::string::npos) << "zsh: -u excludes -U";
  if (shell("command -v zsh").status == 0) {
    auto r = shell("zsh -n " + sh_quote(zsh));
    EXPECT_EQ(r.status, 0) << r.err;
    // Loaded by compinit, the script defines _ipcx.
    auto loaded = shell(fmt::format("zsh -f -c {}", sh_quote(fmt::format(
                                                     "fpath=({} $fpath); autoload -Uz compinit; compinit -u -D; "
                                                     "autoload -Uz _ipcx; whence -w _ipcx",
                                                     sh_quote(prefix() + "/share/zsh/site-functions")))));
    EXPECT_EQ(loaded.status, 0) << loaded.err;
    EXPECT_NE(loaded.out.find("_ipcx: function"), std::string::npos) << loaded.out << loaded.err;
  }
  if (shell("command -v fish").status == 0) {
    auto r = shell("fish -n " + sh_quote(fish));
    EXPECT_EQ(r.status, 0) << r.err;
    // fish completes from the script: commands, and listen's schemes only.
    auto c = shell(fmt::format("fish -N -c {}", sh_quote(fmt::format(
                                                 "source {}; complete -C 'ipcx l'; complete -C 'ipcx listen '",
                                                 sh_quote(fish)))));
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_NE(c.out.find("listen\t"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("ls\t"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("unixpacket://"), std::string::npos) << c.out;
    EXPECT_EQ(c.out.find("posixmq://"), std::string::npos) << c.out;
    // Nor bridge's -U after -u.
    auto u = shell(fmt::format("fish -N -c {}", sh_quote(fmt::format("source {}; complete -C 'ipcx bridge -u -'",
                                                                      sh_quote(fish)))));
    EXPECT_EQ(u.status, 0) << u.err;
    EXPECT_NE(u.out.find("--json"), std::string::npos) << u.out;
    EXPECT_EQ(u.out.find("-U\t"), std::string::npos) << u.out;
  }
}

TEST_F(CliGenerated, VersionAndUsageErrors) {
  auto v = ipcx("--version");
  EXPECT_EQ(v.status, 0);
  EXPECT_FALSE(v.out.empty());
  auto none = ipcx("");
  EXPECT_EQ(none.status, 2);
  EXPECT_FALSE(none.err.empty());
  auto unknown = ipcx("frobnicate");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("frobnicate"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace ipcx::test
