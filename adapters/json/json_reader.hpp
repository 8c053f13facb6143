// tollgate::adapters — a validating, allocation-light JSON reader that
// drives a SAX handler, accepting and rejecting exactly the texts that
// nlohmann::json::parse() does.
//
// Why not nlohmann's own sax_parse: its lexer copies every character of
// every token into a std::string, one push_back at a time, and that was
// ~14 % of `tollgate serve`'s instructions per request for reading two facts
// off a provider's answer (adapters/providers/answer_scan.cpp). This reader hands the
// handler views into the input; only a string with escapes is decoded, into
// one reused buffer.
//
// What "exactly" means, rule by rule (nlohmann 3.11, strict mode, no
// comments): an optional UTF-8 byte-order mark at the very start; whitespace
// is space, tab, CR, LF; strings reject control characters below 0x20,
// unknown escapes, lone or mismatched UTF-16 surrogates and any byte
// sequence that is not well-formed UTF-8 (RFC 3629); numbers follow RFC 8259
// and are signed integers when negative and within int64, unsigned when
// within uint64, otherwise floating point, and a floating-point value that
// is not finite is an error; after the top value only whitespace may
// follow, up to the end or a NUL byte (nlohmann's lexer reads NUL as the end
// of input, so it ignores what comes after one). The fuzzer fuzz/fuzz_openai_response.cpp holds the reader to
// nlohmann's parser on arbitrary bytes.
//
// Handler: bool null(), boolean(bool), number_integer(int64_t),
// number_unsigned(uint64_t), number_float(double), string(std::string_view),
// key(std::string_view), start_object(), end_object(), start_array(),
// end_array(). A handler returning false stops the read, which then fails.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <locale.h>  // newlocale, strtod_l: number text read in the C locale
#include <string>
#include <string_view>

namespace tollgate::adapters {

namespace json_reader_detail {

// strtod in the "C" locale whatever the embedding program set, as nlohmann
// reads numbers ('.' is the decimal point).
inline double strtod_c(const char* text) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", locale_t{});
  return strtod_l(text, nullptr, c_locale);
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The length of the well-formed UTF-8 sequence of two or more bytes that
// starts at p (lead byte >= 0x80), or 0 when it is not one (RFC 3629's
// table, as nlohmann's lexer checks it).
inline size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  auto in = [&](size_t i, unsigned char lo, unsigned char hi) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xED) return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (c == 0xF4) return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

template <class Handler>
class Reader {
 public:
  Reader(std::string_view text, Handler& handler)
      : p_(reinterpret_cast<const unsigned char*>(text.data())), end_(p_ + text.size()), h_(handler) {}

  bool read() {
    if (end_ - p_ >= 1 && p_[0] == 0xEF) {  // a byte-order mark, whole or not at all
      if (end_ - p_ < 3 || p_[1] != 0xBB || p_[2] != 0xBF) return false;
      p_ += 3;
    }
    if (!value()) return false;
    skip_space();
    return p_ == end_ || *p_ == 0;  // nlohmann's lexer takes a NUL for the end
  }

 private:
  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // One value, containers included, without recursion: `open_` holds the
  // open containers, '{' or '[' each (a short string: no allocation below
  // 16 levels).
  bool value() {
    for (;;) {
      // A value starts here.
      skip_space();
      if (p_ == end_) return false;
      switch (*p_) {
        case '{':
          ++p_;
          if (!h_.start_object()) return false;
          skip_space();
          if (p_ < end_ && *p_ == '}') {
            ++p_;
            if (!h_.end_object()) return false;
            break;
          }
          open_.push_back('{');
          if (!member_key()) return false;
          continue;  // the member's value
        case '[':
          ++p_;
          if (!h_.start_array()) return false;
          skip_space();
          if (p_ < end_ && *p_ == ']') {
            ++p_;
            if (!h_.end_array()) return false;
            break;
          }
          open_.push_back('[');
          continue;  // the first element
        case '"':
          if (!string_token() || !h_.string(text_)) return false;
          break;
        case 't':
          if (!literal("true") || !h_.boolean(true)) return false;
          break;
        case 'f':
          if (!literal("false") || !h_.boolean(false)) return false;
          break;
        case 'n':
          if (!literal("null") || !h_.null()) return false;
          break;
        default:
          if (!number()) return false;
          break;
      }
      // A value ended: close containers until one goes on.
      for (;;) {
        if (open_.empty()) return true;
        skip_space();
        if (p_ == end_) return false;
        const bool object = open_.back() == '{';
        if (*p_ == ',') {
          ++p_;
          if (object && !member_key()) return false;
          break;  // the next value
        }
        const unsigned char close = object ? '}' : ']';
        if (*p_ != close) return false;
        ++p_;
        open_.pop_back();
        if (!(object ? h_.end_object() : h_.end_array())) return false;
      }
    }
  }

  // `"name" :` of an object member.
  bool member_key() {
    skip_space();
    if (p_ == end_ || *p_ != '"') return false;
    if (!string_token() || !h_.key(text_)) return false;
    skip_space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size()) return false;
    for (char c : word)
      if (*p_++ != static_cast<unsigned char>(c)) return false;
    return true;
  }

  // A string at p_ (on its opening quote); text_ views its decoded content.
  bool string_token() {
    const unsigned char* start = ++p_;
    // The common case: no escape, so the content is a view of the input.
    for (;;) {
      if (p_ == end_) return false;
      const unsigned char c = *p_;
      if (c == '"') {
        text_ = std::string_view(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') break;
      if (c < 0x20) return false;
      if (c < 0x80) {
        ++p_;
      } else {
        const size_t n = utf8_sequence(p_, end_);
        if (n == 0) return false;
        p_ += n;
      }
    }
    // An escape: decode from here into the reused buffer.
    decoded_.assign(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
    for (;;) {
      if (p_ == end_) return false;
      const unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        text_ = decoded_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c < 0x20) {
        return false;
      } else if (c < 0x80) {
        decoded_ += static_cast<char>(c);
        ++p_;
      } else {
        const size_t n = utf8_sequence(p_, end_);
        if (n == 0) return false;
        decoded_.append(reinterpret_cast<const char*>(p_), n);
        p_ += n;
      }
    }
  }

  // An escape at p_ (on its backslash), decoded onto decoded_.
  bool escape() {
    if (end_ - p_ < 2) return false;
    const unsigned char kind = p_[1];
    p_ += 2;
    switch (kind) {
      case '"': decoded_ += '"'; return true;
      case '\\': decoded_ += '\\'; return true;
      case '/': decoded_ += '/'; return true;
      case 'b': decoded_ += '\b'; return true;
      case 'f': decoded_ += '\f'; return true;
      case 'n': decoded_ += '\n'; return true;
      case 'r': decoded_ += '\r'; return true;
      case 't': decoded_ += '\t'; return true;
      case 'u': break;
      default: return false;
    }
    int32_t cp = hex4();
    if (cp < 0) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
    if (cp >= 0xD800 && cp <= 0xDBFF) {               // must pair with a low one
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      const int32_t low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(decoded_, static_cast<uint32_t>(cp));
    return true;
  }

  int32_t hex4() {
    if (end_ - p_ < 4) return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_value(static_cast<char>(p_[i]));
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    p_ += 4;
    return v;
  }

  static bool digit(unsigned char c) { return c >= '0' && c <= '9'; }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number() {
    const unsigned char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    uint64_t magnitude = 0;
    bool fits = true;  // the integer part fits in 64 bits
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && digit(*p_)) {
        const uint64_t d = *p_ - '0';
        if (magnitude > (UINT64_MAX - d) / 10) fits = false;
        magnitude = magnitude * 10 + d;
        ++p_;
      }
    }
    bool is_float = false;
    if (p_ < end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (!is_float && fits) {
      if (!negative) return h_.number_unsigned(magnitude);
      if (magnitude <= static_cast<uint64_t>(INT64_MAX) + 1)
        return h_.number_integer(magnitude == static_cast<uint64_t>(INT64_MAX) + 1
                                     ? INT64_MIN
                                     : -static_cast<int64_t>(magnitude));
    }
    // Floating point, or an integer past 64 bits (nlohmann reads both so).
    number_text_.assign(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
    const double d = strtod_c(number_text_.c_str());
    if (!std::isfinite(d)) return false;  // nlohmann's "number overflow"
    return h_.number_float(d);
  }

  const unsigned char* p_;
  const unsigned char* const end_;
  Handler& h_;
  std::string_view text_;     // the last string's content
  std::string decoded_;       // a string with escapes, decoded
  std::string number_text_;   // a floating-point number, NUL-terminated for strtod
  std::string open_;          // the open containers, '{' or '[' each
};

}  // namespace json_reader_detail

// Reads `text` as one JSON value into `handler`; false when the text is not
// JSON as nlohmann::json::parse() reads it, or the handler said stop.
template <class Handler>
bool read_json(std::string_view text, Handler& handler) {
  return json_reader_detail::Reader<Handler>(text, handler).read();
}

}  // namespace tollgate::adapters
