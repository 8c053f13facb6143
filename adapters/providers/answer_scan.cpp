// A SAX pass (adapters/json/json_reader.hpp) over a chat.completion answer: it keeps a stack of the
// containers it is inside, each labelled with the one role (if any) it plays
// for usage or the first choice, and records scalars by the role of their
// container and their key. Duplicate keys resolve as nlohmann's DOM parser
// resolves them (the last one wins), so the result is what usage_of() and
// finish_reason_of() would read from decode()'s tree.
#include "adapters/providers/answer_scan.hpp"

#include <cstdint>
#include <vector>

#include "adapters/json/json_parse.hpp"
#include "adapters/json/json_reader.hpp"
#include "adapters/providers/wire_format.hpp"

namespace tollgate::adapters {

namespace {

// What a container is to the scan.
enum class Role : uint8_t {
  top,           // the answer object
  usage,         // top.usage
  details,       // top.usage.prompt_tokens_details
  choices,       // top.choices
  first_choice,  // top.choices[0]
  other,         // anything else: skipped
};

// The member a scalar inside usage or details may be.
enum class Field : uint8_t { none, prompt, completion, cached, cache_hit, finish_reason };

class CompletionScan {
 public:
  std::optional<AnswerFacts> result() const {
    if (!top_seen_ || has_error_ || !choices_is_array_) return std::nullopt;
    AnswerFacts facts;
    if (usage_is_object_) {
      facts.usage.input_tokens = prompt_;
      facts.usage.output_tokens = completion_;
      facts.usage.cached_input_tokens = details_is_object_ ? cached_ : 0;
      if (facts.usage.cached_input_tokens == 0) facts.usage.cached_input_tokens = cache_hit_;
    }
    facts.finish_reason = finish_reason_;
    return facts;
  }

  // read_json's handler.
  bool null() { return scalar(); }
  bool boolean(bool /*value*/) { return scalar(); }
  bool number_integer(int64_t n) { return count(bounded_token_count(n)); }
  bool number_unsigned(uint64_t n) { return count(bounded_token_count(n)); }
  bool number_float(double /*value*/) { return scalar(); }
  bool string(std::string_view s) {
    if (field_ == Field::finish_reason) finish_reason_ = s;
    return scalar();
  }
  bool start_object() { return open(/*object=*/true); }
  bool start_array() { return open(/*object=*/false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  // A member's name: says what the value after it is to the scan, and
  // forgets what an earlier member of the same name said (the last wins).
  bool key(std::string_view name) {
    field_ = Field::none;
    next_ = Role::other;
    switch (stack_.back().role) {
      case Role::top:
        if (name == "error") has_error_ = true;
        if (name == "usage") {
          usage_is_object_ = details_is_object_ = false;
          prompt_ = completion_ = cached_ = cache_hit_ = 0;
          next_ = Role::usage;
        } else if (name == "choices") {
          choices_is_array_ = false;
          finish_reason_.clear();
          next_ = Role::choices;
        }
        break;
      case Role::usage:
        if (name == "prompt_tokens") {
          field_ = Field::prompt;
          prompt_ = 0;
        } else if (name == "completion_tokens") {
          field_ = Field::completion;
          completion_ = 0;
        } else if (name == "prompt_cache_hit_tokens") {
          field_ = Field::cache_hit;
          cache_hit_ = 0;
        } else if (name == "prompt_tokens_details") {
          details_is_object_ = false;
          cached_ = 0;
          next_ = Role::details;
        }
        break;
      case Role::details:
        if (name == "cached_tokens") {
          field_ = Field::cached;
          cached_ = 0;
        }
        break;
      case Role::first_choice:
        if (name == "finish_reason") {
          field_ = Field::finish_reason;
          finish_reason_.clear();
        }
        break;
      default:
        break;
    }
    return true;
  }

 private:
  struct Frame {
    Role role;
    bool object;
    std::size_t items = 0;  // choices: elements begun so far
  };

  // The role of the value starting now: in an object, what its key said;
  // in the choices array, first_choice for the first element.
  Role role_of_next() {
    if (stack_.empty()) return Role::top;
    Frame& in = stack_.back();
    if (in.object) return next_;
    return in.role == Role::choices && in.items++ == 0 ? Role::first_choice : Role::other;
  }

  bool open(bool object) {
    Role role = role_of_next();
    if (role == Role::top) {
      if (!object) return false;  // not an object: decode() refuses it
      top_seen_ = true;
    }
    // A container plays its role only in the shape the DOM readers want.
    switch (role) {
      case Role::usage: usage_is_object_ = object; break;
      case Role::details: details_is_object_ = object; break;
      case Role::choices: choices_is_array_ = !object; break;
      default: break;
    }
    const bool fits = role == Role::choices ? !object : object;
    stack_.push_back(Frame{fits ? role : Role::other, object});
    field_ = Field::none;
    return true;
  }

  bool close() {
    stack_.pop_back();
    field_ = Field::none;
    return true;
  }

  // A scalar that is no count: a container role keyed for it is not met.
  bool scalar() {
    if (stack_.empty()) return false;  // a bare scalar answer: decode() refuses it
    (void)role_of_next();              // counts an array element
    field_ = Field::none;
    return true;
  }

  bool count(int64_t n) {
    if (stack_.empty()) return false;
    (void)role_of_next();
    switch (field_) {
      case Field::prompt: prompt_ = n; break;
      case Field::completion: completion_ = n; break;
      case Field::cached: cached_ = n; break;
      case Field::cache_hit: cache_hit_ = n; break;
      default: break;
    }
    field_ = Field::none;
    return true;
  }

  std::vector<Frame> stack_;
  Role next_ = Role::other;  // what the value after the last key is
  Field field_ = Field::none;
  bool top_seen_ = false, has_error_ = false;
  bool usage_is_object_ = false, details_is_object_ = false, choices_is_array_ = false;
  int64_t prompt_ = 0, completion_ = 0, cached_ = 0, cache_hit_ = 0;
  std::string finish_reason_;
};

}  // namespace

std::optional<AnswerFacts> scan_completion(std::string_view body) {
  CompletionScan scan;
  // The bound parse_json holds answers to: what decode() would refuse, a
  // passed-on answer may not carry either.
  if (!read_json(body, scan, kMaxJsonDepth)) return std::nullopt;
  return scan.result();
}

}  // namespace tollgate::adapters
