#include "engine/cache/cache_replay.hpp"

#include <algorithm>
#include <string>

namespace tollgate::engine {

namespace {

using nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The chunk envelope: the completion's top-level fields except its body.
json envelope(const json& completion) {
  json head = json::object();
  for (const auto& [k, v] : completion.items()) {
    if (k != "choices" && k != "usage" && k != "object") head[k] = v;
  }
  head["object"] = "chat.completion.chunk";
  return head;
}

json chunk_with(const json& head, json choice) {
  json c = head;
  c["choices"] = json::array({std::move(choice)});
  return c;
}

json choice_delta(const json& index, json delta) {
  return {{"index", index}, {"delta", std::move(delta)}, {"finish_reason", nullptr}};
}

void replay_choice(const json& head, const json& choice, const ReplayOptions& opt,
                   std::vector<json>& out) {
  const json index = choice.value("index", json(0));
  const json empty = json::object();
  const json& message = choice.contains("message") && choice["message"].is_object()
                            ? choice["message"] : empty;

  // Role delta: the role plus every field that is not streamed piecewise.
  json first = {{"role", message.value("role", std::string("assistant"))}};
  std::vector<std::string> text_fields;
  for (const auto& [k, v] : message.items()) {
    if (k == "role" || k == "tool_calls") continue;
    if (v.is_string()) {
      text_fields.push_back(k);
      first[k] = "";  // sets the field even when the text is empty
    } else {
      first[k] = v;
    }
  }
  out.push_back(chunk_with(head, choice_delta(index, std::move(first))));

  // Reasoning streams before the answer, as providers send it.
  auto rank = [](const std::string& k) { return k == "reasoning_content" ? 0 : k == "content" ? 1 : 2; };
  std::stable_sort(text_fields.begin(), text_fields.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  for (const std::string& k : text_fields) {
    for (std::string_view piece : split_for_replay(message[k].get_ref<const std::string&>(), opt)) {
      out.push_back(chunk_with(head, choice_delta(index, {{k, piece}})));
    }
  }

  if (auto tc = message.find("tool_calls"); tc != message.end() && tc->is_array()) {
    std::size_t i = 0;
    for (const auto& call : *tc) {
      json opening = call;
      opening["index"] = call.value("index", json(i));
      std::string args;
      if (auto fn = opening.find("function"); fn != opening.end() && fn->is_object()) {
        if (auto a = fn->find("arguments"); a != fn->end() && a->is_string()) {
          args = a->get<std::string>();
          *a = "";
        }
      }
      const json call_index = opening["index"];
      out.push_back(chunk_with(head, choice_delta(index, {{"tool_calls", json::array({opening})}})));
      for (std::string_view piece : split_for_replay(args, opt)) {
        json d = {{"index", call_index}, {"function", {{"arguments", piece}}}};
        out.push_back(chunk_with(head, choice_delta(index, {{"tool_calls", json::array({d})}})));
      }
      ++i;
    }
  }

  json last = choice_delta(index, json::object());
  last["finish_reason"] = choice.value("finish_reason", json("stop"));
  out.push_back(chunk_with(head, std::move(last)));
}

}  // namespace

std::vector<std::string_view> split_for_replay(std::string_view text, const ReplayOptions& opt) {
  std::vector<std::string_view> pieces;
  const std::size_t words = opt.words_per_piece == 0 ? 1 : opt.words_per_piece;
  const std::size_t max_bytes = opt.max_piece_bytes < 4 ? 4 : opt.max_piece_bytes;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t i = start, seen = 0;
    const std::size_t limit = std::min(text.size(), start + max_bytes);
    while (i < limit && seen < words) {
      while (i < limit && !is_space(text[i])) ++i;  // the word
      while (i < limit && is_space(text[i])) ++i;   // its trailing whitespace
      ++seen;
    }
    // Never split a multi-byte character: back up to its first byte.
    if (i < text.size()) {
      std::size_t j = i;
      while (j > start && is_continuation(text[j])) --j;
      if (j > start) i = j;
    }
    pieces.push_back(text.substr(start, i - start));
    start = i;
  }
  return pieces;
}

std::vector<json> replay_chunks(const json& completion, const ReplayOptions& options) {
  std::vector<json> out;
  if (!completion.is_object()) return out;
  const json head = envelope(completion);
  if (auto choices = completion.find("choices"); choices != completion.end() && choices->is_array()) {
    for (const auto& choice : *choices) {
      if (choice.is_object()) replay_choice(head, choice, options, out);
    }
  }
  if (options.include_usage) {
    if (auto usage = completion.find("usage"); usage != completion.end() && !usage->is_null()) {
      json c = head;
      c["choices"] = json::array();
      c["usage"] = *usage;
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace tollgate::engine
