// SPDX-License-Identifier: MIT
// ipcx-bench: every IPC mechanism on this host and the libraries people use instead,
// measured side by side between two processes. `ipcx bench` runs it.
//
// Cases (--cases takes these names; rows print them):
//   floor        two processes spinning on shared cache lines, copying the message (raw)
//   futex-floor  the same ring, waiting in futex(2)                                  (raw)
//   pipe fifo unix unixgram unixpacket tcp udp posixmq sysvmq
//                each as a plain system-call loop (raw) and as an ipcx Channel (ipcx), and
//                the Channel again with its one-way phase in batches (ipcx bN: --batch)
//   eventfd      a shared ring woken through an eventfd                              (raw)
//   shm          ipcx's shared-memory ring, one row per wait strategy                (ipcx)
//                and wait=sleep again in batches                                    (ipcx bN)
//   shm-zc       the same ring zero-copy: loan/commit, read checked in place          (ipcx)
//   shm-pubsub   the ring as publish/subscribe: 1 or 4 subscribers, policy block/drop (ipcx)
//   zmq-ipc zmq-tcp raw libzmq (raw) and ipcx's zmq+ipc:// / zmq+tcp:// Channels     (ipcx)
//   nats         the NATS C client (raw) and ipcx's nats:// Channel, own nats-server  (ipcx)
//   bridge-nats  shm:// -> ipcx bridge -> NATS -> ipcx bridge -> shm:// each way      (ipcx)
//   boost-mq nng-ipc iceoryx                                                         (peer)
// Method, options and output: docs/benchmark.md.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <mqueue.h>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cases.hpp"
#include "idle.hpp"
#include "report.hpp"

namespace ipcx::bench {
namespace {

struct Options {
  std::string cases;
  std::string sizes;
  std::uint64_t iterations = 0;
  unsigned repeat = 1;
  std::size_t batch = 64;
  bool quick = false;
  bool no_pin = false;
  bool same_core = false;
  std::string cpus;
  std::string json;
  std::string csv;
  std::string plot;
  bool list = false;
};

Res<std::size_t> parse_size(std::string s) {
  std::size_t mult = 1;
  if (!s.empty()) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
    if (c == 'k') mult = 1024;
    if (c == 'm') mult = 1024 * 1024;
    if (mult != 1) s.pop_back();
  }
  std::size_t pos = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &pos);
  } catch (...) {
    pos = 0;
  }
  if (s.empty() || pos != s.size()) return failed(fmt::format("--sizes: '{}' is not a size (e.g. 64, 4k, 1m)", s));
  std::size_t size = static_cast<std::size_t>(v) * mult;
  if (size < kMinSize || size > (64u << 20)) {
    return failed(fmt::format("--sizes: {} is out of range ({} bytes .. 64 MiB; every message carries a {}-byte "
                              "header)",
                              size, kMinSize, kHeaderSize));
  }
  return size;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Res<Placement> choose_placement(const Options& o) {
  Placement p;
  if (o.no_pin) {
    p.kind = Placement::Kind::none;
    return p;
  }
  std::vector<int> allowed;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return failed_errno("sched_getaffinity", errno);
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) allowed.push_back(i);
  }
  std::vector<int> want;
  if (!o.cpus.empty()) {
    for (const auto& c : split(o.cpus)) {
      try {
        want.push_back(std::stoi(c));
      } catch (...) {
        return failed("--cpus: '" + c + "' is not a CPU number");
      }
    }
    for (int c : want) {
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) {
        return failed(fmt::format("--cpus: cpu {} is not in this process's affinity mask", c));
      }
    }
  } else {
    want = allowed;
  }
  if (want.empty()) return failed("no CPU to pin to");
  p.server_cpu = want[0];
  if (o.same_core || want.size() < 2) {
    p.kind = Placement::Kind::same_core;
    p.client_cpu = want[0];
  } else {
    p.kind = Placement::Kind::two_cores;
    p.client_cpu = want[1];
  }
  return p;
}

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

// Removes whatever still carries this run's prefix (a case that failed to clean up, a
// process killed at a timeout). Returns what it found, so that a leak is reported.
std::vector<std::string> sweep() {
  std::vector<std::string> found;
  const std::string prefix = name_prefix();
  for (const char* dir : {"/tmp", "/dev/shm", "/dev/mqueue"}) {
    DIR* d = ::opendir(dir);
    if (!d) continue;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      // Names carry the prefix, some behind a transport's own (the shm ring's "ipcx.ring.").
      if (n.find(prefix) == std::string::npos) continue;
      std::string path = std::string(dir) + "/" + n;
      found.push_back(path);
      if (std::string(dir) == "/dev/mqueue") {
        ::mq_unlink(("/" + n).c_str());
      } else {
        ::unlink(path.c_str());
      }
    }
    ::closedir(d);
  }
  return found;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    fmt::print(stderr, "ipcx-bench: cannot write {}\n", path);
    return false;
  }
  return true;
}

class Progress {
 public:
  Progress() : tty_(::isatty(2) == 1) {}
  void show(const std::string& s) {
    if (tty_) {
      fmt::print(stderr, "\r\x1b[K{}", s);
    } else {
      fmt::print(stderr, "{}\n", s);
    }
    std::fflush(stderr);
  }
  void done() {
    if (tty_) fmt::print(stderr, "\r\x1b[K");
  }

 private:
  bool tty_;
};

template <typename T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : static_cast<T>((v[m - 1] + v[m]) / 2);  // an even count: the mean of the middle two
}

// One outcome from several measurements of the same row: the first that is not ok, or
// the median of each figure (the max of the maxima; the samples added up). The remark is
// the last repetition's.
Outcome median_of(const std::vector<Outcome>& reps) {
  if (reps.empty()) return Outcome{"failed: interrupted", std::nullopt, std::nullopt, {}};
  for (const auto& r : reps) {
    if (!r.ok()) return r;
  }
  if (reps.size() == 1) return reps.front();
  Outcome out = reps.back();
  out.rtt.reset();
  out.throughput.reset();
  auto pick = [&](auto field) {
    std::vector<decltype(field(reps.front()))> v;
    for (const auto& r : reps) v.push_back(field(r));
    return median(v);
  };
  if (std::all_of(reps.begin(), reps.end(), [](const Outcome& r) { return r.rtt.has_value(); })) {
    Latency l;
    l.p50 = pick([](const Outcome& r) { return r.rtt->p50; });
    l.p99 = pick([](const Outcome& r) { return r.rtt->p99; });
    l.p999 = pick([](const Outcome& r) { return r.rtt->p999; });
    for (const auto& r : reps) {
      l.max = std::max(l.max, r.rtt->max);
      l.samples += r.rtt->samples;
    }
    out.rtt = l;
  }
  if (std::all_of(reps.begin(), reps.end(), [](const Outcome& r) { return r.throughput.has_value(); })) {
    out.throughput = Throughput{pick([](const Outcome& r) { return r.throughput->msgs_per_s; }),
                                pick([](const Outcome& r) { return r.throughput->mb_per_s; })};
  }
  return out;
}

int run(const Options& o, const std::string& command) {
  // Which rows.
  CaseList cases = all_cases();
  std::set<std::string> selected;
  if (!o.cases.empty() && o.cases != "all") {
    for (const auto& c : split(o.cases)) {
      if (std::find(kCaseNames.begin(), kCaseNames.end(), c) == kCaseNames.end()) {
        std::string names;
        for (auto n : kCaseNames) names += fmt::format(" {}", n);
        fmt::print(stderr, "ipcx-bench: unknown case '{}'; cases:{}\n", c, names);
        return 2;
      }
      selected.insert(c);
    }
  }
  std::vector<std::size_t> sizes;
  std::string size_text = o.sizes;
  if (size_text.empty()) size_text = o.quick ? "64,4k,64k" : "64,256,1k,4k,16k,64k,256k,1m";
  for (const auto& s : split(size_text)) {
    auto v = parse_size(s);
    if (!v) {
      fmt::print(stderr, "ipcx-bench: {}\n", v.error().why);
      return 2;
    }
    if (std::find(sizes.begin(), sizes.end(), *v) == sizes.end()) sizes.push_back(*v);
  }
  auto placement = choose_placement(o);
  if (!placement) {
    fmt::print(stderr, "ipcx-bench: {}\n", placement.error().why);
    return 2;
  }

  Budget budget;
  if (o.quick) {
    budget.warmup = std::chrono::milliseconds(20);
    budget.warmup_iterations = 200;
    budget.rtt = std::chrono::milliseconds(150);
    budget.oneway = std::chrono::milliseconds(100);
    budget.floor = std::chrono::milliseconds(40);
  }
  if (o.iterations > 0) {
    budget.max_round_trips = o.iterations;
    budget.max_oneway = o.iterations;
    budget.warmup_iterations = std::min(budget.warmup_iterations, std::max<std::uint64_t>(1, o.iterations / 10));
  }
  Budget floor_budget = budget;
  floor_budget.rtt = budget.floor;
  floor_budget.warmup = std::min(budget.warmup, budget.floor);

  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: a wait returns, the run stops and cleans up
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  set_stop_flag(&g_stop);

  Report rep;
  rep.machine = machine_facts();
  rep.command = command;
  rep.placement = placement->describe();
  std::string size_list;
  for (auto s : sizes) {
    if (!size_list.empty()) size_list += ',';
    size_list += size_label(s);
  }
  auto ms = [](std::chrono::nanoseconds d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  rep.settings = fmt::format("sizes {}; per row: warm-up {} ms, round trips {} ms, one-way {} ms{}; batch rows: {} "
                             "messages per batch; floor {} ms beside each row{}{}",
                             size_list, ms(budget.warmup), ms(budget.rtt), ms(budget.oneway),
                             o.iterations ? fmt::format(", at most {} iterations", o.iterations) : std::string(),
                             o.batch, ms(budget.floor), o.quick ? " (--quick)" : "",
                             o.repeat > 1 ? fmt::format("; each row measured {} times (with its floor): medians of p50, "
                                                        "p99, p99.9, msgs/s, MB/s and floor, the largest max, all samples",
                                                        o.repeat)
                                          : std::string());
  std::fputs(render_header(rep).c_str(), stdout);
  std::fflush(stdout);
  if (rep.machine.load > rep.machine.cores) {
    fmt::print(stderr, "ipcx-bench: the load average is {:.1f} on {} CPUs: other processes compete for them, and the "
                       "numbers (spin rows above all) will show it\n",
               rep.machine.load, rep.machine.cores);
  }

  auto floor_case = make_floor();
  std::size_t total = 0;
  for (const auto& c : cases) {
    if (selected.empty() || selected.count(c->name())) total += sizes.size() * o.repeat;
  }
  Progress progress;
  std::size_t done = 0;
  unsigned long stem_n = 0;
  auto next_spec = [&](std::size_t size, const Budget& b) {
    RunSpec s;
    s.size = size;
    s.stem = fmt::format("{}{}", name_prefix(), stem_n++);
    s.placement = *placement;
    s.budget = b;
    return s;
  };

  // --repeat N runs every selected row N times in N rounds, so that the repetitions of a
  // row lie minutes apart (a VM's vCPU placement drifts over seconds to minutes, and
  // repetitions back to back would share its state). Rows are made in the first round;
  // each repetition is the row and the floor beside it; the row reports medians.
  struct Samples {
    std::vector<Outcome> reps;
    std::vector<std::uint64_t> floors;
    std::vector<double> x_floor, x_floor_p999;  // each round's ratios to its own floor
    bool measured = false;  // not skipped: later rounds measure it again
  };
  std::vector<Samples> samples;
  for (unsigned round = 0; round < o.repeat && !g_stop.load(); ++round) {
    std::size_t ri = 0;  // the row's index, the same in every round
    for (auto& c : cases) {
      if (g_stop.load()) break;
      if (!selected.empty() && !selected.count(c->name())) continue;
      // Whether any row of this case is measured in this round (in later rounds: rows that
      // were measured and have not failed), so that a daemon is started only when needed.
      bool any = false;
      for (std::size_t k = 0; k < sizes.size(); ++k) {
        if (round == 0) {
          any = any || c->skip_reason(sizes[k]).empty();
        } else {
          const Samples& smp = samples[ri + k];
          any = any || (smp.measured && !smp.reps.empty() && smp.reps.back().ok());
        }
      }
      std::optional<Problem> series_problem;
      bool began = false;
      if (any) {
        progress.show(fmt::format("[{}/{}] {} {} {}: starting", done, total, c->name(), c->impl(), c->wait()));
        auto b = c->begin_series();
        began = true;
        if (!b) series_problem = b.error();
      }
      std::optional<std::string> sticky;  // a reason that holds for every size (not implemented)
      for (std::size_t size : sizes) {
        if (g_stop.load()) break;
        const std::size_t i = ri++;
        if (round == 0) {
          Row row;
          row.case_name = c->name();
          row.impl = c->impl();
          row.wait = c->wait();
          row.size = size;
          row.pinned = placement->json();
          row.note = c->note(size);
          row.batch = c->batched() ? o.batch : 0;
          if (auto why = c->skip_reason(size); !why.empty()) {
            row.outcome.status = "skipped: " + why;
          } else if (series_problem) {
            row.outcome.status = (series_problem->kind == Problem::Kind::skipped ? "skipped: " : "failed: ") +
                                 series_problem->why;
          } else if (sticky) {
            row.outcome.status = *sticky;
          }
          rep.rows.push_back(std::move(row));
          samples.push_back(Samples{{}, {}, {}, {}, rep.rows.back().outcome.status.empty()});
        }
        Samples& smp = samples[i];
        if (!smp.measured || (!smp.reps.empty() && !smp.reps.back().ok())) {
          ++done;
          continue;
        }
        if (series_problem) {  // a later round's set-up failed (a daemon did not start)
          const bool skip = series_problem->kind == Problem::Kind::skipped;
          smp.reps.push_back(Outcome{(skip ? "skipped: " : "failed: ") + series_problem->why, {}, {}, {}});
          ++done;
          continue;
        }
        progress.show(fmt::format("[{}/{}] {} {} {} {} B", done + 1, total, c->name(), c->impl(), c->wait(), size));
        RunSpec spec = next_spec(size, budget);
        spec.batch = c->batched() ? o.batch : 0;
        smp.reps.push_back(measure(*c, spec));
        if (smp.reps.back().status == "skipped: transport not implemented") sticky = smp.reps.back().status;
        if (smp.reps.back().ok() && !g_stop.load()) {
          auto f = measure(*floor_case, next_spec(size, floor_budget), true);
          const auto& m = smp.reps.back().rtt;
          if (f.rtt && m && f.rtt->p50 > 0 && f.rtt->p999 > 0) {
            smp.floors.push_back(f.rtt->p50);
            smp.x_floor.push_back(static_cast<double>(m->p50) / static_cast<double>(f.rtt->p50));
            smp.x_floor_p999.push_back(static_cast<double>(m->p999) / static_cast<double>(f.rtt->p999));
          }
        }
        ++done;
      }
      if (began) c->end_series();
    }
  }
  for (std::size_t i = 0; i < rep.rows.size(); ++i) {
    Row& row = rep.rows[i];
    if (!samples[i].measured) continue;
    row.outcome = median_of(samples[i].reps);
    if (!row.outcome.remark.empty()) row.note += (row.note.empty() ? "" : "; ") + row.outcome.remark;
    if (row.outcome.ok() && !samples[i].floors.empty()) {
      row.floor_ns = median(samples[i].floors);
      row.x_floor = median(samples[i].x_floor);
      row.x_floor_p999 = median(samples[i].x_floor_p999);
    }
  }
  if (!g_stop.load() && (selected.empty() || selected.count("shm"))) {
    progress.show("idle receiver CPU, shm ring, each wait strategy");
    rep.idle = measure_idle_cpu(o.quick || o.iterations ? std::chrono::milliseconds(300) : std::chrono::milliseconds(1000),
                                placement->server_cpu, fmt::format("{}{}", name_prefix(), stem_n++));
  }
  progress.done();

  int rc = 0;
  if (auto left = sweep(); !left.empty()) {
    for (const auto& l : left) fmt::print(stderr, "ipcx-bench: removed {} (left by a case: a bug)\n", l);
    rc = 1;
  }
  if (g_stop.load()) {
    fmt::print(stderr, "ipcx-bench: interrupted; results so far follow\n");
    rc = 130;
  }

  compute_ratios(rep.rows);
  std::fputs(render_table(rep).c_str(), stdout);
  std::fputs(fmt::format("\nload at the end: {:.2f} (1-minute load average)\n", load_average()).c_str(), stdout);
  std::fflush(stdout);
  if (!o.json.empty() && !write_file(o.json, render_json(rep))) rc = rc ? rc : 1;
  if (!o.csv.empty() && !write_file(o.csv, render_csv(rep))) rc = rc ? rc : 1;
  if (!o.plot.empty()) {
    if (auto err = write_plots(rep, o.plot); !err.empty()) {
      fmt::print(stderr, "ipcx-bench: --plot: {}\n", err);
      rc = rc ? rc : 1;
    } else {
      fmt::print(stderr, "ipcx-bench: wrote {0}/latency.svg, {0}/latency.png, {0}/throughput.svg, {0}/throughput.png\n",
                 o.plot);
    }
  }
  return rc;
}

}  // namespace

CaseList all_cases() {
  CaseList list;
  add_shared_memory_raw(list);
  add_kernel_raw(list);
  add_ipcx(list);
  add_ring(list);
  add_peers(list);
  add_remote(list);
  auto rank = [](const Case& c) {
    auto it = std::find(kCaseNames.begin(), kCaseNames.end(), c.name());
    int impl = c.impl() == "raw" ? 0 : (c.impl() == "ipcx" ? 1 : 2);
    return std::pair<long, int>(it - kCaseNames.begin(), impl);
  };
  // A stable order by rank, insertion order within (std::stable_sort would do, but its
  // libstdc++ 12 implementation trips clang's C++23 deprecation warnings).
  std::vector<std::size_t> order(list.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    auto ra = rank(*list[a]);
    auto rb = rank(*list[b]);
    return ra != rb ? ra < rb : a < b;
  });
  CaseList sorted;
  for (auto i : order) sorted.push_back(std::move(list[i]));
  return sorted;
}

}  // namespace ipcx::bench

int main(int argc, char** argv) {
  using namespace ipcx::bench;
  CLI::App app{"ipcx-bench: IPC round-trip latency and one-way throughput between two processes, every mechanism "
               "and the peer libraries side by side (docs/benchmark.md).",
               "ipcx-bench"};
  // `ipcx bench` execs this with argv[0] "ipcx bench": its --help says what the user typed.
  if (argc > 0 && std::string(argv[0]) == "ipcx bench") app.name("ipcx bench");
  Options o;
  std::string names;
  for (auto n : kCaseNames) names += fmt::format(" {}", n);
  app.add_option("--cases", o.cases, "Comma-separated cases (default: all):" + names);
  app.add_option("--sizes", o.sizes, "Comma-separated message sizes, k/m suffixes (default 64,256,1k,4k,16k,64k,256k,1m; "
                                     "--quick: 64,4k,64k)");
  app.add_option("--iterations", o.iterations, "At most N round trips and N one-way messages per row (default: "
                                               "bounded by time only)")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeat", o.repeat, "Measure each row N times, each with its floor, and report the medians (for "
                                       "machines whose CPUs drift, as VMs' do)")
      ->check(CLI::Range(1u, 99u));
  app.add_option("--batch", o.batch, "Messages per batch in the batch rows' one-way phase (impl \"ipcx bN\" in the "
                                     "table; default 64)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  app.add_flag("--quick", o.quick, "Short budgets and three sizes: about a minute in all");
  app.add_flag("--no-pin", o.no_pin, "Do not pin the two processes to CPUs");
  app.add_flag("--same-core", o.same_core, "Pin both processes to one CPU");
  app.add_option("--cpus", o.cpus, "The two CPUs to pin to, e.g. 0,1 (default: the first two allowed)");
  app.add_option("--json", o.json, "Write the results as JSON to FILE");
  app.add_option("--csv", o.csv, "Write the results as CSV to FILE");
  app.add_option("--plot", o.plot, "Write latency and throughput charts (SVG and PNG, gnuplot) into DIR");
  app.add_flag("--list", o.list, "List the rows and exit");
  app.footer("Example:\n  ipcx bench --quick\n  ipcx bench --cases floor,shm,pipe --sizes 64,4k --json out.json --plot "
             "plots");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (o.no_pin && (o.same_core || !o.cpus.empty())) {
    fmt::print(stderr, "ipcx-bench: --no-pin excludes --same-core and --cpus\n");
    return 2;
  }
  if (o.list) {
    for (const auto& c : all_cases()) {
      auto why = c->skip_reason(64);
      const std::string impl = c->batched() ? fmt::format("{} b{}", c->impl(), o.batch) : c->impl();
      fmt::print("{:<12} {:<9} {:<7} {}\n", c->name(), impl, c->wait(), why.empty() ? c->note(64) : "skipped: " + why);
    }
    return 0;
  }
  // `ipcx bench` execs this with argv[0] "ipcx bench": print what the user typed.
  std::string command = std::string(argv[0]) == "ipcx bench" ? "ipcx bench" : "ipcx-bench";
  for (int i = 1; i < argc; ++i) command += fmt::format(" {}", argv[i]);
  return run(o, command);
}
