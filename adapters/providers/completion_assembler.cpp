#include "adapters/providers/completion_assembler.hpp"

#include <cstddef>

#include "adapters/providers/wire_format.hpp"

namespace tollgate::adapters {

namespace {

using nlohmann::json;

// Most choices (n) or tool calls one answer may carry; an index beyond this
// is a broken stream, not a reason to allocate.
constexpr std::size_t kMaxIndex = 128;

std::size_t index_of(const json& j) {
  auto it = j.find("index");
  if (it == j.end() || !it->is_number_unsigned()) return 0;
  const auto i = it->get<std::size_t>();
  return i < kMaxIndex ? i : kMaxIndex - 1;
}

// Concatenates strings, keeps the latest of anything else.
void merge_field(json& into, const std::string& key, const json& value) {
  auto it = into.find(key);
  if (value.is_string() && it != into.end() && it->is_string()) {
    it->get_ref<std::string&>() += value.get_ref<const std::string&>();
  } else if (it != into.end()) {
    if (!value.is_null()) *it = value;
  } else {
    into.emplace(key, value);
  }
}

void merge_tool_call(std::vector<json>& calls, const json& delta) {
  const std::size_t i = index_of(delta);
  if (calls.size() <= i) calls.resize(i + 1, json::object());
  json& call = calls[i];
  for (const auto& [key, value] : delta.items()) {
    if (key == "index") continue;
    if (key == "function" && value.is_object()) {
      json& fn = call["function"];
      if (!fn.is_object()) fn = json::object();
      for (const auto& [fk, fv] : value.items()) merge_field(fn, fk, fv);
    } else {
      call[key] = value;  // id, type: sent once
    }
  }
}

}  // namespace

void CompletionAssembler::add(const json& chunk) {
  if (!chunk.is_object()) return;
  for (const auto& [key, value] : chunk.items()) {
    if (key == "choices" && value.is_array()) {
      for (const auto& c : value) {
        if (!c.is_object()) continue;
        const std::size_t i = index_of(c);
        if (choices_.size() <= i) choices_.resize(i + 1);
        Choice& choice = choices_[i];
        if (auto d = c.find("delta"); d != c.end() && d->is_object()) {
          for (const auto& [dk, dv] : d->items()) {
            if (dk == "tool_calls" && dv.is_array()) {
              for (const auto& tc : dv) {
                if (tc.is_object()) merge_tool_call(choice.tool_calls, tc);
              }
            } else if (dk == "role") {
              choice.message["role"] = dv;
            } else {
              merge_field(choice.message, dk, dv);
            }
          }
        }
        if (auto fr = c.find("finish_reason"); fr != c.end() && !fr->is_null()) {
          choice.finish_reason = *fr;
          finished_ = true;
        }
      }
    } else if (key == "usage") {
      if (!value.is_null()) usage_ = value;
    } else if (key != "object") {
      // id, created, model... repeat in every chunk: copy only what changed.
      if (auto it = head_.find(key); it == head_.end()) head_.emplace(key, value);
      else if (*it != value) *it = value;
    }
  }
}

std::string CompletionAssembler::text_so_far() const {
  std::string text;
  for (const Choice& c : choices_) {
    append_message_text(c.message, text);
    for (const json& call : c.tool_calls) append_tool_call_text(call, text);
  }
  return text;
}

json CompletionAssembler::take() {
  json out = std::move(head_);
  out["object"] = "chat.completion";
  json choices = json::array();
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    Choice& c = choices_[i];
    if (!c.message.contains("role")) c.message["role"] = "assistant";
    if (!c.message.contains("content")) c.message["content"] = nullptr;
    if (!c.tool_calls.empty()) c.message["tool_calls"] = std::move(c.tool_calls);
    choices.push_back({{"index", i},
                       {"message", std::move(c.message)},
                       {"finish_reason", std::move(c.finish_reason)}});
  }
  out["choices"] = std::move(choices);
  if (!usage_.is_null()) out["usage"] = std::move(usage_);
  return out;
}

bool carries_tokens(const json& chunk) {
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return false;
  for (const auto& c : *choices) {
    auto d = c.find("delta");
    if (d == c.end() || !d->is_object()) continue;
    for (const auto& [key, value] : d->items()) {
      if (key == "role") continue;
      if (value.is_string() && !value.get_ref<const std::string&>().empty()) return true;
      if (value.is_array() && !value.empty()) return true;
    }
  }
  return false;
}

}  // namespace tollgate::adapters
