// tollgate — the one error type, and Result<T>, the value-or-error every
// fallible call returns.
//
// Errors are values: a call that can fail returns Result<T>. Result::value()
// throws the Error (it derives from std::exception) for callers who prefer
// exceptions; nothing inside tollgate relies on that.
//
// Thread-safety: an Error and a Result are values with no hidden state; any
// number of threads may read one at once (what() included).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tollgate {

enum class ErrorCategory {
  bad_request,  // the request itself is malformed or asks for the impossible
  policy,       // a policy failed to load, or failed while deciding
  budget,       // a spend cap refused the request
  provider,     // the upstream provider answered with an error
  timeout,      // a deadline passed (connect, first byte, idle, total)
  cancelled,    // the caller cancelled the request
  ledger,       // the ledger could not record (disk full, read-only, locked)
  config,       // the engine's options or catalog are invalid
  internal,     // a bug in tollgate; please report it
  // No candidate could be tried now: the ones the request may use are all
  // cooling down after repeated upstream failures (their circuit breakers
  // are open). Transient: Error::retry_after_ms() says when to try again.
  // (Last, so the earlier values keep their numbers.)
  unavailable,
};

// "bad_request", "policy", ... — stable names, used in logs and the ledger.
constexpr std::string_view to_string(ErrorCategory category) noexcept {
  switch (category) {
    case ErrorCategory::bad_request: return "bad_request";
    case ErrorCategory::policy: return "policy";
    case ErrorCategory::budget: return "budget";
    case ErrorCategory::provider: return "provider";
    case ErrorCategory::timeout: return "timeout";
    case ErrorCategory::cancelled: return "cancelled";
    case ErrorCategory::ledger: return "ledger";
    case ErrorCategory::config: return "config";
    case ErrorCategory::internal: return "internal";
    case ErrorCategory::unavailable: return "unavailable";
  }
  return "internal";
}

class Error : public std::exception {
 public:
  Error(ErrorCategory category, std::string message)
      : category_(category), message_(std::move(message)) {
    compose_what();
  }
  // An error that quotes the policy's own code: `summary` says what failed
  // in tollgate's words, `quoted` continues it with text the policy produced
  // (a Lua error message, a routing trace), separator included. message()
  // is the two joined. A policy can put anything it has seen into its
  // errors, another team's prompt included, so a front end answering
  // people other than the policy's author shows summary() and logs
  // message() (tollgate serve does).
  Error(ErrorCategory category, std::string summary, std::string_view quoted)
      : category_(category), message_(std::move(summary)), summary_size_(message_.size()) {
    message_ += quoted;
    compose_what();
  }

  ErrorCategory category() const noexcept { return category_; }
  // What went wrong and, where it can, what to do about it. Policy errors
  // begin with "file:line: ".
  const std::string& message() const noexcept { return message_; }
  // message() without the policy's quoted text; all of it when none.
  std::string_view summary() const noexcept {
    return std::string_view(message_).substr(0, summary_size_);
  }
  // "policy: by_task.lua:12: unknown model 'gpt-5o'". Composed when the
  // Error is made, so reading it writes nothing.
  const char* what() const noexcept override { return what_.c_str(); }

  // For an `unavailable` error: milliseconds until the first of the
  // candidates' open circuits lets a call through again (0: any moment now,
  // its probe is in flight). 0 for every other error.
  int64_t retry_after_ms() const noexcept { return retry_after_ms_; }
  Error& set_retry_after_ms(int64_t ms) noexcept {
    retry_after_ms_ = ms;
    return *this;
  }

 private:
  // Header-only, like the rest of Error: dsl/ builds Errors and links
  // nothing of the engine's.
  void compose_what() {
    const std::string_view name = to_string(category_);
    what_.reserve(name.size() + 2 + message_.size());
    what_.append(name).append(": ").append(message_);
  }

  ErrorCategory category_;
  std::string message_;
  std::size_t summary_size_ = std::string::npos;
  int64_t retry_after_ms_ = 0;
  std::string what_;
};

// Thrown by Result::error() on a Result that holds no error: asking a
// success for its error is a bug in the caller, reported the same way for
// Result<T> and Result<void>.
class BadResultAccess : public std::logic_error {
 public:
  BadResultAccess() : std::logic_error("tollgate::Result::error() called on a success; check ok() first") {}
};

// Result<T> holds either a T or an Error. Result<void> holds only the error,
// if any.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Throws the Error when there is no value. On a temporary Result the value
  // is moved out and returned by value, so `auto&& v = f().value();` holds
  // the value itself, not a reference into a destroyed Result.
  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T value() && { check(); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }

  // The error. Throws BadResultAccess when ok().
  const Error& error() const {
    if (ok()) throw BadResultAccess();
    return std::get<1>(v_);
  }

 private:
  void check() const {
    if (!ok()) throw Error(std::get<1>(v_));
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (e_) throw Error(*e_);
  }
  // The error. Throws BadResultAccess when ok().
  const Error& error() const {
    if (!e_) throw BadResultAccess();
    return *e_;
  }

 private:
  std::optional<Error> e_;
};

}  // namespace tollgate
