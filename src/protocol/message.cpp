// Unpacking untrusted payloads and packing error replies.
#include "protocol/message.hpp"

namespace syncmgr::protocol {

msgpack::unpack_limit unpack_limits(std::size_t payload_size) {
  auto n = payload_size > 0xffffffffu ? 0xffffffffu : payload_size;
  // depth 64: deep enough for any real value, shallow enough that recursion stays bounded.
  return msgpack::unpack_limit(n, n, n, n, 0, 64);
}

std::optional<msgpack::object_handle> PayloadReader::next() {
  if (offset_ >= data_.size()) return std::nullopt;
  return msgpack::unpack(data_.data(), data_.size(), offset_, nullptr, nullptr,
                         unpack_limits(data_.size()));
}

namespace {
bool reference_strings(msgpack::type::object_type type, std::size_t, void*) {
  return type == msgpack::type::STR || type == msgpack::type::BIN;
}
}  // namespace

std::optional<msgpack::object> PayloadReader::next(msgpack::zone& zone) {
  if (offset_ >= data_.size()) return std::nullopt;
  bool referenced = false;
  return msgpack::unpack(zone, data_.data(), data_.size(), offset_, referenced,
                         reference_ ? reference_strings : nullptr, nullptr,
                         unpack_limits(data_.size()));
}

void pack_error_reply(msgpack::sbuffer& out, std::uint64_t id, std::string_view kind,
                      std::string_view message) {
  msgpack::packer<msgpack::sbuffer> pk(out);
  pk.pack_array(4);
  pk.pack(id);
  pk.pack(static_cast<std::uint8_t>(ReplyStatus::error));
  pk.pack(kind);
  pk.pack(message);
}

}  // namespace syncmgr::protocol
