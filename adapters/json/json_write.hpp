// tollgate::adapters — JSON written into one string by one serializer.
//
// nlohmann's json::dump() builds a new string, a new output adapter and a
// new serializer (which asks the C library for the locale) on every call;
// encoding a request member by member that way was 14 allocations per
// request in `tollgate serve`. A JsonWriter appends to the caller's string
// with one serializer. Output is byte for byte what dump() gives (compact,
// UTF-8 kept as is), and what dump() refuses (invalid UTF-8) it refuses the
// same way, by throwing nlohmann's type_error; or, for text that must be
// written whatever bytes it holds (a report of names from a ledger), it
// writes U+FFFD for them as dump()'s error_handler_t::replace does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tollgate::adapters {

enum class InvalidUtf8 : uint8_t { refuse, replace };

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, InvalidUtf8 invalid = InvalidUtf8::refuse);

  // Appends v.dump().
  void value(const nlohmann::json& v);
  // Appends nlohmann::json(s).dump(): s quoted and escaped.
  void string(std::string_view s);

 private:
  std::string& out_;
  nlohmann::detail::serializer<nlohmann::json> serializer_;
};

}  // namespace tollgate::adapters
