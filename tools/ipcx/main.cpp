// ipcx — send, receive, inspect and measure inter-process communication on Linux.
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"

namespace ipcx::cli {

void error(std::string_view text) { fmt::print(stderr, "ipcx: {}\n", text); }

}  // namespace ipcx::cli

int main(int argc, char** argv) {
  CLI::App app{"ipcx: inter-process communication on Linux, every mechanism behind one URL.\n"
               "URLs: shm://NAME unix:///PATH unix:@NAME unixgram:… unixpacket:… tcp://HOST:PORT\n"
               "      udp://HOST:PORT fifo:///PATH posixmq:///NAME sysvmq://KEY",
               "ipcx"};
  app.require_subcommand(1);
  app.fallthrough(false);
  int rc = ipcx::cli::kOk;
  ipcx::cli::add_send(app, rc);
  ipcx::cli::add_recv(app, rc);
  ipcx::cli::add_bench(app, rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return ipcx::cli::kUsage;
  }
  return rc;
}
