// syncmgr-bench: forks N client processes, starts them together, runs one workload for a fixed
// time against one system and prints one JSON line (see bench/README in the top README and
// bench/run.py, which drives it).
//
//   syncmgr-bench --system syncmgr|redis|echo --endpoint E [--authkey-file F] --workload W
//                 [--clients N] [--depth D] [--duration S] [--value-size B] [--entries N]
//                 [--server-pid P] [--park N] [--park-endpoint E]
#include "harness.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bench {

std::string read_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read key file " + path);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!key.empty() && key.back() == '\n') key.pop_back();
  return key;
}

std::string make_value(std::size_t n) {
  return std::string(n, 'x');
}

std::string key_name(std::uint64_t i) {
  return "key:" + std::to_string(i % 1000);
}

}  // namespace bench

namespace {

using namespace bench;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxSamples = 50000;  // per client; reservoir sampling beyond

// What a client process sends back to the harness through its pipe.
struct Report {
  std::uint64_t ops = 0;
  double elapsed = 0;
  std::uint32_t counted = 1;
  std::uint32_t failed = 0;
  std::uint32_t n_samples = 0;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "syncmgr-bench: %s\nusage: syncmgr-bench --system syncmgr|redis|echo --endpoint E "
               "[--authkey-file F] --workload W [--clients N] [--depth D] [--duration S] "
               "[--value-size B] [--entries N] [--server-pid P] [--park N] [--park-endpoint E]\n",
               msg);
  std::exit(2);
}

Params parse(int argc, char** argv) {
  Params p;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--system")
      p.system = v;
    else if (a == "--endpoint")
      p.endpoint = v;
    else if (a == "--authkey-file")
      p.authkey_file = v;
    else if (a == "--workload")
      p.workload = v;
    else if (a == "--clients")
      p.clients = std::stoi(v);
    else if (a == "--depth")
      p.depth = std::stoi(v);
    else if (a == "--duration")
      p.duration = std::stod(v);
    else if (a == "--value-size")
      p.value_size = std::stoul(v);
    else if (a == "--entries")
      p.entries = std::stoul(v);
    else if (a == "--server-pid")
      p.server_pid = std::stoi(v);
    else if (a == "--park")
      p.park = std::stoi(v);
    else if (a == "--park-endpoint")
      p.park_endpoint = v;
    else
      usage(("unknown flag " + a).c_str());
  }
  if (p.system.empty() || p.endpoint.empty() || p.workload.empty())
    usage("--system, --endpoint and --workload are required");
  if (p.clients < 1 || p.depth < 1 || p.duration <= 0) usage("bad --clients/--depth/--duration");
  return p;
}

std::unique_ptr<Client> make_client(const Params& p, int index) {
  std::unique_ptr<Client> c;
  if (p.system == "syncmgr")
    c = make_syncmgr_client(p, index);
  else if (p.system == "echo")
    c = make_echo_client(p, index);
  else if (p.system == "redis")
    c = make_redis_client(p, index);
  if (!c) throw std::runtime_error("system " + p.system + " cannot run workload " + p.workload);
  return c;
}

void write_all(int fd, const void* data, std::size_t n) {
  auto* b = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, b, n);
    if (w <= 0) _exit(3);
    b += w;
    n -= static_cast<std::size_t>(w);
  }
}

bool read_all(int fd, void* data, std::size_t n) {
  auto* b = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// The body of one client process: connect, say ready, wait for go, run, report.
[[noreturn]] void client_main(const Params& p, int index, int ready_fd, int go_fd, int out_fd) {
  Report rep;
  std::vector<float> samples;
  try {
    auto client = make_client(p, index);
    char c = 'r';
    write_all(ready_fd, &c, 1);
    if (::read(go_fd, &c, 1) != 1) _exit(4);
    std::mt19937_64 rng(static_cast<std::uint64_t>(index) * 7919 + 1);
    samples.reserve(kMaxSamples);
    std::uint64_t seen = 0;
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(p.duration));
    bool until_done = client->runs_until_done();
    for (std::uint64_t i = 0;; ++i) {
      auto t0 = Clock::now();
      if (!until_done && t0 >= deadline) break;
      std::int64_t n = client->step(i);
      if (n < 0) break;
      auto us = std::chrono::duration<float, std::micro>(Clock::now() - t0).count();
      rep.ops += static_cast<std::uint64_t>(n);
      if (samples.size() < kMaxSamples) {
        samples.push_back(us);
      } else {  // reservoir: every step has the same chance to be in the sample
        std::uint64_t j = rng() % (seen + 1);
        if (j < kMaxSamples) samples[j] = us;
      }
      ++seen;
    }
    rep.elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    rep.counted = client->counted() ? 1 : 0;
    client->finish();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client %d: %s\n", index, e.what());
    rep.failed = 1;
    char c = 'f';
    write_all(ready_fd, &c, 1);  // never leave the harness waiting for this one
  }
  rep.n_samples = static_cast<std::uint32_t>(samples.size());
  write_all(out_fd, &rep, sizeof rep);
  write_all(out_fd, samples.data(), samples.size() * sizeof(float));
  std::fflush(nullptr);
  _exit(rep.failed ? 1 : 0);
}

double percentile(std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

int run_memory(const Params& p) {
  if (p.server_pid <= 0) usage("dict_mem needs --server-pid");
  long before = rss_kib(p.server_pid);
  auto t0 = Clock::now();
  if (p.system == "syncmgr")
    load_syncmgr(p);
  else if (p.system == "redis")
    load_redis(p);
  else
    usage("dict_mem: syncmgr or redis");
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  long after = rss_kib(p.server_pid);
  double per = static_cast<double>(after - before) * 1024.0 / static_cast<double>(p.entries);
  std::printf(
      "{\"system\": \"%s\", \"workload\": \"dict_mem\", \"entries\": %zu, \"rss_before_kib\": %ld, "
      "\"rss_after_kib\": %ld, \"bytes_per_entry\": %.1f, \"load_seconds\": %.3f}\n",
      p.system.c_str(), p.entries, before, after, per, secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Params p = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  try {
    if (p.workload == "dict_mem") return run_memory(p);
    if (p.park > 0) {
      if (p.system != "syncmgr") usage("--park needs --system syncmgr");
      park_syncmgr(p, p.park);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "syncmgr-bench: %s\n", e.what());
    return 1;
  }
  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return 1;
  std::vector<pid_t> pids;
  std::vector<int> outs;
  std::fflush(nullptr);
  for (int i = 0; i < p.clients; ++i) {
    int out[2];
    if (pipe(out) != 0) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      close(ready[0]);
      close(go[1]);
      close(out[0]);
      for (int fd : outs)
        close(fd);
      client_main(p, i, ready[1], go[0], out[1]);
    }
    close(out[1]);
    pids.push_back(pid);
    outs.push_back(out[0]);
  }
  close(ready[1]);
  close(go[0]);
  bool ok = true;
  for (int i = 0; i < p.clients; ++i) {  // every client connected and set up
    pollfd pfd{ready[0], POLLIN, 0};
    char c = 0;
    if (poll(&pfd, 1, 60000) != 1 || ::read(ready[0], &c, 1) != 1 || c != 'r') ok = false;
    if (!ok) break;
  }
  if (ok) {
    std::string go_bytes(static_cast<std::size_t>(p.clients), 'g');
    write_all(go[1], go_bytes.data(), go_bytes.size());
  }
  close(go[1]);  // a client still waiting on go sees EOF and exits
  std::uint64_t ops = 0;
  double elapsed = 0;
  std::vector<float> samples;
  int failed = ok ? 0 : 1;
  for (int fd : outs) {
    Report r;
    if (!read_all(fd, &r, sizeof r)) {
      ++failed;
      close(fd);
      continue;
    }
    std::vector<float> s(r.n_samples);
    if (!read_all(fd, s.data(), s.size() * sizeof(float))) ++failed;
    close(fd);
    failed += static_cast<int>(r.failed);
    if (!r.counted) continue;
    ops += r.ops;
    elapsed = std::max(elapsed, r.elapsed);
    samples.insert(samples.end(), s.begin(), s.end());
  }
  for (pid_t pid : pids)
    waitpid(pid, nullptr, 0);
  if (failed) {
    std::fprintf(stderr, "syncmgr-bench: %d client(s) failed\n", failed);
    return 1;
  }
  double rate = elapsed > 0 ? static_cast<double>(ops) / elapsed : 0;
  // big_value: each op moves the value up (set) and back down (get); echo moves it both ways too.
  double mb = p.workload == "big_value" ? rate * 2.0 * static_cast<double>(p.value_size) / 1e6 : 0;
  double p50 = percentile(samples, 0.50), p99 = percentile(samples, 0.99);
  std::printf(
      "{\"system\": \"%s\", \"endpoint\": \"%s\", \"workload\": \"%s\", \"clients\": %d, "
      "\"depth\": %d, \"value_size\": %zu, \"duration\": %.3f, \"ops\": %llu, \"ops_per_s\": %.1f, "
      "\"p50_us\": %.1f, \"p99_us\": %.1f, \"mb_per_s\": %.2f, \"park\": %d}\n",
      p.system.c_str(), p.endpoint.c_str(), p.workload.c_str(), p.clients, p.depth, p.value_size,
      elapsed, static_cast<unsigned long long>(ops), rate, p50, p99, mb, p.park);
  return 0;
}
