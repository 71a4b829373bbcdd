// The unix:// transport: who may connect, what an unauthenticated peer can make the daemon hold,
// and that a connection's end ends its sessions at once.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "protocol/unix_stream.hpp"
#include "protocol/wire.hpp"
#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using testsupport::Daemon;

namespace {

std::string path_of(const std::string& endpoint) {
  return *syncmgr::protocol::unix_path(endpoint);
}

int connect_raw(const std::string& endpoint) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = path_of(endpoint);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_frame(int fd, const std::string& frame) {
  unsigned char prefix[4];
  syncmgr::protocol::put_length(prefix, static_cast<std::uint32_t>(frame.size()));
  std::string out(reinterpret_cast<char*>(prefix), 4);
  out += frame;
  (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
}

/// Reads until `fd` has given `n` bytes, the peer closed it (returns what came), or 5 s passed.
std::string read_some(int fd, std::size_t n, bool* closed) {
  std::string got;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  *closed = false;
  while (got.size() < n && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t r = ::read(fd, buf, std::min(sizeof buf, n - got.size()));
    if (r <= 0) {
      *closed = true;
      return got;
    }
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

std::string hello_frame() {
  using namespace syncmgr::protocol;
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(2);
  pk.pack(kProtocolVersion);
  std::string nonce(kNonceSize, 'n');
  pk.pack_bin(kNonceSize);
  pk.pack_bin_body(nonce.data(), kNonceSize);
  Header h{kProtocolVersion, FrameType::hello, Direction::to_daemon, 0, 0};
  return make_frame(h, std::string_view(buf.data(), buf.size()));
}

}  // namespace

TEST_CASE("unix: the socket file is 0600 or the mode given; a live daemon's socket is not taken") {
  Daemon d;
  struct stat st {};
  REQUIRE(::stat(path_of(d.unix_socket()).c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);

  Daemon shared({"--socket-mode", "0660"});
  REQUIRE(::stat(path_of(shared.unix_socket()).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  // A second daemon on the same path fails to start and says why; the first keeps serving.
  std::string cmd = testsupport::binary("syncmgrd") + " --bind " + d.unix_socket() +
                    " --authkey-file " + d.key_file() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  int status = ::pclose(p);
  CHECK(status != 0);
  CHECK(out.find("another process is listening there") != std::string::npos);
  Manager m(d.options(d.unix_socket()));
  m.ping();

  // A daemon killed leaves its socket file; the next one on that path replaces it.
  d.kill_now();
  CHECK(::stat(path_of(d.unix_socket()).c_str(), &st) == 0);
  d.restart();
  Manager again(d.options(d.unix_socket()));
  again.ping();
}

TEST_CASE("unix: a process of another user is refused before any frame, even on an open socket") {
  Daemon d({"--socket-mode", "0666"});
  // The daemon's directory must let the other user reach the socket file.
  std::string dir = path_of(d.unix_socket());
  dir.resize(dir.rfind('/'));
  REQUIRE(::chmod(dir.c_str(), 0711) == 0);
  int code = testsupport::in_child([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 2;
    int fd = connect_raw(d.unix_socket());
    if (fd < 0) return 3;  // the mode lets it connect; the daemon's check must refuse it
    send_frame(fd, hello_frame());
    bool closed = false;
    std::string got = read_some(fd, 4, &closed);
    ::close(fd);
    return closed && got.empty() ? 0 : 4;
  });
  CHECK(code == 0);
  CHECK(d.log().find("refused a unix connection") != std::string::npos);
}

TEST_CASE("unix: before its handshake a peer cannot make the daemon hold more than 1 KiB") {
  Daemon d;
  // Declares a 100 MiB frame: closed at once, nothing allocated for it.
  int fd = connect_raw(d.unix_socket());
  REQUIRE(fd >= 0);
  unsigned char prefix[4];
  syncmgr::protocol::put_length(prefix, 100u << 20);
  (void)::send(fd, prefix, 4, MSG_NOSIGNAL);
  bool closed = false;
  CHECK(read_some(fd, 1, &closed).empty());
  CHECK(closed);
  ::close(fd);

  // Garbage that fits is answered with a refusal, and the connection may go on with a handshake.
  fd = connect_raw(d.unix_socket());
  REQUIRE(fd >= 0);
  send_frame(fd, "not a frame at all");
  std::string got = read_some(fd, 4, &closed);
  REQUIRE(got.size() == 4);
  auto len = syncmgr::protocol::get_length(reinterpret_cast<const unsigned char*>(got.data()));
  std::string refusal = read_some(fd, len, &closed);
  auto h = syncmgr::protocol::read_header(refusal);
  REQUIRE(h.has_value());
  CHECK(h->type == syncmgr::protocol::FrameType::refused);
  send_frame(fd, hello_frame());
  got = read_some(fd, 4, &closed);
  REQUIRE(got.size() == 4);
  len = syncmgr::protocol::get_length(reinterpret_cast<const unsigned char*>(got.data()));
  auto challenge = syncmgr::protocol::read_header(read_some(fd, len, &closed));
  REQUIRE(challenge.has_value());
  CHECK(challenge->type == syncmgr::protocol::FrameType::challenge);
  ::close(fd);

  // A connection that never completes a handshake is closed (as ZeroMQ's handshake interval does
  // on the other endpoints): idle connections do not pile up.
  fd = connect_raw(d.unix_socket());
  REQUIRE(fd >= 0);
  auto t0 = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  char byte;
  bool eof = false;
  while (!eof && testsupport::seconds_since(t0) < 15)
    eof = ::poll(&p, 1, 100) > 0 && ::read(fd, &byte, 1) == 0;
  CHECK(eof);
  CHECK(testsupport::seconds_since(t0) >= 4.0);
  ::close(fd);

  Manager m(d.options(d.unix_socket()));
  m.ping();
}

TEST_CASE("unix: a process SIGKILLed holding a Lock loses it at once, not at the session timeout") {
  // Its session is bound to its connection, which the kernel closes when the process dies.
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.unix_socket()));
  auto q = m.Queue("held");
  pid_t holder = testsupport::spawn([&] {
    Manager child(d.options(d.unix_socket()));
    child.Lock("gate").acquire();
    child.Queue("held").put(1);
    for (;;)
      std::this_thread::sleep_for(std::chrono::seconds(1));
    return 0;
  });
  CHECK(q.get<int>(true, std::chrono::seconds(10)) == 1);
  auto t0 = std::chrono::steady_clock::now();
  ::kill(holder, SIGKILL);
  testsupport::join(holder);
  CHECK(m.Lock("gate").acquire(true, std::chrono::seconds(10)));
  CHECK(testsupport::seconds_since(t0) < 3.0);  // the session timeout is 30 s
  CHECK(d.log().find("its unix connection closed") != std::string::npos);
}

TEST_CASE("unix: values of several MiB and 64 calls in flight round trip") {
  Daemon d;
  Manager m(d.options(d.unix_socket()));
  auto dict = m.dict("big");
  std::string big(20u << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096)
    big[i] = static_cast<char>('a' + (i / 4096) % 26);
  dict.set("v", Bytes{big});
  CHECK(dict.get<Bytes>("v").data == big);
  std::vector<Future<Bytes>> gets;
  for (int i = 0; i < 8; ++i)
    gets.push_back(dict.async_get<Bytes>("v"));
  for (auto& f : gets)
    CHECK(f.get().data == big);
}

TEST_CASE("unix: a fork()ed child does not keep its dead parent's connection (and lock) alive") {
  // A child inherits the parent's socket; if it kept its copy open, the daemon would see the
  // parent's connection close only when the child exits, and the parent's Lock would stay taken.
  Daemon d({"--session-timeout", "30"});
  Manager m(d.options(d.unix_socket()));
  auto q = m.Queue("ready");
  pid_t grandchild = -1;
  pid_t holder = testsupport::spawn([&] {
    Manager parent(d.options(d.unix_socket()));
    parent.Lock("gate").acquire();
    pid_t kid = ::fork();
    if (kid == 0) {
      for (;;)
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    parent.Queue("ready").put(static_cast<std::int64_t>(kid));
    for (;;)
      std::this_thread::sleep_for(std::chrono::seconds(1));
    return 0;
  });
  grandchild = static_cast<pid_t>(q.get<std::int64_t>(true, std::chrono::seconds(10)));
  auto t0 = std::chrono::steady_clock::now();
  ::kill(holder, SIGKILL);
  testsupport::join(holder);
  CHECK(m.Lock("gate").acquire(true, std::chrono::seconds(10)));
  CHECK(testsupport::seconds_since(t0) < 3.0);
  ::kill(grandchild, SIGKILL);
}
