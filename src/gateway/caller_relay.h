// A stream for a caller of another dialect than OpenAI chat (Anthropic, Gemini), from any
// provider but its own: canonical chunks (decoded from the provider's stream, or an
// OpenAI-speaking provider's own chunks) become the caller's events through `Encoder`
// (on_chunk, finish). A provider's error mid-stream ends the stream with one error event in
// the caller's dialect (`error_event`), and nothing after it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>

#include "dialects/codec.h"
#include "dialects/openai/fast_path.h"
#include "gateway/relay.h"

namespace tollgate::gateway {

template <class Encoder, std::string (*ErrorEvent)(const core::GatewayError&)>
class CallerRelay final : public StreamRelay {
 public:
  // `decoder`: the provider's stream decoder; null for an OpenAI-speaking provider.
  template <class... EncoderArgs>
  explicit CallerRelay(std::unique_ptr<dialects::ChatStreamDecoder> decoder, EncoderArgs&&... encoder_args)
      : decoder_(std::move(decoder)), encoder_(std::forward<EncoderArgs>(encoder_args)...) {}

  void on_event(const http::SseEvent& ev, std::string& out) override {
    if (error_) return;
    if (decoder_) {
      chunks_.clear();
      decoder_->on_event(ev, chunks_);
      for (const auto& c : chunks_) feed(c, out);
      if (decoder_->error() && !error_) fail(decoder_->error()->error, out);
      return;
    }
    if (!ev.has_data || ev.data == "[DONE]") return;
    feed(ev.data, out);
  }
  void on_end(std::string& out) override {
    if (error_) return;
    if (decoder_) {
      chunks_.clear();
      decoder_->finish(chunks_);
      for (const auto& c : chunks_) feed(c, out);
      if (decoder_->error() && !error_) fail(decoder_->error()->error, out);
    }
    if (!error_) encoder_.finish(usage(), out);
  }
  core::Usage usage() const override { return decoder_ ? decoder_->usage() : usage_; }
  std::optional<core::GatewayError> provider_error() const override { return error_; }
  std::string error_event(const core::GatewayError& e) const override { return ErrorEvent(e); }

 private:
  void fail(const core::GatewayError& e, std::string& out) {
    error_ = e;
    out.append(ErrorEvent(e));
  }
  void feed(std::string_view data, std::string& out) {
    if (error_) return;
    boost::system::error_code ec;
    auto v = boost::json::parse(data, ec);
    if (ec || !v.is_object()) return;
    auto& chunk = v.as_object();
    // An OpenAI-speaking provider reports a mid-stream failure as {"error": {...}}.
    if (auto* e = chunk.if_contains("error"); e && e->is_object()) {
      fail(dialects::openai::upstream_error(502, data, "application/json"), out);
      return;
    }
    if (!decoder_)
      if (auto* u = chunk.if_contains("usage"); u && u->is_object()) dialects::openai::read_usage(*u, usage_);
    encoder_.on_chunk(chunk, out);
  }

  std::unique_ptr<dialects::ChatStreamDecoder> decoder_;
  Encoder encoder_;
  std::vector<std::string> chunks_;
  core::Usage usage_;
  std::optional<core::GatewayError> error_;
};

}  // namespace tollgate::gateway
