#include "gateway/relay.h"

#include "core/error.h"
#include "core/json_scan.h"
#include "core/spare_strings.h"
#include "dialects/openai/fast_path.h"
#include "cache/entry.h"
#include "gateway/phases.h"
#include "http/sse.h"

#include <boost/json/parse.hpp>

#include <fmt/format.h>

namespace tollgate::gateway {
namespace net = boost::asio;

// Defined in dispatch_anthropic.cc: the relays whose caller speaks Anthropic.
std::unique_ptr<StreamRelay> anthropic_caller_relay(std::unique_ptr<dialects::ChatStreamDecoder> decoder,
                                                    std::string caller_model, int64_t prompt_estimate);
// Defined in dispatch_gemini.cc: Gemini callers.
std::unique_ptr<StreamRelay> gemini_caller_relay(std::unique_ptr<dialects::ChatStreamDecoder> decoder,
                                                 std::string caller_model);

namespace {

class OpenAIPassthrough final : public StreamRelay {
 public:
  explicit OpenAIPassthrough(bool strip_usage) : tap_(strip_usage) {}
  void on_event(const http::SseEvent& ev, std::string& out) override {
    // A replacement is appended to `out` by the tap itself.
    if (tap_.on_event(ev, out) == dialects::openai::StreamTap::Action::forward) out.append(ev.raw);
  }
  void on_end(std::string&) override {}
  core::Usage usage() const override { return tap_.usage(); }
  std::string error_event(const core::GatewayError& e) const override {
    return http::sse_data(core::to_openai_body(e));
  }

 private:
  dialects::openai::StreamTap tap_;
};

// A translating provider (Anthropic, Gemini) to an OpenAI caller: decoded chunks are framed
// as SSE; the usage chunk goes through the same tap as on the fast path.
class OpenAICallerRelay final : public StreamRelay {
 public:
  OpenAICallerRelay(std::unique_ptr<dialects::ChatStreamDecoder> d, bool strip_usage)
      : decoder_(std::move(d)), tap_(strip_usage) {}
  void on_event(const http::SseEvent& ev, std::string& out) override {
    if (reported_) return;
    chunks_.clear();
    decoder_->on_event(ev, chunks_);
    emit(out);
    report_error(out);
  }
  void on_end(std::string& out) override {
    if (reported_) return;
    chunks_.clear();
    decoder_->finish(chunks_);
    emit(out);
    if (!report_error(out)) out.append("data: [DONE]\n\n");
  }
  core::Usage usage() const override { return decoder_->usage(); }
  std::optional<core::GatewayError> provider_error() const override {
    if (decoder_->error()) return decoder_->error()->error;
    return std::nullopt;
  }
  std::string error_event(const core::GatewayError& e) const override {
    return http::sse_data(core::to_openai_body(e));
  }

 private:
  // A provider error event mid-stream becomes OpenAI's error event, which the SDKs raise.
  bool report_error(std::string& out) {
    if (!decoder_->error()) return false;
    if (!reported_) out.append(error_event(decoder_->error()->error));
    reported_ = true;
    return true;
  }
  void emit(std::string& out) {
    for (auto& c : chunks_) {
      // The canonical chunk's signed-reasoning extensions (codec.h) mean nothing to a chat caller.
      if (c.find("\"thinking_signature\":") != std::string::npos || c.find("\"thinking_blocks\":") != std::string::npos) continue;
      http::SseEvent ev;
      ev.data = std::move(c);
      ev.has_data = true;
      if (tap_.on_event(ev, out) == dialects::openai::StreamTap::Action::forward) out.append(http::sse_data(ev.data));
    }
  }
  std::unique_ptr<dialects::ChatStreamDecoder> decoder_;
  dialects::openai::StreamTap tap_;
  std::vector<std::string> chunks_;
  bool reported_ = false;
};

class ResponsesPassthrough final : public StreamRelay {
 public:
  void on_event(const http::SseEvent& ev, std::string& out) override {
    out.append(ev.raw);
    // Only the final event carries usage, nested in the response object: kept, and read once
    // the stream is over rather than before its bytes go out.
    if (ev.event == "response.completed" || ev.event == "response.incomplete" ||
        (ev.event.empty() && ev.data.find("\"response.completed\"") != std::string::npos))
      final_ = ev.data;
  }
  void on_end(std::string&) override {}
  core::Usage usage() const override {
    core::Usage usage;
    boost::system::error_code ec;
    auto v = final_.empty() ? boost::json::value() : boost::json::parse(final_, ec);
    if (ec || !v.is_object()) return usage;
    if (auto* r = v.as_object().if_contains("response"); r && r->is_object())
      if (auto* u = r->as_object().if_contains("usage")) dialects::openai::read_usage(*u, usage);
    return usage;
  }
  std::string error_event(const core::GatewayError& e) const override {
    return http::sse_event("error", core::to_openai_body(e));
  }

 private:
  std::string final_;  // the data of response.completed (or .incomplete)
};

}  // namespace

std::unique_ptr<StreamRelay> responses_passthrough() { return std::make_unique<ResponsesPassthrough>(); }

std::unique_ptr<StreamRelay> openai_passthrough(bool strip_usage) {
  return std::make_unique<OpenAIPassthrough>(strip_usage);
}

std::unique_ptr<StreamRelay> translated_relay(std::unique_ptr<dialects::ChatStreamDecoder> decoder,
                                              Dialect caller, bool strip_usage,
                                              std::string caller_model, int64_t prompt_estimate) {
  if (caller == Dialect::anthropic)
    return anthropic_caller_relay(std::move(decoder), std::move(caller_model), prompt_estimate);
  if (caller == Dialect::gemini) return gemini_caller_relay(std::move(decoder), std::move(caller_model));
  if (!decoder) return openai_passthrough(strip_usage);
  return std::make_unique<OpenAICallerRelay>(std::move(decoder), strip_usage);
}

AttemptResult transport_failure(http::UpstreamFailure f, std::string_view provider) {
  using F = http::UpstreamFailure;
  if (f == F::local) {
    // Ours, not the provider's: no retry (another target would fail alike), no health verdict.
    auto r = AttemptResult::failed(core::GatewayError::make(
        core::ErrorKind::unavailable, "The gateway is overloaded (out of connections); retry shortly.",
        "gateway_overloaded"));
    r.failure().local = true;
    r.failure().extra.emplace_back("retry-after", "1");
    return r;
  }
  const bool timeout = f == F::connect_timeout || f == F::response_timeout || f == F::idle_timeout;
  auto r = AttemptResult::failed(core::GatewayError::make(timeout ? core::ErrorKind::timeout : core::ErrorKind::upstream,
                                                         fmt::format("Provider '{}': {}.", provider, http::describe(f)),
                                                         timeout ? "upstream_timeout" : "upstream_unavailable"));
  r.failure().retry_class = timeout ? "timeout" : "connect";
  return r;
}

namespace {
// Once a piece's events are read, the reader's buffer and the last event's strings go back to
// the worker's spares before the piece is written, and the written text after the write: a
// stream holds no buffer of its own between two pieces, nor during the write, when thousands
// of streams whose events came at the same moment wait at once (issue 18: memory per open
// stream). The spares (core/spare_strings.h) make that free of malloc and free per piece.
// Not in relay_stream itself, whose frame would keep the temporaries.
void release_read_events(http::SseReader& reader, http::SseEvent& ev) {
  reader.release();
  core::give_spare(ev.data);
  core::give_spare(ev.event);
  ev.raw = {};
}

// The head is sent, so the status cannot change: the stream ends with an error event, which
// the SDKs raise as an API error. A coroutine of its own, so that the error and its strings
// are not in relay_stream's frame, which every open stream holds.
net::awaitable<void> end_with_error_event(RequestContext& ctx, const StreamRelay& relay, http::UpstreamFailure f) {
  const bool idle = f == http::UpstreamFailure::idle_timeout;
  ctx.error = idle ? "upstream_idle_timeout" : "upstream_closed";
  auto err = core::GatewayError::make(idle ? core::ErrorKind::timeout : core::ErrorKind::upstream,
                                      std::string(http::describe(f)) + " while streaming.", ctx.error);
  std::string event = relay.error_event(err);
  co_await ctx.ex.write_chunk(event);
}
}  // namespace

net::awaitable<AttemptResult> relay_stream(RequestContext& ctx, AnswerSource& source,
                                           StreamRelay& inner, http::Headers extra) {
  auto framing = array_framing(inner, ctx);
  StreamRelay& relay = framing ? *framing : inner;
  auto headers = base_headers(ctx, relay.content_type());
  headers.emplace_back("cache-control", "no-cache");
  for (auto& h : extra) headers.push_back(std::move(h));
  http::Headers().swap(extra);

  http::SseReader reader;
  http::SseEvent ev;
  std::string out;
  bool head_sent = false;
  bool client_left = false;
  // The head goes out with the first piece, in one write.
  auto send_head = [&](std::string_view first) -> net::awaitable<bool> {
    head_sent = true;
    ctx.status = 200;
    bool ok = co_await ctx.ex.start_stream(200, headers, first);
    http::Headers().swap(headers);  // written: not kept for the stream's length (issue 18)
    co_return ok;
  };

  for (;;) {
    core::give_spare(out);
    std::string_view piece;
    bool done = false;
    auto f = co_await source.read_some(piece, done);
    if (f != http::UpstreamFailure::none) {
      if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
        client_left = true;
        break;
      }
      const auto& provider = ctx.target->provider->spec.name;
      ctx.gateway.metrics.upstream_failure(provider, http::describe(f));
      // Nothing reached the caller yet: the attempt failed and another may be made.
      if (!head_sent) co_return transport_failure(f, provider);
      co_await end_with_error_event(ctx, relay, f);
      break;
    }
    reader.feed(piece);
    out = core::take_spare(piece.size());
    while (reader.next(ev)) relay.on_event(ev, out);
    if (done) {
      // A last event without its blank line still counts.
      if (!reader.pending().empty()) {
        reader.feed("\n\n");
        while (reader.next(ev)) relay.on_event(ev, out);
      }
      relay.on_end(out);
    }
    release_read_events(reader, ev);
    // A provider's error event may quote its credential. Only text that mentions an error is
    // searched, so ordinary chunks cost nothing more.
    if (out.find("rror") != std::string::npos) ctx.snapshot->secrets().scrub(out);
    if (ctx.cache.tap) ctx.cache.tap->on_stream(out);
    if (!out.empty() || (done && !head_sent)) {
      if (!ctx.first_byte && !out.empty()) ctx.first_byte = Clock::now();
      if (ctx.capture && ctx.captured_answer.size() < ctx.gateway.config.capture_max_bytes)
        ctx.captured_answer.append(out.substr(0, ctx.gateway.config.capture_max_bytes - ctx.captured_answer.size()));
      bool written = true;
      if (!head_sent) {
        written = co_await send_head(out);
        // The attempt is final now: no other reads the request's document again.
        if (ctx.doc_done_at_head) core::release_request_document(ctx.doc);
      } else if (!out.empty()) {
        // At once when the caller's socket takes it, as it nearly always does (no frame).
        const auto now = ctx.ex.write_chunk_now(out);
        if (now == http::Exchange::Written::must_wait) written = co_await ctx.ex.write_chunk(out);
        else written = now == http::Exchange::Written::written;
      }
      if (!written) {
        client_left = true;
        break;
      }
    }
    if (done) break;
  }
  core::give_spare(out);
  ctx.usage = relay.usage();
  if (auto e = relay.provider_error(); e && ctx.error.empty()) ctx.error = e->code.empty() ? "provider_stream_error" : e->code;
  if (client_left) {
    source.cancel();
    ctx.status = 499;  // nginx's "client closed request"
    ctx.error = "client_closed";
    co_return AttemptResult::client_left();
  }
  relay.on_sent();
  settle(ctx);  // before the stream's last byte, for the same reason as relay_whole
  store_in_cache(ctx);
  if (ctx.error != "upstream_idle_timeout" && ctx.error != "upstream_closed") judge_attempt_success(ctx);
  co_await ctx.ex.end_stream();
  co_return AttemptResult::answered();
}

net::awaitable<void> relay_whole(RequestContext& ctx, int status, std::string_view content_type,
                                 std::string body, http::Headers extra) {
  // Settled before the answer goes out: a caller that sends its next request the moment it
  // has this one must find the concurrency slot free (and the target's circuit as it is now).
  settle(ctx);
  judge_attempt_success(ctx);
  if (ctx.cache.tap && status >= 200 && status < 300) {
    ctx.cache.tap->on_whole(body);
    store_in_cache(ctx);
  }
  ctx.status = status;
  if (ctx.capture) ctx.captured_answer = body.substr(0, ctx.gateway.config.capture_max_bytes);
  auto headers = base_headers(ctx, content_type.empty() ? "application/json" : content_type);
  for (auto& h : extra) headers.push_back(std::move(h));
  co_await ctx.ex.respond(status, headers, std::move(body));
  recycle_headers(std::move(headers));
}

namespace {
class TextSource final : public AnswerSource {
 public:
  explicit TextSource(std::string text) : text_(std::move(text)) {}
  net::awaitable<http::UpstreamFailure> read_some(std::string_view& piece, bool& done) override {
    piece = text_;
    done = true;
    co_return http::UpstreamFailure::none;
  }
  void cancel() override {}

 private:
  std::string text_;
};
}  // namespace

std::unique_ptr<AnswerSource> text_source(std::string text) {
  return std::make_unique<TextSource>(std::move(text));
}

}  // namespace tollgate::gateway
