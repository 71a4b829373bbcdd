// A frame (std::string) as a ZeroMQ message, without copying large ones: both sides send through
// this so that a 1 MiB value is not copied once more just to be queued.
#pragma once

#include <cstdlib>
#include <memory>
#include <msgpack.hpp>
#include <string>
#include <zmq.hpp>

namespace syncmgr::protocol {

/// Frames at least this large are handed to ZeroMQ as they are and freed by it once sent; smaller
/// ones are copied, which costs less than a second allocation and a free from ZeroMQ's I/O thread.
constexpr std::size_t kZeroCopyMin = 64 * 1024;

inline zmq::message_t frame_message(std::string&& frame) {
  if (frame.size() < kZeroCopyMin) return zmq::message_t(frame.data(), frame.size());
  auto owned = std::make_unique<std::string>(std::move(frame));
  zmq::message_t msg(
      owned->data(), owned->size(),
      [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned.get());
  owned.release();  // ZeroMQ frees it
  return msg;
}

/// The same for a frame built in an sbuffer (FrameBuilder): a large one's memory goes to ZeroMQ.
inline zmq::message_t frame_message(msgpack::sbuffer&& frame) {
  if (frame.size() < kZeroCopyMin) return zmq::message_t(frame.data(), frame.size());
  std::size_t size = frame.size();
  char* data = frame.release();  // malloc'd by the sbuffer: ZeroMQ frees it
  try {
    return zmq::message_t(
        data, size, [](void* p, void*) { std::free(p); }, nullptr);
  } catch (...) {
    std::free(data);
    throw;
  }
}

}  // namespace syncmgr::protocol
