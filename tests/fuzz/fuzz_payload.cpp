// Fuzz target: a request payload as the daemon unpacks it (src/protocol/message.*, value.cpp).
//
// The input is the payload of an authenticated request frame: msgpack objects back to back. It is
// read as the daemon reads it (PayloadReader into one zone, str/bin referenced in the payload) and
// as the client reads it (object handles, copied), and every object is converted to a Value as
// dispatch converts arguments. Properties checked besides "no crash" and the unpack limits:
//  - both readers see the same objects;
//  - a Value packs to msgpack that the daemon's own limits accept again and that converts to a
//    Value of the same kind packing to the same bytes (what is stored is what is answered);
//  - the direct reader (msgpack_read.hpp, the daemon's fast path) reads each object exactly as
//    the general path reads and converts it, or declines it (never reads it differently);
//  - for hashable values (what may be a dict key), equality is symmetric, agrees with compare()
//    == 0, and equal values hash equal; compare() is antisymmetric.
// Maps are left out of the equality properties on purpose: maps with duplicate keys are a known,
// separately tracked finding (issue 9, finding 8) and would stop the fuzzer at once.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/message.hpp"
#include "protocol/msgpack_read.hpp"
#include "syncmgr/errors.hpp"
#include "syncmgr/value.hpp"

namespace {

using syncmgr::Value;
using namespace syncmgr::protocol;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_payload: property violated: %s\n", what);
  std::abort();
}

std::string packed(const Value& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}

// An exact rendering of an unpacked object, to compare the two readers' views. (Not msgpack::pack:
// msgpack-c 4.1.3's pack_double has undefined behaviour at 2^64.)
void describe(const msgpack::object& o, std::string& out) {
  out += static_cast<char>(o.type);
  auto raw = [&out](const void* p, std::size_t n) {
    out.append(std::to_string(n)).append(":").append(static_cast<const char*>(p), n);
  };
  switch (o.type) {
    case msgpack::type::BOOLEAN:
      out += o.via.boolean ? '1' : '0';
      break;
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      raw(&o.via.u64, sizeof o.via.u64);  // the same 8 bytes: u64, i64 or f64
      break;
    case msgpack::type::STR:
      raw(o.via.str.ptr, o.via.str.size);
      break;
    case msgpack::type::BIN:
      raw(o.via.bin.ptr, o.via.bin.size);
      break;
    case msgpack::type::EXT:
      raw(o.via.ext.ptr, o.via.ext.size + 1);  // the type byte, then the data
      break;
    case msgpack::type::ARRAY:
      out += std::to_string(o.via.array.size) + "[";
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
        describe(o.via.array.ptr[i], out);
      break;
    case msgpack::type::MAP:
      out += std::to_string(o.via.map.size) + "{";
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        describe(o.via.map.ptr[i].key, out);
        describe(o.via.map.ptr[i].val, out);
      }
      break;
    default:
      break;
  }
}

std::string described(const msgpack::object& o) {
  std::string out;
  describe(o, out);
  return out;
}

// Converts as dispatch does: ext values (anywhere inside) are refused with a type_error.
std::optional<Value> to_value(const msgpack::object& o) {
  try {
    Value v;
    o.convert(v);
    return v;
  } catch (const msgpack::type_error&) {
    return std::nullopt;
  } catch (const syncmgr::ValueError&) {
    return std::nullopt;  // refused, as ext values are: a map with duplicate keys
  }
}

void check_roundtrip(const Value& v) {
  std::string bytes = packed(v);
  std::size_t offset = 0;
  auto oh = msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr,
                            unpack_limits(bytes.size()));
  check(offset == bytes.size(), "a packed Value is one msgpack object");
  auto again = to_value(oh.get());
  check(again.has_value(), "a packed Value converts back");
  check(packed(*again) == bytes, "pack(convert(pack(v))) == pack(v)");
  check(again->kind() == v.kind(), "a Value comes back as the same kind (a float stays a float)");
  (void)v.repr();
  (void)v.type_name();
}

void check_pair(const Value& a, const Value& b) {
  if (!a.hashable() || !b.hashable()) return;
  bool eq = a == b;
  check(eq == (b == a), "equality is symmetric");
  if (eq) check(a.hash() == b.hash(), "equal hashable values hash equal");
  auto ab = compare(a, b);
  auto ba = compare(b, a);
  check(ab.has_value() == ba.has_value(), "compare(a, b) and compare(b, a) are both defined");
  if (ab) {
    check(*ab == -*ba, "compare is antisymmetric");
    check((*ab == 0) == eq, "compare(a, b) == 0 iff a == b");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);

  // The daemon's reader: one zone for the frame, str/bin referenced in the payload.
  std::vector<std::string> daemon_view;
  std::vector<Value> values;
  bool daemon_failed = false;
  {
    PayloadReader reader(payload, true);
    msgpack::zone zone(zone_chunk_for(payload.size()));
    try {
      while (auto o = reader.next(zone)) {
        daemon_view.push_back(described(*o));
        if (auto v = to_value(*o)) values.push_back(std::move(*v));
      }
    } catch (const std::exception&) {  // as on_request: malformed, or over the unpack limits
      daemon_failed = true;
    }
  }

  // The client's reader: a handle per object, copied.
  std::vector<std::string> client_view;
  bool client_failed = false;
  {
    PayloadReader reader(payload);
    try {
      while (auto oh = reader.next())
        client_view.push_back(described(oh->get()));
    } catch (const std::exception&) {
      client_failed = true;
    }
  }
  check(daemon_failed == client_failed, "both readers fail on the same payloads");
  check(daemon_view == client_view, "both readers see the same objects");

  // The direct reader, object by object, against the general path's reading of the same bytes.
  {
    Cursor cursor(payload);
    while (!cursor.at_end()) {
      std::size_t start = static_cast<std::size_t>(cursor.position() - payload.data());
      Value direct;
      if (!read_value(cursor, direct, kMaxValueDepth)) break;  // declined: the general path's
      std::string_view one = payload.substr(
          start, static_cast<std::size_t>(cursor.position() - payload.data()) - start);
      std::size_t offset = 0;
      std::optional<Value> general;
      try {
        auto oh = msgpack::unpack(one.data(), one.size(), offset, nullptr, nullptr,
                                  unpack_limits(one.size()));
        general = to_value(oh.get());
      } catch (const std::exception&) {
      }
      check(general.has_value() && offset == one.size(),
            "what the direct reader reads, the general path reads too");
      check(packed(direct) == packed(*general) && direct.kind() == general->kind(),
            "the direct reader reads a value as the general path does");
    }
  }

  for (std::size_t i = 0; i < values.size(); ++i) {
    check_roundtrip(values[i]);
    check_pair(values[i], values[i]);
    if (i > 0) check_pair(values[i - 1], values[i]);
  }
  // The error reply the daemon sends for a malformed payload.
  msgpack::sbuffer reply;
  pack_error_reply(reply, 0, err::protocol, payload.substr(0, 64));
  return 0;
}
