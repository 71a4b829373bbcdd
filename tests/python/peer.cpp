// The C++ side of the Python client's tests (tests/python/): a libsyncmgr program driven by argv,
// so that pytest can have C++ and Python processes share one daemon.
//
//   peer ENDPOINT KEY_FILE write DICT             every canonical value into DICT, one key each
//   peer ENDPOINT KEY_FILE check DICT             exit 0 if DICT holds exactly the canonical values
//   peer ENDPOINT KEY_FILE put QUEUE NAME         puts canonical value NAME
//   peer ENDPOINT KEY_FILE get QUEUE NAME SECS    gets one item; exit 0 if it is exactly value
//   NAME,
//                                                 1 if another value, 3 on queue.Empty
//   peer ENDPOINT KEY_FILE acquire LOCK SECS      exit 0 if the Lock was acquired (then released),
//                                                 3 if not within SECS
//   peer ENDPOINT KEY_FILE hold LOCK              acquires, prints "held", releases at EOF on stdin
//   peer start SYNCMGRD PYTHON SCRIPT             Manager::start(), export_environment(), puts
//                                                 value "nested" on queue "jobs", runs PYTHON
//                                                 SCRIPT (exec'd: it finds the daemon through the
//                                                 environment); exit 0 if the script exited 0 and
//                                                 left that value in dict "results" under "echo"
//
// The canonical values are tests/python/values.py's VALUES, written here a second time in C++: the
// test is that each side reads exactly what the other wrote (kinds included: 3.0 stays a float,
// 2^63 an unsigned int).
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <syncmgr/syncmgr.hpp>

using syncmgr::Bytes;
using syncmgr::List;
using syncmgr::Map;
using syncmgr::Value;

namespace {

// Deterministic large payloads, built the same way in values.py.
Bytes big_bytes() {
  std::string unit = "syncmgr";
  for (int i = 0; i < 256; ++i)
    unit.push_back(static_cast<char>(i));
  std::string out;
  while (out.size() < (4u << 20))
    out += unit;
  out.resize(4u << 20);
  return Bytes{out};
}

std::string big_str() {
  std::string out;
  for (int i = 0; i < 200000; ++i)
    out +=
        "\xc3\xbcnic\xc3\xb6"
        "de-\xe2\x9c\x93";  // "ünicöde-✓": 14 bytes, 11 characters
  return out;
}

std::vector<std::pair<std::string, Value>> canonical() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  List int_edges;
  for (long long v : {127LL, 128LL, -32LL, -33LL, 255LL, 256LL, -128LL, -129LL, 65535LL, 65536LL,
                      -32768LL, -32769LL, 4294967295LL, 4294967296LL, -2147483648LL, -2147483649LL})
    int_edges.emplace_back(v);
  Value inner(1);  // 60 levels of arrays around 1
  for (int i = 0; i < 60; ++i)
    inner = Value(List{inner});
  List big_list;
  for (int i = -50000; i < 50000; ++i)
    big_list.emplace_back(i);
  Map big_map;
  for (int i = 0; i < 50000; ++i)
    big_map.emplace_back(Value(std::to_string(i)), Value(i));
  return {
      {"int_zero", Value(0)},
      {"int_neg_one", Value(-1)},
      {"int_min", Value(std::numeric_limits<std::int64_t>::min())},
      {"int_max", Value(std::numeric_limits<std::int64_t>::max())},
      {"uint_2_63", Value(std::uint64_t{1} << 63)},
      {"uint_max", Value(std::numeric_limits<std::uint64_t>::max())},
      {"int_edges", Value(int_edges)},
      {"float_three", Value(3.0)},
      {"float_zero", Value(0.0)},
      {"float_neg_zero", Value(-0.0)},
      {"float_pi", Value(3.141592653589793)},
      {"float_tiny", Value(5e-324)},
      {"float_max", Value(1.7976931348623157e308)},
      {"float_two_64", Value(18446744073709551616.0)},
      {"float_inf", Value(inf)},
      {"float_neg_inf", Value(-inf)},
      {"float_nan", Value(nan)},
      {"str_empty", Value("")},
      {"str_ascii", Value("hello")},
      {"str_unicode", Value("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9d\x84\x9e")},
      {"str_nul", Value(std::string("a\0b", 3))},
      {"bytes_empty", Value(Bytes{})},
      {"bytes_all", Value(Bytes{[] {
         std::string s;
         for (int i = 0; i < 256; ++i)
           s.push_back(static_cast<char>(i));
         return s;
       }()})},
      {"none", Value()},
      {"bool_true", Value(true)},
      {"bool_false", Value(false)},
      {"list_empty", Value(List{})},
      {"map_empty", Value(Map{})},
      {"nested",
       Value(List{Value(1), Value(List{Value(2), Value(List{Value(3), Value(List{})})}),
                  Value(Map{{Value("a"), Value(List{Value(1.5), Value(), Value(true)})},
                            {Value("b"),
                             Value(Map{{Value("c"), Value(Bytes{std::string("\0\xff", 2)})}})}})})},
      {"map_int_keys",
       Value(Map{{Value(1), Value("one")},
                 {Value(-2), Value("minus two")},
                 {Value(std::numeric_limits<std::uint64_t>::max()), Value("max")}})},
      {"map_mixed_keys", Value(Map{{Value("s"), Value(1)},
                                   {Value(Bytes{"b"}), Value(2)},
                                   {Value(3), Value(3)},
                                   {Value(1.5), Value(4)},
                                   {Value(), Value(5)},
                                   {Value(false), Value(6)},
                                   {Value(List{Value(1), Value(2)}), Value("pair")}})},
      {"deep", inner},
      {"big_bytes", Value(big_bytes())},
      {"big_str", Value(big_str())},
      {"big_list", Value(big_list)},
      {"big_map", Value(big_map)},
  };
}

// Exact equality: the same kind at every level (int64 vs uint64 aside, which is one Python int),
// floats bit for bit (so -0.0 is not 0.0 and NaN equals itself), maps in the same order.
bool same(const Value& a, const Value& b, std::string& why) {
  if (a.is_integer() && b.is_integer()) {
    bool an = a.variant().index() == 2 && std::get<std::int64_t>(a.variant()) < 0;
    bool bn = b.variant().index() == 2 && std::get<std::int64_t>(b.variant()) < 0;
    bool eq = an == bn && (an ? a.as_int() == b.as_int() : a.as_uint() == b.as_uint());
    if (!eq) why = a.repr() + " != " + b.repr();
    return eq;
  }
  if (a.kind() != b.kind()) {
    why = std::string(a.type_name()) + " " + a.repr() + " is not " + std::string(b.type_name()) +
          " " + b.repr();
    return false;
  }
  switch (a.kind()) {
    case Value::Kind::floating: {
      double x = a.as_double(), y = b.as_double();
      if (std::memcmp(&x, &y, sizeof x) != 0) {
        why = a.repr() + " != " + b.repr() + " (bits)";
        return false;
      }
      return true;
    }
    case Value::Kind::array: {
      const auto &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size()) {
        why = "array of " + std::to_string(x.size()) + " vs " + std::to_string(y.size());
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!same(x[i], y[i], why)) return false;
      return true;
    }
    case Value::Kind::map: {
      const auto &x = a.as_map(), &y = b.as_map();
      if (x.size() != y.size()) {
        why = "map of " + std::to_string(x.size()) + " vs " + std::to_string(y.size());
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!same(x[i].first, y[i].first, why) || !same(x[i].second, y[i].second, why))
          return false;
      return true;
    }
    default:
      if (!(a == b)) why = a.repr() + " != " + b.repr();
      return a == b;
  }
}

const Value& canonical_value(const std::string& name) {
  static const auto values = canonical();
  for (const auto& [n, v] : values)
    if (n == name) return v;
  std::fprintf(stderr, "peer: no canonical value %s\n", name.c_str());
  std::exit(2);
}

syncmgr::Timeout seconds(const char* text) {
  return std::chrono::duration<double>(std::stod(text));
}

}  // namespace

// Issue 12 §1 meets §2: a C++ owner's private daemon, joined by a Python program it exec's.
int start_and_run_python(const char* daemon, const char* python, const char* script) {
  syncmgr::StartOptions so;
  so.daemon = daemon;
  auto mgr = syncmgr::Manager::start(so);
  mgr.export_environment();
  mgr.Queue("jobs").put(canonical_value("nested"));
  pid_t pid = fork();
  if (pid == 0) {
    execl(python, python, script, static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::printf("python exited with status %d\n", status);
    return 1;
  }
  std::string why;
  auto echo = mgr.dict("results").get<Value>("echo");
  if (!same(echo, canonical_value("nested"), why)) {
    std::printf("echo: %s\n", why.c_str());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "start") {
    try {
      return start_and_run_python(argv[2], argv[3], argv[4]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "peer start: %s\n", e.what());
      return 4;
    }
  }
  if (argc < 5) {
    std::fprintf(stderr, "usage: peer ENDPOINT KEY_FILE COMMAND ARGS... (see peer.cpp)\n");
    return 2;
  }
  syncmgr::Options o;
  o.endpoint = argv[1];
  o.authkey_file = argv[2];
  std::string cmd = argv[3];
  try {
    syncmgr::Manager mgr(o);
    if (cmd == "write") {
      auto d = mgr.dict(argv[4]);
      for (const auto& [name, v] : canonical())
        d.set(name, v);
      return 0;
    }
    if (cmd == "check") {
      auto d = mgr.dict(argv[4]);
      int bad = 0;
      for (const auto& [name, v] : canonical()) {
        std::string why;
        auto got = d.get<Value>(name);
        if (!same(got, v, why)) {
          std::printf("%s: %s\n", name.c_str(), why.c_str());
          ++bad;
        }
      }
      if (d.len() != canonical().size()) {
        std::printf("dict has %zu keys, expected %zu\n", d.len(), canonical().size());
        ++bad;
      }
      return bad == 0 ? 0 : 1;
    }
    if (cmd == "put" && argc == 6) {
      mgr.Queue(argv[4]).put(canonical_value(argv[5]));
      return 0;
    }
    if (cmd == "get" && argc == 7) {
      try {
        auto item = mgr.Queue(argv[4]).get<Value>(true, seconds(argv[6]));
        std::string why;
        if (same(item, canonical_value(argv[5]), why)) return 0;
        std::printf("got another value: %s\n", why.c_str());
        return 1;
      } catch (const syncmgr::Empty&) {
        return 3;
      }
    }
    if (cmd == "acquire" && argc == 6) {
      auto lock = mgr.Lock(argv[4]);
      if (!lock.acquire(true, seconds(argv[5]))) return 3;
      lock.release();
      return 0;
    }
    if (cmd == "hold" && argc == 5) {
      auto lock = mgr.Lock(argv[4]);
      lock.acquire();
      std::printf("held\n");
      std::fflush(stdout);
      std::string line;
      while (std::getline(std::cin, line)) {
      }
      lock.release();
      std::printf("released\n");
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peer %s: %s\n", cmd.c_str(), e.what());
    return 4;
  }
  std::fprintf(stderr, "peer: unknown command or wrong arguments: %s\n", cmd.c_str());
  return 2;
}
