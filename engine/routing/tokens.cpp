#include "engine/routing/tokens.hpp"

#include <nlohmann/json.hpp>

namespace tollgate::engine {
namespace {

constexpr int64_t kPerMessage = 4;
constexpr int64_t kReplyPrimer = 3;
constexpr int64_t kPerImage = 1105;

bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_break(unsigned char c) { return c == '\n' || c == '\r' || c == '\t'; }

// Counts in tenths of a token (see tokens.hpp for the table).
int64_t tenths(std::string_view text) noexcept {
  int64_t t = 0;
  const size_t n = text.size();
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  for (size_t i = 0; i < n;) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      size_t j = i + 1;
      if (is_alpha(c)) {
        while (j < n && is_alpha(byte(j))) ++j;
        t += 10 * static_cast<int64_t>((j - i + 5) / 6);
      } else if (is_digit(c)) {
        while (j < n && is_digit(byte(j))) ++j;
        t += 10 * static_cast<int64_t>((j - i + 2) / 3);
      } else if (is_break(c)) {
        while (j < n && (is_break(byte(j)) || byte(j) == ' ')) ++j;
        t += 10;
      } else if (c != ' ') {
        t += 10;
      }
      i = j;
    } else if (c >= 0xF0) {
      t += 30, i += 4;
    } else if (c >= 0xE0) {
      t += 15, i += 3;
    } else if (c >= 0xC0) {
      t += 6, i += 2;
    } else {
      t += 10, i += 1;  // a stray continuation byte: invalid UTF-8
    }
  }
  return t;
}

// Tenths of a token with the 10 % margin, as whole tokens rounded up.
int64_t with_margin(int64_t t) noexcept { return (t * 11 + 99) / 100; }

int64_t text_tenths_of(const nlohmann::json& v) noexcept {
  if (v.is_string()) return tenths(v.get_ref<const std::string&>());
  if (v.is_null()) return 0;
  // Structured values (tool arguments, schemas) are sent as JSON text.
  try {
    return tenths(v.dump());
  } catch (...) {
    return 0;
  }
}

// What a part the estimator could not read counts as: the estimate errs
// high, because an estimate too low lets a request past a spend cap. Only
// an allocation failure inside nlohmann::json gets here.
constexpr int64_t kUnreadableTenths = int64_t{10} * 1'000'000;

bool is_image_part(const nlohmann::json& type) {
  if (!type.is_string()) return false;
  const auto& name = type.get_ref<const std::string&>();
  return name == "image_url" || name == "image" || name == "input_image";
}

int64_t content_tenths(const nlohmann::json& content) noexcept try {
  if (!content.is_array()) return text_tenths_of(content);
  int64_t t = 0;
  for (const auto& part : content) {
    if (!part.is_object()) {
      t += text_tenths_of(part);
      continue;
    }
    auto type = part.find("type");
    if (type != part.end() && is_image_part(*type)) {
      t += 10 * kPerImage;
    } else if (auto text = part.find("text"); text != part.end()) {
      t += text_tenths_of(*text);
    } else {
      t += text_tenths_of(part);
    }
  }
  return t;
} catch (...) {
  return kUnreadableTenths;
}

}  // namespace

int64_t estimate_text_tokens(std::string_view text) noexcept { return with_margin(tenths(text)); }

int64_t estimate_request_tokens(const nlohmann::json& body) noexcept try {
  if (!body.is_object()) return 0;
  int64_t t = 0;
  auto messages = body.find("messages");
  if (messages != body.end() && messages->is_array()) {
    for (const auto& m : *messages) {
      t += 10 * kPerMessage;
      if (!m.is_object()) continue;
      if (auto c = m.find("content"); c != m.end()) t += content_tenths(*c);
      if (auto n = m.find("name"); n != m.end()) t += text_tenths_of(*n);
      if (auto calls = m.find("tool_calls"); calls != m.end()) t += text_tenths_of(*calls);
    }
    t += 10 * kReplyPrimer;
  }
  // Anthropic-style top-level system prompt, if a caller sends one.
  if (auto s = body.find("system"); s != body.end()) t += content_tenths(*s);
  if (auto tools = body.find("tools"); tools != body.end()) t += text_tenths_of(*tools);
  return with_margin(t);
} catch (...) {
  return with_margin(kUnreadableTenths);
}

}  // namespace tollgate::engine
