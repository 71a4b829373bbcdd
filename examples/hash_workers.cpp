// hash_workers: a work queue of file names and a result queue of (name, digest) pairs.
//
//   hash_workers [--workers N] FILE...
//   hash_workers --connect [--workers N] FILE...
//
// Shows: a JoinableQueue as a work queue (task_done() after each file, join() in the parent),
// shutdown() to release the idle workers instead of sentinels (Python 3.13's Queue.shutdown: a
// blocked get() throws syncmgr::ShutDown), and a result Queue of std::pair read back with
// structured bindings. Digests are SHA-256 (OpenSSL), printed as sha256sum prints them; a file
// that cannot be read gets an error message instead of a digest.
//
// With --connect it joins the daemon named by SYNCMGR_ENDPOINT and SYNCMGR_AUTHKEY_FILE instead of
// starting its own, so workers of other programs can share the work: python/examples/hash_worker.py
// takes files from the same queue (--workers 0 leaves all of it to them).
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "syncmgr/syncmgr.hpp"

namespace {

// The file's SHA-256 in hex, or "error: <reason>".
std::string sha256_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("error: ") + std::strerror(errno);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0)
    EVP_DigestUpdate(ctx, buf, static_cast<std::size_t>(in.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (in.bad()) return "error: read failed";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", md[i]);
    hex += h;
  }
  return hex;
}

}  // namespace

int main(int argc, char** argv) try {
  int workers = 3;
  bool connect = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--workers" && i + 1 < argc)
      workers = std::max(0, std::atoi(argv[++i]));
    else if (a == "--connect")
      connect = true;
    else
      files.push_back(a);
  }
  if (files.empty() || (workers == 0 && !connect)) {
    std::fprintf(stderr, "usage: hash_workers [--connect] [--workers N] FILE...\n");
    return 2;
  }

  // Its own private daemon, or (--connect) the one of $SYNCMGR_ENDPOINT, shared with others.
  auto mgr = connect ? syncmgr::Manager() : syncmgr::Manager::start();
  auto work = mgr.JoinableQueue("files");
  auto results = mgr.Queue("digests");
  work.put_many(files);  // one round trip for all of them

  std::fflush(stdout);
  std::vector<pid_t> pids;
  for (int w = 0; w < workers; ++w) {
    if (pid_t pid = fork(); pid == 0) {
      try {
        for (;;) {
          auto name = work.get<std::string>();
          results.put(std::pair{name, sha256_of(name)});
          work.task_done();
        }
      } catch (const syncmgr::ShutDown&) {
        // the parent shut the queue down: no more files
      }
      mgr.close();
      _exit(0);
    } else {
      pids.push_back(pid);
    }
  }

  work.join();      // every file hashed and marked done
  work.shutdown();  // wakes the workers still waiting in get() with ShutDown
  for (pid_t pid : pids)
    waitpid(pid, nullptr, 0);

  std::map<std::string, std::string> digests;  // sorted by name for the report
  while (!results.empty()) {
    auto [name, digest] = results.get<std::pair<std::string, std::string>>();
    digests[name] = digest;
  }
  int errors = 0;
  for (const auto& [name, digest] : digests) {
    std::printf("%s  %s\n", digest.c_str(), name.c_str());
    errors += digest.starts_with("error: ");
  }
  return errors == 0 ? 0 : 1;
} catch (const syncmgr::Error& e) {  // no daemon to start, or it went away
  std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  return 1;
}
