#include "tollgate/error.hpp"

namespace tollgate {

std::string_view to_string(ErrorCategory category) noexcept {
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
  }
  return "internal";
}

const char* Error::what() const noexcept {
  if (what_.empty()) {
    try {
      what_ = std::string(to_string(category_)) + ": " + message_;
    } catch (...) {
      return message_.c_str();
    }
  }
  return what_.c_str();
}

}  // namespace tollgate
