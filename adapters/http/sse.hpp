// tollgate::adapters — an incremental Server-Sent Events parser.
//
// Bytes arrive in arbitrary pieces (a TCP read can end mid-line); feed()
// keeps the unfinished line and reports each complete event, per the
// WHATWG "event stream" rules that the providers use: "event:" and "data:"
// fields, multi-line data joined with '\n', comments (":") ignored, and
// LF, CRLF or CR line ends.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tollgate::adapters {

class SseParser {
 public:
  // Called per complete event; return false to stop parsing (feed returns).
  using EventFn = std::function<bool(std::string_view event, std::string_view data)>;

  // A line longer than max_line bytes is an error (a stream that never
  // sends a newline cannot grow memory without bound).
  explicit SseParser(std::size_t max_line = 4u << 20) : max_line_(max_line) {}

  enum class Status { ok, stopped, line_too_long };
  Status feed(std::string_view bytes, const EventFn& on_event);

  // Bytes of an unfinished event held back (non-zero at the end of a body
  // means the stream was cut mid-event).
  bool mid_event() const { return !line_.empty() || has_data_ || !event_.empty(); }

 private:
  bool line(std::string_view l, const EventFn& on_event);  // false: stop

  std::size_t max_line_;
  std::string line_;   // the unfinished line
  bool after_cr_ = false;  // the last byte was '\r': a following '\n' ends nothing
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace tollgate::adapters
