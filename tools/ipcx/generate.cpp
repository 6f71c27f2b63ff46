// SPDX-License-Identifier: MIT
// Hidden subcommands that print what is generated from the CLI itself, so the bash
// completion and the man page cannot drift from the options the binary takes:
//   ipcx completion bash   a bash completion script (installed to share/bash-completion)
//   ipcx completion zsh    a zsh one (share/zsh/site-functions/_ipcx)
//   ipcx completion fish   a fish one (share/fish/vendor_completions.d/ipcx.fish)
//   ipcx man               ipcx(1) in roff (installed to share/man/man1)
// Both walk the CLI11 App: every visible subcommand, its options and positionals, its
// description and footer (examples).
#include <cstdio>
#include <memory>
#include <algorithm>

#include <fmt/format.h>

#include "commands.hpp"
#include "ipcx/inspect.hpp"
#include "ipcx/version.hpp"

namespace ipcx::cli {
namespace {

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
}

// Options a user sees in --help, without --help itself.
std::vector<const CLI::Option*> visible_options(const CLI::App& cmd, bool positional) {
  return cmd.get_options([positional](const CLI::Option* o) {
    const auto& l = o->get_lnames();
    bool help = std::find(l.begin(), l.end(), "help") != l.end();
    return !help && !o->get_group().empty() && o->get_positional() == positional && o->nonpositional() != positional;
  });
}

bool takes_value(const CLI::Option* o) { return o->get_expected_max() != 0; }  // flags expect 0
bool many(const CLI::Option* o) { return o->get_items_expected_max() > 1; }

std::vector<std::string> option_names(const CLI::Option* o) {
  std::vector<std::string> out;
  for (const auto& s : o->get_snames()) out.push_back("-" + s);
  for (const auto& l : o->get_lnames()) out.push_back("--" + l);
  return out;
}

// CLI11's type names ("INT:POSITIVE", "FLOAT:NONNEGATIVE", "TEXT") as a man page says them.
std::string value_name(const CLI::Option* o) {
  std::string t = o->get_type_name();
  t = t.substr(0, t.find(':'));
  const auto& l = o->get_lnames();
  if (std::find(l.begin(), l.end(), "timeout") != l.end()) return "SECONDS";
  if (t == "INT" || t == "UINT") return "N";
  if (t == "FLOAT") return "NUMBER";
  if (t.empty() || t == "TEXT") return "VALUE";
  return t;
}

// "ipcx rm [OPTIONS] [TARGET...]"
std::string usage(const CLI::App& cmd) {
  std::string u = fmt::format("ipcx {} [OPTIONS]", cmd.get_name());
  for (const auto* p : visible_options(cmd, true)) {
    std::string n = p->get_name(true);
    if (many(p)) n += "...";
    u += p->get_required() ? " " + n : " [" + n + "]";
  }
  return u;
}

// What a URL positional may be, as its command takes it: offering a scheme the command
// refuses would only lead to exit 2.
const char* kChannelSchemes =
    "shm:// unix:// unixgram:// unixpacket:// tcp:// udp:// fifo:// posixmq:// sysvmq:// nats:// zmq+tcp:// zmq+ipc://";
const char* kListenSchemes = "unix:// unixpacket:// tcp://";
// bridge's endpoints: a channel, or lines on standard input and output, or a command's.
const char* kEndpointKinds = "stdio exec:";
const char* kShells = "bash zsh fish";

// The completion scripts' one model of the command line, read from the CLI11 app: each
// visible command, its options and what its positionals complete to. Each shell's script
// is written from it, so the three cannot disagree.
struct CompletedOption {
  std::vector<std::string> names;  // "-t", "--timeout"
  std::string description;
  bool valued = false;  // takes a value
  bool typed = false;   // the value is an object type (--type)
  // What may not follow this option on the line (it would exit 2): the names of the options
  // it excludes, and its own names when it may be given once only.
  std::vector<std::string> excluded;
};
struct CompletedCommand {
  std::string name, description;
  std::vector<CompletedOption> options;
  // One per positional: "url", "listen", "endpoint", "object", "shell", "file" or "none"; `last_many` when the
  // last one repeats.
  std::vector<std::string> args;
  bool last_many = false;
};

// What a positional completes to, by its command and name.
std::string positional_completion(const std::string& cmd, const std::string& name) {
  if (name.starts_with("URL")) return cmd == "listen" ? "listen" : cmd == "bridge" ? "endpoint" : "url";
  if (name == "TARGET") return "object";
  if (name == "SHELL") return "shell";
  if (name == "FILE") return "file";
  return "none";
}

std::vector<CompletedCommand> completion_model(const CLI::App& app) {
  std::vector<CompletedCommand> out;
  for (const auto* c : visible_subcommands(app)) {
    CompletedCommand cc{c->get_name(), c->get_description(), {}, {}, false};
    for (const auto* o : visible_options(*c, false)) {
      CompletedOption co;
      for (const auto& n : option_names(o)) {
        if (n != "-h" && n != "--help") co.names.push_back(n);
      }
      co.description = o->get_description();
      co.valued = takes_value(o);
      co.typed = co.valued && o->get_type_name() == "TYPE";
      // CLI11 records an exclusion on both options; a flag given twice is refused unless
      // its policy takes the last one or counts.
      for (const auto* x : o->get_excludes()) {
        for (const auto& n : option_names(x)) co.excluded.push_back(n);
      }
      if (o->get_multi_option_policy() == CLI::MultiOptionPolicy::Throw && !many(o) && o->get_expected_max() <= 1) {
        for (const auto& n : co.names) co.excluded.push_back(n);
      }
      if (!co.names.empty()) cc.options.push_back(std::move(co));
    }
    for (const auto* p : visible_options(*c, true)) {
      cc.args.push_back(positional_completion(cc.name, p->get_name(true)));
      cc.last_many = many(p);
    }
    out.push_back(std::move(cc));
  }
  return out;
}

// The --type values: every kind ls enumerates (FIFOs are not), and the groups.
std::string type_words() {
  std::string kinds;
  for (auto k : inspect::all_kinds()) {
    if (k != inspect::Kind::fifo) kinds += fmt::format("{}{}", kinds.empty() ? "" : " ", inspect::to_string(k));
  }
  return kinds + " sysv posix";
}

// The first line of a help text, for the shells that show one beside each word.
std::string first_line(std::string_view s) { return std::string(s.substr(0, s.find('\n'))); }

std::string bash_completion(const CLI::App& app) {
  std::string cmds;
  std::string cases;
  for (const auto& c : completion_model(app)) {
    cmds += c.name + " ";
    std::string opts = "--help";
    std::string valued;
    std::string typed;  // options whose value is a TYPE
    std::string excludes;  // "-u>-U": once -u is on the line, -U is not offered
    for (const auto& o : c.options) {
      for (const auto& n : o.names) {
        opts += " " + n;
        if (o.valued) valued += " " + n;
        if (o.typed) typed += " " + n;
        std::string excluded;
        for (const auto& x : o.excluded) excluded += (excluded.empty() ? "" : ",") + x;
        if (!excluded.empty()) excludes += fmt::format(" {}>{}", n, excluded);
      }
    }
    std::string args;
    for (const auto& a : c.args) args += " " + a;
    cases += fmt::format(
        "    {})\n      opts=\"{}\"\n      valued=\"{}\"\n      typed=\"{}\"\n      excludes=\"{}\"\n      args=\"{}\" ;;\n",
        c.name, opts, valued, typed, excludes.empty() ? "" : excludes.substr(1), args.empty() ? "" : args.substr(1));
  }
  if (!cmds.empty()) cmds.pop_back();
  return fmt::format(R"BASH(# bash completion for ipcx {version}
# Generated by `ipcx completion bash` from the command's own option tables; do not edit.
# Install: copy to /usr/share/bash-completion/completions/ipcx, or source it from ~/.bashrc.

_ipcx() {{
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion -n : || return
  else
    cur=${{COMP_WORDS[COMP_CWORD]}}
    prev=${{COMP_WORDS[COMP_CWORD-1]}}
    words=("${{COMP_WORDS[@]}}")
    cword=$COMP_CWORD
  fi

  local cmd="" cmd_at=0 i
  for ((i = 1; i < cword; i++)); do
    case ${{words[i]}} in
      -*) ;;
      *) cmd=${{words[i]}}; cmd_at=$i; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "{cmds} --help --version" -- "$cur"))
    return
  fi

  local opts="" valued="" typed="" excludes="" args=""
  case $cmd in
{cases}    *) return ;;
  esac

  if [[ " $typed " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -W "{kinds}" -- "$cur"))
    return
  fi
  if [[ " $valued " == *" $prev "* ]]; then
    return
  fi
  if [[ $cur == -* ]]; then
    # Not what an option already on the line excludes (or itself, if it cannot repeat):
    # the command would refuse it with exit 2.
    local drop=" " w x o kept=""
    for ((i = cmd_at + 1; i < cword; i++)); do
      w=${{words[i]}}
      [[ $w == -* ]] || continue
      for x in $excludes; do
        [[ ${{x%%>*}} == "$w" ]] && drop+="${{x#*>}} "
      done
    done
    drop=${{drop//,/ }}
    for o in $opts; do
      [[ $drop == *" $o "* ]] || kept+=" $o"
    done
    COMPREPLY=($(compgen -W "$kept" -- "$cur"))
    return
  fi

  # Which positional is this? Count the words after the command that are not options or
  # option values.
  local n=0 w
  for ((i = cmd_at + 1; i < cword; i++)); do
    w=${{words[i]}}
    if [[ $w == -* ]]; then
      [[ " $valued " == *" $w "* ]] && ((i++))
      continue
    fi
    ((n++))
  done
  local kinds=($args) kind
  ((${{#kinds[@]}})) || return
  if ((n < ${{#kinds[@]}})); then kind=${{kinds[n]}}; else kind=${{kinds[${{#kinds[@]}}-1]}}; fi
  case $kind in
    url|listen|endpoint)
      case $cur in
        fifo://*|unix://*|unixgram://*|unixpacket://*|zmq+ipc://*)
          local scheme=${{cur%%://*}}
          local path=${{cur#*://}}
          COMPREPLY=($(compgen -f -- "$path" | sed "s|^|$scheme://|"))
          ;;
        *)
          local schemes="{schemes}"
          [[ $kind == listen ]] && schemes="{listen_schemes}"
          [[ $kind == endpoint ]] && schemes+=" {endpoint_kinds}"
          COMPREPLY=($(compgen -W "$schemes" -- "$cur")); compopt -o nospace 2>/dev/null ;;
      esac
      ;;
    object) COMPREPLY=($(compgen -W "$(command ipcx ls -q 2>/dev/null)" -- "$cur")) ;;
    shell) COMPREPLY=($(compgen -W "{shells}" -- "$cur")) ;;
    file) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
  declare -F __ltrim_colon_completions >/dev/null && __ltrim_colon_completions "$cur"
}}
complete -F _ipcx ipcx
)BASH",
                     fmt::arg("version", ipcx::version()), fmt::arg("cmds", cmds), fmt::arg("cases", cases),
                     fmt::arg("kinds", type_words()), fmt::arg("schemes", kChannelSchemes),
                     fmt::arg("listen_schemes", kListenSchemes), fmt::arg("endpoint_kinds", kEndpointKinds),
                     fmt::arg("shells", kShells));
}

// zsh: text inside '…' in a _arguments spec, where ']' ends a description and ':' a field.
std::string zsh_text(std::string_view s) {
  std::string out;
  for (char c : first_line(s)) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '[' || c == ']' || c == ':' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string zsh_completion(const CLI::App& app) {
  std::string cmds;
  std::string cases;
  for (const auto& c : completion_model(app)) {
    cmds += fmt::format("    '{}:{}'\n", c.name, zsh_text(c.description));
    std::string specs;
    for (const auto& o : c.options) {
      std::string names;
      for (const auto& n : o.names) names += (names.empty() ? "" : " ") + n;
      std::string value = o.typed ? fmt::format(":TYPE:({})", type_words()) : o.valued ? ":VALUE: " : "";
      // zsh offers an option once already; the list adds what it excludes.
      std::string excluded = o.names.size() > 1 ? names : "";
      for (const auto& x : o.excluded) {
        if (std::find(o.names.begin(), o.names.end(), x) == o.names.end()) excluded += (excluded.empty() ? "" : " ") + x;
      }
      for (const auto& n : o.names) {
        std::string excl = excluded.empty() ? "" : fmt::format("({})", excluded);
        specs += fmt::format(" \\\n        '{}{}[{}]{}'", excl, n, zsh_text(o.description), value);
      }
    }
    for (std::size_t i = 0; i < c.args.size(); ++i) {
      const bool rest = c.last_many && i + 1 == c.args.size();
      std::string action = c.args[i] == "none" ? " " : "_ipcx_" + c.args[i];
      specs += fmt::format(" \\\n        '{}:{}:{}'", rest ? std::string("*") : std::to_string(i + 1), c.args[i], action);
    }
    cases += fmt::format("    {})\n      _arguments -s{} ;;\n", c.name, specs);
  }
  return fmt::format(R"ZSH(#compdef ipcx
# zsh completion for ipcx {version}
# Generated by `ipcx completion zsh` from the command's own option tables; do not edit.
# Install: copy to a directory in $fpath as _ipcx (e.g. /usr/share/zsh/site-functions).

_ipcx_url() {{
  case $PREFIX in
    fifo://*|unix://*|unixgram://*|unixpacket://*|zmq+ipc://*) compset -P '*://'; _files ;;
    *) compadd -S '' -- {schemes} ;;
  esac
}}
_ipcx_endpoint() {{
  case $PREFIX in
    fifo://*|unix://*|unixgram://*|unixpacket://*|zmq+ipc://*) compset -P '*://'; _files ;;
    exec:*) compset -P 'exec:'; _command_names -e ;;
    *) compadd -S '' -- {schemes} {endpoint_kinds} ;;
  esac
}}
_ipcx_listen() {{
  case $PREFIX in
    unix://*|unixpacket://*) compset -P '*://'; _files ;;
    *) compadd -S '' -- {listen_schemes} ;;
  esac
}}
_ipcx_object() {{
  local -a objects
  objects=(${{(f)"$(command ipcx ls -q 2>/dev/null)"}})
  compadd -a objects
}}
_ipcx_shell() {{ compadd -- {shells} }}
_ipcx_file() {{ _files }}

_ipcx() {{
  local -a commands
  commands=(
{cmds}  )
  if (( CURRENT == 2 )); then
    if [[ $PREFIX == -* ]]; then
      compadd -- --help --version -V
    else
      _describe -t commands 'ipcx command' commands
    fi
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
{cases}  esac
}}

_ipcx "$@"
)ZSH",
                     fmt::arg("version", ipcx::version()), fmt::arg("cmds", cmds), fmt::arg("cases", cases),
                     fmt::arg("schemes", kChannelSchemes), fmt::arg("listen_schemes", kListenSchemes),
                     fmt::arg("endpoint_kinds", kEndpointKinds), fmt::arg("shells", kShells));
}

// fish: text inside '…'.
std::string fish_text(std::string_view s) {
  std::string out;
  for (char c : first_line(s)) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string fish_completion(const CLI::App& app) {
  std::string lines;
  for (const auto& c : completion_model(app)) {
    lines += fmt::format("complete -c ipcx -n __fish_use_subcommand -a {} -d '{}'\n", c.name, fish_text(c.description));
    const std::string when = fmt::format("-n '__fish_seen_subcommand_from {}'", c.name);
    for (const auto& o : c.options) {
      std::string names;
      for (const auto& n : o.names) {
        names += n.starts_with("--") ? " -l " + n.substr(2) : " -s " + n.substr(1);
      }
      std::string value = o.typed ? fmt::format(" -x -a '{}'", type_words()) : o.valued ? " -x" : "";
      // Not after an option it excludes, nor a second time when it cannot repeat.
      std::string unless;
      for (const auto& x : o.excluded) {
        unless += x.starts_with("--") ? " -l " + x.substr(2) : " -s " + x.substr(1);
      }
      std::string cond = unless.empty() ? when
                                        : fmt::format("-n '__fish_seen_subcommand_from {}; and not __fish_seen_argument{}'",
                                                      c.name, unless);
      lines += fmt::format("complete -c ipcx {}{}{} -d '{}'\n", cond, names, value, fish_text(o.description));
    }
    std::vector<std::string> kinds;
    for (const auto& a : c.args) {
      if (a != "none" && std::find(kinds.begin(), kinds.end(), a) == kinds.end()) kinds.push_back(a);
    }
    for (const auto& k : kinds) lines += fmt::format("complete -c ipcx {} -a '(__ipcx_{})'\n", when, k);
  }
  return fmt::format(R"FISH(# fish completion for ipcx {version}
# Generated by `ipcx completion fish` from the command's own option tables; do not edit.
# Install: copy to a directory in $fish_complete_path as ipcx.fish
# (e.g. /usr/share/fish/vendor_completions.d).

function __ipcx_paths_or --argument-names schemes
    set -l tok (commandline -ct)
    if string match -qr '^(fifo|unix|unixgram|unixpacket|zmq\\+ipc)://' -- $tok
        set -l scheme (string replace -r '://.*' '' -- $tok)
        set -l path (string replace -r '^[a-z+]+://' '' -- $tok)
        __fish_complete_path $path | string replace -r '^' "$scheme://"
    else
        string split ' ' -- $schemes
    end
end
function __ipcx_url; __ipcx_paths_or '{schemes}'; end
function __ipcx_listen; __ipcx_paths_or '{listen_schemes}'; end
function __ipcx_endpoint; __ipcx_paths_or '{schemes} {endpoint_kinds}'; end
function __ipcx_object; command ipcx ls -q 2>/dev/null; end
function __ipcx_shell; string split ' ' -- '{shells}'; end
function __ipcx_file; __fish_complete_path (commandline -ct); end

complete -c ipcx -f
complete -c ipcx -n __fish_use_subcommand -s V -l version -d 'Print the version'
complete -c ipcx -s h -l help -d 'Print help'
{lines})FISH",
                     fmt::arg("version", ipcx::version()), fmt::arg("lines", lines),
                     fmt::arg("schemes", kChannelSchemes), fmt::arg("listen_schemes", kListenSchemes),
                     fmt::arg("endpoint_kinds", kEndpointKinds), fmt::arg("shells", kShells));
}

// roff: escape backslashes and hyphens, and protect a line that starts with '.' or '\''.
std::string roff(std::string_view s) {
  std::string out;
  bool line_start = true;
  for (char c : s) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string man_page(const CLI::App& app) {
  std::string m;
  m += fmt::format(".\\\" ipcx(1), generated by `ipcx man` from the command's option tables; do not edit.\n");
  m += fmt::format(".TH IPCX 1 \"\" \"ipcx {}\" \"User Commands\"\n", ipcx::version());
  m += ".SH NAME\nipcx \\- send, receive, bridge, list, remove and inspect inter\\-process communication on Linux\n";
  m += ".SH SYNOPSIS\n.B ipcx\n.I command\n.RI [ options ]\n.RI [ arguments ]\n";
  m += ".SH DESCRIPTION\n";
  std::string description = app.get_description();
  m += roff(description.substr(0, description.find('\n'))) + "\n.PP\n";
  m += "Every channel and IPC object is named by a URL; the same URLs work in the C++ API, the C API "
       "and this command.\n";
  m += ".SH URLS\n";
  const std::pair<const char*, const char*> urls[] = {
      {"shm://NAME", "ipcx shared\\-memory ring"},
      {"unix:///PATH, unix:@NAME", "Unix stream socket (path or abstract name), length\\-framed messages"},
      {"unixgram://..., unixpacket://...", "Unix datagram and seqpacket sockets"},
      {"tcp://HOST:PORT, udp://HOST:PORT", "Internet sockets, IPv4 and [IPv6]"},
      {"fifo:///PATH", "named pipe"},
      {"posixmq:///NAME", "POSIX message queue"},
      {"sysvmq://KEY, sysvmq://id:N, sysvmq:///PATH?proj=N", "System V message queue"},
      {"posixshm:///NAME, posixsem:///NAME", "POSIX shared memory object, named semaphore (stat, rm)"},
      {"sysvshm://KEY, sysvshm://id:N, sysvsem://KEY", "System V segment, semaphore set (stat, rm)"},
      {"stdio", "bridge only: one message per line on standard input and output"},
      {"exec:COMMAND", "bridge only: one message per line on the standard input and output of /bin/sh \\-c COMMAND"},
  };
  for (const auto& [u, d] : urls) m += fmt::format(".TP\n.B {}\n{}\n", roff(u), d);
  m += ".PP\nOptions ride in the query string, e.g. \\fBfifo:///tmp/x?mode=0660\\fR.\n";
  m += ".SH COMMANDS\n";
  for (const auto* c : visible_subcommands(app)) {
    m += fmt::format(".SS \"{}\"\n", roff(usage(*c)));
    m += roff(c->get_description()) + "\n";
    for (const auto* p : visible_options(*c, true)) {
      m += fmt::format(".TP\n.I {}\n{}\n", roff(p->get_name(true)), roff(p->get_description()));
    }
    for (const auto* o : visible_options(*c, false)) {
      auto names = option_names(o);
      std::string n;
      for (const auto& x : names) n += fmt::format("{}\\fB{}\\fR", n.empty() ? "" : ", ", roff(x));
      if (takes_value(o)) n += fmt::format(" \\fI{}\\fR", roff(value_name(o)));
      m += fmt::format(".TP\n{}\n{}\n", n, roff(o->get_description()));
    }
    std::string footer = c->get_footer();
    if (!footer.empty()) {
      m += ".PP\n.nf\n" + roff(footer) + "\n.fi\n";
    }
  }
  m += ".SH EXIT STATUS\n.TP\n.B 0\nsuccess\n.TP\n.B 1\na runtime error: the message on standard error says "
       "what failed, on what, and why\n.TP\n.B 2\nusage: a bad option, argument or URL\n";
  m += ".SH FILES\n.TP\n.I /proc/sysvipc/shm, sem, msg\nSystem V objects\n.TP\n.I /dev/shm\nPOSIX shared memory "
       "and named semaphores (sem.NAME)\n.TP\n.I /dev/mqueue\nPOSIX message queues (mount \\-t mqueue none "
       "/dev/mqueue)\n.TP\n.I /proc/net/unix\nUnix sockets\n.TP\n.I /proc/PID/fd, /proc/PID/maps\nwhich process uses "
       "what\n";
  m += ".SH SEE ALSO\n.BR ipcs (1),\n.BR ipcrm (1),\n.BR socat (1),\n.BR ss (8),\n.BR sysvipc (7),\n"
       ".BR shm_overview (7),\n.BR sem_overview (7),\n.BR mq_overview (7),\n.BR fifo (7),\n.BR unix (7)\n";
  return m;
}

}  // namespace

void add_generators(CLI::App& app, int& rc) {
  auto* comp = app.add_subcommand("completion", "Print a shell completion script");
  comp->group("");  // hidden: packagers run it, people need not see it
  auto shell = std::make_shared<std::string>();
  comp->add_option("SHELL", *shell, "The shell: bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  comp->callback([&app, &rc, shell] {
    const std::string script = *shell == "zsh" ? zsh_completion(app) : *shell == "fish" ? fish_completion(app) : bash_completion(app);
    std::fputs(script.c_str(), stdout);
    rc = kOk;
  });
  auto* man = app.add_subcommand("man", "Print the ipcx(1) man page in roff");
  man->group("");
  man->callback([&app, &rc] {
    std::fputs(man_page(app).c_str(), stdout);
    rc = kOk;
  });
}

}  // namespace ipcx::cli
