// Frame headers, sealing and verification.
#include "protocol/wire.hpp"

#include <optional>

namespace syncmgr::protocol {
namespace {

void put_u64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
}

// The 20 header bytes, written where the frame keeps them (no allocation on the request path).
void put_header(char* out, const Header& h) {
  out[0] = static_cast<char>(h.version);
  out[1] = static_cast<char>(h.type);
  out[2] = static_cast<char>(h.direction);
  out[3] = static_cast<char>(h.flags);
  put_u64(out + 4, h.session);
  put_u64(out + 12, h.seq);
  if ((h.flags & kFlagAck) != 0) put_u64(out + kHeaderSize, h.ack);
}

std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

}  // namespace

void write_header(std::string& out, const Header& h) {
  out.resize(out.size() + header_size(h));
  put_header(out.data() + out.size() - header_size(h), h);
}

FrameBuilder::FrameBuilder() : buf_(256) {  // grown to fit what is packed (sbuffer: 8 KiB)
  char room[kHeaderSize] = {};
  buf_.write(room, sizeof room);
}

void FrameBuilder::reset() {
  if (buf_.data() == nullptr || buf_.size() > 64 * 1024) {
    buf_ = msgpack::sbuffer(256);
  } else {
    buf_.clear();
  }
  char room[kHeaderSize] = {};
  buf_.write(room, sizeof room);
}

namespace {
// Writes the header into the room at the start of a frame; returns its tag when `macs`.
std::optional<Tag> finish_frame(char* frame, std::size_t size, Hmac& key, bool macs,
                                const Header& h) {
  put_header(frame, h);
  if (!macs) return std::nullopt;
  return key.mac({std::string_view(frame, size)});
}
}  // namespace

void seal_in_place(std::string& frame, Hmac& key, bool macs, const Header& h) {
  if (auto tag = finish_frame(frame.data(), frame.size(), key, macs, h))
    frame.append(reinterpret_cast<const char*>(tag->data()), tag->size());
}

void FrameBuilder::seal(Hmac& key, bool macs, const Header& h) {
  if (auto tag = finish_frame(buf_.data(), buf_.size(), key, macs, h))
    buf_.write(reinterpret_cast<const char*>(tag->data()), tag->size());
}

std::optional<Header> read_header(std::string_view frame) {
  if (frame.size() < kHeaderSize) return std::nullopt;
  auto p = reinterpret_cast<const unsigned char*>(frame.data());
  if ((p[3] & ~kFlagAck) != 0) return std::nullopt;
  Header h;
  h.version = p[0];
  h.type = static_cast<FrameType>(p[1]);
  h.direction = static_cast<Direction>(p[2]);
  h.session = get_u64(p + 4);
  h.seq = get_u64(p + 12);
  h.flags = p[3];
  if ((h.flags & kFlagAck) != 0) {
    if (h.type != FrameType::request || frame.size() < kHeaderSize + kAckSize) return std::nullopt;
    h.ack = get_u64(p + kHeaderSize);
  }
  return h;
}

std::string make_frame(const Header& h, std::string_view payload) {
  std::string out;
  out.reserve(header_size(h) + payload.size());
  write_header(out, h);
  out.append(payload);
  return out;
}

std::string seal_frame(Hmac& key, const Header& h, std::string_view payload) {
  std::string out;
  out.reserve(header_size(h) + payload.size() + kTagSize);
  write_header(out, h);
  out.append(payload);
  Tag tag = key.mac({out});
  out.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  return out;
}

bool verify_frame(Hmac& key, std::string_view frame) {
  if (frame.size() < kHeaderSize + kTagSize) return false;
  Tag expected = key.mac({frame.substr(0, frame.size() - kTagSize)});
  return tags_equal(reinterpret_cast<const unsigned char*>(frame.data() + frame.size() - kTagSize),
                    expected);
}

}  // namespace syncmgr::protocol
