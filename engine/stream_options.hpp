// tollgate::engine — the body's `stream_options`, read once its shape is
// known. Both the engine (decide) and `tollgate serve` (before the engine)
// check it, so that no later reader meets a number where it wants a boolean.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tollgate/request.hpp"

namespace tollgate::engine {

// Why the body's stream_options cannot be used, or nullopt when it is absent,
// null, or an object whose include_usage is absent, null or a boolean.
std::optional<std::string> stream_options_problem(const nlohmann::json& body);

// Whether a streamed answer should end with a usage chunk
// (stream_options.include_usage is true); false for any other shape.
bool wants_stream_usage(const Request& request);

}  // namespace tollgate::engine
