// The public value types' contracts: Result and Error behave alike for T and
// void, a temporary's value() cannot dangle, what() can be read by many
// threads at once, and Cancellation is the engine's own type.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "tollgate/engine.hpp"
#include "tollgate/result.hpp"

using tollgate::BadResultAccess;
using tollgate::Error;
using tollgate::ErrorCategory;
using tollgate::Result;

namespace {

Result<std::string> text_or_error(bool ok) {
  if (ok) return std::string(64, 'x');  // longer than any small-string buffer
  return Error(ErrorCategory::bad_request, "no text");
}

Result<void> nothing_or_error(bool ok) {
  if (ok) return {};
  return Error(ErrorCategory::budget, "team 'a' is at its day cap");
}

}  // namespace

TEST_CASE("error() on a success throws BadResultAccess for Result<T> and Result<void> alike", "[result]") {
  const auto value = text_or_error(true);
  const auto done = nothing_or_error(true);
  CHECK_THROWS_AS(value.error(), BadResultAccess);
  CHECK_THROWS_AS(done.error(), BadResultAccess);
  CHECK_THROWS_WITH(done.error(), Catch::Contains("check ok() first"));
  // And on a failure both hand the error back.
  CHECK(text_or_error(false).error().message() == "no text");
  CHECK(nothing_or_error(false).error().category() == ErrorCategory::budget);
}

TEST_CASE("value() on a temporary Result returns the value itself, not a reference into it", "[result]") {
  static_assert(std::is_same_v<decltype(text_or_error(true).value()), std::string>);
  static_assert(std::is_same_v<decltype(*text_or_error(true)), std::string>);
  static_assert(std::is_same_v<decltype(std::declval<Result<std::string>&>().value()), std::string&>);
  auto&& kept = text_or_error(true).value();  // the Result is gone after this line
  CHECK(kept == std::string(64, 'x'));
  CHECK_THROWS_AS(text_or_error(false).value(), Error);
}

TEST_CASE("what() is composed when the Error is made", "[result]") {
  const Error plain(ErrorCategory::policy, "by_task.lua:12: unknown model");
  CHECK(std::string(plain.what()) == "policy: by_task.lua:12: unknown model");
  const Error quoted(ErrorCategory::policy, "route 'x' failed", ": secret text");
  CHECK(std::string(quoted.what()) == "policy: route 'x' failed: secret text");
  CHECK(quoted.summary() == "route 'x' failed");
  const Error copy = quoted;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
  CHECK(std::string(copy.what()) == quoted.what());
}

TEST_CASE("many threads read one Error's what() at once", "[result][concurrency]") {
  // TSan reported this when what() filled a mutable cache on first use.
  const Error shared(ErrorCategory::provider, "upstream answered 503");
  std::vector<std::thread> readers;
  std::vector<std::string> seen(4);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    readers.emplace_back([&, i] { seen[i] = shared.what(); });
  }
  for (auto& t : readers) t.join();
  for (const auto& s : seen) CHECK(s == "provider: upstream answered 503");
}

TEST_CASE("Cancellation is final and made only through make()", "[result]") {
  // A subclass of its own would be polled once at start and its later
  // cancel() ignored; the type rules that out at compile time.
  static_assert(std::is_final_v<tollgate::Cancellation>);
  static_assert(!std::is_default_constructible_v<tollgate::Cancellation>);
  static_assert(!std::is_copy_constructible_v<tollgate::Cancellation>);
  auto c = tollgate::Cancellation::make();
  CHECK_FALSE(c->cancelled());
  c->cancel("the client went away");
  c->cancel();  // the first cancel counts; a second is harmless
  CHECK(c->cancelled());
}
