#include "adapters/http/sse.hpp"

namespace tollgate::adapters {

SseParser::Status SseParser::feed(std::string_view bytes, const EventFn& on_event) {
  std::size_t i = 0;
  if (after_cr_ && !bytes.empty() && bytes.front() == '\n') i = 1;  // CRLF split across reads
  after_cr_ = false;
  while (i < bytes.size()) {
    const std::size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      if (line_.size() + (bytes.size() - i) > max_line_) return Status::line_too_long;
      line_.append(bytes.substr(i));
      break;
    }
    bool go;
    if (line_.empty()) {
      go = line(bytes.substr(i, end - i), on_event);
    } else {
      line_.append(bytes.substr(i, end - i));
      std::string whole = std::move(line_);
      line_.clear();
      go = line(whole, on_event);
    }
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        after_cr_ = true;
      }
    }
    if (!go) return Status::stopped;
  }
  return Status::ok;
}

bool SseParser::line(std::string_view l, const EventFn& on_event) {
  if (l.empty()) {  // blank line: dispatch
    if (!has_data_) {
      event_.clear();
      return true;
    }
    const bool go = on_event(event_.empty() ? std::string_view("message") : event_, data_);
    event_.clear();
    data_.clear();
    has_data_ = false;
    return go;
  }
  if (l.front() == ':') return true;  // comment (keep-alive pings)
  const std::size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
  return true;  // id, retry and unknown fields do not matter to chat streams
}

}  // namespace tollgate::adapters
