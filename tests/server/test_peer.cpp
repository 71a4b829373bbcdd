// pid_of_peer: the process id in the peer strings the transports give, and none where they give
// none (tcp addresses, IPv6 ones included).
#include <doctest/doctest.h>

#include "server/sessions.hpp"

using syncmgr::server::pid_of_peer;

TEST_CASE("peer: the pid of unix:// and ipc:// peers, none for tcp") {
  CHECK(pid_of_peer("unix pid 4242 uid 1000") == 4242);
  CHECK(pid_of_peer("localhost:1000:1000:31337") == 31337);  // libzmq 4.3's ipc Peer-Address
  CHECK(pid_of_peer(":0:0:77") == 77);
  CHECK(pid_of_peer("127.0.0.1") == 0);
  CHECK(pid_of_peer("::1") == 0);
  CHECK(pid_of_peer("2001:db8::1:2:3") == 0);
  CHECK(pid_of_peer("::1:2:3") == 0);
  CHECK(pid_of_peer("local") == 0);
  CHECK(pid_of_peer("localhost:a:b:c") == 0);
  CHECK(pid_of_peer("unix pid x uid 1") == 0);
  CHECK(pid_of_peer("") == 0);
}
