// The unix:// transport's sockets: listening, admitting, reading length-prefixed frames and writing
// them without ever waiting for a peer (see unix_links.hpp).
#include "server/unix_links.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "protocol/unix_stream.hpp"

namespace syncmgr::server {

namespace {

// Read in chunks of this much: a burst of small frames costs one read(2); a frame larger than this
// is read straight into its own buffer.
constexpr std::size_t kScratch = 64 * 1024;
// Reads per readiness event: one busy peer cannot keep the loop from the others and the timers.
constexpr int kReadsPerEvent = 16;

sockaddr_un address_of(const std::string& path, const std::string& endpoint) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    throw std::runtime_error("cannot bind " + endpoint + ": the path must have 1 to " +
                             std::to_string(sizeof addr.sun_path - 1) + " bytes");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void set_events(int epoll_fd, int op, int fd, std::uint64_t token, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_fd, op, fd, &ev) != 0 && op != EPOLL_CTL_DEL)
    throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
}

}  // namespace

UnixLinks::UnixLinks(int epoll_fd, Sink& sink, std::size_t max_frame, mode_t mode)
    : epoll_fd_(epoll_fd),
      sink_(sink),
      max_frame_(max_frame),
      // Replies a peer has not read yet: a client that pipelines gets of large values has many
      // queued at once (8 gets of 20 MiB answered in one frame: 160 MiB), so the bound is wide;
      // a peer that reads nothing at all is dropped sooner by check_stalled().
      max_queued_(std::max<std::size_t>(8 * max_frame, 256u << 20)),
      mode_(mode),
      reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      scratch_(kScratch) {}

UnixLinks::~UnixLinks() {
  for (auto& [token, c] : conns_)
    ::close(c.fd);
  for (auto& [token, l] : listeners_) {
    ::close(l.fd);
    // Removed only while it is still our socket (not one a newer daemon has put there since).
    struct stat st {};
    if (::lstat(l.path.c_str(), &st) == 0 && st.st_dev == l.dev && st.st_ino == l.ino)
      ::unlink(l.path.c_str());
  }
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

std::string UnixLinks::bind(const std::string& endpoint) {
  std::string path = *protocol::unix_path(endpoint);
  sockaddr_un addr = address_of(path, endpoint);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("cannot bind " + endpoint + ": " + std::strerror(errno));
  auto fail = [&](const std::string& why) {
    ::close(fd);
    throw std::runtime_error("cannot bind " + endpoint + ": " + why);
  };
  // A socket file left by a daemon that died is replaced; one a live daemon listens on is not.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail("the path exists and is not a socket");
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live =
        probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) fail("another process is listening there");
    ::unlink(path.c_str());
  }
  // Created with no access for anyone, then given its mode: never open to others even briefly.
  mode_t old_mask = ::umask(0777);
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  ::umask(old_mask);
  if (rc != 0) fail(std::strerror(bind_errno));
  if (::chmod(path.c_str(), mode_) != 0 || ::listen(fd, 512) != 0 ||
      ::lstat(path.c_str(), &st) != 0) {
    int e = errno;
    ::unlink(path.c_str());
    fail(std::strerror(e));
  }
  std::uint64_t token = next_token_++;
  listeners_[token] = Listener{fd, path, st.st_dev, st.st_ino};
  set_events(epoll_fd_, EPOLL_CTL_ADD, fd, token, EPOLLIN);
  return endpoint;
}

void UnixLinks::on_event(std::uint64_t token, std::uint32_t events) {
  if (auto l = listeners_.find(token); l != listeners_.end()) return accept_all(l->second);
  auto it = conns_.find(token);
  if (it == conns_.end()) return;
  if (events & EPOLLOUT) flush(token, it->second);
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(token);
  reap();
}

void UnixLinks::doom(std::uint64_t token) {
  auto it = conns_.find(token);
  if (it == conns_.end() || it->second.closing) return;
  it->second.closing = true;
  doomed_.push_back(token);
}

void UnixLinks::reap() {
  // Swapped out first: closing tells the sink, whose handling may doom others.
  while (!doomed_.empty()) {
    std::vector<std::uint64_t> batch;
    batch.swap(doomed_);
    for (auto token : batch)
      close_conn(token);
  }
}

void UnixLinks::accept_all(Listener& l) {
  for (int i = 0; i < 64; ++i) {
    int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_fd_ >= 0) {
        // Out of descriptors: the waiting peer would keep the listener readable and the loop
        // spinning. Accept it with the descriptor kept for this, close it, keep one again.
        ::close(reserve_fd_);
        int dropped = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (dropped >= 0) ::close(dropped);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (refused_log_.allow())
          SYNCMGR_LOG(warn, "%s: out of file descriptors; a connection was dropped",
                      l.path.c_str());
        continue;
      }
      return;  // EAGAIN: all taken
    }
    std::string peer;
    if (!admit(fd, peer)) {
      ::close(fd);
      continue;
    }
    std::uint64_t token = next_token_++;
    Conn& c = conns_[token];
    c.fd = fd;
    char id[24];  // (not "u" + to_string: GCC 12 at -O3 reports a false -Wrestrict there)
    std::snprintf(id, sizeof id, "u%llu", static_cast<unsigned long long>(token));
    c.id = id;
    c.peer = std::move(peer);
    c.accepted = std::chrono::steady_clock::now();
    set_events(epoll_fd_, EPOLL_CTL_ADD, fd, token, EPOLLIN);
    SYNCMGR_LOG(debug, "unix connection %s from %s", c.id.c_str(), c.peer.c_str());
  }
}

bool UnixLinks::admit(int fd, std::string& peer) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  peer = "unix pid " + std::to_string(cred.pid) + " uid " + std::to_string(cred.uid);
  bool ok = cred.uid == ::geteuid() || cred.uid == 0 ||
            ((mode_ & S_IRWXG) != 0 && cred.gid == ::getegid());
  if (!ok && refused_log_.allow())
    SYNCMGR_LOG(warn, "refused a unix connection from %s: not this daemon's user", peer.c_str());
  return ok;
}

void UnixLinks::on_readable(std::uint64_t token) {
  for (int round = 0; round < kReadsPerEvent; ++round) {
    auto it = conns_.find(token);
    if (it == conns_.end() || it->second.closing) return;
    Conn& c = it->second;
    ssize_t n;
    if (c.prefix_got == 4 && c.body.size() - c.body_got >= kScratch) {
      // The rest of a large frame goes straight into its buffer.
      n = ::read(c.fd, c.body.data() + c.body_got, c.body.size() - c.body_got);
      if (n > 0) {
        c.body_got += static_cast<std::size_t>(n);
        if (c.body_got == c.body.size()) deliver_body(c);
        continue;
      }
    } else {
      n = ::read(c.fd, scratch_.data(), scratch_.size());
      if (n > 0) {
        if (!consume(token, scratch_.data(), static_cast<std::size_t>(n))) return;
        if (static_cast<std::size_t>(n) < scratch_.size()) return;  // drained
        continue;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    doom(token);  // end of stream or an error: closed once this event is handled
    return;
  }
}

bool UnixLinks::consume(std::uint64_t token, const char* data, std::size_t len) {
  while (len > 0) {
    auto it = conns_.find(token);
    if (it == conns_.end() || it->second.closing) return false;
    Conn& c = it->second;
    if (c.prefix_got < 4) {
      std::size_t take = std::min(len, 4 - c.prefix_got);
      std::memcpy(c.prefix + c.prefix_got, data, take);
      c.prefix_got += take;
      data += take;
      len -= take;
      if (c.prefix_got < 4) return true;
      std::size_t size = protocol::get_length(c.prefix);
      std::size_t cap = c.authenticated ? max_frame_ : protocol::kPreAuthFrameMax;
      if (size == 0 || size > cap) {
        // No reply can be framed for a stream whose framing is lost: the connection ends.
        SYNCMGR_LOG(info, "unix connection %s (%s): frame of %zu bytes (limit %zu); closed",
                    c.id.c_str(), c.peer.c_str(), size, cap);
        doom(token);
        return false;
      }
      if (len >= size) {
        // The whole frame is in what was read: handled in place, not copied.
        c.prefix_got = 0;
        // (A Conn is erased only by reap(), never while its frames are handled.)
        sink_.on_unix_frame(c.id, c.peer, std::string_view(data, size));
        data += size;
        len -= size;
        continue;
      }
      c.body.resize(size);
      c.body_got = 0;
      continue;
    }
    std::size_t take = std::min(len, c.body.size() - c.body_got);
    std::memcpy(c.body.data() + c.body_got, data, take);
    c.body_got += take;
    data += take;
    len -= take;
    if (c.body_got == c.body.size()) deliver_body(c);
  }
  return true;
}

void UnixLinks::deliver_body(Conn& c) {
  std::string frame = std::move(c.body);
  c.body = std::string();
  c.prefix_got = 0;
  c.body_got = 0;
  sink_.on_unix_frame(c.id, c.peer, frame);
}

void UnixLinks::send(std::string_view conn, std::string_view frame) {
  std::uint64_t token = 0;
  Conn* c = find(conn, &token);
  if (c == nullptr || c->closing) return;
  unsigned char prefix[4];
  protocol::put_length(prefix, static_cast<std::uint32_t>(frame.size()));
  std::size_t done = 0;
  if (c->out.size() == c->out_off) {
    // Nothing queued: straight to the socket, length and frame in one call.
    iovec iov[2] = {{prefix, 4}, {const_cast<char*>(frame.data()), frame.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    ssize_t n;
    // MSG_NOSIGNAL: a peer gone is an error here, never a SIGPIPE that ends the daemon.
    do {
      n = ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return doom(token);
    done = n > 0 ? static_cast<std::size_t>(n) : 0;
    if (done == 4 + frame.size()) return;
  }
  // The rest waits for the socket to take it.
  if (c->out.size() - c->out_off + 4 + frame.size() - done > max_queued_) {
    if (full_log_.allow())
      SYNCMGR_LOG(warn,
                  "unix connection %s (%s) does not read its replies (%zu bytes queued); closed",
                  c->id.c_str(), c->peer.c_str(), c->out.size() - c->out_off);
    return doom(token);
  }
  if (c->out_off > 0 && c->out_off == c->out.size()) {
    c->out.clear();
    c->out_off = 0;
  }
  if (done < 4) c->out.append(reinterpret_cast<const char*>(prefix) + done, 4 - done);
  std::size_t from = done > 4 ? done - 4 : 0;
  if (c->out.size() == c->out_off) c->last_progress = std::chrono::steady_clock::now();
  c->out.append(frame.data() + from, frame.size() - from);
  watch_out(*c, true, token);
}

void UnixLinks::flush(std::uint64_t token, Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return doom(token);
    c.out_off += static_cast<std::size_t>(n);
    c.last_progress = std::chrono::steady_clock::now();
  }
  c.out.clear();
  c.out.shrink_to_fit();  // a burst's buffer is not kept for the connection's life
  c.out_off = 0;
  watch_out(c, false, token);
}

void UnixLinks::watch_out(Conn& c, bool on, std::uint64_t token) {
  if (c.want_out == on) return;
  c.want_out = on;
  set_events(epoll_fd_, EPOLL_CTL_MOD, c.fd, token, on ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

void UnixLinks::check_stalled(std::chrono::steady_clock::time_point now,
                              std::chrono::milliseconds limit) {
  for (auto& [token, c] : conns_) {
    if (!c.authenticated && now - c.accepted > kHandshakeLimit) {
      SYNCMGR_LOG(debug, "unix connection %s (%s): no handshake within %lld s; closed",
                  c.id.c_str(), c.peer.c_str(), static_cast<long long>(kHandshakeLimit.count()));
      doom(token);
      continue;
    }
    if (c.out_off == c.out.size() || now - c.last_progress < limit) continue;
    if (full_log_.allow())
      SYNCMGR_LOG(warn, "unix connection %s (%s) read none of its replies for %lld ms; closed",
                  c.id.c_str(), c.peer.c_str(), static_cast<long long>(limit.count()));
    doom(token);
  }
  reap();
}

void UnixLinks::authenticated(std::string_view conn) {
  if (Conn* c = find(conn)) c->authenticated = true;
}

UnixLinks::Conn* UnixLinks::find(std::string_view conn, std::uint64_t* token) {
  if (!is_unix_conn(conn)) return nullptr;
  std::uint64_t t = 0;
  for (char ch : conn.substr(1)) {
    if (ch < '0' || ch > '9') return nullptr;
    t = t * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  auto it = conns_.find(t);
  if (it == conns_.end()) return nullptr;
  if (token != nullptr) *token = t;
  return &it->second;
}

void UnixLinks::close_conn(std::uint64_t token) {
  auto it = conns_.find(token);
  if (it == conns_.end()) return;
  std::string id = std::move(it->second.id);
  set_events(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, token, 0);
  ::close(it->second.fd);
  conns_.erase(it);
  SYNCMGR_LOG(debug, "unix connection %s closed", id.c_str());
  sink_.on_unix_closed(id);
}

}  // namespace syncmgr::server
