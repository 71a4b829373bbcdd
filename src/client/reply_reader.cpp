#include "client/reply_reader.hpp"

#include <bit>
#include <cstring>

#include "protocol/message.hpp"
#include "protocol/msgpack_read.hpp"

namespace syncmgr::detail {

namespace {

bool reference_strings(msgpack::type::object_type type, std::size_t, void*) {
  return type == msgpack::type::STR || type == msgpack::type::BIN;
}

// The `width` bytes after the format byte at the cursor, big-endian.
bool fixed(protocol::Cursor& c, std::size_t width, std::uint64_t& v) {
  return c.big_endian(width, v, 1);
}

void set_int(msgpack::object& o, std::int64_t v) {
  // As msgpack-c does: a non-negative value of a signed format is a POSITIVE_INTEGER.
  if (v >= 0) {
    o.type = msgpack::type::POSITIVE_INTEGER;
    o.via.u64 = static_cast<std::uint64_t>(v);
  } else {
    o.type = msgpack::type::NEGATIVE_INTEGER;
    o.via.i64 = v;
  }
}

}  // namespace

ReplyReader::ReplyReader(std::string_view payload, std::shared_ptr<msgpack::zone> zone,
                         bool reference)
    : payload_(payload), zone_(std::move(zone)), reference_(reference && zone_ != nullptr) {}

msgpack::zone& ReplyReader::need_zone() {
  if (!zone_) zone_ = std::make_shared<msgpack::zone>(protocol::zone_chunk_for(payload_.size()));
  return *zone_;
}

bool ReplyReader::next(Reply& out) {
  while (offset_ < payload_.size()) {
    if (read_common(out)) return true;
    ++fallbacks_;
    if (read_general(out)) return true;
  }
  return false;
}

bool ReplyReader::read_common(Reply& out) {
  protocol::Cursor c(payload_.substr(offset_));
  std::uint32_t n;
  std::uint64_t id, status;
  if (!c.array_header(n) || !c.uint(id) || !c.uint(status)) return false;
  if (status != 0) {
    if (status != 1 || n != 4 || !c.str(out.kind) || !c.str(out.message)) return false;
    out.ok = false;
  } else {
    if (n != 3) return false;
    msgpack::object& o = out.result;
    int b = c.peek();
    std::uint64_t v;
    if (b < 0) return false;
    if (b <= 0x7f) {
      o.type = msgpack::type::POSITIVE_INTEGER;
      o.via.u64 = static_cast<std::uint64_t>(b);
      c.skip(1);
    } else if (b >= 0xe0) {
      o.type = msgpack::type::NEGATIVE_INTEGER;
      o.via.i64 = static_cast<std::int8_t>(b);
      c.skip(1);
    } else if (b == 0xc0) {
      o.type = msgpack::type::NIL;
      c.skip(1);
    } else if (b == 0xc2 || b == 0xc3) {
      o.type = msgpack::type::BOOLEAN;
      o.via.boolean = b == 0xc3;
      c.skip(1);
    } else if (b >= 0xcc && b <= 0xcf) {
      if (!c.uint(v)) return false;
      o.type = msgpack::type::POSITIVE_INTEGER;
      o.via.u64 = v;
    } else if (b >= 0xd0 && b <= 0xd3) {
      std::size_t width = std::size_t{1} << (b - 0xd0);
      if (!fixed(c, width, v)) return false;
      // Sign-extend from `width` bytes.
      unsigned shift = static_cast<unsigned>(64 - 8 * width);
      set_int(o, static_cast<std::int64_t>(v << shift) >> shift);
    } else if (b == 0xca) {
      if (!fixed(c, 4, v)) return false;
      o.type = msgpack::type::FLOAT32;
      o.via.f64 = std::bit_cast<float>(static_cast<std::uint32_t>(v));
    } else if (b == 0xcb) {
      if (!fixed(c, 8, v)) return false;
      o.type = msgpack::type::FLOAT64;
      o.via.f64 = std::bit_cast<double>(v);
    } else {
      std::string_view s;
      bool is_str = (b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb);
      if (is_str ? !c.str(s) : !c.bin(s)) return false;  // neither: an array, a map or an ext
      const char* p = s.data();
      if (!reference_ && !s.empty()) {
        // The payload may be the transport's buffer, reused by the next receive: keep a copy.
        char* copy = static_cast<char*>(need_zone().allocate_no_align(s.size()));
        std::memcpy(copy, s.data(), s.size());
        p = copy;
      }
      o.type = is_str ? msgpack::type::STR : msgpack::type::BIN;
      if (is_str) {
        o.via.str.size = static_cast<std::uint32_t>(s.size());
        o.via.str.ptr = p;
      } else {
        o.via.bin.size = static_cast<std::uint32_t>(s.size());
        o.via.bin.ptr = p;
      }
    }
    out.ok = true;
  }
  out.id = id;
  offset_ += static_cast<std::size_t>(c.position() - (payload_.data() + offset_));
  return true;
}

bool ReplyReader::read_general(Reply& out) {
  bool referenced = false;
  msgpack::object r = msgpack::unpack(need_zone(), payload_.data(), payload_.size(), offset_,
                                      referenced, reference_ ? reference_strings : nullptr, nullptr,
                                      protocol::unpack_limits(payload_.size()));
  if (r.type != msgpack::type::ARRAY || r.via.array.size < 3 ||
      r.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER)
    return false;
  const msgpack::object* f = r.via.array.ptr;
  out.id = f[0].via.u64;
  out.ok = f[1].type == msgpack::type::POSITIVE_INTEGER && f[1].via.u64 == 0;
  if (out.ok) {
    out.result = f[2];
    return true;
  }
  // An error reply: [id, 1, kind, message]. One of another shape still fails its call, with a
  // ProtocolError that says so, rather than leave it to its deadline.
  auto text = [](const msgpack::object& o) {
    return std::string_view(o.via.str.ptr, o.via.str.size);
  };
  bool shaped =
      r.via.array.size == 4 && f[2].type == msgpack::type::STR && f[3].type == msgpack::type::STR;
  out.kind = shaped ? text(f[2]) : std::string_view("ProtocolError");
  out.message = shaped ? text(f[3]) : std::string_view("syncmgrd sent a malformed error reply");
  return true;
}

}  // namespace syncmgr::detail
