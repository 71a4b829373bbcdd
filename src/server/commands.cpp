// The command table and the argument helpers shared by the type files.
#include "server/commands.hpp"

#include <algorithm>

#include "protocol/message.hpp"

namespace syncmgr::server {

void CommandTable::add(std::string name, int min_args, int max_args, CommandFlags flags,
                       Handler handler) {
  auto dot = name.find('.');
  bool is_server_op = name.compare(0, dot, "server") == 0;
  std::string key = name;
  auto [it, inserted] = commands_.emplace(
      std::move(key), Command{std::move(name), {}, min_args, max_args, flags, handler});
  // The type view points into the map's key, which never moves while the table lives.
  if (!is_server_op) it->second.type = std::string_view(it->first).substr(0, dot);
  (void)inserted;
}

const Command* CommandTable::find(std::string_view op) const {
  // As Registry::find: calls come in runs of one op. Commands are never removed.
  if (last_found_ != nullptr && last_found_->name == op) return last_found_;
  auto it = commands_.find(op);
  if (it == commands_.end()) return nullptr;
  last_found_ = &it->second;
  return last_found_;
}

void CommandTable::add_type(std::string_view type, Factory factory) {
  types_[type] = factory;
}

Factory CommandTable::factory(std::string_view type) const {
  auto it = types_.find(type);
  return it == types_.end() ? nullptr : it->second;
}

std::vector<std::string> CommandTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, cmd] : commands_)
    out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

void register_all_commands(CommandTable& table) {
  register_server_commands(table);
  register_namespace_commands(table);
  register_dict_commands(table);
  register_list_commands(table);
  register_lock_commands(table);
  register_condition_commands(table);
  register_queue_commands(table);
  register_semaphore_commands(table);
  register_event_commands(table);
  register_barrier_commands(table);
  register_value_commands(table);
}

Err arg_type_error(std::string_view what, const Value& got, std::string_view wanted) {
  return Err{protocol::err::type, std::string(what) + " must be " + std::string(wanted) + ", not " +
                                      std::string(got.type_name())};
}

OpResult<std::int64_t> int_arg(const Value& v, std::string_view what) {
  if (v.variant().index() == 2) return std::get<std::int64_t>(v.variant());
  if (v.is_integer()) return Err{protocol::err::value, std::string(what) + " is out of range"};
  return arg_type_error(what, v, "an int");
}

}  // namespace syncmgr::server
