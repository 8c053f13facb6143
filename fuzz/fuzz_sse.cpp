// The SSE parser on arbitrary bytes. Invariant: the events (and whether an
// event is left unfinished) do not depend on how the bytes are cut into
// reads — whole, one byte at a time, or at cut points taken from the input.
#include <string>
#include <utility>
#include <vector>

#include "adapters/http/sse.hpp"
#include "fuzz/fuzz_check.hpp"

using tollgate::adapters::SseParser;

namespace {

struct Parsed {
  std::vector<std::pair<std::string, std::string>> events;
  bool mid_event = false;
  bool operator==(const Parsed&) const = default;
};

// Feeds `bytes` in pieces ending at each of `cuts` (ascending), then the rest.
Parsed parse(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  SseParser parser;
  Parsed out;
  auto on = [&](std::string_view e, std::string_view d) {
    out.events.emplace_back(e, d);
    return true;
  };
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    FUZZ_CHECK(parser.feed(bytes.substr(at, cut - at), on) == SseParser::Status::ok);
    at = cut;
  }
  FUZZ_CHECK(parser.feed(bytes.substr(at), on) == SseParser::Status::ok);
  out.mid_event = parser.mid_event();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view bytes = tollgate::fuzz::as_text(data, size);
  const Parsed whole = parse(bytes, {});

  for (const auto& [event, payload] : whole.events) {
    FUZZ_CHECK(!event.empty());  // "message" when the stream named none
    FUZZ_CHECK(event.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(payload.find('\r') == std::string::npos);  // line ends never leak into data
  }

  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < size; ++i) every.push_back(i);
  FUZZ_CHECK(parse(bytes, every) == whole);

  // Cut points chosen by the input's own bytes, so the fuzzer steers them
  // (a CR at the end of one read and its LF at the start of the next).
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0, at = 0; i < size && i < 16; ++i) {
    at += 1 + data[i] % 7;
    if (at >= size) break;
    chosen.push_back(at);
  }
  FUZZ_CHECK(parse(bytes, chosen) == whole);

  // A consumer that stops after the first event gets exactly that one.
  SseParser stopping;
  std::vector<std::string> seen;
  const auto status = stopping.feed(bytes, [&](std::string_view, std::string_view d) {
    seen.emplace_back(d);
    return false;
  });
  FUZZ_CHECK((status == SseParser::Status::stopped) == !whole.events.empty());
  if (!whole.events.empty()) FUZZ_CHECK(seen.size() == 1 && seen[0] == whole.events[0].second);

  // A small line limit: refused or parsed, never more memory than allowed.
  SseParser small(64);
  (void)small.feed(bytes, [](std::string_view, std::string_view) { return true; });
  return 0;
}
