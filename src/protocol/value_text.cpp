// Values as text for people: Python's str()/repr() of a Value (to_string, operator<<), and C++
// type names as a user writes them, for conversion errors. Value::repr, the short form quoted in
// the daemon's error messages, stays in value.cpp.
#include <cxxabi.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>

#include "syncmgr/value.hpp"

namespace syncmgr {
namespace {

enum Index : std::size_t { kNil, kBool, kInt, kUint, kDouble, kStr, kBin, kArray, kMap };

}  // namespace

namespace {
// Python's repr of a str or bytes: single quotes unless the text holds ' and no ", backslash
// escapes for the quote, backslash, \t \n \r and other control bytes; bytes also escape
// everything outside printable ASCII. UTF-8 text is kept as it is, as Python 3 prints it.
void append_quoted(std::string& out, std::string_view s, bool bytes) {
  char quote =
      s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  if (bytes) out += 'b';
  out += quote;
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}

void append_python(std::string& out, const Value& v, bool top_level_str) {
  const auto& var = v.variant();
  switch (var.index()) {
    case kNil:
      out += "None";
      break;
    case kBool:
      out += std::get<bool>(var) ? "True" : "False";
      break;
    case kDouble: {
      double d = std::get<double>(var);
      if (std::isnan(d)) {
        out += "nan";
      } else if (std::isinf(d)) {
        out += d < 0 ? "-inf" : "inf";
      } else {
        // Python's repr: the shortest digits that read back as d, in positional notation when
        // the decimal exponent is in [-4, 16) (with ".0" when integral), else as 1e+16, 1e-05.
        char sci[64];
        auto [sci_end, ec] = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
        std::string_view text(sci, ec == std::errc() ? static_cast<std::size_t>(sci_end - sci) : 0);
        auto e = text.find('e');
        int exponent = e == std::string_view::npos ? 0 : std::atoi(text.data() + e + 1);
        if (exponent >= -4 && exponent < 16) {
          char fixed[64];
          auto [fixed_end, fec] =
              std::to_chars(fixed, fixed + sizeof fixed, d, std::chars_format::fixed);
          text = std::string_view(
              fixed, fec == std::errc() ? static_cast<std::size_t>(fixed_end - fixed) : 0);
          out += text;
          if (text.find('.') == std::string_view::npos) out += ".0";  // 3.0, not 3
        } else {
          out += text;
        }
      }
      break;
    }
    case kStr:
      if (top_level_str)
        out += std::get<std::string>(var);
      else
        append_quoted(out, std::get<std::string>(var), false);
      break;
    case kBin:
      append_quoted(out, std::get<Bytes>(var).data, true);
      break;
    case kArray: {
      out += '[';
      const char* sep = "";
      for (const auto& e : std::get<List>(var)) {
        out += sep;
        append_python(out, e, false);
        sep = ", ";
      }
      out += ']';
      break;
    }
    case kMap: {
      out += '{';
      const char* sep = "";
      for (const auto& [k, e] : std::get<Map>(var)) {
        out += sep;
        append_python(out, k, false);
        out += ": ";
        append_python(out, e, false);
        sep = ", ";
      }
      out += '}';
      break;
    }
    case kInt:
      out += std::to_string(std::get<std::int64_t>(var));
      break;
    default:
      out += std::to_string(std::get<std::uint64_t>(var));
  }
}
}  // namespace

std::string to_string(const Value& v) {
  std::string out;
  append_python(out, v, true);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Value& v) {
  return os << to_string(v);
}

namespace {
// Drops the template arguments the standard containers take by default (", std::allocator<...>",
// ", std::less<...>", ...), so that std::vector<int, std::allocator<int> > reads
// std::vector<int>, and closes nested brackets as ">>". An argument ends at the '>' that closes
// its own brackets.
std::string drop_default_arguments(std::string name) {
  static const std::string_view kDefaults[] = {", std::allocator<", ", std::less<", ", std::hash<",
                                               ", std::equal_to<", ", std::char_traits<"};
  for (std::size_t i = 0; i < name.size(); ++i) {
    bool dropped = false;
    for (auto prefix : kDefaults) {
      if (name.compare(i, prefix.size(), prefix) != 0) continue;
      std::size_t end = i + prefix.size();
      for (int depth = 1; end < name.size() && depth > 0; ++end)
        depth += name[end] == '<' ? 1 : name[end] == '>' ? -1 : 0;
      if (end < name.size() && name[end] == ' ') ++end;  // the demangler's "> >"
      name.erase(i, end - i);
      dropped = true;
      break;
    }
    if (dropped) --i;  // look at the same place again: another default argument may follow
  }
  for (auto at = name.find("> >"); at != std::string::npos; at = name.find("> >", at))
    name.erase(at + 1, 1);  // C++11's ">>"
  return name;
}
}  // namespace

namespace detail {
std::string readable_type_name(const std::type_info& t) {
  int status = 0;
  char* raw = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string name = (status == 0 && raw != nullptr) ? raw : t.name();
  std::free(raw);
  // libstdc++ spells out the default template arguments of the standard strings and containers.
  static const std::pair<std::string_view, std::string_view> kShort[] = {
      {"std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
       "std::string"},
      {"std::basic_string_view<char, std::char_traits<char> >", "std::string_view"},
      {"std::__cxx11::", "std::"},
  };
  for (const auto& [from, to] : kShort) {
    for (std::size_t at = name.find(from); at != std::string::npos; at = name.find(from, at)) {
      name.replace(at, from.size(), to);
      at += to.size();
    }
  }
  return drop_default_arguments(std::move(name));
}
}  // namespace detail

}  // namespace syncmgr
