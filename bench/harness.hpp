// syncmgr-bench: the C++ load generator shared by every system the benchmark compares (syncmgr,
// Redis through hiredis, and a plain ZeroMQ echo with the protocol's per-message MAC).
//
// The harness (harness.cpp) forks the client processes, starts them together, times every
// operation and prints one JSON line. Each system (systems/*.cpp) only knows how to connect and how
// to do one operation of a workload.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace bench {

struct Params {
  std::string system;        // syncmgr | redis | echo
  std::string endpoint;      // tcp://HOST:PORT or ipc:///path
  std::string authkey_file;  // syncmgr: the daemon's key; echo: the fixed session key
  std::string workload;
  int clients = 1;
  int depth = 1;  // requests in flight per client (pipelined workloads)
  double duration = 2.0;
  std::size_t value_size = 16;
  std::size_t entries = 1000000;  // dict_mem
  int server_pid = 0;             // dict_mem: whose RSS to read
  int park = 0;                   // syncmgr: calls parked on the daemon during the run
  std::string park_endpoint;      // where the parking session connects (a ZeroMQ endpoint)
};

/// The key file's bytes without one trailing newline.
std::string read_key(const std::string& path);
/// A value of n bytes ('x' repeated, so every system stores the same thing).
std::string make_value(std::size_t n);
/// "key:<i>" for i in [0, 1000): the key set every dict workload cycles through.
std::string key_name(std::uint64_t i);

/// One client process's connection, doing one workload.
class Client {
 public:
  virtual ~Client() = default;
  /// One timed step. Returns the number of operations it did (depth for a pipelined step), or -1
  /// when a consumer has seen the end of the stream.
  virtual std::int64_t step(std::uint64_t i) = 0;
  /// Consumers run until step() returns -1 instead of until the deadline.
  virtual bool runs_until_done() const { return false; }
  /// Whether this client's operations count in the total (a queue's producers do not: the
  /// consumers' rate is the throughput).
  virtual bool counted() const { return true; }
  /// Called once after the timed loop (producers push the end-of-stream marks here).
  virtual void finish() {}
};

/// Built in each forked client process; `index` is 0 .. clients-1.
std::unique_ptr<Client> make_syncmgr_client(const Params& p, int index);
std::unique_ptr<Client> make_echo_client(const Params& p, int index);
std::unique_ptr<Client> make_redis_client(const Params& p, int index);  // null without hiredis

/// dict_mem: loads p.entries small int -> int entries in batches; returns when the daemon has them.
void load_syncmgr(const Params& p);
void load_redis(const Params& p);

/// Parks n blocking calls on the daemon from a raw protocol session held until the process exits
/// (bench/parked_waiters' method); returns once the daemon reports them parked.
void park_syncmgr(const Params& p, int n);

}  // namespace bench
