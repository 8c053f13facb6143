// tollgate::adapters — a validating JSON reader that drives a SAX handler
// with views into the input: Boost.JSON's basic_parser (Boost 1.81), held to
// what nlohmann::json::parse() accepts and reads, with a depth bound.
//
// Why basic_parser and not a DOM parser: the gateway reads two facts off a
// provider's answer (adapters/providers/answer_scan.cpp) and builds
// nlohmann's tree only where one is needed (adapters/json/json_parse.cpp);
// nlohmann's own sax_parse copies every character of every token into a
// std::string, one push_back at a time (~14 % of `tollgate serve`'s
// instructions per request, until a6b7132).
//
// Why basic_parser and not the hand-written reader that replaced nlohmann's
// lexer in a6b7132: it reads with fewer instructions (it scans strings 16
// bytes at a time with SSE2). Callgrind, GCC 12 -O2, the same handlers,
// each text read 10,000 times, instructions per read:
//   the mock's 364-byte chat.completion through the answer scan   8,218 -> 5,594
//   a 1,387-byte gpt-4o answer (escapes, \u2019) through the scan  33,234 -> 20,337
//   the gateway bench's 148-byte request into nlohmann's tree    11,896 -> 11,210
//   a 160-byte stream chunk into nlohmann's tree                  13,241 -> 12,310
// And in `tollgate serve` under callgrind, the gateway bench's request at 8
// connections: 218,643 -> 215,589 instructions per request (reading the
// answer 8,193 -> 5,403). bench/README.md, "JSON reading", has the method.
// Both with the depth bound switched on. Boost.JSON's compiled part
// (boost/json/src.hpp) is built once, in adapters/json_impl.cpp.
//
// What the text must be, rule by rule (nlohmann 3.11, strict mode, no
// comments), and who holds each: an optional UTF-8 byte-order mark at the
// very start (here: basic_parser refuses one); whitespace is space, tab, CR,
// LF; strings refuse control characters below 0x20, unknown escapes, lone or
// mismatched UTF-16 surrogates and any byte sequence that is not well-formed
// UTF-8 (RFC 3629); numbers follow RFC 8259 and are signed integers when
// negative and within int64, unsigned when non-negative and within uint64
// (here: basic_parser reports 0..INT64_MAX as int64, and "-0" as the integer
// 0), otherwise floating point, read from their text by strtod in the C
// locale (here: Boost 1.81's own conversion is not correctly rounded; for
// 31 % of two million random numbers of up to 25 digits it gave another
// double than strtod), and a floating-point value that is not finite is an
// error (here); after the top value only whitespace may follow, up to the
// end or a NUL byte (here: nlohmann's lexer takes a NUL for the end of
// input, so the text is cut at its first one; a NUL anywhere else is an
// error either way).
//
// The one difference left: an exponent past INT_MAX ("0e2147483648",
// "1e-9999999999") is an error here, where nlohmann reads a zero (a
// non-zero mantissa with such a positive exponent is an error in both).
// Three million mutations of the tests' and fuzz corpus' texts found no
// other; tests/adapters_json_test.cpp pins this one, and the fuzzer
// fuzz/fuzz_openai_response.cpp, which holds this reader to nlohmann on
// arbitrary bytes, allows it.
//
// Depth: a text that nests more than `max_depth` arrays and objects is
// refused before the handler sees the deeper one. basic_parser recurses per
// level, so the bound also keeps an answer of 100,000 '[' from a hostile
// upstream off an I/O thread's stack; kMaxJsonDepth (json_parse.hpp) is the
// bound for everything read off the wire.
//
// Handler: bool null(), boolean(bool), number_integer(int64_t),
// number_unsigned(uint64_t), number_float(double), string(std::string_view),
// key(std::string_view), start_object(), end_object(), start_array(),
// end_array(). The views last until the handler returns. A handler
// returning false stops the read, which then fails.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <locale.h>  // newlocale, strtod_l: number text read in the C locale
#include <string>
#include <string_view>

#include <boost/json/basic_parser_impl.hpp>

namespace tollgate::adapters {

namespace json_reader_detail {

// strtod in the "C" locale whatever the embedding program set, as nlohmann
// reads numbers ('.' is the decimal point).
inline double strtod_c(const char* text) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", locale_t{});
  return strtod_l(text, nullptr, c_locale);
}

// basic_parser's handler, forwarding to ours. A string or key longer than
// basic_parser's buffer, or one with escapes that fill it, arrives in parts:
// they are joined into one reused buffer.
template <class Handler>
class Forward {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  explicit Forward(Handler& h) : h_(h) {}

  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return h_.start_object(); }
  bool on_object_end(std::size_t, error_code&) { return h_.end_object(); }
  bool on_array_begin(error_code&) { return h_.start_array(); }
  bool on_array_end(std::size_t, error_code&) { return h_.end_array(); }
  bool on_key_part(string_view s, std::size_t, error_code&) { return part(s); }
  bool on_key(string_view s, std::size_t total, error_code&) {
    return whole(s, total, [this](std::string_view k) { return h_.key(k); });
  }
  bool on_string_part(string_view s, std::size_t, error_code&) { return part(s); }
  bool on_string(string_view s, std::size_t total, error_code&) {
    return whole(s, total, [this](std::string_view v) { return h_.string(v); });
  }
  // The text is whole (write_some with more = false), so a number arrives
  // in one piece, in `s`: a part comes only where the text ends inside one
  // ("1e", "-"), an error either way.
  bool on_number_part(string_view, error_code&) { return false; }
  bool on_int64(int64_t n, string_view s, error_code&) {
    if (n > 0 || (n == 0 && s.front() != '-')) return h_.number_unsigned(static_cast<uint64_t>(n));
    return h_.number_integer(n);  // negative, or "-0": nlohmann's integer 0
  }
  bool on_uint64(uint64_t n, string_view, error_code&) { return h_.number_unsigned(n); }
  bool on_double(double, string_view s, error_code&) {
    number_text_.assign(s.data(), s.size());  // NUL-terminated for strtod
    const double d = strtod_c(number_text_.c_str());
    if (!std::isfinite(d)) return false;  // nlohmann's "number overflow"
    return h_.number_float(d);
  }
  bool on_bool(bool b, error_code&) { return h_.boolean(b); }
  bool on_null(error_code&) { return h_.null(); }
  bool on_comment_part(string_view, error_code&) { return false; }  // comments are off
  bool on_comment(string_view, error_code&) { return false; }

 private:
  bool part(string_view s) {
    parts_.append(s.data(), s.size());
    return true;
  }

  // A string's last part, `total` bytes with the parts before it, handed
  // to `deliver` whole.
  template <class Deliver>
  bool whole(string_view last, std::size_t total, Deliver deliver) {
    if (total == last.size()) return deliver(std::string_view(last.data(), last.size()));
    part(last);
    const bool go_on = deliver(std::string_view(parts_));
    parts_.clear();
    return go_on;
  }

  Handler& h_;
  std::string parts_;
  std::string number_text_;
};

}  // namespace json_reader_detail

// Reads `text` as one JSON value into `handler`; false when the text is not
// JSON as nlohmann::json::parse() reads it (but for the exponent above),
// nests more than `max_depth` arrays and objects, or the handler said stop.
template <class Handler>
bool read_json(std::string_view text, Handler& handler, int max_depth) {
  if (!text.empty() && static_cast<unsigned char>(text.front()) == 0xEF) {
    // A byte-order mark, whole or not at all.
    if (!text.starts_with("\xEF\xBB\xBF")) return false;
    text.remove_prefix(3);
  }
  if (const void* nul = std::memchr(text.data(), 0, text.size())) {
    text = text.substr(0, static_cast<std::size_t>(static_cast<const char*>(nul) - text.data()));
  }
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(max_depth);
  boost::json::basic_parser<json_reader_detail::Forward<Handler>> parser(options, handler);
  boost::json::error_code ec;
  const std::size_t used = parser.write_some(/*more=*/false, text.data(), text.size(), ec);
  return !ec && used == text.size() && parser.done();
}

}  // namespace tollgate::adapters
