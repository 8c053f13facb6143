// tollgate::adapters — a value or an error message, for the adapters'
// fallible set-up calls (parsing a base URL, loading a CA file, encoding a
// request).
//
// Not tollgate::Result: the adapters library stands alone (its tests link
// nothing else), and every failure here has one category anyway — the
// caller knows which (config for set-up, bad_request for encoding).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tollgate::adapters {

struct Unexpected {
  explicit Unexpected(std::string m) : message(std::move(m)) {}
  std::string message;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Expected(Unexpected e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  // REQUIRES: ok().
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  // REQUIRES: !ok(). What went wrong, for a person.
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, Unexpected> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Unexpected e) : e_(std::move(e.message)), failed_(true) {}  // NOLINT: implicit by design
  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const std::string& error() const { return e_; }

 private:
  std::string e_;
  bool failed_ = false;
};

}  // namespace tollgate::adapters
