// SPDX-License-Identifier: MIT
#include "report.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ipcx::bench {

namespace {

std::string first_line_of(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string fmt_us(std::uint64_t ns) {
  double v = static_cast<double>(ns) / 1000.0;
  if (v < 10) return fmt::format("{:.2f}", v);
  if (v < 100) return fmt::format("{:.1f}", v);
  return fmt::format("{:.0f}", v);
}

std::string fmt_count(double v) {
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string fmt_mb(double v) {
  if (v < 10) return fmt::format("{:.2f}", v);
  if (v < 100) return fmt::format("{:.1f}", v);
  return fmt::format("{:.0f}", v);
}

std::string fmt_ratio(double v) { return fmt::format("{:.2f}", v); }

// The impl column: "ipcx b64" for a row whose one-way phase moves batches of 64.
std::string impl_label(const Row& r) { return r.batch ? fmt::format("{} b{}", r.impl, r.batch) : r.impl; }

std::string series_label(const Row& r) {
  std::string l = r.case_name;
  if (r.case_name == "shm" || r.case_name == "iceoryx") l += " " + r.wait;
  if (r.case_name == "shm-pubsub") {
    // Four rows share the case; the note says which ("pubsub, 4 subscribers, policy=drop; …").
    const auto n = r.note.find(", ");
    const auto p = r.note.find("policy=");
    if (n != std::string::npos && p != std::string::npos) {
      const auto subs = r.note.substr(n + 2, r.note.find(' ', n + 2) - (n + 2));
      const auto policy = r.note.substr(p + 7, r.note.find_first_of(";, ", p + 7) - (p + 7));
      l += fmt::format(" {}x {}", subs, policy);
    }
  }
  return fmt::format("{} ({})", l, impl_label(r));
}

}  // namespace

Machine machine_facts() {
  Machine m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      m.cpu = c == std::string::npos ? line : line.substr(c + 2);
      break;
    }
  }
  if (m.cpu.empty()) m.cpu = "unknown";
  m.cores = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  utsname u{};
  if (::uname(&u) == 0) m.kernel = fmt::format("{} {} {}", u.sysname, u.release, u.version);
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  m.date = buf;
  m.load = load_average();
  m.clocksource = first_line_of("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    std::string s;
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (!CPU_ISSET(i, &set)) continue;
      if (!s.empty()) s += ',';
      s += std::to_string(i);
    }
    m.allowed_cpus = s;
  }
  return m;
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  if (!(in >> v)) return -1;
  return v;
}

std::string size_label(std::size_t size) {
  if (size >= (1u << 20) && size % (1u << 20) == 0) return fmt::format("{}M", size >> 20);
  if (size >= 1024 && size % 1024 == 0) return fmt::format("{}K", size >> 10);
  return std::to_string(size);
}

std::string bytes_label(std::size_t size) {
  if (size >= (1u << 20) && size % (1u << 20) == 0) return fmt::format("{} MiB", size >> 20);
  if (size >= 1024 && size % 1024 == 0) return fmt::format("{} KiB", size >> 10);
  return fmt::format("{} B", size);
}

void compute_ratios(std::vector<Row>& rows) {
  for (auto& r : rows) {
    if (r.impl != "ipcx" || !r.outcome.rtt) continue;
    for (const auto& raw : rows) {
      // The shm ring's rows (all of them) are compared with the floor: shared memory, no kernel.
      std::string base = r.case_name.rfind("shm", 0) == 0 ? "floor" : r.case_name;
      if (raw.impl == "raw" && raw.case_name == base && raw.size == r.size && raw.outcome.rtt &&
          raw.outcome.rtt->p50 > 0) {
        r.x_raw = static_cast<double>(r.outcome.rtt->p50) / static_cast<double>(raw.outcome.rtt->p50);
      }
    }
  }
}

std::string render_header(const Report& r) {
  const Machine& m = r.machine;
  std::string h;
  h += "ipcx-bench: round-trip latency and one-way throughput between two processes\n";
  h += fmt::format("machine:   {}, {} cores (allowed: {}), clocksource {}\n", m.cpu, m.cores, m.allowed_cpus,
                   m.clocksource);
  h += fmt::format("kernel:    {}\n", m.kernel);
  h += fmt::format("date:      {}\n", m.date);
  h += fmt::format("load:      {:.2f} (1-minute load average at the start; more than the CPUs in use means other "
                   "processes compete, and spin rows suffer most)\n",
                   m.load);
  h += fmt::format("placement: {}\n", r.placement);
  h += fmt::format("run:       {}\n", r.settings);
  h += fmt::format("command:   {}\n", r.command);
  return h;
}

std::string render_table(const Report& r) {
  static const char* kCols[] = {"case", "impl", "wait", "p50", "p99", "p99.9", "max", "samples",
                                "msgs/s", "MB/s", "floor", "x raw", "x floor", "x fl.999"};
  constexpr std::size_t kN = std::size(kCols);
  // Left-aligned text columns, right-aligned numbers.
  constexpr bool kLeft[kN] = {true,  true,  true,  false, false, false, false,
                              false, false, false, false, false, false, false};

  auto cells = [](const Row& row) {
    std::vector<std::string> c = {row.case_name, impl_label(row), row.wait};
    const auto& o = row.outcome;
    if (o.rtt) {
      c.push_back(fmt_us(o.rtt->p50));
      c.push_back(fmt_us(o.rtt->p99));
      c.push_back(fmt_us(o.rtt->p999));
      c.push_back(fmt_us(o.rtt->max));
      c.push_back(std::to_string(o.rtt->samples));
    } else {
      for (int i = 0; i < 5; ++i) c.emplace_back("-");
    }
    if (o.throughput) {
      c.push_back(fmt_count(o.throughput->msgs_per_s));
      c.push_back(fmt_mb(o.throughput->mb_per_s));
    } else {
      c.emplace_back("-");
      c.emplace_back("-");
    }
    c.push_back(row.floor_ns && o.rtt ? fmt_us(*row.floor_ns) : "-");
    c.push_back(row.x_raw ? fmt_ratio(*row.x_raw) : "-");
    c.push_back(o.rtt && row.x_floor ? fmt_ratio(*row.x_floor) : "-");
    c.push_back(o.rtt && row.x_floor_p999 ? fmt_ratio(*row.x_floor_p999) : "-");
    c.push_back(o.ok() ? row.note : o.status);
    return c;
  };

  std::vector<std::vector<std::string>> all;
  std::size_t width[kN];
  for (std::size_t i = 0; i < kN; ++i) width[i] = std::strlen(kCols[i]);
  for (const auto& row : r.rows) {
    all.push_back(cells(row));
    for (std::size_t i = 0; i < kN; ++i) width[i] = std::max(width[i], all.back()[i].size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    std::string s;
    for (std::size_t i = 0; i < kN; ++i) {
      s += kLeft[i] ? fmt::format("{:<{}}", c[i], width[i]) : fmt::format("{:>{}}", c[i], width[i]);
      s += "  ";
    }
    s += c[kN];
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };

  std::string t;
  t += "Round trip (send, echo, receive) in microseconds from every sample; one-way throughput\n";
  t += "measured by the receiver; floor = p50 of the spin floor at the same size, measured beside\n";
  t += "the row; x raw = p50 / the raw row's p50 (shm*: / the floor row's); x floor = p50 / floor;\n";
  t += "x fl.999 = p99.9 / the floor's p99.9 (with --repeat: the median of each round's ratio).\n";
  std::vector<std::string> head(kCols, kCols + kN);
  head.emplace_back("note / status");
  std::vector<std::size_t> sizes;
  for (const auto& row : r.rows) {
    if (std::find(sizes.begin(), sizes.end(), row.size) == sizes.end()) sizes.push_back(row.size);
  }
  for (std::size_t size : sizes) {
    t += fmt::format("\n{} messages\n", bytes_label(size));
    t += line(head);
    for (std::size_t i = 0; i < r.rows.size(); ++i) {
      if (r.rows[i].size == size) t += line(all[i]);
    }
  }
  if (!r.idle.empty()) {
    t += "\nIdle receiver: an shm:// consumer blocked in receive() while nothing is sent; the CPU time it\n";
    t += "used (user + system) as a share of one CPU\n";
    for (const auto& i : r.idle) {
      if (i.status == "ok") {
        t += fmt::format("  shm {:<6} {:5.1f}% of a CPU  ({:.4f} s of CPU in {:.2f} s idle)\n", i.wait,
                         100.0 * i.cpu_share(), i.cpu_seconds, i.idle_seconds);
      } else {
        t += fmt::format("  shm {:<6} {}\n", i.wait, i.status);
      }
    }
  }
  return t;
}

std::string render_json(const Report& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["machine"] = {{"cpu", r.machine.cpu}, {"cores", r.machine.cores}, {"kernel", r.machine.kernel},
                  {"date", r.machine.date}};
  json results = json::array();
  for (const auto& row : r.rows) {
    json x;
    x["case"] = row.case_name;
    x["impl"] = row.impl;
    x["size"] = row.size;
    x["wait"] = row.wait;
    x["pinned"] = row.pinned;
    x["batch"] = row.batch;
    x["floor_ns"] = row.floor_ns && row.outcome.rtt ? json(*row.floor_ns) : json(nullptr);
    x["status"] = row.outcome.status;
    const auto& l = row.outcome.rtt;
    x["rtt_ns"] = {{"p50", l ? json(l->p50) : json(nullptr)},
                   {"p99", l ? json(l->p99) : json(nullptr)},
                   {"p999", l ? json(l->p999) : json(nullptr)},
                   {"max", l ? json(l->max) : json(nullptr)},
                   {"samples", l ? json(l->samples) : json(0)}};
    const auto& t = row.outcome.throughput;
    x["throughput"] = {{"msgs_per_s", t ? json(t->msgs_per_s) : json(nullptr)},
                       {"mb_per_s", t ? json(t->mb_per_s) : json(nullptr)}};
    results.push_back(std::move(x));
  }
  j["results"] = std::move(results);
  if (!r.idle.empty()) {
    json idle = json::array();
    for (const auto& i : r.idle) {
      idle.push_back({{"case", "shm"},
                      {"wait", i.wait},
                      {"status", i.status},
                      {"idle_s", i.idle_seconds},
                      {"cpu_s", i.cpu_seconds},
                      {"cpu_share", i.cpu_share()}});
    }
    j["idle_cpu"] = std::move(idle);
  }
  return j.dump(2) + "\n";
}

std::string render_csv(const Report& r) {
  auto q = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) {
      if (c == '"') o += '"';
      o += c;
    }
    return o + "\"";
  };
  auto num = [](auto v) { return v ? fmt::format("{}", *v) : std::string(); };
  std::string out =
      "case,impl,wait,size,pinned,floor_ns,status,rtt_p50_ns,rtt_p99_ns,rtt_p999_ns,rtt_max_ns,samples,"
      "msgs_per_s,mb_per_s,x_raw,x_floor,x_floor_p999,note,batch\n";
  for (const auto& row : r.rows) {
    const auto& l = row.outcome.rtt;
    const auto& t = row.outcome.throughput;
    auto opt = [&](auto f) -> std::optional<std::uint64_t> {
      if (!l) return std::nullopt;
      return f(*l);
    };
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", row.case_name, row.impl, row.wait, row.size,
        q(row.pinned), l ? num(row.floor_ns) : std::string(), q(row.outcome.status),
        num(opt([](const Latency& x) { return x.p50; })), num(opt([](const Latency& x) { return x.p99; })),
        num(opt([](const Latency& x) { return x.p999; })), num(opt([](const Latency& x) { return x.max; })),
        l ? std::to_string(l->samples) : std::string("0"),
        t ? fmt::format("{:.1f}", t->msgs_per_s) : std::string(), t ? fmt::format("{:.3f}", t->mb_per_s) : std::string(),
        row.x_raw ? fmt::format("{:.3f}", *row.x_raw) : std::string(),
        l && row.x_floor ? fmt::format("{:.3f}", *row.x_floor) : std::string(),
        l && row.x_floor_p999 ? fmt::format("{:.3f}", *row.x_floor_p999) : std::string(), q(row.note), row.batch);
  }
  return out;
}

std::string write_plots(const Report& r, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return fmt::format("mkdir {}: {}", dir, std::strerror(errno));
  }
  // One line per (case, impl, wait), in table order.
  std::vector<std::string> labels;
  std::map<std::string, std::vector<const Row*>> series;
  for (const auto& row : r.rows) {
    if (!row.outcome.rtt) continue;
    auto l = series_label(row);
    if (!series.count(l)) labels.push_back(l);
    series[l].push_back(&row);
  }
  if (labels.empty()) return "nothing to plot: no row was measured";

  // Inline data blocks: gnuplot reads everything from its standard input, no files.
  std::string gp;
  std::map<std::string, std::string> case_color;
  static const char* kColors[] = {"#000000", "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00",
                                  "#a65628", "#f781bf", "#999999", "#66c2a5", "#fc8d62", "#8da0cb",
                                  "#e78ac3", "#a6d854", "#ffd92f", "#1b9e77", "#d95f02", "#7570b3"};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    gp += fmt::format("$d{} << EOD\n", i);
    for (const Row* row : series[labels[i]]) {
      const auto& t = row->outcome.throughput;
      gp += fmt::format("{} {:.3f} {:.3f}\n", row->size, static_cast<double>(row->outcome.rtt->p50) / 1000.0,
                        t ? t->mb_per_s : 0.0);
    }
    gp += "EOD\n";
  }
  auto style = [&](std::size_t i) {
    const Row* row = series[labels[i]].front();
    if (!case_color.count(row->case_name)) {
      case_color[row->case_name] = kColors[case_color.size() % std::size(kColors)];
    }
    int dt = row->impl == "raw" ? 2 : (row->impl == "peer" ? 3 : 1);
    return fmt::format("lc rgb '{}' dt {} pt {} lw 1.5", case_color[row->case_name], dt, static_cast<int>(i % 13) + 1);
  };
  auto plot_cmd = [&](int column, bool skip_zero) {
    std::string p = "plot ";
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i) p += ", \\\n  ";
      std::string using_ = skip_zero ? fmt::format("1:(${} > 0 ? ${} : NaN)", column, column) : fmt::format("1:{}", column);
      p += fmt::format("$d{} using {} with linespoints {} title '{}'", i, using_, style(i), labels[i]);
    }
    return p + "\n";
  };
  const auto& m = r.machine;
  std::string subtitle;
  for (char c : fmt::format("{}, {} cores, {}; {}", m.cpu, m.cores, m.date, r.placement)) {
    if (c == '"' || c == '\\' || c == '{' || c == '}' || c == '@' || c == '^' || c == '_' || c == '&' || c == '~') continue;
    subtitle += c;
  }
  std::string esc_dir;
  for (char c : dir) {
    if (c == '\'') esc_dir += "''";
    else esc_dir += c;
  }
  auto both = [&](const std::string& name, const std::string& body) {
    std::string s;
    s += fmt::format("set terminal svg size 1280,800 dynamic enhanced font 'Sans,11' background rgb 'white'\n");
    s += fmt::format("set output '{}/{}.svg'\n", esc_dir, name);
    s += body;
    s += "set terminal pngcairo size 1400,875 enhanced font 'Sans,10' background rgb 'white'\n";
    s += fmt::format("set output '{}/{}.png'\n", esc_dir, name);
    s += "replot\nunset output\n";
    return s;
  };
  // Explicit ranges with a margin: a single size or a single value would otherwise make
  // gnuplot warn about an empty range.
  double xmin = 1e300, xmax = 0, lmin = 1e300, lmax = 0, tmin = 1e300, tmax = 0;
  for (const auto& row : r.rows) {
    if (!row.outcome.rtt) continue;
    auto x = static_cast<double>(row.size);
    auto l = static_cast<double>(row.outcome.rtt->p50) / 1000.0;
    xmin = std::min(xmin, x);
    xmax = std::max(xmax, x);
    lmin = std::min(lmin, std::max(l, 1e-3));
    lmax = std::max(lmax, l);
    if (row.outcome.throughput && row.outcome.throughput->mb_per_s > 0) {
      tmin = std::min(tmin, row.outcome.throughput->mb_per_s);
      tmax = std::max(tmax, row.outcome.throughput->mb_per_s);
    }
  }
  if (tmax == 0) tmin = tmax = 1;
  gp += fmt::format("set xrange [{}:{}]\n", xmin / 1.5, xmax * 1.5);
  gp += "set logscale xy\nset grid xtics ytics mxtics mytics lc rgb '#dddddd'\n";
  gp += "set key outside right top spacing 1.1\nset xlabel 'message size (bytes)'\n";
  std::set<std::size_t> xs;
  for (const auto& row : r.rows) {
    if (row.outcome.rtt) xs.insert(row.size);
  }
  std::string tics;
  for (auto x : xs) tics += fmt::format("{}'{}' {}", tics.empty() ? "" : ", ", size_label(x), x);
  gp += fmt::format("set xtics ({})\n", tics);
  gp += fmt::format("set yrange [{}:{}]\n", lmin / 2, lmax * 2);
  // A double-quoted gnuplot string: \n is a line break; {/*0.8 …} is smaller type.
  auto title = [&](const char* what) { return fmt::format("set title \"{}\\n{{/*0.8 {}}}\"\n", what, subtitle); };
  gp += both("latency", "set ylabel 'round-trip p50 (µs)'\n" + title("IPC round-trip latency, two processes") +
                            plot_cmd(2, false));
  gp += fmt::format("set yrange [{}:{}]\n", tmin / 2, tmax * 2);
  gp += both("throughput", "set ylabel 'one-way throughput (MB/s)'\n" + title("IPC one-way throughput, two processes") +
                               plot_cmd(3, true));

  std::fflush(nullptr);
  FILE* p = ::popen("gnuplot 1>&2", "w");
  if (!p) return fmt::format("popen gnuplot: {}", std::strerror(errno));
  std::fwrite(gp.data(), 1, gp.size(), p);
  int st = ::pclose(p);
  if (st != 0) {
    return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "gnuplot not found (apt-get install gnuplot-nox)"
                                                    : fmt::format("gnuplot failed (status {})", st);
  }
  return {};
}

}  // namespace ipcx::bench
