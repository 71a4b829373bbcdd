// multihost: the worker program of the multi-host demo (examples/multihost/run.sh).
//
//   multihost seed N                  put jobs 0..N-1 on the work queue (a new round)
//   multihost worker HOST LEDGER      take jobs until the queue stays empty for 3 s
//   multihost hold HOST LEDGER        take the ledger Lock and one job, then wait (never finish)
//   multihost try-lock SECONDS        exit 0 if the ledger Lock can be had within SECONDS
//   multihost check N LEDGER [SKIP]   exit 0 if the ledger holds jobs 0..N-1 once each (SKIP: at
//                                     most once, for the job of a worker that was cut off)
//
// Every process connects to the daemon named by SYNCMGR_ENDPOINT with the key file in
// SYNCMGR_AUTHKEY_FILE, from whichever host (network namespace) it runs on. They share:
// - the JoinableQueue "mh.jobs": job numbers, marked done with task_done() once written;
// - the Namespace "mh.state": per-host counters (atomic increments) and the holder's marks;
// - the Lock "mh.ledger" around the ledger, a file all hosts can write (a stand-in for a shared
//   resource such as a database or a file on NFS). A worker appends "job result host token" under
//   the Lock, where token is the grant's fencing token: tokens in the file must only grow, which
//   is how a resource can refuse a writer that lost the lock without knowing it.
// `hold` is the worker whose network gets cut: it takes the Lock and a job and then waits on an
// Event that nobody sets, standing for work that never finishes. The library's heartbeats keep
// its session, and so its Lock, alive for as long as its link is up.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "syncmgr/syncmgr.hpp"

namespace {

using namespace std::chrono_literals;

struct Shared {
  syncmgr::Manager mgr;  // SYNCMGR_ENDPOINT, SYNCMGR_AUTHKEY_FILE
  syncmgr::JoinableQueueProxy jobs = mgr.JoinableQueue("mh.jobs");
  syncmgr::NamespaceProxy state = mgr.Namespace("mh.state");
  syncmgr::LockProxy ledger_lock = mgr.Lock("mh.ledger");
};

void append(const std::string& ledger, std::int64_t job, const std::string& host,
            std::uint64_t token) {
  std::ofstream out(ledger, std::ios::app);
  out << job << ' ' << job * job << ' ' << host << ' ' << token << '\n';
}

int seed(Shared& s, int n) {
  for (int job = 0; job < n; ++job)
    s.jobs.put(job);
  s.state.set("round_jobs", n);
  return 0;
}

int worker(Shared& s, const std::string& host, const std::string& ledger) {
  int done = 0;
  try {
    for (;;) {
      auto job = s.jobs.get<std::int64_t>(true, 3s);  // Empty after 3 s without work: the end
      auto token = s.ledger_lock.acquire_fenced();
      append(ledger, job, host, *token);
      s.ledger_lock.release();
      s.state.increment("done." + host);
      s.jobs.task_done();
      ++done;
    }
  } catch (const syncmgr::Empty&) {
  }
  std::cout << host << ": " << done << " jobs\n";
  return 0;
}

int hold(Shared& s, const std::string& host) {
  auto token = s.ledger_lock.acquire_fenced();
  auto job = s.jobs.get<std::int64_t>();
  s.state.set("held_job", job);
  s.state.set("held_token", *token);
  s.state.set("holder", host);  // last: run.sh waits for it
  std::cout << host << ": holding the ledger lock (token " << *token << ") and job " << job
            << std::endl;
  s.mgr.Event("mh.never").wait();  // until the link is cut and the session ends
  std::cout << host << ": the event was set?\n";
  return 1;
}

int try_lock(Shared& s, double seconds) {
  auto token = s.ledger_lock.acquire_fenced(true, std::chrono::duration<double>(seconds));
  if (!token) {
    std::cout << "ledger lock still held after " << seconds << " s\n";
    return 1;
  }
  std::cout << "ledger lock acquired, token " << *token << '\n';
  s.ledger_lock.release();
  return 0;
}

int check(int n, const std::string& ledger, std::int64_t skip) {
  std::ifstream in(ledger);
  std::multiset<std::int64_t> seen;
  std::uint64_t last_token = 0;
  bool ordered = true;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::int64_t job = 0, result = 0;
    std::string host;
    std::uint64_t token = 0;
    fields >> job >> result >> host >> token;
    ordered = ordered && token > last_token && result == job * job;
    last_token = token;
    seen.insert(job);
  }
  int missing = 0, repeated = 0;
  for (int job = 0; job < n; ++job) {
    if (job == skip) continue;
    missing += seen.count(job) == 0;
    repeated += seen.count(job) > 1;
  }
  std::cout << seen.size() << " ledger lines, " << missing << " jobs missing, " << repeated
            << " repeated, fencing tokens " << (ordered ? "increasing" : "OUT OF ORDER") << '\n';
  std::size_t expected = static_cast<std::size_t>(n) - (skip >= 0 && seen.count(skip) == 0);
  return missing == 0 && repeated == 0 && ordered && seen.size() == expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "check" && (argc == 4 || argc == 5))
      return check(std::atoi(argv[2]), argv[3], argc == 5 ? std::atoll(argv[4]) : -1);
    Shared s;
    if (cmd == "seed" && argc == 3) return seed(s, std::atoi(argv[2]));
    if (cmd == "worker" && argc == 4) return worker(s, argv[2], argv[3]);
    if (cmd == "hold" && argc == 4) return hold(s, argv[2]);
    if (cmd == "try-lock" && argc == 3) return try_lock(s, std::atof(argv[2]));
  } catch (const syncmgr::Error& e) {
    std::cerr << "multihost " << cmd << ": " << e.what() << '\n';
    return 1;
  }
  std::cerr << "usage: see the top of examples/multihost/multihost.cpp\n";
  return 2;
}
