// SPDX-License-Identifier: MIT
// Boost.Interprocess message_queue, as its documentation shows: a named queue of fixed-size
// slots in shared memory, send/receive blocking on a process-shared mutex and condition
// variable (futex underneath). One queue each way.
#include <boost/interprocess/ipc/message_queue.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "peers.hpp"

namespace ipcx::bench {
namespace {

namespace bip = boost::interprocess;

// Boost's documentation uses 100; 16 is ample for one-way flow, and fewer slots for huge
// messages keep both queues within 128 MiB of /dev/shm.
unsigned depth_for(std::size_t size) {
  return static_cast<unsigned>(std::clamp<std::size_t>((64u << 20) / size, 2, 16));
}

class BoostLink final : public Link {
 public:
  BoostLink(std::unique_ptr<bip::message_queue> tx, std::unique_ptr<bip::message_queue> rx)
      : tx_(std::move(tx)), rx_(std::move(rx)) {}
  Res<void> send(std::span<const std::byte> msg) override {
    try {
      tx_->send(msg.data(), msg.size(), 0);
    } catch (const bip::interprocess_exception& e) {
      return failed(fmt::format("message_queue::send: {}", e.what()));
    }
    return {};
  }
  Res<std::size_t> receive(std::span<std::byte> buf) override {
    try {
      bip::message_queue::size_type got = 0;
      unsigned prio = 0;
      rx_->receive(buf.data(), buf.size(), got, prio);
      return static_cast<std::size_t>(got);
    } catch (const bip::interprocess_exception& e) {
      return failed(fmt::format("message_queue::receive: {}", e.what()));
    }
  }

 private:
  std::unique_ptr<bip::message_queue> tx_;
  std::unique_ptr<bip::message_queue> rx_;
};

class BoostMq final : public Case {
 public:
  BoostMq() : Case("boost-mq", "peer", "kernel") {}
  std::string note(std::size_t size) const override {
    return fmt::format("message_queue x2, depth {}", depth_for(size));
  }
  Res<void> prepare(const RunSpec& spec) override {
    names_ = {spec.stem + "-up", spec.stem + "-down"};
    try {
      for (const auto& n : names_) bip::message_queue(bip::create_only, n.c_str(), depth_for(spec.size), spec.size);
    } catch (const bip::interprocess_exception& e) {
      return failed(fmt::format("message_queue create: {}", e.what()));
    }
    return {};
  }
  Res<std::unique_ptr<Link>> server_link(const RunSpec&) override { return open(names_[1], names_[0]); }
  Res<std::unique_ptr<Link>> client_link(const RunSpec&, const std::string&) override {
    return open(names_[0], names_[1]);
  }
  void cleanup(const RunSpec&) override {
    for (const auto& n : names_) bip::message_queue::remove(n.c_str());
    names_.clear();
  }

 private:
  static Res<std::unique_ptr<Link>> open(const std::string& tx, const std::string& rx) {
    try {
      return std::make_unique<BoostLink>(std::make_unique<bip::message_queue>(bip::open_only, tx.c_str()),
                                         std::make_unique<bip::message_queue>(bip::open_only, rx.c_str()));
    } catch (const bip::interprocess_exception& e) {
      return failed(fmt::format("message_queue open: {}", e.what()));
    }
  }
  std::vector<std::string> names_;
};

}  // namespace

void add_boost(CaseList& out) { out.push_back(std::make_unique<BoostMq>()); }

}  // namespace ipcx::bench
