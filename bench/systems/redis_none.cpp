// Built instead of redis.cpp when libhiredis-dev is missing: the harness then has no Redis system.
#include <stdexcept>

#include "../harness.hpp"

namespace bench {

std::unique_ptr<Client> make_redis_client(const Params&, int) {
  return nullptr;
}
void load_redis(const Params&) {
  throw std::runtime_error("built without hiredis (install libhiredis-dev)");
}

}  // namespace bench
