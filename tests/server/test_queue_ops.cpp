// Unit tests for the pure queue operations: each expectation is what Python's queue.Queue and
// JoinableQueue do, plus the batched put_many/get_many rules.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "protocol/message.hpp"
#include "server/types/queue.hpp"

using namespace syncmgr;
using namespace syncmgr::server;
namespace ops = syncmgr::server::queue_ops;
namespace err = syncmgr::protocol::err;

namespace {

QueueState bounded(std::size_t maxsize) {
  QueueState q;
  q.maxsize = maxsize;
  return q;
}

// Puts `v` and requires success.
void put(QueueState& q, Value v) {
  REQUIRE(ops::put(q, v).ok());
}

// Takes every item left, in order, rendered as an array.
std::string drain(QueueState& q) {
  List out;
  while (!q.items.empty())
    out.push_back(ops::get(q).value());
  return Value(std::move(out)).repr(100000);
}

bool flag(const OpResult<Value>& r) {
  REQUIRE(r.ok());
  return r.value().as_bool();
}

}  // namespace

// Checks that an op failed with the given kind and message.
#define CHECK_ERR(expr, kind_, message_)     \
  do {                                       \
    auto r_ = (expr);                        \
    REQUIRE_FALSE(r_.ok());                  \
    CHECK(r_.error().kind == (kind_));       \
    CHECK(r_.error().message == (message_)); \
  } while (0)

TEST_CASE("queue items come out in the order they went in") {
  QueueState q;
  for (int i = 0; i < 5; ++i)
    put(q, Value(i));
  put(q, Value("six"));
  CHECK(ops::qsize(q).value().as_int() == 6);
  CHECK(ops::get(q).value().as_int() == 0);
  CHECK(ops::get(q).value().as_int() == 1);
  put(q, Value(nullptr));
  CHECK(drain(q) == "[2, 3, 4, \"six\", null]");
  CHECK(flag(ops::empty(q)));
}

TEST_CASE("queue.get on an empty queue is Empty") {
  QueueState q;
  CHECK_ERR(ops::get(q), err::empty, "queue is empty");
  put(q, Value(1));
  CHECK(ops::get(q).ok());
  CHECK_ERR(ops::get(q), err::empty, "queue is empty");
}

TEST_CASE("maxsize bounds the queue: full, Full, and room again after a get") {
  auto q = bounded(2);
  CHECK(ops::maxsize(q).value().as_int() == 2);
  CHECK_FALSE(flag(ops::full(q)));
  put(q, Value(1));
  CHECK_FALSE(flag(ops::full(q)));
  put(q, Value(2));
  CHECK(flag(ops::full(q)));
  CHECK_FALSE(flag(ops::empty(q)));
  Value item("kept");
  CHECK_ERR(ops::put(q, item), err::full, "queue is full");
  CHECK(item == Value("kept"));  // a refused put leaves its item to the waiter for its re-run
  CHECK(ops::qsize(q).value().as_int() == 2);
  CHECK(ops::get(q).value().as_int() == 1);
  CHECK(ops::put(q, item).ok());
  CHECK(drain(q) == "[2, \"kept\"]");
}

TEST_CASE("maxsize 0 is unbounded and never full") {
  QueueState q;
  for (int i = 0; i < 1000; ++i)
    put(q, Value(i));
  CHECK_FALSE(flag(ops::full(q)));
  CHECK(ops::maxsize(q).value().as_int() == 0);
  CHECK(ops::qsize(q).value().as_int() == 1000);
}

TEST_CASE("creation parameters: nil or {maxsize: int >= 0}") {
  CHECK(ops::maxsize_param(Value()).value() == 0);
  CHECK(ops::maxsize_param(Value(Map{})).value() == 0);
  CHECK(ops::maxsize_param(Value(Map{{Value("maxsize"), Value(7)}})).value() == 7);
  CHECK(ops::maxsize_param(Value(Map{{Value("maxsize"), Value(0)}})).value() == 0);
  CHECK_ERR(ops::maxsize_param(Value(Map{{Value("maxsize"), Value(-1)}})), err::value,
            "maxsize must be >= 0, not -1");
  CHECK_ERR(ops::maxsize_param(Value(Map{{Value("maxsize"), Value("3")}})), err::type,
            "maxsize must be an int, not str");
  CHECK_ERR(ops::maxsize_param(Value(Map{{Value("maxsize"), Value(true)}})), err::type,
            "maxsize must be an int, not bool");
  CHECK_ERR(ops::maxsize_param(Value(Map{{Value("maxsize"), Value(2.0)}})), err::type,
            "maxsize must be an int, not float");
  CHECK_ERR(ops::maxsize_param(Value(Map{{Value("size"), Value(2)}})), err::type,
            "queue got an unexpected parameter \"size\"");
  CHECK_ERR(ops::maxsize_param(Value(3)), err::type, "queue parameters must be a map, not int");

  auto made = make_queue(Value(Map{{Value("maxsize"), Value(4)}}), true);
  REQUIRE(made.ok());
  CHECK(made.value()->type() == "joinablequeue");
  CHECK(static_cast<QueueObject&>(*made.value()).state.maxsize == 4);
  CHECK(make_queue(Value(), false).value()->type() == "queue");
  CHECK_FALSE(make_queue(Value(Map{{Value("maxsize"), Value(-5)}}), false).ok());
}

TEST_CASE("put_many is all or nothing") {
  auto q = bounded(4);
  put(q, Value("a"));
  put(q, Value("b"));
  Value three(List{Value(1), Value(2), Value(3)});
  CHECK_ERR(ops::put_many(q, three), err::full, "queue has room for 2 of 3 items");
  CHECK(ops::qsize(q).value().as_int() == 2);  // nothing went in
  CHECK(three.as_list().size() == 3);          // and the items are intact for a re-run
  CHECK(three.as_list()[2] == Value(3));
  CHECK(q.unfinished == 2);

  Value two(List{Value(1), Value(2)});
  REQUIRE(ops::put_many(q, two).ok());
  CHECK(flag(ops::full(q)));
  CHECK(q.unfinished == 4);
  Value one(List{Value(9)});
  CHECK_ERR(ops::put_many(q, one), err::full, "queue is full");
  CHECK(drain(q) == "[\"a\", \"b\", 1, 2]");

  Value none{List{}};
  CHECK(ops::put_many(q, none).ok());  // zero items always fit
  Value all(List{Value(1), Value(2), Value(3), Value(4)});
  CHECK(ops::put_many(q, all).ok());  // exactly maxsize fits an empty queue
  CHECK(drain(q) == "[1, 2, 3, 4]");
}

TEST_CASE("put_many of more items than maxsize is a ValueError, even when empty") {
  auto q = bounded(2);
  Value three(List{Value(1), Value(2), Value(3)});
  CHECK_ERR(ops::put_many(q, three), err::value,
            "put_many of 3 items can never fit a queue of maxsize 2");
  CHECK(flag(ops::empty(q)));
  QueueState unbounded;
  CHECK(ops::put_many(unbounded, three).ok());
  CHECK(drain(unbounded) == "[1, 2, 3]");
  Value scalar(5);
  CHECK_ERR(ops::put_many(q, scalar), err::type, "put_many items must be an array, not int");
}

TEST_CASE("get_many returns 1..n items in order") {
  QueueState q;
  CHECK_ERR(ops::get_many(q, 3), err::empty, "queue is empty");
  for (int i = 0; i < 5; ++i)
    put(q, Value(i));
  CHECK(ops::get_many(q, 2).value().repr() == "[0, 1]");
  CHECK(ops::get_many(q, 1).value().repr() == "[2]");
  CHECK(ops::get_many(q, 100).value().repr() == "[3, 4]");  // fewer than n: what there is
  CHECK(flag(ops::empty(q)));
  CHECK_ERR(ops::get_many(q, 1), err::empty, "queue is empty");
  put(q, Value(7));
  CHECK(ops::get_many(q, INT64_MAX).value().repr() == "[7]");
}

TEST_CASE("get_many n must be at least 1, checked before emptiness") {
  QueueState q;
  CHECK_ERR(ops::get_many(q, 0), err::value, "get_many n must be >= 1, not 0");
  put(q, Value(1));
  CHECK_ERR(ops::get_many(q, -3), err::value, "get_many n must be >= 1, not -3");
  CHECK(ops::qsize(q).value().as_int() == 1);
}

TEST_CASE("task_done counts down what put counted up") {
  QueueState q;
  CHECK(flag(ops::joined(q)));
  CHECK_ERR(ops::task_done(q), err::value, "task_done() called too many times");
  put(q, Value(1));
  Value two(List{Value(2), Value(3)});
  REQUIRE(ops::put_many(q, two).ok());
  CHECK(q.unfinished == 3);
  CHECK_FALSE(flag(ops::joined(q)));
  // Getting an item does not finish it: only task_done does.
  CHECK(ops::get_many(q, 3).ok());
  CHECK(flag(ops::empty(q)));
  CHECK_FALSE(flag(ops::joined(q)));
  CHECK(ops::task_done(q).ok());
  CHECK(ops::task_done(q).ok());
  CHECK_FALSE(flag(ops::joined(q)));
  CHECK(ops::task_done(q).ok());
  CHECK(flag(ops::joined(q)));
  CHECK_ERR(ops::task_done(q), err::value, "task_done() called too many times");
  CHECK(q.unfinished == 0);
}

TEST_CASE("refused puts count no unfinished task") {
  auto q = bounded(1);
  put(q, Value(1));
  Value item(2);
  CHECK_FALSE(ops::put(q, item).ok());
  Value many(List{Value(3)});
  CHECK_FALSE(ops::put_many(q, many).ok());
  CHECK(q.unfinished == 1);
}

TEST_CASE("shutdown: puts fail, gets drain then fail, as Python 3.13's Queue.shutdown") {
  QueueState q = bounded(2);
  put(q, Value(1));
  put(q, Value(2));
  REQUIRE(ops::shutdown(q, false).ok());
  Value more(3);
  CHECK_ERR(ops::put(q, more), err::shut_down, "queue is shut down");
  Value batch(List{Value(3)});
  CHECK_ERR(ops::put_many(q, batch), err::shut_down, "queue is shut down");
  Value not_array(3);
  CHECK(ops::put_many(q, not_array).error().kind == err::type);  // argument errors come first
  CHECK(ops::get(q).value() == Value(1));
  CHECK(ops::get_many(q, 4).value() == Value(List{Value(2)}));
  CHECK_ERR(ops::get(q), err::shut_down, "queue is shut down");
  CHECK_ERR(ops::get_many(q, 1), err::shut_down, "queue is shut down");
  CHECK(ops::get_many(q, 0).error().kind == err::value);
  CHECK(ops::full(q).value() == Value(false));
}

TEST_CASE("shutdown(immediate): the items are discarded and each counts as done") {
  QueueState q;
  put(q, Value(1));
  put(q, Value(2));
  put(q, Value(3));
  REQUIRE(ops::get(q).ok());  // taken, not done
  REQUIRE(ops::shutdown(q, true).ok());
  CHECK(q.items.empty());
  CHECK(q.unfinished == 1);
  CHECK_FALSE(flag(ops::joined(q)));
  REQUIRE(ops::task_done(q).ok());
  CHECK(flag(ops::joined(q)));
  CHECK_ERR(ops::get(q), err::shut_down, "queue is shut down");
}
