// Helpers for tests that run the real `syncmgr` binary against a real daemon: run a command
// line under timeout(1), capture its exit code and output, read its JSON.
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "support/daemon.hpp"
#include "tools/json.hpp"

namespace clitest {

using syncmgr::Value;
using testsupport::binary;
using testsupport::Daemon;
using testsupport::run_command;

// Every command runs under timeout(1): a hung binary fails the test instead of hanging it.
inline constexpr const char* kLimit = "timeout -k 5 30 ";

inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

inline std::string join_quoted(std::initializer_list<std::string> args) {
  std::string out;
  // Two appends, not `" " + quote(a)`: GCC 12 at -O3 reports a false -Wrestrict on that (GCC bug
  // 105329), which -Werror turns into a failed release build.
  for (const auto& a : args) {
    out += ' ';
    out += quote(a);
  }
  return out;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

inline Result sh(const std::string& cmd) {
  Result r;
  r.code = run_command(cmd, &r.out, &r.err);
  return r;
}

// syncmgr --connect <endpoint> --authkey-file <daemon key> ARGS...
inline Result cli_on(const Daemon& d, const std::string& endpoint,
                     std::initializer_list<std::string> args) {
  return sh(std::string(kLimit) + quote(binary("syncmgr")) + " --connect " + quote(endpoint) +
            " --authkey-file " + quote(d.key_file()) + join_quoted(args));
}

// syncmgr --connect <daemon tcp> --authkey-file <daemon key> ARGS...
inline Result cli(const Daemon& d, std::initializer_list<std::string> args) {
  return cli_on(d, d.tcp(), args);
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

inline Value parse(const std::string& text) {
  auto v = syncmgr::tools::parse_json(trim(text));
  INFO("output: " << text);
  REQUIRE(v.has_value());
  return *v;
}

inline const Value* field(const Value& map, const std::string& key) {
  if (map.kind() != Value::Kind::map) return nullptr;
  for (const auto& [k, v] : map.as_map())
    if (k.kind() == Value::Kind::string && k.as_string() == key) return &v;
  return nullptr;
}

}  // namespace clitest
