// Loading and generating the shared authentication key.
#pragma once

#include <string>

namespace syncmgr::protocol {

/// Reads a key file: its bytes, less one trailing newline. Throws std::runtime_error with a
/// one-line reason if the file is unreadable, shorter than 32 bytes, or readable by group or
/// others.
std::string read_authkey_file(const std::string& path);

/// Creates a new mode-0600 file holding 64 random hex digits and a newline; returns its path.
/// The file is created in $XDG_RUNTIME_DIR when set, else /tmp.
std::string generate_authkey_file();

}  // namespace syncmgr::protocol
