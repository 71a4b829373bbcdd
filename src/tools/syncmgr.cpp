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
#include "tools/cli.hpp"
#include "tools/json.hpp"

namespace {

using syncmgr::Value;
using namespace syncmgr::tools::cli;

const char* kUsage =
    "usage: syncmgr [--connect ENDPOINT] [--authkey-file FILE] [--timeout SECS] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  ping                    check that the daemon answers\n"
    "  ls                      list objects with their type and size\n"
    "  inspect NAME            one object in full: a queue's first items (peeked) and waiters,\n"
    "                          a lock's holder (session, pid), token and waiters, a semaphore's\n"
    "                          value, a barrier's parties, an event's state, ...\n"
    "  sessions                each client session: peer, pid, age, idle time, what it holds,\n"
    "                          its parked calls and the queue items it has not finished\n"
    "  watch [NAME]            refresh a view of all objects (size, ops/s, parked calls), or of\n"
    "                          one, every second until Ctrl-C\n"
    "  get NAME [KEY]          print an object, or one attribute / key / index of it, as JSON;\n"
    "                          on a queue: take its next item (a JoinableQueue's is marked done)\n"
    "  set NAME KEY VALUE      set an attribute / key / index of a dict, list, Namespace or Array\n"
    "  set NAME VALUE          set a Value, or an Event (true or false)\n"
    "  put NAME VALUE          put an item on a queue\n"
    "  del NAME KEY            delete an attribute / key / index\n"
    "  rm NAME                 remove a named object (its proxies elsewhere get NameError)\n"
    "  stats                   clients, objects, ops/s, uptime\n"
    "  shutdown                stop the daemon\n"
    "\n"
    "command options:\n"
    "  --wait SECS             get/put on a queue: wait this long for an item or room (default 0:\n"
    "                          answer at once, Empty or Full when there is none)\n"
    "  --limit N               inspect, watch NAME: list at most N items or entries (default 10;\n"
    "                          64 KiB in all, `omitted` counts what that cap left out)\n"
    "  --count N               watch: exit after N refreshes\n"
    "  --interval SECS         watch: seconds between refreshes (default 1)\n"
    "\n"
    "KEY and VALUE are JSON (a word that is not JSON is taken as a string: set cfg mode fast).\n"
    "Namespace attributes are always strings; list and Array keys are integer indices.\n"
    "Options may also follow the command; after '--' every word is an argument.\n"
    "Defaults: --connect $SYNCMGR_ENDPOINT or tcp://127.0.0.1:50000, --authkey-file\n"
    "$SYNCMGR_AUTHKEY_FILE (else the key itself in $SYNCMGR_AUTHKEY), --timeout 10.\n"
    "Exit status: 0 ok, 1 error from the daemon (Empty, Full, KeyError, ...), 2 usage, 3 cannot\n"
    "connect or authenticate.\n";

// Checks the command name and its number of arguments, before anything connects to the daemon.
void check_usage(const std::vector<std::string>& args) {
  struct Arity {
    const char* name;
    std::size_t lo, hi;
  };
  static const Arity kCommands[] = {{"ping", 0, 0},     {"ls", 0, 0},       {"get", 1, 2},
                                    {"set", 2, 3},      {"del", 2, 2},      {"stats", 0, 0},
                                    {"shutdown", 0, 0}, {"rm", 1, 1},       {"put", 2, 2},
                                    {"inspect", 1, 1},  {"sessions", 0, 0}, {"watch", 0, 1}};
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

std::string type_of(syncmgr::Manager& m, const std::string& name) {
  Value d = m.call("server.describe", "", name);
  for (const auto& [k, v] : d.as_map())
    if (k == Value("type")) return v.as_string();
  return "";
}

bool is_queue(const std::string& type) {
  return type == "queue" || type == "joinablequeue";
}

Value key_for(const std::string& type, const std::string& text) {
  if (type == "namespace") return Value(text);
  Value k = parse_arg(text);
  if ((type == "list" || type == "array") && k.kind() != Value::Kind::integer)
    usage_error("a" + std::string(type == "array" ? "n array" : " list") +
                " index must be an integer, not '" + text + "'");
  return k;
}

// The block and timeout arguments of a queue's put or get: --wait 0 (the default) never waits.
Value block_arg(const Flags& f) {
  return Value(f.wait > 0);
}
Value timeout_arg(const Flags& f) {
  return f.wait > 0 ? Value(f.wait) : Value();
}

void ok(const Flags& f) {
  if (f.json) print(Value(syncmgr::Map{{"ok", true}}));
}

// set NAME KEY VALUE on containers, set NAME VALUE on a Value or Event. Other types (and the other
// arity) are usage errors naming the form that fits.
void set(syncmgr::Manager& m, const std::vector<std::string>& args) {
  const std::string& name = args[1];
  std::string type = type_of(m, name);
  bool keyed = type == "dict" || type == "list" || type == "namespace" || type == "array";
  if (keyed) {
    if (args.size() != 4)
      usage_error("'" + name + "' is a " + type + ": give a key and a value (set " + name +
                  " KEY VALUE)");
    m.call(type + ".set", name, key_for(type, args[2]), parse_arg(args[3]));
  } else if (type == "value" || type == "event") {
    if (args.size() != 3)
      usage_error("'" + name + "' is a" + (type == "event" ? "n event" : " value") +
                  ": give one value (set " + name + (type == "event" ? " true|false)" : " VALUE)"));
    if (type == "value") {
      m.call("value.set", name, parse_arg(args[2]));
    } else if (args[2] == "true" || args[2] == "false") {
      m.call(args[2] == "true" ? "event.set" : "event.clear", name);
    } else {
      usage_error("an event is set with true or false, not '" + args[2] + "'");
    }
  } else {
    usage_error("cannot set '" + name + "', a " + type +
                (is_queue(type) ? ": use put NAME VALUE" : "") +
                " (set works on a dict, list, namespace, array, value or event)");
  }
}

// Runs a command already checked by check_usage().
int run(syncmgr::Manager& m, const std::string& endpoint, const std::vector<std::string>& args,
        const Flags& f) {
  const std::string& cmd = args[0];
  const bool json = f.json;
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
      for (const auto& o : list.as_list()) {
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
    const std::string& name = args[1];
    std::string type = type_of(m, name);
    if (is_queue(type)) {
      if (args.size() == 3) usage_error("'" + name + "' is a " + type + ": get takes no KEY");
      // Takes the item. A JoinableQueue's is marked done as well: the CLI processes nothing, and
      // left undone it would keep join() waiting, or go back to the queue when this session ends.
      print(m.call(type + ".get", name, block_arg(f), timeout_arg(f)));
      if (type == "joinablequeue") m.call("joinablequeue.task_done", name);
    } else if (args.size() == 2) {
      // The whole content of a container or value; other objects (locks, ...) print their
      // description (type and size; inspect tells more).
      if (type == "namespace")
        print(m.call("namespace.snapshot", name));
      else if (type == "dict")
        print(m.call("dict.copy", name));
      else if (type == "list")
        print(m.call("list.copy", name));
      else if (type == "value")
        print(m.call("value.get", name));
      else if (type == "array")
        print(m.call("array.get_slice", name, Value(), Value(), Value()));
      else if (type == "event")
        print(m.call("event.is_set", name));
      else
        print(m.call("server.describe", "", name));
    } else {
      print(m.call(type + ".get", name, key_for(type, args[2])));
    }
  } else if (cmd == "put") {
    std::string type = type_of(m, args[1]);
    if (!is_queue(type))
      usage_error("cannot put on '" + args[1] + "', a " + type + ": put works on queues" +
                  (type == "list" ? " (a list appends with the API)" : ""));
    m.call(type + ".put", args[1], parse_arg(args[2]), block_arg(f), timeout_arg(f));
    ok(f);
  } else if (cmd == "set") {
    set(m, args);
    ok(f);
  } else if (cmd == "del") {
    std::string type = type_of(m, args[1]);
    m.call(type + ".del", args[1], key_for(type, args[2]));
    ok(f);
  } else if (cmd == "rm") {
    m.remove(args[1]);
    ok(f);
  } else if (cmd == "inspect") {
    return inspect(m, args[1], f);
  } else if (cmd == "sessions") {
    return sessions(m, f);
  } else if (cmd == "watch") {
    return watch(m, endpoint, args, f);
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
    ok(f);
  } else {
    usage_error("unknown command '" + cmd + "'");
  }
  return 0;
}

// A number option's value: finite, within [lo, hi].
double number_option(const std::string& opt, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || !(x >= lo) || !(x <= hi))
    usage_error(opt + " must be a number from " + syncmgr::tools::to_json(Value(lo)) + " to " +
                syncmgr::tools::to_json(Value(hi)) + ", not '" + v + "'");
  return x;
}

long count_option(const std::string& opt, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0' || x < lo || x > hi)
    usage_error(opt + " must be a whole number from " + std::to_string(lo) + " to " +
                std::to_string(hi) + ", not '" + v + "'");
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  syncmgr::Options opts;
  opts.timeout = std::chrono::seconds(10);
  Flags flags;
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
        flags.json = true;
      } else if (a == "--wait") {
        flags.wait = number_option(a, value(), 0, 86400);
      } else if (a == "--limit") {
        flags.limit = count_option(a, value(), 0, 1000);
      } else if (a == "--count") {
        flags.count = count_option(a, value(), 1, 1000000000);
      } else if (a == "--interval") {
        flags.interval = number_option(a, value(), 0.05, 86400);
      } else if (a.rfind("--", 0) == 0) {
        usage_error("unknown option '" + a.substr(0, a.find('=')) +
                    "'");  // its value may be secret
      } else {
        rest.push_back(a);
      }
    }
    if (rest.empty()) usage_error("no command given");
    check_usage(rest);
    // A queue get or put that waits needs its reply to be awaited longer than that.
    auto wait = std::chrono::milliseconds(static_cast<long long>(flags.wait * 1000));
    opts.timeout = std::max(opts.timeout, wait + std::chrono::seconds(5));
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
  if (rest[0] == "watch") block_stop_signals();
  try {
    syncmgr::Manager m(opts);
    return run(m, endpoint, rest, flags);
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
