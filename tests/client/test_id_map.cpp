// IdMap (src/client/id_map.hpp), the connection's calls by request id, against std::unordered_map
// as the model: in-order and out-of-order traffic, probe runs that wrap around the table's end,
// growth, erase_if, and ids far from each other.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "client/id_map.hpp"

using syncmgr::detail::IdMap;

namespace {

// Every id of the model is found with its value, and nothing else is.
void check_same(IdMap<std::uint64_t>& map,
                const std::unordered_map<std::uint64_t, std::uint64_t>& model,
                const std::vector<std::uint64_t>& probes) {
  REQUIRE(map.size() == model.size());
  for (const auto& [id, v] : model) {
    auto* got = map.find(id);
    REQUIRE(got != nullptr);
    CHECK(*got == v);
  }
  for (auto id : probes)
    CHECK((map.find(id) != nullptr) == (model.count(id) != 0));
  std::size_t seen = 0;
  map.for_each([&](std::uint64_t id, std::uint64_t& v) {
    ++seen;
    auto it = model.find(id);
    REQUIRE(it != model.end());
    CHECK(it->second == v);
  });
  CHECK(seen == model.size());
}

}  // namespace

TEST_CASE("IdMap: random traffic against std::unordered_map, ids near the window and far off") {
  for (std::uint64_t base : {std::uint64_t{1}, std::uint64_t{13}, ~std::uint64_t{0} - 100000}) {
    std::mt19937_64 rng(base);
    IdMap<std::uint64_t> map;
    std::unordered_map<std::uint64_t, std::uint64_t> model;
    std::uint64_t next = base;
    std::vector<std::uint64_t> probes;
    for (int step = 0; step < 40000; ++step) {
      unsigned r = rng() % 100;
      if (r < 45) {
        // A new call; now and then one with an id far from the rest (a long parked call).
        std::uint64_t id = (rng() % 50 == 0) ? next + 1000 + rng() % 100000 : next++;
        if (id == 0) id = 1;
        map[id] = id * 3;
        model[id] = id * 3;
      } else if (r < 90 && !model.empty()) {
        // A reply: usually the oldest (in order), sometimes any.
        auto it = model.begin();
        if (rng() % 4 == 0) std::advance(it, rng() % model.size());
        std::uint64_t id = it->first;
        CHECK(map.erase(id));
        model.erase(it);
        CHECK_FALSE(map.erase(id));
      } else if (r < 95) {
        // An update in place.
        if (!model.empty()) {
          auto id = model.begin()->first;
          map[id] += 1;
          model[id] += 1;
        }
      } else {
        probes.push_back(next + rng() % 64);
      }
      if (step % 997 == 0) check_same(map, model, probes);
    }
    check_same(map, model, probes);
  }
}

TEST_CASE("IdMap: runs wrapping around the table's end, erased from the middle") {
  IdMap<std::uint64_t> map;
  std::unordered_map<std::uint64_t, std::uint64_t> model;
  // Capacity 16 (up to 8 entries): ids whose home is slot 14 or 15 wrap into slots 0, 1, ...
  for (std::uint64_t id : {14u, 30u, 46u, 15u, 31u, 16u, 47u}) {
    map[id] = id;
    model[id] = id;
  }
  REQUIRE(map.capacity() == 16);
  check_same(map, model, {62, 63, 64, 17});
  // Every order of removal keeps every remaining entry reachable.
  for (std::uint64_t id : {30u, 15u, 47u, 14u}) {
    CHECK(map.erase(id));
    model.erase(id);
    check_same(map, model, {14, 30, 15, 47});
  }
}

TEST_CASE("IdMap: grows past its first capacity and keeps everything") {
  IdMap<std::uint64_t> map;
  std::unordered_map<std::uint64_t, std::uint64_t> model;
  for (std::uint64_t id = 1; id <= 1000; id += 3) {
    map[id] = id + 1;
    model[id] = id + 1;
  }
  CHECK(map.capacity() >= 2 * map.size());
  check_same(map, model, {2, 3, 1001, 999});
  // A steady window allocates nothing more: the capacity stays put.
  auto cap = map.capacity();
  for (std::uint64_t id = 2000; id < 20000; ++id) {
    map[id] = 0;
    CHECK(map.erase(id));
  }
  CHECK(map.capacity() == cap);
}

TEST_CASE("IdMap: erase_if visits each entry once and removes exactly the chosen ones") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    IdMap<std::uint64_t> map;
    std::unordered_map<std::uint64_t, std::uint64_t> model;
    std::uint64_t base = 1 + rng() % 64;
    int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      // Clustered ids, several sharing a home slot, so runs are long and wrap.
      std::uint64_t id = base + (rng() % 8) * 16 + rng() % 4;
      map[id] = rng() % 2;
      model[id] = map[id];
    }
    std::unordered_map<std::uint64_t, int> visits;
    map.erase_if([&](std::uint64_t id, std::uint64_t& v) {
      ++visits[id];
      return v == 1;
    });
    CHECK(visits.size() == model.size());
    for (const auto& [id, count] : visits)
      CHECK(count == 1);
    std::erase_if(model, [](const auto& kv) { return kv.second == 1; });
    check_same(map, model, {});
  }
}

TEST_CASE("IdMap: clear and erase release the values they held") {
  IdMap<std::shared_ptr<int>> map;
  auto p = std::make_shared<int>(1);
  map[5] = p;
  map[6] = p;
  CHECK(p.use_count() == 3);
  map.erase(5);
  CHECK(p.use_count() == 2);
  map.clear();
  CHECK(p.use_count() == 1);
  CHECK(map.empty());
  CHECK(map.find(6) == nullptr);
}
