// Upstreams that answer with something no parser should walk: an answer, a
// stream event and an error body nested 100,000 levels deep. Each is refused
// as a malformed answer (retryable: the next candidate answers) instead of
// being parsed into a tree that a recursive dump() or destructor would then
// overflow an I/O thread's stack on.
#include "request_support.hpp"

using namespace tollgate;
using namespace tollgate::testing;
using adapters::MockFault;

namespace {

const char* kTwoCandidates = R"(
route "default" { try = { "gpt-4o-mini", "deepseek-v4-flash" } }
)";

}  // namespace

TEST_CASE("an answer nested 100,000 deep is a malformed answer, and the next candidate answers", "[request]") {
  MockedEngine m(kTwoCandidates);
  m.mock->script("gpt-4o-mini", fault(MockFault::deep));
  for (const bool as_text : {false, true}) {  // a tree, and the bytes passed on as serve asks
    INFO("answer_as_text " << as_text);
    Request req = chat("support", "hello");
    req.answer_as_text = as_text;
    auto res = m.api().complete(req);
    REQUIRE(res.ok());
    CHECK(res->model == "deepseek-v4-flash");
    if (as_text) {
      CHECK(res->body_text.find("[[[[") == std::string::npos);
      CHECK(res->body_text.find("The quick brown fox") != std::string::npos);
    } else {
      CHECK(res->body["choices"][0]["message"]["content"] == "The quick brown fox jumps over the lazy dog.");
    }
  }
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE model = 'gpt-4o-mini' AND status = 'error' "
                     "AND error_message LIKE '%nests deeper than 128 levels%'") == 4);  // 2 tries, 2 requests
}

TEST_CASE("a stream event nested 100,000 deep after the first delta fails the stream with a clear error", "[request]") {
  MockedEngine m(kTwoCandidates);
  m.mock->script("gpt-4o-mini", fault(MockFault::deep));
  std::string deltas;
  auto res = m.api().stream(chat("support", "hello"), [&](const nlohmann::json& chunk) {
    const auto& d = chunk["choices"][0]["delta"];
    if (d.contains("content") && d["content"].is_string()) deltas += d["content"].get<std::string>();
  });
  // The mock sends the first piece, then the deep event: part of the answer
  // reached the caller, so the stream is not restarted elsewhere.
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::provider);
  CHECK_THAT(res.error().message(), Catch::Contains("part of the answer was sent") &&
                                        Catch::Contains("nests deeper than 128 levels"));
  CHECK_FALSE(deltas.empty());
  CHECK(m.mock->calls("deepseek-v4-flash") == 0);
  // The engine goes on serving.
  m.mock->script("gpt-4o-mini", adapters::MockBehavior{});
  CHECK(m.api().complete(chat("support", "again")).ok());
}
