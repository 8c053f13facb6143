// What an HTTP header line may hold (RFC 9110 5.1 and 5.5), checked where a
// policy declares a provider's headers (with the policy's file:line) and
// again where the HTTP client is made (for an embedder's ProviderConfig).
// Header-only and free of Boost: the DSL uses it too.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace tollgate::adapters {

// Token characters, the only ones a field name may hold.
inline bool is_http_field_name(std::string_view name) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](unsigned char ch) {
    return std::isalnum(ch) || kSymbols.find(static_cast<char>(ch)) != std::string_view::npos;
  });
}

// Control characters (tab aside) would end a header line early: a value
// with a CR or LF injects headers of its own. An API key read from a file
// with its trailing newline is the usual way one gets there.
inline bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char ch) { return (ch < 0x20 && ch != '\t') || ch == 0x7f; });
}

// Names a policy or a catalog gives (routes, models, providers) end up in
// logs, metrics labels and response headers: no control character at all,
// tab included, and no NUL to cut them short.
inline bool has_any_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; });
}

// A URL goes into the request line as it is: a space or a control
// character there would split or end that line.
inline bool has_space_or_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char ch) { return ch <= 0x20 || ch == 0x7f; });
}

inline bool iequals_ascii(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
    return std::tolower(x) == std::tolower(y);
  });
}

// Why a configured header cannot be sent, or empty when it can. The value
// may be a secret: the reason names the header, never shows the value.
inline std::string configured_header_problem(std::string_view name, std::string_view value) {
  if (!is_http_field_name(name)) {
    if (has_control_char(name)) return "a header name holds a control character";
    return "header name '" + std::string(name) +
           "' is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_`|~)";
  }
  if (iequals_ascii(name, "content-length") || iequals_ascii(name, "transfer-encoding"))
    return "header '" + std::string(name) + "' cannot be configured: tollgate sets it from the body";
  if (has_control_char(value))
    return "the value of header '" + std::string(name) +
           "' holds a line break or another control character (a key read with its trailing newline?)";
  return {};
}

}  // namespace tollgate::adapters
