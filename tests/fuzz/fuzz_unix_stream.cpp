// Fuzz target: the daemon's unix:// stream framing (src/server/unix_links.*), over a real
// Unix-domain socket.
//
// One UnixLinks listens in a temporary directory for the whole run. Each input is written by a
// fresh client connection in chunks whose sizes the input chooses (so that length prefixes and
// bodies are split anywhere across reads), then the client shuts down its side; the links are
// driven from their own epoll set until nothing more happens. The first byte says whether the
// connection counts as authenticated (frames up to the full limit) or not (kPreAuthFrameMax).
//
// Checked besides the sanitizers: the frames handed to the sink are exactly the length-prefixed
// frames of the input, in order, up to the first one that is empty or over the limit (which
// closes the connection, with nothing after it delivered); the connection is reported closed
// exactly once.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/unix_stream.hpp"
#include "server/log.hpp"
#include "server/unix_links.hpp"

namespace {

using syncmgr::server::UnixLinks;
constexpr std::size_t kMaxFrame = 2048;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_unix_stream: property violated: %s\n", what);
  std::abort();
}

struct Recorder : UnixLinks::Sink {
  std::vector<std::string> frames;
  int closed = 0;
  UnixLinks* links = nullptr;
  bool authenticate = false;
  void on_unix_frame(std::string_view conn, const std::string&, std::string_view frame) override {
    // As the daemon does once a handshake completes: larger frames are allowed from then on.
    if (authenticate && links != nullptr) links->authenticated(conn);
    frames.emplace_back(frame);
  }
  void on_unix_closed(std::string_view) override { ++closed; }
};

struct World {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  Recorder sink;
  UnixLinks links{epoll_fd, sink, kMaxFrame, 0600};
  std::string path;
  World() {
    syncmgr::server::set_log_level(syncmgr::server::LogLevel::error);
    char dir[] = "/tmp/syncmgr-fuzz-unix-XXXXXX";
    check(mkdtemp(dir) != nullptr, "mkdtemp");
    path = std::string(dir) + "/s.sock";
    links.bind("unix://" + path);
    sink.links = &links;
  }
  // Runs the links until no event is left.
  void drain() {
    epoll_event ev[16];
    for (;;) {
      int n = epoll_wait(epoll_fd, ev, 16, 0);
      if (n <= 0) break;
      for (int i = 0; i < n; ++i)
        links.on_event(ev[i].data.u64, ev[i].events);
      links.reap();
    }
    links.reap();
  }
};

World& world() {
  static World* w = new World();  // for the whole run, as the daemon's links are
  return *w;
}

// The frames the input's bytes declare, up to the first empty one or one over `limit` (either
// ends the connection).
std::vector<std::string> expected_frames(const std::string& bytes, std::size_t limit, bool& over) {
  std::vector<std::string> out;
  std::size_t off = 0;
  over = false;
  while (bytes.size() - off >= syncmgr::protocol::kLengthPrefix) {
    auto n = syncmgr::protocol::get_length(reinterpret_cast<const unsigned char*>(&bytes[off]));
    if (n == 0 || n > limit) {  // an empty frame is no frame either
      over = true;
      break;
    }
    if (bytes.size() - off - syncmgr::protocol::kLengthPrefix < n) break;  // cut short by EOF
    out.push_back(bytes.substr(off + syncmgr::protocol::kLengthPrefix, n));
    off += syncmgr::protocol::kLengthPrefix + n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  FuzzedDataProvider in(data, size);
  bool authenticate = in.ConsumeBool();
  std::vector<std::size_t> chunks;
  for (int i = 0; i < 8; ++i)
    chunks.push_back(in.ConsumeIntegralInRange<std::size_t>(1, 64));
  std::string bytes = in.ConsumeRemainingBytesAsString();

  w.sink.frames.clear();
  w.sink.closed = 0;
  w.sink.authenticate = authenticate;

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, w.path.c_str(), sizeof addr.sun_path - 1);
  check(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");
  w.drain();  // accepted
  std::size_t off = 0;
  for (std::size_t k = 0; off < bytes.size(); ++k) {
    std::size_t n = std::min(chunks[k % chunks.size()], bytes.size() - off);
    ssize_t sent = send(fd, bytes.data() + off, n, MSG_NOSIGNAL);
    if (sent <= 0) break;  // the links closed the connection: the rest is not read
    off += static_cast<std::size_t>(sent);
    w.drain();
  }
  shutdown(fd, SHUT_WR);
  w.drain();
  close(fd);
  w.drain();

  // The first frame decides the limit of the ones after it only when it is delivered.
  bool over = false;
  std::size_t limit = syncmgr::protocol::kPreAuthFrameMax;
  auto first = expected_frames(bytes, limit, over);
  std::vector<std::string> expected = first;
  if (authenticate && !first.empty()) {
    // After the first frame the connection counts as authenticated: the full limit applies.
    std::size_t after = syncmgr::protocol::kLengthPrefix + first[0].size();
    bool over_after = false;
    expected = {first[0]};
    auto rest = expected_frames(bytes.substr(after), kMaxFrame, over_after);
    expected.insert(expected.end(), rest.begin(), rest.end());
  }
  check(w.sink.frames == expected, "the frames delivered are the frames sent, in order");
  check(w.sink.closed == 1, "the connection is reported closed exactly once");
  check(w.links.connections() == 0, "a closed connection is forgotten");
  return 0;
}
