// The unix:// transport (transport.hpp): a Unix-domain stream socket to the daemon, driven by the
// connection's pump alone. No thread of its own: a request is one sendmsg(2), and the reply wakes
// the caller polling the socket directly.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "client/transport.hpp"
#include "protocol/unix_stream.hpp"
#include "syncmgr/errors.hpp"

namespace syncmgr::detail {

namespace {

using Clock = std::chrono::steady_clock;

// Reads go into a buffer this large; a frame longer than it is read into one of its own.
constexpr std::size_t kBuffer = 64 * 1024;
// How long a send may wait for room in the socket (the daemon reads all the time; only a stalled
// daemon makes this run out, and then the connection is dropped and handshaken again).
constexpr auto kSendPatience = std::chrono::seconds(5);

// The process's unix:// sockets. A fork()ed child closes its copies at once: it never uses them
// (its first call opens a connection of its own), and a copy left open would keep the parent's
// connection alive after the parent died, so the daemon would not learn of the death at once.
std::mutex g_fds_mu;
std::unordered_set<int> g_fds;
std::once_flag g_atfork_once;

void track_fd(int fd, bool open) {
  std::call_once(g_atfork_once, [] {
    // Locked across fork(), so the child never finds it held by a thread it does not have.
    pthread_atfork([] { g_fds_mu.lock(); }, [] { g_fds_mu.unlock(); },
                   [] {
                     for (int fd : g_fds)
                       ::close(fd);
                     g_fds.clear();
                     g_fds_mu.unlock();
                   });
  });
  std::lock_guard lock(g_fds_mu);
  if (open) {
    g_fds.insert(fd);
  } else {
    g_fds.erase(fd);
  }
}

class UnixTransport final : public Transport {
 public:
  explicit UnixTransport(const std::string& endpoint)
      : endpoint_(endpoint), path_(*protocol::unix_path(endpoint)), buf_(kBuffer) {
    if (path_.empty() || path_.size() >= sizeof(sockaddr_un{}.sun_path))
      throw ConnectionError("cannot connect to " + endpoint + ": the path must have 1 to " +
                            std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    connect();
  }
  ~UnixTransport() override { close(); }

  bool send(std::string frame) override;
  std::optional<InFrame> receive() override;
  bool ready() override { return complete_frame_buffered(); }
  int fd() override { return fd_; }
  bool local() const override { return true; }
  bool take_dropped() override {
    bool d = dropped_;
    dropped_ = false;
    return d;
  }
  void close() override {
    if (fd_ < 0) return;
    track_fd(fd_, false);
    ::close(fd_);
    fd_ = -1;
  }
  std::string explain(std::chrono::milliseconds waited) const override {
    std::string within = " within " + std::to_string(waited.count()) + " ms";
    if (!ever_connected_)
      return "could not connect to syncmgrd at " + endpoint_ + within + " (" + last_error_ +
             "; is the daemon running, and is this its endpoint?)";
    return "no answer from syncmgrd at " + endpoint_ + within;
  }

 private:
  bool connect();
  /// The connection broke: forget it and what was half read.
  void drop();
  bool complete_frame_buffered() const;

  std::string endpoint_, path_;
  int fd_ = -1;
  bool dropped_ = false;
  bool ever_connected_ = false;
  std::string last_error_ = "not tried";
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes of buf_
  std::string large_;                // a frame longer than buf_, being read
  std::size_t large_got_ = 0;
  bool in_large_ = false;
};

bool UnixTransport::connect() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE)
      throw ConnectionError("cannot open a connection to " + endpoint_ + ": " +
                            std::strerror(errno));
    last_error_ = std::strerror(errno);
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  // A Unix-domain connect completes at once or fails at once (EAGAIN: the backlog is full).
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    last_error_ = std::strerror(errno);
    ::close(fd);
    return false;
  }
  fd_ = fd;
  track_fd(fd_, true);
  ever_connected_ = true;
  begin_ = end_ = 0;
  in_large_ = false;
  return true;
}

void UnixTransport::drop() {
  close();
  dropped_ = true;
  begin_ = end_ = 0;
  in_large_ = false;
  large_ = std::string();
}

bool UnixTransport::send(std::string frame) {
  // Disconnected (never connected, or the daemon restarted): connect now; the caller's handshake
  // timer brings us back here until it works.
  if (fd_ < 0 && !connect()) return false;
  unsigned char prefix[protocol::kLengthPrefix];
  protocol::put_length(prefix, static_cast<std::uint32_t>(frame.size()));
  iovec iov[2] = {{prefix, sizeof prefix}, {frame.data(), frame.size()}};
  std::size_t total = sizeof prefix + frame.size(), sent = 0;
  auto give_up = Clock::now() + kSendPatience;
  while (sent < total) {
    msghdr msg{};
    // Skip what was sent already.
    std::size_t skip = sent;
    iovec rest[2];
    int n_iov = 0;
    for (auto& v : iov) {
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      rest[n_iov++] = {static_cast<char*>(v.iov_base) + skip, v.iov_len - skip};
      skip = 0;
    }
    msg.msg_iov = rest;
    msg.msg_iovlen = static_cast<std::size_t>(n_iov);
    // MSG_NOSIGNAL: a daemon gone is an error here, not a SIGPIPE that ends the process.
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() < give_up) {
      // A large frame meets a full socket buffer: wait for the daemon to read more.
      pollfd p{fd_, POLLOUT, 0};
      (void)::poll(&p, 1, 100);
      continue;
    }
    // Broken (or stalled past patience, with part of a frame sent: the stream cannot continue).
    drop();
    return false;
  }
  return true;
}

bool UnixTransport::complete_frame_buffered() const {
  if (in_large_) return false;
  std::size_t have = end_ - begin_;
  if (have < protocol::kLengthPrefix) return false;
  auto size = protocol::get_length(reinterpret_cast<const unsigned char*>(buf_.data() + begin_));
  return have - protocol::kLengthPrefix >= size;
}

std::optional<InFrame> UnixTransport::receive() {
  if (fd_ < 0) return std::nullopt;
  for (;;) {
    if (in_large_) {
      if (large_got_ == large_.size()) {
        in_large_ = false;
        return InFrame(std::move(large_));
      }
      ssize_t n = ::read(fd_, large_.data() + large_got_, large_.size() - large_got_);
      if (n > 0) {
        large_got_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
      drop();
      return std::nullopt;
    }
    std::size_t have = end_ - begin_;
    if (have >= protocol::kLengthPrefix) {
      auto size =
          protocol::get_length(reinterpret_cast<const unsigned char*>(buf_.data() + begin_));
      if (have - protocol::kLengthPrefix >= size) {
        // Whole in the buffer: a view, valid until the next receive().
        std::string_view frame(buf_.data() + begin_ + protocol::kLengthPrefix, size);
        begin_ += protocol::kLengthPrefix + size;
        return InFrame::view(frame);
      }
      if (protocol::kLengthPrefix + size > buf_.size()) {
        // Longer than the buffer: read into a string of its own, starting with what is here.
        large_.resize(size);
        large_got_ = have - protocol::kLengthPrefix;
        std::memcpy(large_.data(), buf_.data() + begin_ + protocol::kLengthPrefix, large_got_);
        begin_ = end_ = 0;
        in_large_ = true;
        continue;
      }
    }
    // Need more: make room at the end, then read.
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (begin_ > 0 && buf_.size() - end_ < kBuffer / 2) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
    drop();  // end of stream: the daemon closed the connection (it exited or dropped us)
    return std::nullopt;
  }
}

}  // namespace

std::unique_ptr<Transport> make_unix_transport(const std::string& endpoint) {
  return std::make_unique<UnixTransport>(endpoint);
}

}  // namespace syncmgr::detail
