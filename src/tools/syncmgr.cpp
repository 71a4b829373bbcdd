// syncmgr: the command-line client. Values in and out as JSON.
//
// Exit status: 0 success; 1 the daemon answered with an error (KeyError, NameError, ...);
// 2 bad usage; 3 cannot connect or authenticate.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "syncmgr/syncmgr.hpp"
#include "tools/json.hpp"

namespace {

using syncmgr::Value;

const char* kUsage =
    "usage: syncmgr [--connect ENDPOINT] [--authkey-file FILE] [--timeout SECS] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  ping                    check that the daemon answers\n"
    "  ls                      list objects with their type and size\n"
    "  get NAME [KEY]          print an object, or one attribute / key / index of it, as JSON\n"
    "  set NAME KEY VALUE      set an attribute / key / index of an existing object\n"
    "  del NAME KEY            delete an attribute / key / index\n"
    "  rm NAME                 remove a named object (its proxies elsewhere get NameError)\n"
    "  stats                   clients, objects, ops/s, uptime\n"
    "  shutdown                stop the daemon\n"
    "\n"
    "KEY and VALUE are JSON (a word that is not JSON is taken as a string: set cfg mode fast).\n"
    "Namespace attributes are always strings; list keys are integer indices.\n"
    "Options may also follow the command; after '--' every word is an argument.\n"
    "Defaults: --connect $SYNCMGR_ENDPOINT or tcp://127.0.0.1:50000, --authkey-file\n"
    "$SYNCMGR_AUTHKEY_FILE (else the key itself in $SYNCMGR_AUTHKEY), --timeout 10.\n"
    "Exit status: 0 ok, 1 error from the daemon, 2 usage, 3 cannot connect or authenticate.\n";

// Thrown for bad usage; main() reports it and exits 2 after the Manager (if any) has closed its
// session cleanly.
struct UsageError {
  std::string message;
};

[[noreturn]] void usage_error(const std::string& msg) {
  throw UsageError{msg};
}

// Checks the command name and its number of arguments, before anything connects to the daemon.
void check_usage(const std::vector<std::string>& args) {
  struct Arity {
    const char* name;
    std::size_t lo, hi;
  };
  static const Arity kCommands[] = {{"ping", 0, 0},     {"ls", 0, 0},  {"get", 1, 2},
                                    {"set", 3, 3},      {"del", 2, 2}, {"stats", 0, 0},
                                    {"shutdown", 0, 0}, {"rm", 1, 1}};
  const std::string& cmd = args[0];
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    std::size_t n = args.size() - 1;
    if (n < c.lo || n > c.hi)
      usage_error("'" + cmd + "' takes " + std::to_string(c.lo) +
                  (c.lo == c.hi ? "" : " to " + std::to_string(c.hi)) + " argument(s)");
    return;
  }
  usage_error("unknown command '" + cmd + "'");
}

Value parse_arg(const std::string& text) {
  if (auto v = syncmgr::tools::parse_json(text)) return *v;
  return Value(text);
}

void print(const Value& v) {
  std::printf("%s\n", syncmgr::tools::to_json(v).c_str());
}

struct Target {
  std::string type;
  std::string method_prefix;
};

std::string type_of(syncmgr::Manager& m, const std::string& name) {
  Value d = m.call("server.describe", "", name);
  for (const auto& [k, v] : d.as_map())
    if (k == Value("type")) return v.as_string();
  return "";
}

Value key_for(const std::string& type, const std::string& text) {
  if (type == "namespace") return Value(text);
  Value k = parse_arg(text);
  if (type == "list" && k.kind() != Value::Kind::integer)
    usage_error("a list index must be an integer, not '" + text + "'");
  return k;
}

// Runs a command already checked by check_usage().
int run(syncmgr::Manager& m, const std::string& endpoint, const std::vector<std::string>& args,
        bool json) {
  const std::string& cmd = args[0];
  if (cmd == "ping") {
    auto t0 = std::chrono::steady_clock::now();
    m.ping();
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (json) {
      print(Value(syncmgr::Map{{"ok", true}, {"rtt_ms", ms}}));
    } else {
      std::printf("pong from %s in %.3f ms\n", endpoint.c_str(), ms);
    }
  } else if (cmd == "ls") {
    Value list = m.call("server.list", "");
    if (json) {
      print(list);
    } else {
      struct Row {
        std::string name, type;
        std::uint64_t size = 0;
      };
      std::vector<Row> rows;
      // Columns as wide as their longest entry ("joinablequeue" overflowed a fixed width).
      int name_w = 32, type_w = 4;
      for (const auto& o : list.as_array()) {
        Row r;
        for (const auto& [k, v] : o.as_map()) {
          if (k == Value("name")) r.name = v.as_string();
          if (k == Value("type")) r.type = v.as_string();
          if (k == Value("size")) r.size = v.as_uint();
        }
        name_w = std::max(name_w, static_cast<int>(r.name.size()));
        type_w = std::max(type_w, static_cast<int>(r.type.size()));
        rows.push_back(std::move(r));
      }
      std::printf("%-*s %-*s %10s\n", name_w, "NAME", type_w, "TYPE", "SIZE");
      for (const auto& r : rows)
        std::printf("%-*s %-*s %10llu\n", name_w, r.name.c_str(), type_w, r.type.c_str(),
                    static_cast<unsigned long long>(r.size));
    }
  } else if (cmd == "get") {
    std::string type = type_of(m, args[1]);
    if (args.size() == 2) {
      // The whole content of a container or value; other objects (queues, locks, ...) print their
      // description (type and size).
      if (type == "namespace")
        print(m.call("namespace.snapshot", args[1]));
      else if (type == "dict")
        print(m.call("dict.copy", args[1]));
      else if (type == "list")
        print(m.call("list.copy", args[1]));
      else if (type == "value")
        print(m.call("value.get", args[1]));
      else if (type == "array")
        print(m.call("array.get_slice", args[1], Value(), Value(), Value()));
      else
        print(m.call("server.describe", "", args[1]));
    } else {
      print(m.call(type + ".get", args[1], key_for(type, args[2])));
    }
  } else if (cmd == "set") {
    std::string type = type_of(m, args[1]);
    m.call(type + ".set", args[1], key_for(type, args[2]), parse_arg(args[3]));
    if (json) print(Value(syncmgr::Map{{"ok", true}}));
  } else if (cmd == "del") {
    std::string type = type_of(m, args[1]);
    m.call(type + ".del", args[1], key_for(type, args[2]));
    if (json) print(Value(syncmgr::Map{{"ok", true}}));
  } else if (cmd == "rm") {
    m.remove(args[1]);
    if (json) print(Value(syncmgr::Map{{"ok", true}}));
  } else if (cmd == "stats") {
    Value s = m.stats();
    if (json) {
      print(s);
    } else {
      for (const auto& [k, v] : s.as_map())
        std::printf("%-16s %s\n", k.as_string().c_str(), syncmgr::tools::to_json(v).c_str());
    }
  } else if (cmd == "shutdown") {
    m.shutdown();
    if (json) print(Value(syncmgr::Map{{"ok", true}}));
  } else {
    usage_error("unknown command '" + cmd + "'");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  syncmgr::Options opts;
  opts.timeout = std::chrono::seconds(10);
  bool json = false;
  std::vector<std::string> rest;
  try {
    // Options are recognized before and after the command, up to a "--" that ends them.
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) usage_error("option " + a + " needs a value");
        return argv[++i];
      };
      if (options_done) {
        rest.push_back(a);
      } else if (a == "--") {
        options_done = true;
      } else if (a == "--help" || (a == "-h" && rest.empty())) {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (a == "--version") {
        std::printf("syncmgr %s\n", SYNCMGR_VERSION);
        return 0;
      } else if (a == "--connect") {
        opts.endpoint = value();
      } else if (a == "--authkey-file") {
        opts.authkey_file = value();
      } else if (a == "--timeout") {
        std::string v = value();
        char* end = nullptr;
        double secs = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || !(secs > 0) || !(secs <= 86400))
          usage_error("--timeout must be a positive number of seconds, at most 86400");
        opts.timeout = std::chrono::milliseconds(static_cast<long long>(secs * 1000));
        opts.connect_timeout = opts.timeout;
      } else if (a == "--json") {
        json = true;
      } else if (a.rfind("--", 0) == 0) {
        usage_error("unknown option '" + a.substr(0, a.find('=')) +
                    "'");  // its value may be secret
      } else {
        rest.push_back(a);
      }
    }
    if (rest.empty()) usage_error("no command given");
    check_usage(rest);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "syncmgr: %s\nRun 'syncmgr --help' for usage.\n", e.message.c_str());
    return 2;
  }
  // The endpoint the client will use (same defaults as syncmgr::Options), for messages.
  std::string endpoint = opts.endpoint;
  if (endpoint.empty()) {
    const char* env = std::getenv("SYNCMGR_ENDPOINT");
    endpoint = (env != nullptr && *env != '\0') ? env : "tcp://127.0.0.1:50000";
  }
  // Without a key the library's message names Options::authkey_file; a CLI user needs the flag.
  // SYNCMGR_AUTHKEY (Manager::export_environment) is a key too.
  const char* exported = std::getenv("SYNCMGR_AUTHKEY");
  if (opts.authkey_file.empty() && (exported == nullptr || *exported == '\0')) {
    const char* env = std::getenv("SYNCMGR_AUTHKEY_FILE");
    if (env == nullptr || *env == '\0') {
      std::fprintf(stderr,
                   "syncmgr: AuthenticationError: no key: give --authkey-file FILE or set "
                   "SYNCMGR_AUTHKEY_FILE to the daemon's key file\n");
      return 3;
    }
  }
  try {
    syncmgr::Manager m(opts);
    return run(m, endpoint, rest, json);
  } catch (const UsageError& e) {  // raised after connecting (a list index that is not an integer)
    std::fprintf(stderr, "syncmgr: %s\nRun 'syncmgr --help' for usage.\n", e.message.c_str());
    return 2;
  } catch (const syncmgr::ConnectionError& e) {
    std::fprintf(stderr, "syncmgr: %s\n", e.what());
    return 3;
  } catch (const syncmgr::AuthenticationError& e) {
    std::fprintf(stderr, "syncmgr: %s\n", e.what());
    return 3;
  } catch (const syncmgr::Error& e) {
    std::fprintf(stderr, "syncmgr: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "syncmgr: %s\n", e.what());
    return 1;
  }
}
