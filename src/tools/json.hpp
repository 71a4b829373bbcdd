// JSON <-> syncmgr::Value for the command-line client.
//
// JSON has no bytes and only string keys, so: bin values print as {"$bin": "<base64>"}, maps whose
// keys are not all strings print as {"$map": [[key, value], ...]}, and both read back as what was
// printed (a map whose only key is "$bin" or "$map" prints as a $map, so it round-trips too).
// Parsing accepts standard JSON; integers that fit stay integers, other numbers become floats.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "syncmgr/value.hpp"

namespace syncmgr::tools {

/// Parses one JSON document; nullopt if it is not valid JSON.
std::optional<Value> parse_json(std::string_view text);
std::string to_json(const Value& v);

}  // namespace syncmgr::tools
