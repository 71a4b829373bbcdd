// Unpacking untrusted payloads and packing error replies.
#include "protocol/message.hpp"

#include "syncmgr/value.hpp"

namespace syncmgr::protocol {

msgpack::unpack_limit unpack_limits(std::size_t payload_size) {
  auto n = payload_size > 0xffffffffu ? 0xffffffffu : payload_size;
  // Two levels for the request (or reply) array and its args, then the value's own levels: deep
  // enough for any real value, shallow enough that the unpacker's recursion stays bounded.
  return msgpack::unpack_limit(n, n, n, n, n, kMaxValueDepth + 2);
}

std::optional<msgpack::object_handle> PayloadReader::next() {
  if (offset_ >= data_.size()) return std::nullopt;
  last_start_ = offset_;
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
  last_start_ = offset_;
  bool referenced = false;
  return msgpack::unpack(zone, data_.data(), data_.size(), offset_, referenced,
                         reference_ ? reference_strings : nullptr, nullptr,
                         unpack_limits(data_.size()));
}

namespace {
// Walks one object without building it (the parser keeps its stack on the heap, so depth costs no
// recursion), noting the first element of a top-level array: a request's id.
struct IdVisitor : msgpack::null_visitor {
  int depth = 0;
  std::uint32_t item = 0;
  bool top_array = false;
  std::uint64_t id = 0;
  bool start_array(std::uint32_t) {
    if (depth++ == 0) top_array = true;
    return true;
  }
  bool end_array() {
    --depth;
    return true;
  }
  bool start_map(std::uint32_t) {
    ++depth;
    return true;
  }
  bool end_map() {
    --depth;
    return true;
  }
  bool end_array_item() {
    if (depth == 1) ++item;
    return true;
  }
  bool visit_positive_integer(std::uint64_t v) {
    if (depth == 1 && top_array && item == 0) id = v;
    return true;
  }
};
}  // namespace

PayloadReader::Skipped PayloadReader::skip_failed() {
  IdVisitor v;
  std::size_t off = last_start_;
  bool ok = msgpack::parse(data_.data(), data_.size(), off, v);
  if (ok) offset_ = off;
  return Skipped{ok, v.id};
}

bool read_request(Cursor& c, RequestView& r, std::vector<Value>& args) {
  Cursor start = c;
  std::uint32_t n = 0, argc = 0;
  bool ok = c.array_header(n) && n == 4 && c.uint(r.id) && r.id != 0 && c.str(r.op) &&
            (c.nil() ? (r.target = {}, true) : c.str(r.target)) && c.array_header(argc);
  if (ok) {
    args.resize(argc);
    for (auto& a : args)
      if (!(ok = read_value(c, a, kMaxValueDepth))) break;
  }
  if (!ok) c = start;
  return ok;
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
