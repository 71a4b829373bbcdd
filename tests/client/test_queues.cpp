// Queue and JoinableQueue across processes, in the style of CPython's test_queue.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "syncmgr/syncmgr.hpp"

using namespace syncmgr;
using namespace std::chrono_literals;
using testsupport::Daemon;
using testsupport::wait_parked;
using Clock = std::chrono::steady_clock;

TEST_CASE("queue: FIFO, sizes, Full and Empty, timeouts") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q", 3);
  CHECK(q.empty());
  CHECK(q.maxsize() == 3);
  q.put(1);
  q.put(std::string("two"));
  q.put_nowait(3.0);
  CHECK(q.full());
  CHECK(q.qsize() == 3);
  CHECK_THROWS_AS(q.put_nowait(4), Full);
  auto t0 = Clock::now();
  CHECK_THROWS_AS(q.put(4, true, 200ms), Full);
  CHECK(std::chrono::duration<double>(Clock::now() - t0).count() >= 0.2);
  CHECK(q.get<int>() == 1);
  CHECK(q.get<std::string>() == "two");
  CHECK(q.get_nowait<double>() == 3.0);
  CHECK_THROWS_AS(q.get_nowait(), Empty);
  t0 = Clock::now();
  CHECK_THROWS_AS(q.get(true, 150ms), Empty);
  CHECK(std::chrono::duration<double>(Clock::now() - t0).count() >= 0.15);
  q.put_many(std::vector<int>{7, 8, 9});
  CHECK_THROWS_AS(q.put_many(std::vector<int>{1, 2, 3, 4}), ValueError);  // more than maxsize
  CHECK(q.get_many<int>(2) == std::vector<int>{7, 8});
  CHECK(q.get_many<int>(5) == std::vector<int>{9});
}

TEST_CASE("queue: blocked getters are served in arrival order by another process's puts") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("jobs");
  auto got = m.dict("got");
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    pids.push_back(testsupport::spawn([&d, i] {
      Manager child(d.options());
      int item = child.Queue("jobs").get<int>();
      child.dict("got").set(i, item);
      return 0;
    }));
    wait_parked(m, static_cast<std::uint64_t>(i + 1));
  }
  for (int item = 100; item < 103; ++item)
    q.put(item);
  for (pid_t p : pids)
    CHECK(testsupport::join(p) == 0);
  CHECK(got.get<int>(0) == 100);
  CHECK(got.get<int>(1) == 101);
  CHECK(got.get<int>(2) == 102);
}

TEST_CASE("queue: a blocked putter proceeds when space frees") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("small", 1);
  q.put(1);
  pid_t putter = testsupport::spawn([&d] {
    Manager child(d.options());
    child.Queue("small").put(2);  // blocks until the parent takes item 1
    return 0;
  });
  wait_parked(m, 1);
  CHECK(q.get<int>() == 1);
  CHECK(testsupport::join(putter) == 0);
  CHECK(q.get<int>() == 2);
}

TEST_CASE(
    "queue: parked putters get room in arrival order; a waiting put_many holds back later "
    "puts") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("bounded", 3);
  q.put_many(std::vector<int>{1, 2, 3});
  auto batch = q.async_put_many(std::vector<int>{4, 5, 6});  // needs the whole queue
  wait_parked(m, 1);
  auto single = q.async_put(7);  // would fit one freed slot, but arrived later
  wait_parked(m, 2);
  CHECK(q.get<int>() == 1);  // each get's reply comes after the wake-ups it caused
  CHECK(q.qsize() == 2);
  CHECK(testsupport::stat(m, "parked_calls") == 2);
  CHECK(q.get<int>() == 2);
  CHECK(q.get<int>() == 3);
  batch.get();
  CHECK(q.qsize() == 3);
  CHECK(q.get<int>() == 4);
  single.get();
  CHECK(q.get_many<int>(3) == std::vector<int>{5, 6, 7});
}

TEST_CASE("queue: 4 producers and 4 consumers x 10000 items, each received exactly once") {
  Daemon d;
  Manager m(d.options());
  auto q = m.JoinableQueue("work", 1000);
  auto seen = m.list("seen");
  constexpr int kPerProducer = 10000;
  std::vector<pid_t> producers, consumers;
  for (int p = 0; p < 4; ++p) {
    producers.push_back(testsupport::spawn([&d, p] {
      Manager child(d.options(p % 2 ? d.ipc() : d.tcp()));
      auto cq = child.JoinableQueue("work");
      std::vector<int> batch;
      for (int i = 0; i < kPerProducer; ++i) {
        batch.push_back(p * kPerProducer + i);
        if (batch.size() == 100) {
          cq.put_many(batch);
          batch.clear();
        }
      }
      return 0;
    }));
  }
  for (int c = 0; c < 4; ++c) {
    consumers.push_back(testsupport::spawn([&d, c] {
      Manager child(d.options(c % 2 ? d.tcp() : d.ipc()));
      auto cq = child.JoinableQueue("work");
      std::vector<int> mine;
      for (;;) {
        auto items = cq.get_many<int>(100);
        bool stop = false;
        for (int item : items) {
          if (item < 0)
            stop = true;
          else
            mine.push_back(item);
        }
        for (std::size_t i = 0; i < items.size(); ++i)
          cq.task_done();
        if (stop) break;
      }
      child.list("seen").extend(mine);
      return 0;
    }));
  }
  for (pid_t p : producers)
    CHECK(testsupport::join(p) == 0);
  CHECK(q.join(60s));  // every item put so far has been processed
  for (int c = 0; c < 4; ++c)
    q.put(-1);  // one stop marker per consumer
  for (pid_t p : consumers)
    CHECK(testsupport::join(p) == 0);
  auto all = seen.copy<int>();
  CHECK(all.size() == 4 * kPerProducer);
  std::sort(all.begin(), all.end());
  bool exact = true;
  for (int i = 0; i < 4 * kPerProducer; ++i)
    exact = exact && all[static_cast<std::size_t>(i)] == i;
  CHECK(exact);
  CHECK(q.join(10s));
}

TEST_CASE("joinablequeue: join waits for the last task_done; too many task_done is ValueError") {
  Daemon d;
  Manager m(d.options());
  auto q = m.JoinableQueue("jq");
  CHECK(q.join(0s));  // nothing put: already done
  q.put(1);
  q.put(2);
  CHECK_FALSE(q.join(100ms));
  pid_t worker = testsupport::spawn([&d] {
    Manager child(d.options());
    auto cq = child.JoinableQueue("jq");
    cq.get<int>();
    cq.task_done();
    std::this_thread::sleep_for(100ms);
    cq.get<int>();
    cq.task_done();
    return 0;
  });
  auto t0 = Clock::now();
  CHECK(q.join(20s));
  CHECK(std::chrono::duration<double>(Clock::now() - t0).count() >= 0.09);
  CHECK(testsupport::join(worker) == 0);
  CHECK_THROWS_AS(q.task_done(), ValueError);
}

TEST_CASE("queue: after shutdown put raises ShutDown, get drains the items then raises ShutDown") {
  Daemon d;
  Manager m(d.options());
  auto q = m.Queue("q");
  q.put(1);
  q.put(2);
  CHECK_FALSE(q.is_shutdown());
  q.shutdown();
  CHECK(q.is_shutdown());
  CHECK_THROWS_AS(q.put(3), ShutDown);
  CHECK_THROWS_AS(q.put_nowait(3), ShutDown);
  CHECK_THROWS_AS(q.put_many(std::vector<int>{3}), ShutDown);
  CHECK(q.get<int>() == 1);
  CHECK(q.get_many<int>(5) == std::vector<int>{2});
  CHECK_THROWS_AS(q.get(), ShutDown);  // without a timeout: it must not wait
  CHECK_THROWS_AS(q.get_nowait(), ShutDown);
  CHECK_THROWS_AS(q.get_many(3, true, 1s), ShutDown);
  q.shutdown();  // again: no error
  CHECK(q.qsize() == 0);
}

TEST_CASE("queue: shutdown wakes other processes' blocked getters and putters with ShutDown") {
  Daemon d;
  Manager m(d.options());
  auto empty = m.Queue("empty");
  auto full = m.Queue("full", 1);
  full.put(0);
  auto expect_shutdown = [&d](std::function<void(Manager&)> call) {
    return testsupport::spawn([&d, call] {
      Manager child(d.options());
      try {
        call(child);
      } catch (const ShutDown&) {
        return 0;
      }
      return 1;
    });
  };
  std::vector<pid_t> pids;
  pids.push_back(expect_shutdown([](Manager& c) { c.Queue("empty").get(); }));
  pids.push_back(expect_shutdown([](Manager& c) { c.Queue("empty").get_many(2); }));
  pids.push_back(expect_shutdown([](Manager& c) { c.Queue("full").put(1); }));
  pids.push_back(expect_shutdown([](Manager& c) { c.Queue("full").put_many(std::vector{1}); }));
  wait_parked(m, 4);
  empty.shutdown();
  full.shutdown();
  for (pid_t p : pids)
    CHECK(testsupport::join(p) == 0);
  CHECK(full.get<int>() == 0);  // not immediate: the items stay until taken
  CHECK_THROWS_AS(full.get(), ShutDown);
}

TEST_CASE("joinablequeue: shutdown(immediate) discards the items and releases join()") {
  Daemon d;
  Manager m(d.options());
  auto q = m.JoinableQueue("jq");
  q.put(1);
  q.put(2);
  q.put(3);
  CHECK(q.get<int>() == 1);  // taken, not yet done
  pid_t joiner = testsupport::spawn([&d] {
    Manager child(d.options());
    return child.JoinableQueue("jq").join() ? 0 : 1;
  });
  wait_parked(m, 1);
  q.shutdown(true);
  CHECK(q.qsize() == 0);
  CHECK_THROWS_AS(q.get_nowait(), ShutDown);
  CHECK_FALSE(q.join(100ms));  // as in Python: the discarded items count as done, item 1 not yet
  q.task_done();
  CHECK(testsupport::join(joiner) == 0);
  CHECK(q.join(0s));
  CHECK_THROWS_AS(q.task_done(), ValueError);
}
