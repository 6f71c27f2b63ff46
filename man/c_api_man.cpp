// SPDX-License-Identifier: MIT
// Writes the C API's section 3 man pages from docs/c-api.md, the one reference for every C
// function, so that the pages and the document cannot drift:
//
//   c_api_man docs/c-api.md OUTDIR     # OUTDIR/ipcx.3, ipcx_channel.3, ..., ipcx_open.3, ...
//
// ipcx.3 is the overview (the page's opening, Building, Conventions, what the API lacks);
// each "## NAME.h" section becomes ipcx_NAME.3 (ipcx/c/channel.h: ipcx_channel.3), its
// prose as paragraphs and each table row as a tagged paragraph; and every function named in
// a row's first column gets a page of its own that sources its header's (`.so`), so that
// `man ipcx_open` works. The Markdown used in docs/c-api.md is what is understood here:
// headings, paragraphs, "- " lists, ``` blocks, tables, `code`, **bold** and [links](...).
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Section {
  std::string title;               // "channel.h", "Conventions", "" for the opening
  std::vector<std::string> lines;  // its Markdown, heading excluded
};

std::vector<Section> read_sections(std::istream& in) {
  std::vector<Section> out(1);
  std::string line;
  bool first_heading = true;
  while (std::getline(in, line)) {
    if (line.starts_with("# ") && first_heading) {  // the page's title
      first_heading = false;
      continue;
    }
    if (line.starts_with("## ")) {
      out.push_back({line.substr(3), {}});
      continue;
    }
    out.back().lines.push_back(line);
  }
  return out;
}

// Escapes roff's specials in plain text.
std::string escape(std::string_view s, bool code) {
  std::string o;
  for (char c : s) {
    if (c == '\\') o += "\\e";
    else if (c == '-' && code) o += "\\-";  // a minus sign in code, so that it copies as one
    else o += c;
  }
  return o;
}

// Inline Markdown to roff: `code` bold, **strong** bold, [text](target) as its text, \| as |.
std::string inline_roff(std::string_view s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '`') {
      std::size_t end = s.find('`', i + 1);
      if (end == std::string_view::npos) end = s.size();
      std::string code(s.substr(i + 1, end - i - 1));
      for (std::size_t p; (p = code.find("\\|")) != std::string::npos;) code.replace(p, 2, "|");
      o += "\\fB" + escape(code, true) + "\\fR";
      i = end + 1;
    } else if (s.substr(i).starts_with("**")) {
      std::size_t end = s.find("**", i + 2);
      if (end == std::string_view::npos) end = s.size();
      o += "\\fB" + inline_roff(s.substr(i + 2, end - i - 2)) + "\\fR";
      i = end + 2;
    } else if (s[i] == '[') {
      std::size_t close = s.find("](", i);
      std::size_t end = close == std::string_view::npos ? close : s.find(')', close);
      if (end == std::string_view::npos) {
        o += '[';
        ++i;
        continue;
      }
      o += inline_roff(s.substr(i + 1, close - i - 1));
      i = end + 1;
    } else if (s.substr(i).starts_with("\\|")) {
      o += '|';
      i += 2;
    } else if (s[i] == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      o += "\\-";  // -1 is a minus sign, not a hyphen
      ++i;
    } else {
      o += escape(s.substr(i, 1), false);
      ++i;
    }
  }
  if (!o.empty() && (o[0] == '.' || o[0] == '\'')) o.insert(0, "\\&");  // not a request
  return o;
}

// The cells of a table row "| a | b | c |", split on unescaped bars outside code spans.
std::vector<std::string> cells(std::string_view row) {
  std::vector<std::string> out;
  std::string cur;
  bool code = false;
  for (std::size_t i = 1; i < row.size(); ++i) {
    char c = row[i];
    if (c == '`') code = !code;
    if (c == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cur += "\\|";
      ++i;
      continue;
    }
    if (c == '|' && !code) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  for (auto& s : out) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
  }
  return out;
}

// The functions a table's first cell names: `ipcx_x(...)`, `ipcx_x`, and a shorthand
// `_y` after a full name (`ipcx_sem_wait`, `_post`: ipcx_sem_post).
std::vector<std::string> functions_in(std::string_view cell) {
  std::vector<std::string> out;
  std::string last;
  for (std::size_t i = cell.find('`'); i != std::string_view::npos; i = cell.find('`', i)) {
    std::size_t end = cell.find('`', i + 1);
    if (end == std::string_view::npos) break;
    std::string_view code = cell.substr(i + 1, end - i - 1);
    // A whole declaration (`const char* ipcx_version(...)`): the name before its "(".
    if (std::size_t paren = code.find('('), at = code.rfind("ipcx_", paren);
        paren != std::string_view::npos && at != std::string_view::npos && at > 0) {
      code = code.substr(at);
    }
    std::size_t n = 0;
    while (n < code.size() && (std::isalnum(static_cast<unsigned char>(code[n])) || code[n] == '_')) ++n;
    std::string name(code.substr(0, n));
    if (name.starts_with("ipcx_")) {
      out.push_back(name);
      last = name;
    } else if (name.starts_with("_") && !last.empty()) {
      out.push_back(last.substr(0, last.rfind('_')) + name);
    }
    i = end + 1;
  }
  return out;
}

// Markdown lines to roff: paragraphs, lists, code blocks and tables.
std::string body(const std::vector<std::string>& lines, std::set<std::string>* functions) {
  std::ostringstream o;
  bool in_code = false, in_para = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.starts_with("```")) {
      o << (in_code ? ".fi\n.RE\n" : ".PP\n.RS 4\n.nf\n");
      in_code = !in_code;
      in_para = false;
      continue;
    }
    if (in_code) {
      o << (l.empty() ? "" : "\\&") << escape(l, true) << '\n';
      continue;
    }
    if (l.empty()) {
      in_para = false;
      continue;
    }
    if (l.starts_with("|")) {
      if (l.find("---") != std::string::npos) continue;  // the rule under the header row
      if (i + 1 < lines.size() && lines[i + 1].starts_with("| ---")) continue;  // the header row
      auto c = cells(l);
      if (c.empty()) continue;
      o << ".TP\n" << inline_roff(c[0]) << '\n';
      if (c.size() == 2) {
        o << inline_roff(c[1]) << '\n';
      } else if (c.size() >= 3) {
        if (!c[1].empty() && c[1] != "\xe2\x80\x93") o << "Returns " << inline_roff(c[1]) << ". ";  // "–": nothing
        o << inline_roff(c[2]) << '\n';
      }
      if (functions) {
        for (auto& f : functions_in(c[0])) functions->insert(f);
      }
      in_para = false;
      continue;
    }
    if (l.starts_with("- ")) {
      o << ".IP \\(bu 2\n" << inline_roff(l.substr(2)) << '\n';
      in_para = true;
      continue;
    }
    if (!in_para) o << ".PP\n";
    in_para = true;
    std::size_t start = l.find_first_not_of(' ');
    o << inline_roff(std::string_view(l).substr(start)) << '\n';
  }
  return o.str();
}

std::string page_head(const std::string& name, const std::string& what) {
  return ".\\\" Generated from docs/c-api.md by man/c_api_man.cpp: edit that file, not this one.\n"
         ".TH " + name + " 3 \"\" \"ipcx\" \"ipcx C API\"\n.SH NAME\n" + name + " \\- " + what + "\n";
}

// UTF-8 (the document's dashes, µ, ×) as groff's \[uXXXX], so the pages are ASCII and
// render without preconv.
std::string ascii(const std::string& s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      o += s[i++];
      continue;
    }
    const std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    std::uint32_t cp = c & (0x3f >> (n - 1));
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\[u%04X]", static_cast<unsigned>(cp));
    o += buf;
    i += n;
  }
  return o;
}

bool write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << ascii(text);
  if (!f) std::cerr << "c_api_man: cannot write " << p << '\n';
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: c_api_man docs/c-api.md OUTDIR\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "c_api_man: cannot read " << argv[1] << '\n';
    return 1;
  }
  const std::filesystem::path dir = argv[2];
  std::filesystem::create_directories(dir);
  const auto sections = read_sections(in);

  // One page per header; the functions each names.
  std::map<std::string, std::set<std::string>> pages;  // page -> its functions
  std::string see_also;
  bool ok = true;
  for (const auto& s : sections) {
    if (!s.title.ends_with(".h")) continue;
    const std::string header = s.title.substr(0, s.title.size() - 2);
    const std::string page = "ipcx_" + header;
    see_also += (see_also.empty() ? "" : ",\n") + ("\\fB" + page + "\\fR(3)");
    std::set<std::string> fns;
    std::string text = page_head(page, "the ipcx C API: <ipcx/c/" + s.title + ">") +
                       ".SH SYNOPSIS\n.nf\n\\fB#include <ipcx/ipcx.h>\\fR\n.fi\n.PP\n"
                       "Link with \\fB$(pkg-config \\-\\-libs ipcx)\\fR.\n.SH DESCRIPTION\n" +
                       body(s.lines, &fns);
    text += ".SH SEE ALSO\n\\fBipcx\\fR(3), the header \\fI<ipcx/c/" + s.title +
            ">\\fR, which says the same beside each declaration\n";
    ok = write(dir / (page + ".3"), text) && ok;
    pages[page] = std::move(fns);
  }

  // The overview.
  std::string text = page_head("ipcx", "inter-process communication for C11 programs (the ipcx C API)") +
                     ".SH SYNOPSIS\n.nf\n\\fB#include <ipcx/ipcx.h>\\fR\n.fi\n.PP\n"
                     "\\fBcc \\-std=c11 app.c $(pkg-config \\-\\-cflags \\-\\-libs ipcx)\\fR\n"
                     ".SH DESCRIPTION\n";
  for (const auto& s : sections) {
    if (s.title.ends_with(".h")) continue;
    if (!s.title.empty()) {
      std::string title = s.title;  // section headings in capitals, as man pages have them
      for (char& c : title) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      text += ".SH " + inline_roff(title) + "\n";
    }
    text += body(s.lines, nullptr);
  }
  text += ".SH SEE ALSO\n" + see_also + ",\n\\fBipcx\\fR(1)\n";
  ok = write(dir / "ipcx.3", text) && ok;

  // A page per function, sourcing its header's.
  for (const auto& [page, fns] : pages) {
    for (const auto& f : fns) ok = write(dir / (f + ".3"), ".so man3/" + page + ".3\n") && ok;
  }
  return ok ? 0 : 1;
}
