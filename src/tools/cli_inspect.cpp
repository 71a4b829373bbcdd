// syncmgr inspect, sessions and watch: read-only views of a live daemon, built on the daemon's
// server.inspect, server.sessions, server.list and server.stats (docs/PROTOCOL.md). They change
// nothing: queues are peeked, never consumed.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/cli.hpp"
#include "tools/json.hpp"

namespace syncmgr::tools::cli {

void print(const Value& v) {
  std::printf("%s\n", to_json(v).c_str());
}

const Value* field(const Value& map, std::string_view key) {
  if (map.kind() != Value::Kind::map) return nullptr;
  for (const auto& [k, v] : map.as_map())
    if (k.kind() == Value::Kind::string && k.as_string() == key) return &v;
  return nullptr;
}

namespace {

std::string str_field(const Value& map, std::string_view key) {
  const Value* v = field(map, key);
  return v != nullptr && v->kind() == Value::Kind::string ? v->as_string() : "";
}

double num_field(const Value& map, std::string_view key) {
  const Value* v = field(map, key);
  return v != nullptr && v->is_number() ? v->as_double() : 0;
}

// A session as the daemon refers to it ({"id", "peer", "pid"} plus details): one readable phrase.
bool is_session_ref(const Value& v) {
  return field(v, "id") != nullptr && (field(v, "peer") != nullptr || field(v, "ended") != nullptr);
}

std::string session_phrase(const Value& v) {
  std::string out = "session " + str_field(v, "id");
  if (field(v, "ended") != nullptr) return out + " (ended)";
  if (const Value* pid = field(v, "pid")) out += " pid " + to_json(*pid);
  out += " (" + str_field(v, "peer") + ")";
  for (const auto& [k, x] : v.as_map()) {
    std::string key = k.kind() == Value::Kind::string ? k.as_string() : to_json(k);
    if (key == "id" || key == "peer" || key == "pid") continue;
    out += " " + key + "=" + to_json(x);
  }
  return out;
}

// A field's value for a person: session references as phrases, the rest as JSON.
std::string human(const Value& v) {
  if (is_session_ref(v)) return session_phrase(v);
  if (v.kind() == Value::Kind::array && !v.as_list().empty() &&
      std::all_of(v.as_list().begin(), v.as_list().end(), is_session_ref)) {
    std::string out;
    for (const auto& s : v.as_list())
      out += (out.empty() ? "" : "; ") + session_phrase(s);
    return out;
  }
  return to_json(v);
}

// One field a line. Names and type names print bare, nil (no holder, no timeout) as "-".
void print_fields(const Value& map) {
  for (const auto& [k, v] : map.as_map()) {
    const std::string& key = k.as_string();
    std::string text = v.is_nil() ? "-"
                       : (key == "name" || key == "type") && v.kind() == Value::Kind::string
                           ? v.as_string()
                           : human(v);
    std::printf("%-16s %s\n", key.c_str(), text.c_str());
  }
}

std::string duration(double secs) {
  char buf[32];
  if (secs < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", secs);
  else if (secs < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(secs / 60),
                  static_cast<int>(secs) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(secs / 3600),
                  static_cast<int>(secs / 60) % 60);
  return buf;
}

Value inspect_call(syncmgr::Manager& m, const std::string& name, const Flags& f) {
  return m.call("server.inspect", "", name, static_cast<std::int64_t>(f.limit));
}

}  // namespace

// inspect NAME: every field server.inspect gives, one per line (or the map as JSON).
int inspect(syncmgr::Manager& m, const std::string& name, const Flags& f) {
  Value v = inspect_call(m, name, f);
  if (f.json)
    print(v);
  else
    print_fields(v);
  return 0;
}

// sessions: one row per session, oldest first; the caller's own is marked with '*'.
int sessions(syncmgr::Manager& m, const Flags& f) {
  Value all = m.call("server.sessions", "");
  if (f.json) {
    print(all);
    return 0;
  }
  int peer_w = 4;
  for (const auto& s : all.as_list())
    peer_w = std::max(peer_w, static_cast<int>(str_field(s, "peer").size()));
  std::printf("%-17s %7s %8s %8s %6s %7s %6s  %-*s  %s\n", "SESSION", "PID", "AGE", "IDLE",
              "PARKED", "UNACKED", "UNDONE", peer_w, "PEER", "HOLDINGS");
  for (const auto& s : all.as_list()) {
    std::string id = str_field(s, "id");
    const Value* self = field(s, "self");
    if (self != nullptr && self->as_bool()) id += "*";
    const Value* pid = field(s, "pid");
    std::string holdings;
    if (const Value* h = field(s, "holdings"))
      for (const auto& x : h->as_list()) {
        holdings +=
            (holdings.empty() ? "" : ", ") + str_field(x, "type") + " " + str_field(x, "name");
        std::string details;
        for (const auto& [k, v] : x.as_map())
          if (k != Value("name") && k != Value("type"))
            details += (details.empty() ? "" : " ") + k.as_string() + "=" + to_json(v);
        if (!details.empty()) holdings += " (" + details + ")";
      }
    std::printf("%-17s %7s %8s %8s %6.0f %7.0f %6.0f  %-*s  %s\n", id.c_str(),
                pid != nullptr ? to_json(*pid).c_str() : "-",
                duration(num_field(s, "age_seconds")).c_str(),
                duration(num_field(s, "idle_seconds")).c_str(), num_field(s, "parked_calls"),
                num_field(s, "unacknowledged"), num_field(s, "undone"), peer_w,
                str_field(s, "peer").c_str(), holdings.empty() ? "-" : holdings.c_str());
  }
  return 0;
}

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Sleeps `secs`; false when Ctrl-C (or SIGTERM) came, now or during the last refresh.
bool nap(double secs) {
  sigset_t set = stop_signals();
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
  for (;;) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= left.zero()) left = left.zero();  // still take a pending signal
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) return false;
    if (std::chrono::steady_clock::now() >= until) return true;
  }
}

// Each object's op counter at the previous refresh, to turn counters into rates.
struct Sample {
  std::chrono::steady_clock::time_point at;
  std::map<std::string, double> ops;
};

std::optional<double> rate(const std::optional<Sample>& prev, const std::string& name, double ops,
                           std::chrono::steady_clock::time_point now) {
  if (!prev) return std::nullopt;
  auto it = prev->ops.find(name);
  double secs = std::chrono::duration<double>(now - prev->at).count();
  if (it == prev->ops.end() || secs <= 0) return std::nullopt;
  return std::max(0.0, ops - it->second) / secs;
}

std::string rate_text(std::optional<double> r) {
  if (!r) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", *r);
  return buf;
}

Value rate_value(std::optional<double> r) {
  return r ? Value(*r) : Value();
}

void header(const std::string& endpoint, const Value& stats) {
  std::time_t t = std::time(nullptr);
  char when[16];
  std::strftime(when, sizeof when, "%H:%M:%S", std::localtime(&t));
  std::printf("syncmgr watch %s  %s  sessions %.0f  objects %.0f  ops/s %.1f  parked %.0f\n",
              endpoint.c_str(), when, num_field(stats, "sessions"), num_field(stats, "objects"),
              num_field(stats, "ops_per_second"), num_field(stats, "parked_calls"));
}

// One refresh of `watch` (every object); returns this refresh's sample.
Sample refresh_all(syncmgr::Manager& m, const std::string& endpoint, const Flags& f,
                   const std::optional<Sample>& prev) {
  Value stats = m.stats();
  Value list = m.call("server.list", "");
  Sample now{std::chrono::steady_clock::now(), {}};
  List rows;
  for (const auto& o : list.as_list()) {
    std::string name = str_field(o, "name");
    double ops = num_field(o, "ops");
    now.ops[name] = ops;
    Map row = o.as_map();
    row.emplace_back("ops_per_second", rate_value(rate(prev, name, ops, now.at)));
    rows.emplace_back(std::move(row));
  }
  if (f.json) {
    print(Value(Map{{"stats", stats}, {"objects", std::move(rows)}}));
    return now;
  }
  header(endpoint, stats);
  int name_w = 4, type_w = 4;
  for (const auto& r : rows) {
    name_w = std::max(name_w, static_cast<int>(str_field(r, "name").size()));
    type_w = std::max(type_w, static_cast<int>(str_field(r, "type").size()));
  }
  std::printf("%-*s %-*s %10s %10s %7s\n", name_w, "NAME", type_w, "TYPE", "SIZE", "OPS/S",
              "PARKED");
  for (const auto& r : rows) {
    const Value* ops_rate = field(r, "ops_per_second");
    std::printf(
        "%-*s %-*s %10.0f %10s %7.0f\n", name_w, str_field(r, "name").c_str(), type_w,
        str_field(r, "type").c_str(), num_field(r, "size"),
        rate_text(ops_rate->is_nil() ? std::nullopt : std::optional<double>(ops_rate->as_double()))
            .c_str(),
        num_field(r, "parked_calls"));
  }
  return now;
}

// One refresh of `watch NAME`.
Sample refresh_one(syncmgr::Manager& m, const std::string& endpoint, const std::string& name,
                   const Flags& f, const std::optional<Sample>& prev) {
  Value stats = m.stats();
  Value obj = inspect_call(m, name, f);
  Sample now{std::chrono::steady_clock::now(), {}};
  double ops = num_field(obj, "ops");
  now.ops[name] = ops;
  Map fields = obj.as_map();
  fields.emplace_back("ops_per_second", rate_value(rate(prev, name, ops, now.at)));
  if (f.json) {
    print(Value(Map{{"stats", stats}, {"object", Value(std::move(fields))}}));
    return now;
  }
  header(endpoint, stats);
  print_fields(Value(std::move(fields)));
  return now;
}

}  // namespace

void block_stop_signals() {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int watch(syncmgr::Manager& m, const std::string& endpoint, const std::vector<std::string>& args,
          const Flags& f) {
  // On a terminal each refresh replaces the last; into a pipe or file they follow each other.
  bool tty = ::isatty(STDOUT_FILENO) == 1 && !f.json;
  std::optional<Sample> prev;
  for (long n = 0; f.count == 0 || n < f.count; ++n) {
    if (n > 0 && !nap(f.interval)) break;
    if (tty) std::fputs("\033[H\033[2J", stdout);
    prev = args.size() > 1 ? refresh_one(m, endpoint, args[1], f, prev)
                           : refresh_all(m, endpoint, f, prev);
    if (!tty && !f.json && (f.count == 0 || n + 1 < f.count)) std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace syncmgr::tools::cli
