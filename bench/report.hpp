// SPDX-License-Identifier: MIT
// What a run found, and the four ways it is shown: an aligned table on stdout, JSON (the
// schema in docs/benchmark.md), CSV, and gnuplot charts (SVG and PNG).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "idle.hpp"

namespace ipcx::bench {

struct Machine {
  std::string cpu;     // model name
  int cores = 0;       // online CPUs
  std::string kernel;  // "Linux 6.1.0-… #1 SMP …"
  std::string date;    // ISO 8601, UTC
  // Not in the JSON's machine object, printed in the header:
  std::string clocksource;
  std::string allowed_cpus;
  double load = -1;  // 1-minute load average (/proc/loadavg) when the facts were read
};
Machine machine_facts();
double load_average();  // the 1-minute load average, -1 if unknown

struct Row {
  std::string case_name;
  std::string impl;
  std::string wait;
  std::size_t size = 0;
  std::string pinned;                  // Placement::json()
  std::optional<std::uint64_t> floor_ns;
  Outcome outcome;
  std::string note;
  std::size_t batch = 0;               // one-way messages per batch; 0: one at a time
  std::optional<double> x_raw;         // ipcx p50 / raw p50, same mechanism and size
  // The row's p50 and p99.9 over those of the floor measured beside it; with --repeat, the
  // median of each round's ratio (a VM's drift moves both alike within a round).
  std::optional<double> x_floor;
  std::optional<double> x_floor_p999;
};

struct Report {
  Machine machine;
  std::string command;       // the command line
  std::string placement;     // Placement::describe()
  std::string settings;      // sizes, budgets
  std::vector<Row> rows;
  std::vector<IdleResult> idle;  // the shm ring's idle receiver, per wait strategy (if shm ran)
};

// Fills Row::x_raw for ipcx rows that have an ok raw row beside them.
void compute_ratios(std::vector<Row>& rows);

std::string render_header(const Report& r);
std::string render_table(const Report& r);
std::string render_json(const Report& r);
std::string render_csv(const Report& r);
// Writes latency.{svg,png} and throughput.{svg,png} into dir with gnuplot. Empty on
// success, else why not.
std::string write_plots(const Report& r, const std::string& dir);

// "64", "4K", "1M"
std::string size_label(std::size_t size);
// "64 B", "4 KiB", "1 MiB"
std::string bytes_label(std::size_t size);

}  // namespace ipcx::bench
