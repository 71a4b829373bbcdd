// Loading and generating the shared authentication key.
#pragma once

#include <string>

namespace syncmgr::protocol {

/// Reads a key file: its bytes, less one trailing newline. Throws std::runtime_error with a
/// one-line reason if the file is unreadable, not a regular file, owned by another user (root
/// excepted), shorter than 32 bytes, or accessible by group or others.
std::string read_authkey_file(const std::string& path);

/// Creates a new mode-0600 file holding 64 random hex digits and a newline; returns its path
/// (whose name is random, unrelated to the key). The file is created in $XDG_RUNTIME_DIR when set,
/// else /tmp; whoever generated it removes it when done (syncmgrd does at exit).
std::string generate_authkey_file();

}  // namespace syncmgr::protocol
