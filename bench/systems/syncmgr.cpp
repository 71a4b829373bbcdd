// syncmgr's side of syncmgr-bench: every workload through the public client API (libsyncmgr), plus
// the raw-protocol session that parks calls for the "parked" workload.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "../harness.hpp"
#include "protocol/handshake.hpp"
#include "protocol/mac.hpp"
#include "protocol/wire.hpp"
#include "syncmgr/syncmgr.hpp"

namespace bench {
namespace {

syncmgr::Options options(const Params& p) {
  syncmgr::Options o;
  o.endpoint = p.endpoint;
  o.authkey_file = p.authkey_file;
  return o;
}

class SyncmgrClient : public Client {
 public:
  SyncmgrClient(const Params& p, int index)
      : m_(options(p)),
        ns_(m_.Namespace("bench_ns")),
        d_(m_.dict(p.workload == "big_value" ? "bench_big" : "bench_dict")),
        value_(make_value(p.value_size)),
        workload_(p.workload),
        depth_(p.depth) {
    const std::string& w = p.workload;
    bool producer = index < p.clients / 2;
    if (w == "ns_set" || w == "ns_get") {
      ns_.set("attr", value_);
    } else if (w == "dict_get") {
      for (int i = 0; i < 1000; ++i)
        d_.set(key_name(i), value_);
    } else if (w == "big_value") {
      bytes_.data = value_;
    } else if (w == "list_append") {
      list_.emplace(m_.list("bench_list"));
    } else if (w == "queue_putget") {
      queue_.emplace(m_.Queue("bench_queue"));
    } else if (w == "queue_throughput" || w == "queue_batch") {
      if (p.clients < 2 || p.clients % 2)
        throw std::runtime_error("queue_throughput: even clients");
      queue_.emplace(m_.Queue("tq-" + std::to_string(getppid())));
      role_ = producer ? Role::producer : Role::consumer;
    } else if (w == "lock") {
      lock_.emplace(m_.Lock("bench_lock"));
    } else if (w == "dict_set_async") {
#ifndef SYNCMGR_BENCH_ASYNC
      throw std::runtime_error("dict_set_async: this libsyncmgr has no async API (Future)");
#endif
    } else if (w != "dict_set" && w != "incr") {
      throw std::runtime_error("unknown workload " + w);
    }
    m_.ping();
  }

  std::int64_t step(std::uint64_t i) override {
    const std::string& w = workload_;
    if (w == "dict_set") {
      d_.set(key_name(i), value_);
    } else if (w == "dict_get") {
      (void)d_.get<std::string>(key_name(i));
    } else if (w == "ns_set") {
      ns_.set("attr", value_);
    } else if (w == "ns_get") {
      (void)ns_.get<std::string>("attr");
    } else if (w == "list_append") {
      list_->append(value_);
    } else if (w == "incr") {
      (void)d_.increment("counter");
    } else if (w == "queue_putget") {
      queue_->put(value_);
      (void)queue_->get<std::string>();
    } else if (w == "lock") {
      lock_->acquire();
      lock_->release();
    } else if (w == "big_value") {
      d_.set("big", bytes_);
      if (d_.get<syncmgr::Bytes>("big").data.size() != bytes_.data.size())
        throw std::runtime_error("big_value: wrong size back");
    } else if (w == "queue_throughput") {
      if (role_ == Role::producer) {
        queue_->put(static_cast<std::int64_t>(i));
      } else if (queue_->get<std::int64_t>() < 0) {
        return -1;
      }
    } else if (w == "queue_batch") {
      // The batch forms Python lacks: depth items per round trip each way.
      if (role_ == Role::producer) {
        std::vector<std::int64_t> items(static_cast<std::size_t>(depth_),
                                        static_cast<std::int64_t>(i));
        queue_->put_many(items);
        return depth_;
      }
      auto got = queue_->get_many<std::int64_t>(static_cast<std::size_t>(depth_));
      // A batch can hold several producers' end marks: keep one, give the others back so that
      // every consumer sees one (else a consumer waits forever).
      auto marks = std::count_if(got.begin(), got.end(), [](std::int64_t v) { return v < 0; });
      for (std::ptrdiff_t k = 1; k < marks; ++k)
        queue_->put(std::int64_t{-1});
      return marks > 0 ? -1 : static_cast<std::int64_t>(got.size());
    } else if (w == "dict_set_async") {
#ifdef SYNCMGR_BENCH_ASYNC
      std::vector<syncmgr::Future<void>> fs;
      fs.reserve(static_cast<std::size_t>(depth_));
      for (int k = 0; k < depth_; ++k)
        fs.push_back(d_.async_set(key_name(i * static_cast<std::uint64_t>(depth_) + k), value_));
      for (auto& f : fs)
        f.get();
      return depth_;
#endif
    }
    return 1;
  }

  bool runs_until_done() const override {
    return role_ == Role::consumer;
  }
  bool counted() const override {
    return role_ != Role::producer;
  }
  void finish() override {
    if (role_ == Role::producer) queue_->put(std::int64_t{-1});
  }

 private:
  enum class Role { any, producer, consumer };
  syncmgr::Manager m_;
  syncmgr::NamespaceProxy ns_;
  syncmgr::DictProxy d_;
  std::optional<syncmgr::ListProxy> list_;
  std::optional<syncmgr::QueueProxy> queue_;
  std::optional<syncmgr::LockProxy> lock_;
  std::string value_;
  syncmgr::Bytes bytes_;
  std::string workload_;
  int depth_;
  Role role_ = Role::any;
};

}  // namespace

std::unique_ptr<Client> make_syncmgr_client(const Params& p, int index) {
  return std::make_unique<SyncmgrClient>(p, index);
}

void load_syncmgr(const Params& p) {
  syncmgr::Manager m(options(p));
  auto d = m.dict("bench_mem");
  d.clear();
  std::map<std::int64_t, std::int64_t> chunk;
  for (std::size_t i = 0; i < p.entries; ++i) {
    chunk.emplace(static_cast<std::int64_t>(i), static_cast<std::int64_t>(i));
    if (chunk.size() == 10000 || i + 1 == p.entries) {
      d.update(chunk);
      chunk.clear();
    }
  }
  if (d.len() != p.entries) throw std::runtime_error("dict_mem: entries missing");
}

// The handshake by hand (as in bench/parked_waiters.cpp), then n queue.get calls in one frame. The
// socket stays open (and the calls parked) until this process exits.
void park_syncmgr(const Params& p, int n) {
  using namespace syncmgr::protocol;
  std::string key = read_key(p.authkey_file);
  {
    syncmgr::Manager m(options(p));
    m.Queue("parking");
  }
  static zmq::context_t* ctx = new zmq::context_t;
  static zmq::socket_t* s = new zmq::socket_t(*ctx, zmq::socket_type::dealer);
  // A raw ZeroMQ session without CURVE: bench/run.py points it at the daemon's ipc endpoint
  // whatever transport the measured client uses (the parked calls load the same daemon).
  s->connect(p.park_endpoint.empty() ? p.endpoint : p.park_endpoint);
  Hmac authkey(key);
  std::string cn(kNonceSize, '\0');
  random_bytes(cn.data(), cn.size());
  msgpack::sbuffer hello;
  msgpack::packer<msgpack::sbuffer> hp(hello);
  hp.pack_array(2);
  hp.pack(kProtocolVersion);
  hp.pack_bin(kNonceSize);
  hp.pack_bin_body(cn.data(), kNonceSize);
  s->send(
      zmq::buffer(make_frame(Header{kProtocolVersion, FrameType::hello, Direction::to_daemon, 0, 0},
                             std::string_view(hello.data(), hello.size()))));
  zmq::message_t msg;
  (void)s->recv(msg);
  auto h = *read_header(msg.to_string());
  auto oh = msgpack::unpack(msg.data<char>() + kHeaderSize, msg.size() - kHeaderSize);
  std::string sn = oh.get().via.array.ptr[0].as<syncmgr::Bytes>().data;
  HandshakeInputs in{cn, sn, h.session};
  Tag proof = client_proof(authkey, in);
  msgpack::sbuffer auth;
  msgpack::packer<msgpack::sbuffer> ap(auth);
  ap.pack_array(1);
  ap.pack_bin(kTagSize);
  ap.pack_bin_body(reinterpret_cast<const char*>(proof.data()), kTagSize);
  s->send(zmq::buffer(
      make_frame(Header{kProtocolVersion, FrameType::auth, Direction::to_daemon, h.session, 0},
                 std::string_view(auth.data(), auth.size()))));
  (void)s->recv(msg);  // welcome
  Hmac session(session_key(authkey, in));
  msgpack::sbuffer reqs;
  msgpack::packer<msgpack::sbuffer> rp(reqs);
  for (int i = 0; i < n; ++i) {
    rp.pack_array(4);
    rp.pack(static_cast<std::uint64_t>(i + 1));
    rp.pack(std::string("queue.get"));
    rp.pack(std::string("parking"));
    rp.pack_array(2);
    rp.pack(true);
    rp.pack_nil();
  }
  s->send(zmq::buffer(seal_frame(
      session, Header{kProtocolVersion, FrameType::request, Direction::to_daemon, h.session, 1},
      std::string_view(reqs.data(), reqs.size()))));
  syncmgr::Manager m(options(p));
  for (int i = 0; i < 2000; ++i) {
    for (const auto& [k, v] : m.stats().as_map())
      if (k == syncmgr::Value("parked_calls") && v.as_uint() >= static_cast<std::uint64_t>(n))
        return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("park: the daemon did not report the calls parked");
}

}  // namespace bench
