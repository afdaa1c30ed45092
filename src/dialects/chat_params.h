// Reading the caller's chat request (canonical, OpenAI chat shaped) the same way in every codec
// that translates it to another provider's dialect (anthropic, gemini, bedrock): its errors,
// the parameters that change nothing in the answer, `stop`, and base64 data URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "core/error.h"
#include "dialects/json_fields.h"

namespace tollgate::dialects {

// 400 invalid_request naming `param`.
core::GatewayError invalid(std::string message, std::string param);

// 400 unsupported_parameter: "'<param>' is not supported when this model is served by
// <served_by>." and `why`.
core::GatewayError unsupported(std::string_view param, std::string_view served_by, std::string_view why);

// True for a parameter that changes nothing in the answer: the gateway's business or
// bookkeeping (stream, user, metadata, ...), or one at its neutral value (n 1, logprobs false,
// penalties 0, response_format text, ...). A codec checks what it maps before asking.
bool has_no_effect(std::string_view key, const boost::json::value& v);

// The caller's `stop` (a string or an array of strings) appended to `out`.
std::optional<core::GatewayError> stop_sequences(const boost::json::value& stop, boost::json::array& out);

// Appends the turn {"role": role, <items_key>: items} to `turns`, into the last turn when that
// has the same role (for providers whose roles must alternate: Gemini, Bedrock). Empty items
// add nothing.
void append_turn(boost::json::array& turns, std::string_view role, std::string_view items_key,
                 boost::json::array items);

// A base64 data URL, "data:image/png;base64,AAAA": the media type as written ("" when it names
// none) and the data. nullopt when `url` is not one.
struct DataUrl {
  std::string_view media_type;
  std::string_view data;
};
std::optional<DataUrl> parse_data_url(std::string_view url);

}  // namespace tollgate::dialects
