// SPDX-License-Identifier: MIT
// nats://HOST:PORT[,HOST:PORT…]/SUBJECT — a Channel over a NATS server or cluster, through
// the NATS C client (libnats). docs/beyond-one-host.md has the user's side of all this.
//
// Channel::open publishes only. Channel::bind also subscribes to SUBJECT ('*' and '>'
// wildcards allowed) and returns once the server has the subscription (a flush), so a
// message published after bind returns is delivered to it. A bound channel does not receive
// what it publishes itself (NATS "no echo"), so a bridge can forward both ways.
//
// The C client has no descriptor to poll: it delivers a subscription's messages to a
// callback on its own thread. The callback moves each message into this channel's queue
// and rings an eventfd when the queue goes from empty to not empty; a receive that empties
// the queue resets it. So pollable_fd() is level-triggered: readable exactly while a
// message is queued, or once the connection is closed for good. Blocking receives wait on a
// condition variable beside the queue, not on the descriptor.
//
// The queue is bounded (pending=N messages, pending_bytes=SIZE); a message that arrives
// when it is full is dropped and counted, as are those the client library drops itself
// (NATS calls both "slow consumer"). The next message received carries the count in lost.
//
// Sending publishes (buffered by the client; flush=1 waits for the server's round trip too,
// once per send_batch rather than once per message).
// While the client is reconnecting, a send waits for it up to its deadline, then fails
// timed_out naming the servers; once the client gives up (reconnect=N attempts spent), or
// on a receive after that, the error is peer_gone.
//
// JetStream (stream=NAME): a send is a JetStream publish, which returns once the stream has
// stored the message (the server's acknowledgement); each carries an id (Nats-Msg-Id) that
// stays the same when a send tries again after a timeout or a server lost, so the stream
// keeps it once. A bound channel (durable=NAME) takes the messages of a durable push
// consumer that this channel creates if it does not exist and binds to; a message is
// acknowledged when a receive hands it to the caller, and one not acknowledged within
// ack_wait (a receiver killed with it queued, an acknowledgement lost with a server) is
// delivered again: at least once. Closing the channel gives back (naks) what is queued but
// not taken, so the next receiver of the durable gets it at once. The stream is created
// on SUBJECT (replicas=N) by whichever side finds it missing.
//
// Thread-safety: as every Channel, one thread at a time; the callbacks below only touch
// State, under its mutex.
#include <nats/nats.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ipcx/detail/transport.hpp"
#include "sys/eventfd.hpp"

namespace ipcx::detail {
namespace {

using namespace std::chrono_literals;

// How long the destructor waits for the client's threads to let go of State.
constexpr auto kTeardownWait = 5s;
// The longest a JetStream request waits for its answer (per attempt, for a publish).
constexpr std::chrono::milliseconds kJsWait = 5s;

int errno_of(natsStatus s) {
  switch (s) {
    case NATS_TIMEOUT: return ETIMEDOUT;
    case NATS_NO_SERVER: return ECONNREFUSED;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION: return EPIPE;
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED: return EACCES;
    case NATS_MAX_PAYLOAD: return EMSGSIZE;
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
    case NATS_INVALID_QUEUE_NAME: return EINVAL;
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED: return EPROTO;
    case NATS_SLOW_CONSUMER: return ENOBUFS;
    case NATS_NO_MEMORY: return ENOMEM;
    default: return EIO;
  }
}

// The client's words for a failed call: its status text and, when it has one, the text of
// the failure it recorded on this thread (e.g. "nats: Authorization Violation").
std::string client_text(natsStatus s) {
  std::string text = natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  const char* recorded = nats_GetLastError(&last);
  std::string_view detail = recorded ? recorded : "";
  // The client prefixes its source location, "(conn.c:2088): "; the reader needs the words.
  if (detail.starts_with("(")) {
    if (auto end = detail.find("): "); end != std::string_view::npos) detail.remove_prefix(end + 3);
  }
  if (!detail.empty() && detail != text) text += fmt::format(": {}", detail);
  return text;
}

// `op` is a string literal.
std::unexpected<Error> nats_fail(const char* op, natsStatus s, std::string_view object, std::string context = {}) {
  std::string detail = client_text(s);
  int err = errno_of(s);
  // The server refuses a bad token or credentials by closing with this text; the status
  // the client returns for it varies with timing (NO_SERVER, CONNECTION_CLOSED, AUTH_FAILED).
  if (detail.find("Authorization Violation") != std::string::npos ||
      detail.find("Authentication") != std::string::npos) {
    err = EACCES;
    context = context.empty() ? "authorisation refused by the server" : context + "; authorisation refused by the server";
  }
  if (!context.empty()) detail = fmt::format("{}: {}", context, detail);
  return fail(Error::from_errno(op, err, object).with_detail(std::move(detail)));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += fmt::format("{}{}", out.empty() ? "" : ", ", s);
  return out;
}

Result<std::string> read_token_file(const Url& url, const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail_errno("open", errno ? errno : ENOENT, path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) return fail(Errc::invalid_argument, "nats connect", url.text, fmt::format("token file {} is empty", path));
  return t;
}

// What the client's threads share with the Channel. Every member is guarded by mu, but
// the descriptor (its own synchronisation) and the pointers set before any callback runs.
struct State {
  std::mutex mu;
  std::condition_variable cv;          // a message queued, the connection changed, teardown
  std::deque<natsMsg*> queue;          // owned; destroyed when taken or at teardown
  std::size_t queued_bytes = 0;
  std::size_t max_queued = 65536;
  std::size_t max_queued_bytes = 64u << 20;
  std::uint64_t dropped_here = 0;      // dropped because the queue was full
  std::uint64_t lost_reported = 0;     // of dropped_here + the client's own count
  std::uint64_t generation = 0;        // bumped at every connection event
  bool closed = false;                 // the client gave up: no more messages, no sends
  bool sub_complete = false;           // the message handler will not run again
  std::string last_async_error;        // e.g. slow consumer, permissions violation
  std::string lost_server;             // the server last disconnected from
  bool acked = false;                  // JetStream: a message not queued comes again
  Fd doorbell;                         // eventfd: readable while the queue is not empty
};

void ring(State& s) { (void)sys::eventfd_add(s.doorbell.get(), 1); }
void unring(State& s) { (void)sys::eventfd_take(s.doorbell.get()); }

extern "C" void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& s = *static_cast<State*>(closure);
  std::size_t size = static_cast<std::size_t>(natsMsg_GetDataLength(msg));
  std::lock_guard lock(s.mu);
  if (s.queue.size() >= s.max_queued || s.queued_bytes + size > s.max_queued_bytes) {
    if (!s.acked) ++s.dropped_here;  // JetStream redelivers it after ack_wait
    natsMsg_Destroy(msg);
    return;
  }
  if (s.queue.empty()) ring(s);
  s.queue.push_back(msg);
  s.queued_bytes += size;
  s.cv.notify_all();
}

extern "C" void on_sub_complete(void* closure) {
  auto& s = *static_cast<State*>(closure);
  std::lock_guard lock(s.mu);
  s.sub_complete = true;
  s.cv.notify_all();
}

extern "C" void on_disconnected(natsConnection* nc, void* closure) {
  auto& s = *static_cast<State*>(closure);
  char url[256] = "";
  // The URL of the server just lost, while the client still knows it.
  if (natsConnection_GetConnectedUrl(nc, url, sizeof url) != NATS_OK) url[0] = '\0';
  std::lock_guard lock(s.mu);
  if (url[0]) s.lost_server = url;
  ++s.generation;
  s.cv.notify_all();
}

extern "C" void on_reconnected(natsConnection*, void* closure) {
  auto& s = *static_cast<State*>(closure);
  std::lock_guard lock(s.mu);
  ++s.generation;
  s.cv.notify_all();
}

// The last callback the client makes for a connection.
extern "C" void on_closed(natsConnection*, void* closure) {
  auto& s = *static_cast<State*>(closure);
  std::lock_guard lock(s.mu);
  if (s.queue.empty()) ring(s);  // a poller wakes and its receive sees peer_gone
  s.closed = true;
  ++s.generation;
  s.cv.notify_all();
}

extern "C" void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
  auto& s = *static_cast<State*>(closure);
  std::lock_guard lock(s.mu);
  s.last_async_error = natsStatus_GetText(err);
}

// JetStream's words for a failed call: the client's, and the server's error code if it sent one.
std::unexpected<Error> js_fail(const char* op, natsStatus s, jsErrCode code, std::string_view object,
                               std::string context = {}) {
  if (code == JSNotEnabledErr || code == JSNotEnabledForAccountErr || s == NATS_NO_RESPONDERS) {
    std::string why = s == NATS_NO_RESPONDERS ? "no JetStream answered (is the server started with -js?)"
                                              : "JetStream is not enabled on the server (nats-server -js)";
    context = context.empty() ? why : context + "; " + why;
  } else if (code != 0) {
    std::string why = fmt::format("JetStream error {}", static_cast<int>(code));
    context = context.empty() ? why : context + "; " + why;
  }
  return nats_fail(op, s, object, std::move(context));
}

// The stream NAME exists, or is made on `subject` with `replicas` copies (file storage).
// Both sides call this: whichever comes first makes it; a stream made meanwhile by the
// other is found on the second look.
Result<void> ensure_stream(jsCtx* js, const std::string& stream, const std::string& subject, std::int64_t replicas) {
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus st = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &code);
  if (st == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  if (st != NATS_NOT_FOUND && code != JSStreamNotFoundErr) return js_fail("nats stream info", st, code, stream);
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {subject.c_str()};
  cfg.Name = stream.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  code = static_cast<jsErrCode>(0);
  st = js_AddStream(&si, js, &cfg, nullptr, &code);
  if (st == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  jsErrCode again = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &again) == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return {};
  }
  return js_fail("nats stream add", st, code, stream, fmt::format("subject {}, {} replicas", subject, replicas));
}

// The durable push consumer `durable` on `stream` exists, or is made: explicit acks, a
// redelivery after ack_wait, at most max_ack_pending unacknowledged (so the channel's queue
// never overflows), every message of the stream on `subject` from the first.
Result<void> ensure_consumer(jsCtx* js, const std::string& stream, const std::string& durable,
                             const std::string& subject, std::int64_t ack_wait_ms, std::int64_t max_ack_pending) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus st = js_GetConsumerInfo(&ci, js, stream.c_str(), durable.c_str(), nullptr, &code);
  if (st == NATS_OK) {
    jsConsumerInfo_Destroy(ci);
    return {};
  }
  if (st != NATS_NOT_FOUND && code != JSConsumerNotFoundErr) return js_fail("nats consumer info", st, code, durable);
  natsInbox* inbox = nullptr;
  if (st = natsInbox_Create(&inbox); st != NATS_OK) return nats_fail("natsInbox_Create", st, durable);
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = durable.c_str();
  cc.DeliverSubject = inbox;
  cc.DeliverPolicy = js_DeliverAll;
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = ack_wait_ms * 1000000;
  cc.MaxAckPending = max_ack_pending;
  cc.FilterSubject = subject.c_str();
  code = static_cast<jsErrCode>(0);
  st = js_AddConsumer(&ci, js, stream.c_str(), &cc, nullptr, &code);
  natsInbox_Destroy(inbox);
  if (st == NATS_OK) {
    jsConsumerInfo_Destroy(ci);
    return {};
  }
  jsErrCode again = static_cast<jsErrCode>(0);
  if (js_GetConsumerInfo(&ci, js, stream.c_str(), durable.c_str(), nullptr, &again) == NATS_OK) {
    jsConsumerInfo_Destroy(ci);
    return {};
  }
  return js_fail("nats consumer add", st, code, durable, fmt::format("stream {}", stream));
}

struct OptionsDeleter {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};
using OptionsPtr = std::unique_ptr<natsOptions, OptionsDeleter>;

class NatsChannel final : public ChannelImpl {
 public:
  static Result<std::unique_ptr<ChannelImpl>> open(const Url& url, bool bind);

  ~NatsChannel() override { teardown(); }

  Result<void> send(std::span<const std::byte> msg, Deadline d, const SendOptions&) override {
    if (auto p = publish(msg, d); !p || js_ || !flush_) return p;
    return flush(d);
  }

  // flush=1: the messages are published one by one (the client buffers them) and flushed
  // once, at the end of the batch, rather than once each. When that flush fails, the batch
  // reports its last message as the one not sent (a send of it alone would have flushed
  // the others with it). When a publish fails, the ones before it were published (and go
  // out as without flush=1) but not flushed.
  BatchSent send_batch(std::span<const std::span<const std::byte>> msgs, Deadline d, const SendOptions& o) override {
    if (js_ || !flush_ || msgs.empty()) return ChannelImpl::send_batch(msgs, d, o);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      if (auto p = publish(msgs[i], d); !p) return BatchSent{.sent = i, .error = std::move(p)};
    }
    if (auto f = flush(d); !f) return BatchSent{.sent = msgs.size() - 1, .error = std::move(f)};
    return BatchSent{.sent = msgs.size(), .error = {}};
  }

  Result<Received> receive(std::span<std::byte> buf, Deadline d, const ReceiveOptions&) override {
    std::unique_lock lock(state_->mu);
    auto front = wait_message(lock, d);
    if (!front) return std::unexpected(std::move(front.error()));
    std::size_t size = static_cast<std::size_t>(natsMsg_GetDataLength(*front));
    if (size > buf.size()) {
      // The message stays queued: the caller may come back with a larger buffer.
      return fail(Error::from_errno("nats receive", EMSGSIZE, subject_)
                      .with_detail(fmt::format("message is {} bytes; the buffer holds {}", size, buf.size()))
                      .with_size(size));
    }
    if (size > 0) std::memcpy(buf.data(), natsMsg_GetData(*front), size);
    Received r;
    r.size = size;
    natsMsg* taken = pop(lock, r.lost);
    lock.unlock();
    finish(taken);
    return r;
  }

  Result<Message> receive_message(Deadline d, const ReceiveOptions&) override {
    std::unique_lock lock(state_->mu);
    auto front = wait_message(lock, d);
    if (!front) return std::unexpected(std::move(front.error()));
    const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(*front));
    Message m;
    m.data.assign(data, data + natsMsg_GetDataLength(*front));
    natsMsg* taken = pop(lock, m.lost);
    lock.unlock();
    finish(taken);
    return m;
  }

  int pollable_fd() const noexcept override { return sub_ ? state_->doorbell.get() : -1; }
  std::size_t max_message_size() const noexcept override { return max_payload_; }

 private:
  NatsChannel(const Url& url) : url_(url.text), servers_(url.servers), subject_(url.name) {
    wildcard_ = subject_ == ">" || subject_ == "*" || subject_.starts_with("*.") || subject_.starts_with(">.") ||
                subject_.find(".*") != std::string::npos || subject_.find(".>") != std::string::npos;
  }

  // One message to the client (plain publish: buffered; JetStream: stored), no flush.
  Result<void> publish(std::span<const std::byte> msg, Deadline d) {
    if (wildcard_) {
      return fail(Errc::invalid_argument, "nats publish", subject_,
                  "a wildcard subject ('*', '>') can be received from, not published to");
    }
    if (msg.size() > max_payload_) {
      return fail(Error::from_errno("nats publish", EMSGSIZE, subject_)
                      .with_detail(fmt::format("message is {} bytes; the server's max_payload is {}", msg.size(),
                                               max_payload_))
                      .with_size(msg.size()));
    }
    if (js_) return publish_js(msg, d);
    natsStatus st = NATS_OK;
    for (;;) {
      if (auto c = wait_connected(d); !c) return c;
      st = natsConnection_Publish(conn_, subject_.c_str(), msg.data(), static_cast<int>(msg.size()));
      // The connection broke under this publish (the client has not yet marked it lost):
      // it was not taken, so it waits for the reconnection like any other send.
      if ((st == NATS_IO_ERROR || st == NATS_CONNECTION_DISCONNECTED) &&
          natsConnection_Status(conn_) != NATS_CONN_STATUS_CLOSED && !d.expired()) {
        continue;
      }
      break;
    }
    if (st != NATS_OK) return nats_fail("nats publish", st, subject_, servers_context());
    return {};
  }

  // Round trip to the server: it has everything published so far.
  Result<void> flush(Deadline d) {
    std::int64_t ms = d.is_never() ? std::int64_t{365} * 24 * 3600 * 1000 : std::max(1, d.poll_timeout_ms());
    natsStatus st = natsConnection_FlushTimeout(conn_, ms);
    if (st != NATS_OK) return nats_fail("nats flush", st, subject_, servers_context());
    return {};
  }

  std::string servers_context() const {
    std::lock_guard lock(state_->mu);
    std::string text = fmt::format("servers {}", join(servers_));
    if (!state_->lost_server.empty()) text += fmt::format("; lost {}", state_->lost_server);
    if (!state_->last_async_error.empty()) text += fmt::format("; last error: {}", state_->last_async_error);
    return text;
  }

  // Waits, up to d, until the client is connected; it buffers nothing for us meanwhile.
  Result<void> wait_connected(Deadline d) {
    std::unique_lock lock(state_->mu);
    for (;;) {
      std::uint64_t gen = state_->generation;
      natsConnStatus cs = natsConnection_Status(conn_);
      if (cs == NATS_CONN_STATUS_CONNECTED) return {};
      if (cs == NATS_CONN_STATUS_CLOSED || state_->closed) {
        lock.unlock();
        return fail(Error::from_errno("nats publish", EPIPE, subject_)
                        .with_detail(fmt::format("the connection is closed: no server of {} could be reached again ({})",
                                                 join(servers_), reconnect_text_)));
      }
      auto not_connected = [&](Errc kind, const char* what) {
        std::string lost = state_->lost_server.empty() ? "" : fmt::format("lost {}; ", state_->lost_server);
        return fail(kind, "nats publish", subject_,
                    fmt::format("{}: not connected to a NATS server ({}reconnecting to {})", what, lost,
                                join(servers_)));
      };
      if (d.is_immediate()) return not_connected(Errc::would_block, "would block");
      auto changed = [&] { return state_->generation != gen; };
      if (d.is_never()) {
        // The callbacks bump generation; a short bound rechecks the status in case the
        // client changed it without one (connecting states).
        state_->cv.wait_for(lock, 100ms, changed);
      } else if (!state_->cv.wait_until(lock, std::min(d.time_point(), Deadline::Clock::now() + 100ms), changed) &&
                 d.expired()) {
        return not_connected(Errc::timed_out, "timed out");
      }
    }
  }

  // With the lock held: the first queued message, waiting for one up to d.
  Result<natsMsg*> wait_message(std::unique_lock<std::mutex>& lock, Deadline d) {
    if (!sub_) {
      return fail(Errc::invalid_argument, "nats receive", url_,
                  "this channel was opened to publish; Channel::bind (ipcx recv) subscribes");
    }
    auto ready = [&] { return !state_->queue.empty() || state_->closed; };
    if (!ready()) {
      if (d.is_immediate()) return fail(Errc::would_block, "nats receive", subject_);
      if (d.is_never()) {
        state_->cv.wait(lock, ready);
      } else if (!state_->cv.wait_until(lock, d.time_point(), ready)) {
        return fail(Errc::timed_out, "nats receive", subject_);
      }
    }
    if (state_->queue.empty()) {
      return fail(Error::from_errno("nats receive", EPIPE, subject_)
                      .with_detail(fmt::format("the connection is closed: no server of {} could be reached again ({})",
                                               join(servers_), reconnect_text_)));
    }
    return state_->queue.front();
  }

  // With the lock held: takes the first message off the queue (the caller finishes it) and
  // sets `lost` to the messages lost before it.
  natsMsg* pop(std::unique_lock<std::mutex>&, std::uint64_t& lost) {
    natsMsg* m = state_->queue.front();
    state_->queued_bytes -= static_cast<std::size_t>(natsMsg_GetDataLength(m));
    state_->queue.pop_front();
    if (state_->queue.empty() && !state_->closed) unring(*state_);
    // A JetStream message not taken is not lost: unacknowledged, it comes again.
    lost = js_ ? 0 : count_lost();
    return m;
  }

  // Without the lock (an acknowledgement is a publish, which takes the client's locks):
  // the caller has the message's bytes; JetStream is told so.
  void finish(natsMsg* m) noexcept {
    // A lost acknowledgement (the connection broke) means a redelivery: at least once.
    if (js_) (void)natsMsg_Ack(m, nullptr);
    natsMsg_Destroy(m);
  }

  // Also publish_js's retry pause: wakes early at a connection event.
  void pause(std::chrono::milliseconds t) {
    std::unique_lock lock(state_->mu);
    std::uint64_t gen = state_->generation;
    state_->cv.wait_for(lock, t, [&] { return state_->generation != gen; });
  }

  // A JetStream publish: returns once the stream has the message. A timeout, no responder
  // (the stream's leader is being elected) or a broken connection tries again, with the
  // same message id, until the deadline: the stream stores an id once (within its
  // duplicate window, 2 minutes by default), so a retry of a message that was in fact
  // stored is not a second copy.
  Result<void> publish_js(std::span<const std::byte> msg, Deadline d) {
    const std::string id = fmt::format("{}-{}", id_prefix_, ++published_);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    po.ExpectStream = stream_.c_str();
    for (;;) {
      if (auto c = wait_connected(d); !c) return c;
      // A publish is a round trip: a try_send waits for it too (kJsWait at most).
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d.remaining()).count();
      po.MaxWait = d.is_never() || d.is_immediate() ? kJsWait.count() : std::clamp<std::int64_t>(left, 1, kJsWait.count());
      jsPubAck* ack = nullptr;
      jsErrCode code = static_cast<jsErrCode>(0);
      natsStatus st = js_Publish(&ack, js_, subject_.c_str(), msg.data(), static_cast<int>(msg.size()), &po, &code);
      if (st == NATS_OK) {
        jsPubAck_Destroy(ack);
        return {};
      }
      bool transient = st == NATS_TIMEOUT || st == NATS_NO_RESPONDERS || st == NATS_IO_ERROR ||
                       st == NATS_CONNECTION_DISCONNECTED || code == JSClusterNotAvailErr;
      if (!transient || d.is_immediate() || d.expired() || natsConnection_Status(conn_) == NATS_CONN_STATUS_CLOSED) {
        return js_fail("nats publish", st, code, subject_,
                       fmt::format("stream {}, message id {}; {}", stream_, id, servers_context()));
      }
      if (st != NATS_TIMEOUT) pause(50ms);  // an answer came at once: do not spin on it
    }
  }

  std::uint64_t count_lost() {
    std::int64_t client_dropped = 0;
    if (natsSubscription_GetDropped(sub_, &client_dropped) != NATS_OK) client_dropped = 0;
    std::uint64_t total = state_->dropped_here + static_cast<std::uint64_t>(std::max<std::int64_t>(client_dropped, 0));
    std::uint64_t lost = total - std::min(total, state_->lost_reported);
    state_->lost_reported = std::max(total, state_->lost_reported);
    return lost;
  }

  // Publishes what is buffered, stops the subscription, closes the connection, and frees
  // State only once the client's threads are done with it (their last callbacks say so).
  void teardown() noexcept {
    bool safe = true;
    if (sub_) {
      // JetStream: a drain hands what the client already holds to on_message, so that it
      // is queued and given back below; an unsubscribe would drop it unacknowledged (and
      // the stream would deliver it again only after ack_wait).
      (void)(js_ ? natsSubscription_Drain(sub_) : natsSubscription_Unsubscribe(sub_));
      std::unique_lock lock(state_->mu);
      safe = state_->cv.wait_for(lock, kTeardownWait, [&] { return state_->sub_complete; });
    }
    if (js_ && safe) {
      // What is queued but not taken goes back to the stream now rather than after ack_wait.
      std::deque<natsMsg*> untaken;
      {
        std::lock_guard lock(state_->mu);
        untaken.swap(state_->queue);
      }
      for (natsMsg* m : untaken) {
        (void)natsMsg_Nak(m, nullptr);
        natsMsg_Destroy(m);
      }
    }
    if (conn_) {
      if (natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED) (void)natsConnection_FlushTimeout(conn_, 2000);
      natsConnection_Close(conn_);
      std::unique_lock lock(state_->mu);
      safe = state_->cv.wait_for(lock, kTeardownWait, [&] { return state_->closed; }) && safe;
    }
    if (sub_) natsSubscription_Destroy(sub_);
    if (js_) jsCtx_Destroy(js_);
    if (conn_) natsConnection_Destroy(conn_);
    if (state_) {
      std::lock_guard lock(state_->mu);
      for (natsMsg* m : state_->queue) natsMsg_Destroy(m);
      state_->queue.clear();
    }
    // A client thread that has not said it is done may still touch State: keep it.
    if (!safe) (void)state_.release();
  }

  std::string url_;
  std::vector<std::string> servers_;
  std::string subject_;
  bool wildcard_ = false;
  bool flush_ = false;
  std::string reconnect_text_;
  std::size_t max_payload_ = 0;
  // JetStream (stream=): the context, the stream, and the prefix of this channel's message ids.
  jsCtx* js_ = nullptr;
  std::string stream_;
  std::string id_prefix_;
  std::uint64_t published_ = 0;
  std::unique_ptr<State> state_ = std::make_unique<State>();
  natsConnection* conn_ = nullptr;
  natsSubscription* sub_ = nullptr;
};

Result<std::unique_ptr<ChannelImpl>> NatsChannel::open(const Url& url, bool bind) {
  if (auto k = url.check_options({"queue", "token_file", "creds", "tls", "ca", "cert", "key", "reconnect",
                                  "reconnect_wait", "connect_timeout", "random", "echo", "pending", "pending_bytes",
                                  "name", "flush", "stream", "durable", "replicas", "ack_wait"});
      !k) {
    return std::unexpected(k.error());
  }
  auto queue = url.option("queue");
  if (queue && !bind) {
    return fail(Errc::invalid_argument, "nats connect", url.text, "queue=GROUP is for receivers (Channel::bind)");
  }
  auto reconnect_wait = url.option_uint("reconnect_wait", 250);
  auto connect_timeout = url.option_uint("connect_timeout", 2000);
  auto random = url.option_bool("random", false);
  auto echo = url.option_bool("echo", false);
  auto pending = url.option_uint("pending", 65536);
  auto pending_bytes = url.option_size("pending_bytes", 64u << 20);
  auto tls = url.option_bool("tls", false);
  auto flush = url.option_bool("flush", false);
  for (auto* e : {&reconnect_wait, &connect_timeout, &pending, &pending_bytes}) {
    if (!*e) return std::unexpected(e->error());
  }
  for (auto* e : {&random, &echo, &tls, &flush}) {
    if (!*e) return std::unexpected(e->error());
  }
  // reconnect=N attempts per server after a loss, or "forever"; 0 never reconnects.
  int reconnect = 60;
  if (auto r = url.option("reconnect"); r && *r == "forever") {
    reconnect = -1;
  } else {
    auto n = url.option_uint("reconnect", 60);
    if (!n) return std::unexpected(n.error());
    if (*n > 1000000) return fail(Errc::bad_url, "url", url.text, "reconnect=N is at most 1000000 (or 'forever')");
    reconnect = static_cast<int>(*n);
  }
  if (*pending == 0 || *pending_bytes == 0) {
    return fail(Errc::bad_url, "url", url.text, "pending and pending_bytes must be at least 1");
  }
  auto stream = url.option("stream");
  auto durable = url.option("durable");
  auto replicas = url.option_uint("replicas", 1);
  auto ack_wait = url.option_uint("ack_wait", 30000);
  for (auto* e : {&replicas, &ack_wait}) {
    if (!*e) return std::unexpected(e->error());
  }
  if (stream) {
    if (stream->empty() || stream->find_first_of(".*> ") != std::string_view::npos) {
      return fail(Errc::bad_url, "url", url.text, "stream=NAME: a JetStream stream name has no '.', '*', '>' or space");
    }
    if (queue) return fail(Errc::bad_url, "url", url.text, "queue=GROUP and stream=NAME together are not offered");
    if (bind && !durable) {
      return fail(Errc::bad_url, "url", url.text,
                  "a receiver of stream=NAME names its durable consumer (durable=NAME), where it resumes");
    }
    if (*replicas < 1 || *replicas > 5) return fail(Errc::bad_url, "url", url.text, "replicas=N is 1 to 5");
    if (*ack_wait < 1) return fail(Errc::bad_url, "url", url.text, "ack_wait=MS is at least 1");
  } else {
    for (const char* o : {"durable", "replicas", "ack_wait"}) {
      if (url.option(o)) {
        return fail(Errc::bad_url, "url", url.text, fmt::format("{}= is a JetStream option: it needs stream=NAME", o));
      }
    }
  }
  if (durable && !bind) {
    return fail(Errc::invalid_argument, "nats connect", url.text, "durable=NAME is for receivers (Channel::bind)");
  }
  if (durable && (durable->empty() || durable->find_first_of(".*> ") != std::string_view::npos)) {
    return fail(Errc::bad_url, "url", url.text, "durable=NAME: a consumer name has no '.', '*', '>' or space");
  }

  std::unique_ptr<NatsChannel> ch(new NatsChannel(url));
  State& s = *ch->state_;
  auto bell = sys::eventfd(0, EFD_NONBLOCK);
  if (!bell) return std::unexpected(std::move(bell.error()));
  s.doorbell = std::move(*bell);
  s.max_queued = *pending;
  s.max_queued_bytes = *pending_bytes;
  ch->flush_ = *flush;
  ch->reconnect_text_ = reconnect < 0 ? "reconnecting forever"
                                      : fmt::format("{} reconnect attempts, {} ms apart", reconnect, *reconnect_wait);
  if (ch->wildcard_ && !bind) {
    return fail(Errc::invalid_argument, "nats connect", url.text,
                "a wildcard subject ('*', '>') can be received from (Channel::bind), not published to");
  }

  natsOptions* raw = nullptr;
  if (natsStatus st = natsOptions_Create(&raw); st != NATS_OK) return nats_fail("natsOptions_Create", st, url.text);
  OptionsPtr opts(raw);
  std::vector<std::string> urls;
  for (const auto& hp : url.servers) urls.push_back(fmt::format("{}://{}", *tls ? "tls" : "nats", hp));
  std::vector<const char*> url_ptrs;
  for (const auto& u : urls) url_ptrs.push_back(u.c_str());

  natsStatus st = natsOptions_SetServers(raw, url_ptrs.data(), static_cast<int>(url_ptrs.size()));
  auto set = [&](natsStatus r) {
    if (st == NATS_OK) st = r;
  };
  set(natsOptions_SetNoRandomize(raw, !*random));
  set(natsOptions_SetTimeout(raw, static_cast<std::int64_t>(*connect_timeout)));
  set(natsOptions_SetAllowReconnect(raw, reconnect != 0));
  set(natsOptions_SetMaxReconnect(raw, reconnect));
  set(natsOptions_SetReconnectWait(raw, static_cast<std::int64_t>(*reconnect_wait)));
  set(natsOptions_SetNoEcho(raw, !*echo));
  set(natsOptions_SetErrorHandler(raw, on_async_error, &s));
  set(natsOptions_SetDisconnectedCB(raw, on_disconnected, &s));
  set(natsOptions_SetReconnectedCB(raw, on_reconnected, &s));
  set(natsOptions_SetClosedCB(raw, on_closed, &s));
  if (auto n = url.option("name")) set(natsOptions_SetName(raw, std::string(*n).c_str()));
  if (auto f = url.option("token_file")) {
    auto token = read_token_file(url, std::string(*f));
    if (!token) return std::unexpected(std::move(token.error()));
    set(natsOptions_SetToken(raw, token->c_str()));
  }
  if (auto c = url.option("creds")) set(natsOptions_SetUserCredentialsFromFiles(raw, std::string(*c).c_str(), nullptr));
  if (*tls) set(natsOptions_SetSecure(raw, true));
  if (auto ca = url.option("ca")) set(natsOptions_LoadCATrustedCertificates(raw, std::string(*ca).c_str()));
  auto cert = url.option("cert"), key = url.option("key");
  if (cert.has_value() != key.has_value()) {
    return fail(Errc::bad_url, "url", url.text, "cert=PATH and key=PATH go together");
  }
  if (cert) set(natsOptions_LoadCertificatesChain(raw, std::string(*cert).c_str(), std::string(*key).c_str()));
  if (st != NATS_OK) return nats_fail("nats options", st, url.text);

  st = natsConnection_Connect(&ch->conn_, raw);
  if (st != NATS_OK) {
    ch->conn_ = nullptr;  // nothing to close: no callback will run
    return nats_fail("nats connect", st, url.text,
                     st == NATS_NO_SERVER ? fmt::format("no NATS server reachable; tried {}", join(url.servers))
                                          : fmt::format("servers {}", join(url.servers)));
  }
  ch->max_payload_ = static_cast<std::size_t>(std::max<std::int64_t>(natsConnection_GetMaxPayload(ch->conn_), 0));

  if (stream) {
    ch->stream_ = std::string(*stream);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = kJsWait.count();
    if (st = natsConnection_JetStream(&ch->js_, ch->conn_, &jo); st != NATS_OK) {
      ch->js_ = nullptr;
      return nats_fail("nats jetstream", st, url.text);
    }
    natsInbox* nuid = nullptr;
    if (st = natsInbox_Create(&nuid); st != NATS_OK) return nats_fail("natsInbox_Create", st, url.text);
    std::string_view id = nuid;
    if (auto dot = id.rfind('.'); dot != std::string_view::npos) id.remove_prefix(dot + 1);
    ch->id_prefix_ = std::string(id);
    natsInbox_Destroy(nuid);
    if (auto r = ensure_stream(ch->js_, ch->stream_, ch->subject_, static_cast<std::int64_t>(*replicas)); !r) {
      return std::unexpected(std::move(r.error()));
    }
  }

  if (bind && stream) {
    const std::string name(*durable);
    auto clamp = [](std::uint64_t v) { return static_cast<int>(std::min<std::uint64_t>(v, INT_MAX)); };
    if (auto r = ensure_consumer(ch->js_, ch->stream_, name, ch->subject_, static_cast<std::int64_t>(*ack_wait),
                                 clamp(*pending));
        !r) {
      return std::unexpected(std::move(r.error()));
    }
    s.acked = true;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = ch->stream_.c_str();
    so.Consumer = name.c_str();  // bound: closing the channel leaves the durable in place
    so.ManualAck = true;
    jsErrCode code = static_cast<jsErrCode>(0);
    st = js_Subscribe(&ch->sub_, ch->js_, ch->subject_.c_str(), on_message, &s, nullptr, &so, &code);
    if (st != NATS_OK) {
      ch->sub_ = nullptr;
      return js_fail("nats subscribe", st, code, ch->subject_, fmt::format("stream {}, durable {}", ch->stream_, name));
    }
    st = natsSubscription_SetOnCompleteCB(ch->sub_, on_sub_complete, &s);
    if (st == NATS_OK) st = natsSubscription_SetPendingLimits(ch->sub_, clamp(*pending), clamp(*pending_bytes));
    if (st != NATS_OK) return nats_fail("nats subscribe", st, ch->subject_);
    st = natsConnection_FlushTimeout(ch->conn_, static_cast<std::int64_t>(std::max<std::uint64_t>(*connect_timeout, 1)));
    if (st != NATS_OK) return nats_fail("nats subscribe", st, ch->subject_, "the server did not confirm the subscription");
  } else if (bind) {
    const std::string group = queue ? std::string(*queue) : std::string();
    st = queue ? natsConnection_QueueSubscribe(&ch->sub_, ch->conn_, ch->subject_.c_str(), group.c_str(), on_message, &s)
               : natsConnection_Subscribe(&ch->sub_, ch->conn_, ch->subject_.c_str(), on_message, &s);
    if (st != NATS_OK) {
      ch->sub_ = nullptr;
      return nats_fail("nats subscribe", st, ch->subject_);
    }
    st = natsSubscription_SetOnCompleteCB(ch->sub_, on_sub_complete, &s);
    // The client's own pending queue (before on_message runs) gets the same bounds as ours.
    auto clamp = [](std::uint64_t v) { return static_cast<int>(std::min<std::uint64_t>(v, INT_MAX)); };
    if (st == NATS_OK) st = natsSubscription_SetPendingLimits(ch->sub_, clamp(*pending), clamp(*pending_bytes));
    if (st != NATS_OK) return nats_fail("nats subscribe", st, ch->subject_);
    // The server has the subscription once it answers a ping sent after it.
    st = natsConnection_FlushTimeout(ch->conn_, static_cast<std::int64_t>(std::max<std::uint64_t>(*connect_timeout, 1)));
    if (st != NATS_OK) return nats_fail("nats subscribe", st, ch->subject_, "the server did not confirm the subscription");
  }
  return std::unique_ptr<ChannelImpl>(std::move(ch));
}

}  // namespace

Result<std::unique_ptr<ChannelImpl>> open_nats(const Url& url, bool bind) { return NatsChannel::open(url, bind); }

}  // namespace ipcx::detail
