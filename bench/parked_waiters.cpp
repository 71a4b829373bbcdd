// bench/parked_waiters: what many parked calls cost the daemon: the time to park them, the
// latency other clients see while they are parked and while they are being parked, memory, and
// the time to release as many temporary objects one by one (issue 10 #9).
//
//   parked_waiters SYNCMGRD [N=100000] [ROUNDS=5] [CALLS=2000]
//
// Starts its own syncmgrd on ipc, measures a second client's dict.set round trips (median of ROUNDS
// rounds of CALLS calls) and server.ping latency with no parked calls; then a raw protocol client
// parks N queue.get calls (timeout one hour, so each has a deadline) in frames of 1,000 while the
// second client pings, and the time until the daemon counts them all parked is reported; then
// the measurements are repeated with them parked. Last, a raw client opens N temporaries and
// releases them one request each, and the time until the daemon holds none is reported.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "protocol/handshake.hpp"
#include "protocol/mac.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using Clock = std::chrono::steady_clock;

namespace {

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median ops/s of `rounds` rounds of `calls` dict.set calls.
std::vector<double> measure(DictProxy& d, int rounds, int calls) {
  std::vector<double> out;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i)
      d.set(i % 64, i);
    out.push_back(calls / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return out;
}

// A raw protocol client on its own socket: handshake by hand, then frames of requests.
class RawSession {
 public:
  RawSession(zmq::context_t& ctx, const std::string& endpoint, const std::string& key)
      : s_(ctx, zmq::socket_type::dealer), authkey_(key) {
    using namespace protocol;
    s_.set(zmq::sockopt::rcvhwm, 0);
    s_.set(zmq::sockopt::sndhwm, 0);
    s_.connect(endpoint);
    std::string cn(kNonceSize, '\0');
    random_bytes(cn.data(), cn.size());
    msgpack::sbuffer hello;
    msgpack::packer<msgpack::sbuffer> hp(hello);
    hp.pack_array(2);
    hp.pack(kProtocolVersion);
    hp.pack_bin(kNonceSize);
    hp.pack_bin_body(cn.data(), kNonceSize);
    s_.send(zmq::buffer(
        make_frame(Header{kProtocolVersion, FrameType::hello, Direction::to_daemon, 0, 0},
                   std::string_view(hello.data(), hello.size()))));
    zmq::message_t m;
    (void)s_.recv(m);
    auto h = *read_header(m.to_string());
    session_id_ = h.session;
    auto oh = msgpack::unpack(m.data<char>() + kHeaderSize, m.size() - kHeaderSize);
    std::string sn = oh.get().via.array.ptr[0].as<Bytes>().data;
    HandshakeInputs in{cn, sn, h.session};
    Tag proof = client_proof(authkey_, in);
    msgpack::sbuffer auth;
    msgpack::packer<msgpack::sbuffer> ap(auth);
    ap.pack_array(1);
    ap.pack_bin(kTagSize);
    ap.pack_bin_body(reinterpret_cast<const char*>(proof.data()), kTagSize);
    s_.send(zmq::buffer(
        make_frame(Header{kProtocolVersion, FrameType::auth, Direction::to_daemon, h.session, 0},
                   std::string_view(auth.data(), auth.size()))));
    (void)s_.recv(m);  // welcome
    session_.emplace(session_key(authkey_, in));
  }

  /// Sends `n` requests in one frame; `pack` packs request i (its id is next_id()).
  void send(int n, const std::function<void(msgpack::packer<msgpack::sbuffer>&, int)>& pack) {
    using namespace protocol;
    msgpack::sbuffer reqs;
    msgpack::packer<msgpack::sbuffer> rp(reqs);
    for (int i = 0; i < n; ++i)
      pack(rp, i);
    s_.send(zmq::buffer(seal_frame(
        *session_,
        Header{kProtocolVersion, FrameType::request, Direction::to_daemon, session_id_, ++seq_},
        std::string_view(reqs.data(), reqs.size()))));
  }
  std::uint64_t next_id() { return ++id_; }

  /// Receives reply frames until `n` replies came; calls `fn` on each reply's result.
  void receive(int n, const std::function<void(const msgpack::object&)>& fn) {
    while (n > 0) {
      zmq::message_t m;
      (void)s_.recv(m);
      std::string frame = m.to_string();  // the reader's objects point into it
      protocol::PayloadReader r(protocol::sealed_payload(frame));
      while (auto oh = r.next()) {
        const msgpack::object& reply = oh->get();
        if (reply.via.array.size == 3) fn(reply.via.array.ptr[2]);
        --n;
      }
    }
  }

 private:
  zmq::socket_t s_;
  protocol::Hmac authkey_;
  std::optional<protocol::Hmac> session_;
  std::uint64_t session_id_ = 0, seq_ = 0, id_ = 0;
};

void pack_call(msgpack::packer<msgpack::sbuffer>& pk, std::uint64_t id, const char* op,
               const char* target) {
  pk.pack_array(4);
  pk.pack(id);
  pk.pack(std::string(op));
  if (target != nullptr)
    pk.pack(std::string(target));
  else
    pk.pack_nil();
}

std::uint64_t stat(Manager& m, const char* name) {
  Value stats = m.stats();
  for (const auto& [k, v] : stats.as_map())
    if (k == Value(name)) return v.as_uint();
  return 0;
}

double seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// server.ping round trips (ms) of `m` until `stop` is set.
std::vector<double> ping_until(Manager& m, const std::atomic<bool>& stop) {
  std::vector<double> out;
  while (!stop) {
    auto t0 = Clock::now();
    m.ping();
    out.push_back(seconds(t0) * 1000);
  }
  return out;
}

/// Pings `count` times: round trips in ms.
std::vector<double> pings(Manager& m, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    m.ping();
    out.push_back(seconds(t0) * 1000);
  }
  return out;
}

void print_latency(const char* what, std::vector<double> v) {
  if (v.empty()) return;
  auto worst = std::max_element(v.begin(), v.end()) - v.begin();  // when it happened
  std::sort(v.begin(), v.end());
  std::printf("%-44s n=%-6zu median %.3f ms, p99 %.3f ms, max %.3f ms (ping #%td)\n", what,
              v.size(), v[v.size() / 2], v[v.size() * 99 / 100], v.back(), worst + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: parked_waiters SYNCMGRD [N] [ROUNDS] [CALLS]\n");
    return 2;
  }
  int n = argc > 2 ? std::atoi(argv[2]) : 100000;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  int calls = argc > 4 ? std::atoi(argv[4]) : 2000;
  char dir[] = "/tmp/syncmgr-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  std::string key_path = std::string(dir) + "/key", ready = std::string(dir) + "/ready";
  std::string bind = std::string("ipc://") + dir + "/sock";
  std::string key(64, 'a');
  std::srand(static_cast<unsigned>(getpid()));
  for (auto& ch : key)
    ch = "0123456789abcdef"[std::rand() % 16];
  {
    std::ofstream k(key_path);
    k << key << "\n";
  }
  chmod(key_path.c_str(), 0600);
  pid_t daemon = fork();
  if (daemon == 0) {
    execl(argv[1], argv[1], "--bind", bind.c_str(), "--authkey-file", key_path.c_str(),
          "--ready-file", ready.c_str(), "--log-level", "warn", "--session-timeout", "60", nullptr);
    _exit(127);
  }
  std::string endpoint;
  for (int i = 0; i < 500 && endpoint.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(ready);
    std::getline(in, endpoint);
  }
  Options o;
  o.endpoint = endpoint;
  o.authkey = key;
  Manager m(o);
  m.Queue("parking");
  auto d = m.dict("bench");
  measure(d, 1, calls);  // warm up
  long rss_before = rss_kib(daemon);
  auto base = measure(d, rounds, calls);
  auto base_pings = pings(m, calls);

  // Park n calls in frames of 1,000 while another client pings.
  zmq::context_t ctx;
  RawSession parker(ctx, endpoint, key);
  std::atomic<bool> stop{false};
  std::vector<double> parking_pings;
  std::thread pinger([&] {
    Manager other(o);
    parking_pings = ping_until(other, stop);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t_park = Clock::now();
  for (int sent = 0; sent < n; sent += 1000) {
    parker.send(std::min(1000, n - sent), [&](auto& pk, int) {
      pack_call(pk, parker.next_id(), "queue.get", "parking");
      pk.pack_array(2);
      pk.pack(true);
      pk.pack(3600.0);
    });
  }
  while (stat(m, "parked_calls") < static_cast<std::uint64_t>(n))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double park_secs = seconds(t_park);
  stop = true;
  pinger.join();

  long rss_after = rss_kib(daemon);
  auto loaded = measure(d, rounds, calls);
  auto loaded_pings = pings(m, calls);
  // One put serves the oldest parked get: what one wake-up costs with n parked.
  auto t_put = Clock::now();
  m.Queue("parking").put(1);
  while (stat(m, "parked_calls") >= static_cast<std::uint64_t>(n))
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  double put_ms = seconds(t_put) * 1000;
  auto base2 = measure(d, rounds, calls);  // baseline again, to see the run-to-run noise

  // n temporaries opened, then released one request each.
  RawSession holder(ctx, endpoint, key);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(n));
  for (int opened = 0; opened < n; opened += 1000) {
    int k = std::min(1000, n - opened);
    holder.send(k, [&](auto& pk, int) {
      pack_call(pk, holder.next_id(), "server.open", nullptr);
      pk.pack_array(2);
      pk.pack(std::string("queue"));
      pk.pack_nil();
    });
    holder.receive(k, [&](const msgpack::object& r) {
      names.push_back(r.via.array.ptr[0].as<std::string>());
    });
  }
  std::uint64_t objects_held = stat(m, "objects");
  auto t_release = Clock::now();
  for (std::size_t sent = 0; sent < names.size(); sent += 1000) {
    std::size_t k = std::min<std::size_t>(1000, names.size() - sent);
    holder.send(static_cast<int>(k), [&](auto& pk, int i) {
      pack_call(pk, holder.next_id(), "server.release", nullptr);
      pk.pack_array(1);
      pk.pack(names[sent + static_cast<std::size_t>(i)]);
    });
  }
  holder.receive(static_cast<int>(names.size()), [](const msgpack::object&) {});
  double release_secs = seconds(t_release);
  std::uint64_t objects_left = stat(m, "objects");

  std::printf("parked calls: %d (queue.get, each with a deadline)\n", n);
  std::printf("parking them all took %.3f s\n", park_secs);
  std::printf("daemon RSS: %ld KiB before, %ld KiB after: %.2f KiB per parked call\n", rss_before,
              rss_after, static_cast<double>(rss_after - rss_before) / n);
  auto range = [](const std::vector<double>& v) {
    return std::make_pair(*std::min_element(v.begin(), v.end()),
                          *std::max_element(v.begin(), v.end()));
  };
  std::printf("dict.set ops/s, no parked calls:   median %.0f (min %.0f, max %.0f)\n", median(base),
              range(base).first, range(base).second);
  std::printf("dict.set ops/s, %d parked:     median %.0f (min %.0f, max %.0f)\n", n,
              median(loaded), range(loaded).first, range(loaded).second);
  std::printf("dict.set ops/s, no parked again:  median %.0f (min %.0f, max %.0f)\n", median(base2),
              range(base2).first, range(base2).second);
  std::printf("ratio loaded / baseline: %.3f\n", median(loaded) / median(base));
  print_latency("ping, nothing parked:", base_pings);
  print_latency("ping, another client parking them:", parking_pings);
  print_latency("ping, all parked:", loaded_pings);
  std::printf("one put serving the oldest of %d parked gets: %.3f ms\n", n, put_ms);
  std::printf(
      "releasing %zu temporaries one request each took %.3f s (%llu objects before, "
      "%llu after)\n",
      names.size(), release_secs, static_cast<unsigned long long>(objects_held),
      static_cast<unsigned long long>(objects_left));
  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
  std::string rm = std::string("rm -rf ") + dir;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}
