// A read_json handler that builds the tree, as nlohmann's DOM parser does:
// a value goes into the slot its container and key say, and a repeated key
// replaces the earlier member (the last one wins).
#include "adapters/json/json_parse.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "adapters/json/json_reader.hpp"

namespace tollgate::adapters {
namespace {

using nlohmann::json;

class TreeBuilder {
 public:
  explicit TreeBuilder(json& root) : root_(root) {}

  bool null() { return put(nullptr); }
  bool boolean(bool b) { return put(b); }
  bool number_integer(int64_t n) { return put(n); }
  bool number_unsigned(uint64_t n) { return put(n); }
  bool number_float(double d) { return put(d); }
  bool string(std::string_view s) { return put(json(json::string_t(s))); }
  bool key(std::string_view k) {
    key_.assign(k);
    return true;
  }
  bool start_object() { return open(json::value_t::object); }
  bool start_array() { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

 private:
  // Where the next value goes. Pointers stay valid: object members live in
  // map nodes, and an array grows only while none of its elements is open.
  json* slot() {
    if (open_.empty()) return &root_;
    json& in = *open_.back();
    if (in.is_object()) return &in.get_ref<json::object_t&>()[key_];
    auto& items = in.get_ref<json::array_t&>();
    items.emplace_back();
    return &items.back();
  }
  bool put(json v) {
    *slot() = std::move(v);
    return true;
  }
  bool open(json::value_t type) {
    json* s = slot();
    *s = json(type);
    open_.push_back(s);
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  json& root_;
  std::vector<json*> open_;
  std::string key_;
};

}  // namespace

json parse_json(std::string_view text, int max_depth) {
  json root;
  TreeBuilder builder(root);
  // The reader refuses a text deeper than max_depth before the tree gets there.
  if (!read_json(text, builder, max_depth)) return json(json::value_t::discarded);
  return root;
}

}  // namespace tollgate::adapters
