// Redis's side of syncmgr-bench, through hiredis: the nearest Redis command for each workload.
//   Namespace attr: SET/GET on a key         dict: HSET/HGET        list append: RPUSH
//   increment: HINCRBY                       queue: RPUSH + BLPOP   pipelined: N appended HSETs
//   lock: SET key token NX PX 30000, released by an EVAL compare-and-delete script
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../harness.hpp"

namespace bench {
namespace {

constexpr const char* kUnlock =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";

// Owns one reply; throws on a Redis error reply.
struct Reply {
  redisReply* r;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {
    if (!r) throw std::runtime_error("redis: connection error");
    if (r->type == REDIS_REPLY_ERROR) {
      std::string msg(r->str, r->len);
      freeReplyObject(r);
      throw std::runtime_error("redis: " + msg);
    }
  }
  ~Reply() { freeReplyObject(r); }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
};

redisContext* connect(const std::string& endpoint) {
  redisContext* c = nullptr;
  timeval tv{5, 0};
  if (endpoint.rfind("tcp://", 0) == 0) {
    auto hp = endpoint.substr(6);
    auto colon = hp.rfind(':');
    c = redisConnectWithTimeout(hp.substr(0, colon).c_str(), std::stoi(hp.substr(colon + 1)), tv);
  } else if (endpoint.rfind("unix://", 0) == 0) {
    c = redisConnectUnixWithTimeout(endpoint.substr(7).c_str(), tv);
  } else {
    throw std::runtime_error("redis endpoint must be tcp://HOST:PORT or unix:///path");
  }
  if (!c || c->err) throw std::runtime_error("redis: cannot connect to " + endpoint);
  return c;
}

class RedisClient : public Client {
 public:
  RedisClient(const Params& p, int index)
      : c_(connect(p.endpoint)),
        w_(p.workload),
        depth_(p.depth),
        value_(make_value(p.value_size)),
        token_("client-" + std::to_string(getpid())) {
    if (w_ == "ns_set" || w_ == "ns_get") {
      cmd({"SET", "bench_ns:attr", value_});
    } else if (w_ == "dict_get") {
      for (int i = 0; i < 1000; ++i)
        cmd({"HSET", "bench_dict", key_name(i), value_});
    } else if (w_ == "queue_throughput" || w_ == "queue_batch") {
      if (p.clients < 2 || p.clients % 2)
        throw std::runtime_error("queue_throughput: even clients");
      queue_ = "tq-" + std::to_string(getppid());
      role_ = index < p.clients / 2 ? Role::producer : Role::consumer;
    } else if (w_ != "dict_set" && w_ != "list_append" && w_ != "incr" && w_ != "queue_putget" &&
               w_ != "lock" && w_ != "big_value" && w_ != "dict_set_async") {
      throw std::runtime_error("unknown workload " + w_);
    }
    cmd({"PING"});
  }
  ~RedisClient() override { redisFree(c_); }

  std::int64_t step(std::uint64_t i) override {
    if (w_ == "dict_set") {
      cmd({"HSET", "bench_dict", key_name(i), value_});
    } else if (w_ == "dict_get") {
      cmd({"HGET", "bench_dict", key_name(i)});
    } else if (w_ == "ns_set") {
      cmd({"SET", "bench_ns:attr", value_});
    } else if (w_ == "ns_get") {
      cmd({"GET", "bench_ns:attr"});
    } else if (w_ == "list_append") {
      cmd({"RPUSH", "bench_list", value_});
    } else if (w_ == "incr") {
      cmd({"HINCRBY", "bench_dict", "counter", "1"});
    } else if (w_ == "queue_putget") {
      cmd({"RPUSH", "bench_queue", value_});
      cmd({"BLPOP", "bench_queue", "0"});
    } else if (w_ == "lock") {
      for (;;) {  // SET NX answers nil while another holder has it: try again
        Reply r(command({"SET", "bench_lock", token_, "NX", "PX", "30000"}));
        if (r.r->type == REDIS_REPLY_STATUS) break;
      }
      cmd({"EVAL", kUnlock, "1", "bench_lock", token_});
    } else if (w_ == "big_value") {
      cmd({"HSET", "bench_big", "big", value_});
      Reply r(command({"HGET", "bench_big", "big"}));
      if (r.r->type != REDIS_REPLY_STRING || r.r->len != value_.size())
        throw std::runtime_error("big_value: wrong size back");
    } else if (w_ == "dict_set_async") {
      for (int k = 0; k < depth_; ++k)
        append(
            {"HSET", "bench_dict", key_name(i * static_cast<std::uint64_t>(depth_) + k), value_});
      for (int k = 0; k < depth_; ++k)
        get_reply();
      return depth_;
    } else if (w_ == "queue_batch") {
      // RPUSH of depth values; LPOP with a count, BLPOP when the list is empty.
      if (role_ == Role::producer) {
        std::vector<std::string> args{"RPUSH", queue_};
        for (int k = 0; k < depth_; ++k)
          args.push_back(std::to_string(i));
        Reply r(command(args));
        return depth_;
      }
      std::string count = std::to_string(depth_);
      Reply r(command({"LPOP", queue_, count}));
      if (r.r->type == REDIS_REPLY_ARRAY) {
        // A batch can hold several producers' end marks: keep one, give the others back so that
        // every consumer sees one (else a consumer waits forever).
        int marks = 0;
        for (std::size_t k = 0; k < r.r->elements; ++k)
          if (std::string(r.r->element[k]->str, r.r->element[k]->len) == "-1") ++marks;
        for (int k = 1; k < marks; ++k)
          cmd({"RPUSH", queue_, "-1"});
        return marks > 0 ? -1 : static_cast<std::int64_t>(r.r->elements);
      }
      Reply b(command({"BLPOP", queue_, "0"}));
      if (b.r->type != REDIS_REPLY_ARRAY || b.r->elements != 2)
        throw std::runtime_error("BLPOP: unexpected reply");
      if (std::string(b.r->element[1]->str, b.r->element[1]->len) == "-1") return -1;
      return 1;
    } else if (w_ == "queue_throughput") {
      if (role_ == Role::producer) {
        cmd({"RPUSH", queue_, std::to_string(i)});
      } else {
        Reply r(command({"BLPOP", queue_, "0"}));
        if (r.r->type != REDIS_REPLY_ARRAY || r.r->elements != 2)
          throw std::runtime_error("BLPOP: unexpected reply");
        if (std::string(r.r->element[1]->str, r.r->element[1]->len) == "-1") return -1;
      }
    }
    return 1;
  }

  bool runs_until_done() const override { return role_ == Role::consumer; }
  bool counted() const override { return role_ != Role::producer; }
  void finish() override {
    if (role_ == Role::producer) cmd({"RPUSH", queue_, "-1"});
  }

  void* command(std::initializer_list<std::string_view> args) {
    argv(args);
    return redisCommandArgv(c_, static_cast<int>(ptrs_.size()), ptrs_.data(), lens_.data());
  }
  void* command(const std::vector<std::string>& args) {
    ptrs_.clear();
    lens_.clear();
    for (const auto& a : args) {
      ptrs_.push_back(a.data());
      lens_.push_back(a.size());
    }
    return redisCommandArgv(c_, static_cast<int>(ptrs_.size()), ptrs_.data(), lens_.data());
  }
  void cmd(std::initializer_list<std::string_view> args) { Reply r(command(args)); }
  void append(std::initializer_list<std::string_view> args) {
    argv(args);
    if (redisAppendCommandArgv(c_, static_cast<int>(ptrs_.size()), ptrs_.data(), lens_.data()) !=
        REDIS_OK)
      throw std::runtime_error("redis: append failed");
  }
  void get_reply() {
    void* r = nullptr;
    if (redisGetReply(c_, &r) != REDIS_OK) throw std::runtime_error("redis: connection error");
    Reply owned(r);
  }

 private:
  enum class Role { any, producer, consumer };
  void argv(std::initializer_list<std::string_view> args) {
    ptrs_.clear();
    lens_.clear();
    for (auto a : args) {
      ptrs_.push_back(a.data());
      lens_.push_back(a.size());
    }
  }

  redisContext* c_;
  std::string w_;
  int depth_;
  std::string value_, token_, queue_;
  Role role_ = Role::any;
  std::vector<const char*> ptrs_;
  std::vector<std::size_t> lens_;
};

}  // namespace

std::unique_ptr<Client> make_redis_client(const Params& p, int index) {
  return std::make_unique<RedisClient>(p, index);
}

void load_redis(const Params& p) {
  Params q = p;
  q.workload = "dict_set";
  RedisClient c(q, 0);
  c.cmd({"DEL", "bench_mem"});
  std::size_t pending = 0;
  for (std::size_t i = 0; i < p.entries; ++i) {
    std::string k = std::to_string(i);
    c.append({"HSET", "bench_mem", k, k});
    if (++pending == 10000 || i + 1 == p.entries) {
      for (; pending > 0; --pending)
        c.get_reply();
    }
  }
}

}  // namespace bench
