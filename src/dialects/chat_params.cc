#include "dialects/chat_params.h"

#include <algorithm>

#include <fmt/format.h>

namespace tollgate::dialects {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

GatewayError invalid(std::string message, std::string param) {
  return GatewayError::make(ErrorKind::invalid_request, std::move(message), "invalid_request", std::move(param));
}

GatewayError unsupported(std::string_view param, std::string_view served_by, std::string_view why) {
  std::string msg = fmt::format("Unsupported parameter: '{}' is not supported when this model is served by {}.",
                                param, served_by);
  if (!why.empty()) msg.append(" ").append(why);
  return GatewayError::make(ErrorKind::invalid_request, std::move(msg), "unsupported_parameter", std::string(param));
}

bool has_no_effect(std::string_view k, const json::value& v) {
  // The gateway's business, or bookkeeping with no effect on the answer.
  if (k == "stream" || k == "stream_options" || k == "user" || k == "metadata" || k == "store" ||
      k == "service_tier" || k == "prompt_cache_key" || k == "prompt_cache_retention" || k == "safety_identifier")
    return true;
  // Harmless at their neutral values.
  if (k == "n") return as_int(v) == 1;
  if (k == "logprobs") return v.is_bool() && !v.get_bool();
  if (k == "top_logprobs") return as_int(v) == 0;
  if (k == "parallel_tool_calls") return v.is_bool() && v.get_bool();
  if (k == "presence_penalty" || k == "frequency_penalty") return v.is_number() && v.to_number<double>() == 0.0;
  if (k == "logit_bias") return v.is_object() && v.get_object().empty();
  if (k == "response_format") return v.is_object() && str(v.get_object(), "type") == "text";
  if (k == "modalities")
    return v.is_array() && std::all_of(v.get_array().begin(), v.get_array().end(), [](const json::value& m) {
             return m.is_string() && m.get_string() == "text";
           });
  return false;
}

std::optional<GatewayError> stop_sequences(const json::value& stop, json::array& out) {
  if (stop.is_string()) {
    out.push_back(stop);
    return std::nullopt;
  }
  if (stop.is_array()) {
    for (const auto& s : stop.get_array()) {
      if (!s.is_string()) return invalid("'stop' must be a string or an array of strings.", "stop");
      out.push_back(s);
    }
    return std::nullopt;
  }
  return invalid("'stop' must be a string or an array of strings.", "stop");
}

void append_turn(json::array& turns, std::string_view role, std::string_view items_key, json::array items) {
  if (items.empty()) return;
  if (!turns.empty()) {
    auto& last = turns.back().as_object();
    if (last["role"].as_string() == role) {
      auto& have = last[items_key].as_array();
      for (auto& i : items) have.push_back(std::move(i));
      return;
    }
  }
  turns.push_back(json::object{{"role", role}, {items_key, std::move(items)}});
}

std::optional<DataUrl> parse_data_url(std::string_view url) {
  if (!url.starts_with("data:")) return std::nullopt;
  auto comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(5, comma - 5);
  if (!meta.ends_with(";base64")) return std::nullopt;
  meta.remove_suffix(7);
  return DataUrl{meta.substr(0, meta.find(';')), url.substr(comma + 1)};
}

}  // namespace tollgate::dialects
