// bench/parked_waiters: what 10,000 parked calls cost the daemon, in memory and in the latency
// other clients see.
//
//   parked_waiters SYNCMGRD [N=10000] [ROUNDS=5] [CALLS=2000]
//
// Starts its own syncmgrd, measures a second client's dict.set round trips (median of ROUNDS
// rounds of CALLS calls) with no parked calls, then parks N queue.get calls from a raw protocol
// client (one frame), measures again, and reports the daemon's RSS growth per parked call.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "protocol/handshake.hpp"
#include "protocol/mac.hpp"
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

// Parks n queue.get calls with one raw frame, after a handshake done by hand.
void park(zmq::socket_t& s, const std::string& key, int n) {
  using namespace protocol;
  Hmac authkey(key);
  std::string cn(kNonceSize, '\0');
  random_bytes(cn.data(), cn.size());
  msgpack::sbuffer hello;
  msgpack::packer<msgpack::sbuffer> hp(hello);
  hp.pack_array(2);
  hp.pack(kProtocolVersion);
  hp.pack_bin(kNonceSize);
  hp.pack_bin_body(cn.data(), kNonceSize);
  s.send(
      zmq::buffer(make_frame(Header{kProtocolVersion, FrameType::hello, Direction::to_daemon, 0, 0},
                             std::string_view(hello.data(), hello.size()))));
  zmq::message_t m;
  (void)s.recv(m);
  auto h = *read_header(m.to_string());
  auto oh = msgpack::unpack(m.data<char>() + kHeaderSize, m.size() - kHeaderSize);
  std::string sn = oh.get().via.array.ptr[0].as<Bytes>().data;
  HandshakeInputs in{cn, sn, h.session};
  Tag proof = client_proof(authkey, in);
  msgpack::sbuffer auth;
  msgpack::packer<msgpack::sbuffer> ap(auth);
  ap.pack_array(1);
  ap.pack_bin(kTagSize);
  ap.pack_bin_body(reinterpret_cast<const char*>(proof.data()), kTagSize);
  s.send(zmq::buffer(
      make_frame(Header{kProtocolVersion, FrameType::auth, Direction::to_daemon, h.session, 0},
                 std::string_view(auth.data(), auth.size()))));
  (void)s.recv(m);  // welcome
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
  s.send(zmq::buffer(seal_frame(
      session, Header{kProtocolVersion, FrameType::request, Direction::to_daemon, h.session, 1},
      std::string_view(reqs.data(), reqs.size()))));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: parked_waiters SYNCMGRD [N] [ROUNDS] [CALLS]\n");
    return 2;
  }
  int n = argc > 2 ? std::atoi(argv[2]) : 10000;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  int calls = argc > 4 ? std::atoi(argv[4]) : 2000;
  char dir[] = "/tmp/syncmgr-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  std::string key_path = std::string(dir) + "/key", ready = std::string(dir) + "/ready";
  std::string key(64, 'a');
  for (auto& ch : key)
    ch = "0123456789abcdef"[std::rand() % 16];
  {
    std::ofstream k(key_path);
    k << key << "\n";
  }
  chmod(key_path.c_str(), 0600);
  pid_t daemon = fork();
  if (daemon == 0) {
    execl(argv[1], argv[1], "--bind", "tcp://127.0.0.1:*", "--authkey-file", key_path.c_str(),
          "--ready-file", ready.c_str(), "--log-level", "warn", nullptr);
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

  zmq::context_t ctx;
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.connect(endpoint);
  park(raw, key, n);
  for (int i = 0; i < 1000; ++i) {
    Value stats = m.stats();
    bool done = false;
    for (const auto& [k, v] : stats.as_map())
      done = done || (k == Value("parked_calls") && v.as_uint() >= static_cast<std::uint64_t>(n));
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  long rss_after = rss_kib(daemon);
  auto loaded = measure(d, rounds, calls);
  auto base2 = measure(d, rounds, calls);  // baseline again, to see the run-to-run noise

  std::printf("parked calls: %d\n", n);
  std::printf("daemon RSS: %ld KiB before, %ld KiB after: %.2f KiB per parked call\n", rss_before,
              rss_after, static_cast<double>(rss_after - rss_before) / n);
  auto range = [](const std::vector<double>& v) {
    return std::make_pair(*std::min_element(v.begin(), v.end()),
                          *std::max_element(v.begin(), v.end()));
  };
  std::printf("dict.set ops/s, no parked calls:   median %.0f (min %.0f, max %.0f)\n", median(base),
              range(base).first, range(base).second);
  std::printf("dict.set ops/s, %d parked:      median %.0f (min %.0f, max %.0f)\n", n,
              median(loaded), range(loaded).first, range(loaded).second);
  std::printf("dict.set ops/s, no parked again:  median %.0f (min %.0f, max %.0f)\n", median(base2),
              range(base2).first, range(base2).second);
  std::printf("ratio loaded / baseline: %.3f\n", median(loaded) / median(base));
  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
  std::string rm = std::string("rm -rf ") + dir;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}
