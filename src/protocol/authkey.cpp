// Key files: strict permissions, because the key is the only thing that stands between the network
// and every object in the daemon.
#include "protocol/authkey.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "protocol/mac.hpp"
#include "protocol/wire.hpp"

namespace syncmgr::protocol {

std::string read_authkey_file(const std::string& path) {
  // O_NONBLOCK: a FIFO (or a device) put where the key should be must not hang us in open().
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    // A system_error keeps errno, so that a caller can tell "out of descriptors" (a resource
    // limit) from a missing or unreadable key.
    int err = errno;
    throw std::system_error(err, std::generic_category(), "cannot read key file " + path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("key file " + path + " is not a regular file");
  }
  // Someone else's file is not a key this user chose, even when it is readable (as root).
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    ::close(fd);
    throw std::runtime_error("key file " + path + " is owned by uid " + std::to_string(st.st_uid) +
                             ", not by this user (uid " + std::to_string(::geteuid()) +
                             ") or root");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    throw std::runtime_error("key file " + path +
                             " is accessible by group or others; run: chmod 600 " + path);
  }
  std::string key;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot read key file " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    key.append(buf, static_cast<std::size_t>(n));
    if (key.size() > 65536) {
      ::close(fd);
      throw std::runtime_error("key file " + path + " is larger than 64 KiB");
    }
  }
  ::close(fd);
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (key.size() < kMinKeySize)
    throw std::runtime_error("key in " + path + " is " + std::to_string(key.size()) +
                             " bytes; at least 32 are required");
  return key;
}

std::string generate_authkey_file() {
  const char* dir = std::getenv("XDG_RUNTIME_DIR");
  std::string base = (dir != nullptr && *dir != '\0') ? dir : "/tmp";
  unsigned char raw[32];
  random_bytes(raw, sizeof raw);
  static const char hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char c : raw) {
    text.push_back(hex[c >> 4]);
    text.push_back(hex[c & 15]);
  }
  // The name tells nothing of the key: it is listed in a shared directory and in the log.
  unsigned char tag[6];
  random_bytes(tag, sizeof tag);
  std::string name;
  for (unsigned char c : tag) {
    name.push_back(hex[c >> 4]);
    name.push_back(hex[c & 15]);
  }
  std::string path = base + "/syncmgrd-" + std::to_string(::getpid()) + "-" + name + ".key";
  // O_EXCL: never reuse or follow a file someone else placed there.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot create key file " + path + ": " + std::strerror(errno));
  text.push_back('\n');
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok) throw std::runtime_error("cannot write key file " + path);
  return path;
}

}  // namespace syncmgr::protocol
