// The transport floor's client side: a ZeroMQ DEALER that seals each request with the protocol's
// HMAC-SHA256 (fixed session key, no handshake), sends it to bench/echo_server and verifies the
// sealed reply. One round trip per operation, the payload shaped like a dict.set request.
#include <stdexcept>
#include <zmq.hpp>

#include "../harness.hpp"
#include "protocol/mac.hpp"
#include "protocol/wire.hpp"
#include "syncmgr/value.hpp"

namespace bench {
namespace {

using namespace syncmgr::protocol;

// A fresh session id per client, so the server's sequence check never mixes two runs' clients.
std::uint64_t random_session() {
  std::uint64_t s = 0;
  while (s == 0)
    random_bytes(&s, sizeof s);
  return s;
}

class EchoClient : public Client {
 public:
  EchoClient(const Params& p)
      : key_(read_key(p.authkey_file)),
        sock_(ctx_, zmq::socket_type::dealer),
        session_(random_session()),
        depth_(p.workload == "dict_set_async" ? p.depth : 1) {
    if (p.workload != "dict_set" && p.workload != "dict_set_async" && p.workload != "big_value")
      throw std::runtime_error("echo runs dict_set, dict_set_async and big_value only");
    sock_.set(zmq::sockopt::linger, 0);
    sock_.connect(p.endpoint);
    value_ = make_value(p.value_size);
    round_trip(0);  // connected before the clock starts
  }

  std::int64_t step(std::uint64_t i) override { return round_trip(i); }

 private:
  // What a client would send for d.set(key, value): [id, "dict.set", "bench_dict", [key, value]].
  std::string payload(std::uint64_t i) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(4);
    pk.pack(i + 1);
    pk.pack(std::string_view("dict.set"));
    pk.pack(std::string_view("bench_dict"));
    pk.pack_array(2);
    pk.pack(key_name(i));
    pk.pack_bin(static_cast<std::uint32_t>(value_.size()));
    pk.pack_bin_body(value_.data(), static_cast<std::uint32_t>(value_.size()));
    return std::string(buf.data(), buf.size());
  }

  std::int64_t round_trip(std::uint64_t i) {
    for (int k = 0; k < depth_; ++k) {
      Header h{kProtocolVersion, FrameType::request, Direction::to_daemon, session_, ++out_seq_};
      sock_.send(zmq::buffer(seal_frame(key_, h, payload(i * depth_ + k))), zmq::send_flags::none);
    }
    for (int k = 0; k < depth_; ++k) {
      zmq::message_t m;
      if (!sock_.recv(m)) throw std::runtime_error("echo: no reply");
      std::string_view f(m.data<char>(), m.size());
      auto h = read_header(f);
      if (!h || !verify_frame(key_, f) || h->direction != Direction::to_client || h->seq <= in_seq_)
        throw std::runtime_error("echo: bad reply frame");
      in_seq_ = h->seq;
    }
    return depth_;
  }

  Hmac key_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::uint64_t session_;
  int depth_;
  std::string value_;
  std::uint64_t out_seq_ = 0, in_seq_ = 0;
};

}  // namespace

std::unique_ptr<Client> make_echo_client(const Params& p, int /*index*/) {
  return std::make_unique<EchoClient>(p);
}

}  // namespace bench
