// What the cache stores: the canonical completion (an OpenAI chat.completion, usage included),
// whatever dialect the answer was given in, so a hit can be answered in any dialect, whole or
// streamed. And the taps that rebuild that completion from the bytes the caller was sent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/usage.h"
#include "dialects/codec.h"
#include "http/sse.h"

namespace tollgate::cache {

struct Entry {
  boost::json::object completion;   // chat.completion, with `usage` when it was known
  std::optional<double> cost_usd;   // what the answer cost when it was made (unknown: none)
  int64_t stored_at_ms = 0;         // unix ms
  std::vector<float> embedding;     // semantic entries: the request text's vector (an index rebuilds from it)
};

std::string encode_entry(const Entry& e);
std::optional<Entry> decode_entry(std::string_view text);

// core::Usage as OpenAI's `usage` object.
boost::json::object usage_object(const core::Usage& u);

// The completion as the stream a provider would have sent: chat.completion.chunk events (role,
// content, reasoning, tool calls, finish), a usage chunk, then [DONE]; SSE text.
std::string completion_to_sse(const boost::json::object& completion);

// Builds a completion from chat.completion.chunk objects, choice by choice.
class CompletionAssembler {
 public:
  void on_chunk(const boost::json::object& chunk);
  // Every choice seen finished, and no error came.
  bool complete() const;
  boost::json::object completion(const core::Usage& usage) const;

 private:
  struct ToolCall {
    std::string id, name, arguments;
  };
  struct Choice {
    std::string role = "assistant", content, reasoning, finish_reason;
    bool has_content = false;
    std::map<int64_t, ToolCall> tool_calls;
  };
  std::string id_, model_, fingerprint_;
  int64_t created_ = 0;
  std::map<int64_t, Choice> choices_;
  bool failed_ = false;
};

// The shape of the answers a caller receives, which the tap reads back.
enum class AnswerShape {
  openai_chat,   // chat.completion / chat.completion.chunk SSE
  anthropic,     // a message / Messages SSE events
  gemini,        // a GenerateContentResponse / its SSE events
  gemini_array,  // a Gemini stream as one JSON array (no alt=sse)
  responses,     // a response object / Responses SSE events
};

// A Responses API response object as the chat.completion it says (its message text, function
// calls, usage); nullopt unless its status is completed.
std::optional<boost::json::object> completion_of_response(const boost::json::object& response);

// Fed the answer exactly as the caller received it (in the caller's dialect, after output
// guardrails), it yields the canonical completion when the answer was whole and well.
class AnswerTap {
 public:
  explicit AnswerTap(AnswerShape shape);
  ~AnswerTap();
  void on_stream(std::string_view bytes);
  void on_whole(std::string_view body);
  void on_completion(const boost::json::object& completion);
  // nullopt when the answer was cut, errored or unreadable.
  std::optional<boost::json::object> result(const core::Usage& usage);

 private:
  void on_chunk_text(std::string_view data);
  void on_event(const http::SseEvent& ev);
  void decoded(std::vector<std::string>& chunks);
  AnswerShape shape_;
  bool failed_ = false;
  http::SseReader reader_;
  std::unique_ptr<dialects::ChatStreamDecoder> decoder_;  // Anthropic / Gemini events -> chunks
  CompletionAssembler assembler_;
  bool streamed_ = false;
  std::string array_;  // gemini_array: the stream so far
  std::optional<boost::json::object> whole_;
};

}  // namespace tollgate::cache
