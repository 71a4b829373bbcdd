// echo_server: the transport floor for syncmgr-bench. A ZeroMQ ROUTER that does what the daemon
// does with every frame except the work: checks its HMAC-SHA256 tag (the protocol's Hmac and
// verify_frame) and its sequence number, then answers with the same payload in a sealed reply.
// The session key is fixed (the key file's bytes): there is no handshake.
//
//   echo_server --bind ENDPOINT... --key-file FILE [--ready-file FILE]
#include <signal.h>
#include <cerrno>

#include <cstdio>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "protocol/mac.hpp"
#include "protocol/wire.hpp"

using namespace syncmgr::protocol;

namespace {

volatile sig_atomic_t stop = 0;
void on_signal(int) {
  stop = 1;
}

struct Peer {
  std::uint64_t in_seq = 0, out_seq = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> binds;
  std::string key_file, ready_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--bind")
      binds.push_back(argv[i + 1]);
    else if (a == "--key-file")
      key_file = argv[i + 1];
    else if (a == "--ready-file")
      ready_file = argv[i + 1];
  }
  if (binds.empty() || key_file.empty()) {
    std::fprintf(stderr,
                 "usage: echo_server --bind ENDPOINT... --key-file FILE [--ready-file F]\n");
    return 2;
  }
  std::ifstream kin(key_file, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(kin)), std::istreambuf_iterator<char>());
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (key.size() < kMinKeySize) {
    std::fprintf(stderr, "echo_server: key shorter than %zu bytes\n", kMinKeySize);
    return 2;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  Hmac mac(key);
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::rcvtimeo, 200);
  router.set(zmq::sockopt::linger, 0);
  for (const auto& b : binds)
    router.bind(b);
  if (!ready_file.empty()) {
    std::ofstream out(ready_file + ".tmp");
    for (const auto& b : binds)
      out << b << "\n";
    out.close();
    std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
  }
  std::unordered_map<std::uint64_t, Peer> peers;  // by the header's session id
  std::uint64_t bad = 0;
  while (!stop) {
    zmq::message_t id, frame;
    try {
      if (!router.recv(id)) continue;
      if (!id.more() || !router.recv(frame)) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;  // SIGTERM: the loop condition ends it
      throw;
    }
    std::string_view f(frame.data<char>(), frame.size());
    auto h = read_header(f);
    if (!h || h->type != FrameType::request || !verify_frame(mac, f)) {
      ++bad;
      continue;
    }
    Peer& peer = peers[h->session];
    if (h->seq <= peer.in_seq) {
      ++bad;
      continue;
    }
    peer.in_seq = h->seq;
    Header reply{kProtocolVersion, FrameType::reply, Direction::to_client, h->session,
                 ++peer.out_seq};
    router.send(id, zmq::send_flags::sndmore);
    router.send(zmq::buffer(seal_frame(mac, reply, sealed_payload(f))), zmq::send_flags::none);
  }
  if (bad)
    std::fprintf(stderr, "echo_server: %llu bad frames\n", static_cast<unsigned long long>(bad));
  return 0;
}
