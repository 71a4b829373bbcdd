// A small strict JSON reader and writer for Values.
#include "tools/json.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace syncmgr::tools {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::optional<Value> document() {
    auto v = value(0);
    skip_ws();
    if (!v || i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  std::optional<Value> value(int depth) {
    if (depth > 64) return std::nullopt;
    skip_ws();
    if (i_ >= s_.size()) return std::nullopt;
    char c = s_[i_];
    if (c == 'n') return literal("null") ? std::optional<Value>(Value()) : std::nullopt;
    if (c == 't') return literal("true") ? std::optional<Value>(Value(true)) : std::nullopt;
    if (c == 'f') return literal("false") ? std::optional<Value>(Value(false)) : std::nullopt;
    if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      return Value(std::move(*s));
    }
    if (c == '[') {
      ++i_;
      List a;
      if (eat(']')) return Value(std::move(a));
      do {
        auto e = value(depth + 1);
        if (!e) return std::nullopt;
        a.push_back(std::move(*e));
      } while (eat(','));
      if (!eat(']')) return std::nullopt;
      return Value(std::move(a));
    }
    if (c == '{') {
      ++i_;
      Map m;
      if (eat('}')) return Value(std::move(m));
      do {
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != '"') return std::nullopt;
        auto k = string();
        if (!k || !eat(':')) return std::nullopt;
        auto v = value(depth + 1);
        if (!v) return std::nullopt;
        m.emplace_back(Value(std::move(*k)), std::move(*v));
      } while (eat(','));
      if (!eat('}')) return std::nullopt;
      return tagged(std::move(m));
    }
    return number();
  }

  // The writer's forms for what JSON lacks read back as what was written: {"$bin": "<base64>"}
  // is bytes and {"$map": [[k, v], ...]} a map with any keys. A malformed one is not valid input
  // (rather than silently a map holding the tag).
  static std::optional<Value> tagged(Map m) {
    if (m.size() != 1 || m[0].first.kind() != Value::Kind::string) return Value(std::move(m));
    const std::string& tag = m[0].first.as_string();
    const Value& body = m[0].second;
    if (tag == "$bin") {
      if (body.kind() != Value::Kind::string) return std::nullopt;
      auto bytes = unbase64(body.as_string());
      if (!bytes) return std::nullopt;
      return Value(Bytes{std::move(*bytes)});
    }
    if (tag == "$map") {
      if (body.kind() != Value::Kind::array) return std::nullopt;
      Map out;
      for (const auto& pair : body.as_list()) {
        if (pair.kind() != Value::Kind::array || pair.as_list().size() != 2) return std::nullopt;
        out.emplace_back(pair.as_list()[0], pair.as_list()[1]);
      }
      return Value(std::move(out));
    }
    return Value(std::move(m));
  }

  // Standard base64 with padding, as the writer prints it; nullopt on anything else.
  static std::optional<std::string> unbase64(const std::string& in) {
    if (in.size() % 4 != 0) return std::nullopt;
    auto sextet = [](char c) -> int {
      if (c >= 'A' && c <= 'Z') return c - 'A';
      if (c >= 'a' && c <= 'z') return c - 'a' + 26;
      if (c >= '0' && c <= '9') return c - '0' + 52;
      if (c == '+') return 62;
      if (c == '/') return 63;
      return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 4) {
      bool last = i + 4 == in.size();
      int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=') : 0;
      if (pad == 1 && in[i + 2] == '=') return std::nullopt;  // "x=y=" is not padding
      unsigned n = 0;
      for (int k = 0; k < 4 - pad; ++k) {
        int v = sextet(in[i + static_cast<std::size_t>(k)]);
        if (v < 0) return std::nullopt;
        n |= static_cast<unsigned>(v) << (18 - 6 * k);
      }
      out += static_cast<char>(n >> 16);
      if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
      if (pad < 1) out += static_cast<char>(n & 0xff);
    }
    return out;
  }

  std::optional<Value> number() {
    std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    bool integral = true;
    std::size_t digits = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
      ++i_, ++digits;
    if (digits == 0) return std::nullopt;
    if (digits > 1 && s_[i_ - digits] == '0') return std::nullopt;  // no leading zeros: 007
    if (i_ < s_.size() && s_[i_] == '.') {
      integral = false;
      ++i_;
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return std::nullopt;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
        ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      integral = false;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return std::nullopt;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
        ++i_;
    }
    std::string text(s_.substr(start, i_ - start));
    if (integral) {
      errno = 0;
      if (text[0] == '-') {
        long long v = std::strtoll(text.c_str(), nullptr, 10);
        if (errno == 0) return Value(static_cast<std::int64_t>(v));
      } else {
        unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
        if (errno == 0) return Value(static_cast<std::uint64_t>(v));
      }
    }
    return Value(std::strtod(text.c_str(), nullptr));
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::optional<unsigned> hex4() {
    if (i_ + 4 > s_.size()) return std::nullopt;
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string() {
    ++i_;  // opening quote
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          auto cp = hex4();
          if (!cp) return std::nullopt;
          // A surrogate is only valid as the first half of a pair; alone it has no UTF-8 form.
          if (*cp >= 0xdc00 && *cp < 0xe000) return std::nullopt;
          if (*cp >= 0xd800 && *cp < 0xdc00) {
            if (!literal("\\u")) return std::nullopt;
            auto lo = hex4();
            if (!lo || *lo < 0xdc00 || *lo >= 0xe000) return std::nullopt;
            *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*lo - 0xdc00);
          }
          append_utf8(out, *cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += t[n >> 18];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += t[n & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += t[n >> 18];
    out += t[(n >> 12) & 63];
    out += i + 1 < in.size() ? t[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void write(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::nil:
      out += "null";
      break;
    case Value::Kind::boolean:
      out += v.as_bool() ? "true" : "false";
      break;
    case Value::Kind::integer:
      out += v.variant().index() == 2 ? std::to_string(v.as_int()) : std::to_string(v.as_uint());
      break;
    case Value::Kind::floating: {
      double d = v.as_double();
      if (!std::isfinite(d)) {
        out += "null";  // JSON has no NaN or infinity
        break;
      }
      // The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
      out += text;
      if (text.find_first_of(".e") == std::string_view::npos) out += ".0";  // stays a float
      break;
    }
    case Value::Kind::string:
      write_string(out, v.as_string());
      break;
    case Value::Kind::binary:
      out += "{\"$bin\": ";
      write_string(out, base64(v.as_bytes().data));
      out += '}';
      break;
    case Value::Kind::array: {
      out += '[';
      const char* sep = "";
      for (const auto& e : v.as_list()) {
        out += sep;
        write(out, e);
        sep = ", ";
      }
      out += ']';
      break;
    }
    case Value::Kind::map: {
      bool string_keys = true;
      for (const auto& [k, e] : v.as_map())
        string_keys = string_keys && k.kind() == Value::Kind::string;
      // A map whose one key is "$bin" or "$map" would read back as the tagged form: written as
      // a $map so that it reads back as itself.
      if (string_keys && v.as_map().size() == 1) {
        const std::string& only = v.as_map()[0].first.as_string();
        string_keys = only != "$bin" && only != "$map";
      }
      out += string_keys ? "{" : "{\"$map\": [";
      const char* sep = "";
      for (const auto& [k, e] : v.as_map()) {
        out += sep;
        if (string_keys) {
          write_string(out, k.as_string());
          out += ": ";
          write(out, e);
        } else {
          out += '[';
          write(out, k);
          out += ", ";
          write(out, e);
          out += ']';
        }
        sep = ", ";
      }
      out += string_keys ? "}" : "]}";
      break;
    }
  }
}

}  // namespace

std::optional<Value> parse_json(std::string_view text) {
  return Parser(text).document();
}

std::string to_json(const Value& v) {
  std::string out;
  write(out, v);
  return out;
}

}  // namespace syncmgr::tools
