// Token estimation before dispatch, for context-window checks and worst-case
// cost reservations.
//
// Conservative by design: it should over-count, never under-count, because
// an under-estimate lets a request past a cap or into a model whose window
// it overflows. Calibrated against OpenAI's cl100k_base and o200k_base on
// the samples in tests/data/token_samples.json (docs/tokens.md has the
// table). In tenths of a token:
//   - an ASCII letter run (a word): 10 per 6 letters, rounded up;
//   - an ASCII digit run: 10 per 3 digits, rounded up (numbers split so);
//   - other ASCII punctuation or symbol: 10 each; a run of newlines/tabs
//     (with the indentation after it): 10; a space: 0 (it joins a word);
//   - a 2-byte UTF-8 code point (accents, Cyrillic, Greek, Arabic): 6;
//   - a 3-byte code point (CJK, kana, hangul): 15;
//   - a 4-byte code point (emoji, rare CJK): 30; a stray byte: 10;
// then 10 % on top, rounded up. Per message 4 tokens of framing, per
// request 3 for the reply primer, per image part 1,105 (a high-detail
// 1024x1024 image on GPT-4o). Tokenizers that split every digit (Qwen,
// Mistral) can exceed the estimate on number-heavy text; budgets settle to
// the provider's reported usage, so only the reservation is affected.
// tests/engine_tokens_test.cpp reports the error on every sample.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace tollgate::engine {

// Tokens in one piece of text.
int64_t estimate_text_tokens(std::string_view text) noexcept;

// Tokens of a chat-completions body's prompt: messages (string or content
// parts, tool calls, names), plus the tool definitions when present.
int64_t estimate_request_tokens(const nlohmann::json& body) noexcept;

}  // namespace tollgate::engine
