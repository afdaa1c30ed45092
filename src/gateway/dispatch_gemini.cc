// Phase 7 for Gemini callers (/v1beta/models/{m}:generateContent, :streamGenerateContent,
// :countTokens, :embedContent, :batchEmbedContents). To a `gemini` provider the body goes
// through with only the model in the URL replaced (the fast path); to any other provider the
// request is translated into the canonical form (dialects/gemini/inbound.h) and the answer back.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/gemini/codec.h"
#include "dialects/gemini/inbound.h"
#include "dialects/gemini/wire.h"
#include "dialects/openai/fast_path.h"
#include "gateway/caller_relay.h"
#include "gateway/dispatch.h"
#include "gateway/params.h"
#include "gateway/phases.h"
#include "gateway/relay.h"

namespace tollgate::gateway {
namespace net = boost::asio;
namespace json = boost::json;
namespace gemini = dialects::gemini;

namespace {

// Gemini provider, Gemini caller: every event forwarded; usage read from the last
// usageMetadata (intermediate ones lack candidatesTokenCount).
class GeminiPassthrough final : public StreamRelay {
 public:
  void on_event(const http::SseEvent& ev, std::string& out) override {
    out.append(ev.raw);
    if (!ev.has_data) return;
    const bool has_usage = ev.data.find("\"usageMetadata\"") != std::string::npos;
    const bool has_error = ev.data.find("\"error\"") != std::string::npos;
    if (!has_usage && !has_error) return;
    boost::system::error_code ec;
    auto v = json::parse(ev.data, ec);
    if (ec || !v.is_object()) return;
    if (auto* e = v.as_object().if_contains("error"); e && e->is_object() && !error_)
      error_ = gemini::classify_google_error(0, &e->get_object()).error;
    if (auto* u = v.as_object().if_contains("usageMetadata"); u && u->is_object())
      gemini::wire::read_usage(u->get_object(), usage_);
  }
  void on_end(std::string&) override {}
  core::Usage usage() const override { return usage_; }
  std::optional<core::GatewayError> provider_error() const override { return error_; }
  std::string error_event(const core::GatewayError& e) const override { return gemini::stream_error_event(e); }

 private:
  core::Usage usage_;
  std::optional<core::GatewayError> error_;
};

// A Gemini stream as the one JSON array a caller without alt=sse reads.
class ArrayFramed final : public StreamRelay {
 public:
  explicit ArrayFramed(StreamRelay& inner) : inner_(inner) {}
  void on_event(const http::SseEvent& ev, std::string& out) override {
    produced_.clear();
    inner_.on_event(ev, produced_);
    framing_.feed(produced_, out);
  }
  void on_end(std::string& out) override {
    produced_.clear();
    inner_.on_end(produced_);
    framing_.feed(produced_, out);
    framing_.close(out);
  }
  core::Usage usage() const override { return inner_.usage(); }
  std::optional<core::GatewayError> provider_error() const override { return inner_.provider_error(); }
  std::string error_event(const core::GatewayError& e) const override {
    std::string out;
    framing_.fail(gemini::error_body(e), out);
    return out;
  }
  std::string_view content_type() const override { return "application/json; charset=utf-8"; }

 private:
  StreamRelay& inner_;
  mutable gemini::ArrayFraming framing_;
  std::string produced_;
};

std::string_view method_name(Route r) {
  switch (r) {
    case Route::gemini_stream: return "streamGenerateContent";
    case Route::gemini_count_tokens: return "countTokens";
    case Route::gemini_embed: return "embedContent";
    case Route::gemini_batch_embed: return "batchEmbedContents";
    default: return "generateContent";
  }
}

// Embeddings have no usage from Gemini: about four bytes a token of the texts embedded.
core::Usage embed_usage_estimate(const json::value& doc, bool batch) {
  core::Usage u;
  json::object req;
  if (gemini::embed_to_openai(doc, batch, req)) return u;
  u.known = true;
  for (const auto& s : req["input"].as_array())
    u.input_tokens += std::max<int64_t>(1, static_cast<int64_t>(s.as_string().size() + 3) / 4);
  return u;
}

core::GatewayError strict_refusal(std::string_view param) {
  return core::GatewayError::make(core::ErrorKind::invalid_request,
                                  fmt::format("{}: not supported by the target provider (this model takes no "
                                              "parameter it cannot honour)",
                                              param),
                                  "unsupported_parameter", std::string(param));
}

// Gemini caller, Gemini provider.
net::awaitable<AttemptResult> gemini_fast_path(RequestContext& ctx) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  const bool embed = ctx.route == Route::gemini_embed || ctx.route == Route::gemini_batch_embed;
  const bool stream = ctx.route == Route::gemini_stream;

  http::OutgoingRequest req;
  // Streams are always asked for as SSE, so events can be read (and framed as an array again
  // for a caller that did not ask for SSE).
  req.target = provider.endpoint.path_prefix + gemini::wire::method_path(ctx.target->upstream_model, method_name(ctx.route)) +
               (stream ? "?alt=sse" : "");
  gemini::provider_headers(provider, req.headers);
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
  req.body = embed ? gemini::splice_embed(ctx.doc, ctx.target->upstream_model) : ctx.request_body();

  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  if (auto failed = co_await send_upstream(ctx, call, req)) co_return std::move(*failed);

  const int status = call.status();
  auto extra = passthrough_headers(call);
  if (status >= 200 && status < 300 && stream && call.media_type() == "text/event-stream") {
    UpstreamSource source(call);
    auto relay = guarded(std::make_unique<GeminiPassthrough>(), ctx);
    co_return co_await relay_stream(ctx, source, *relay, std::move(extra));
  }
  std::string body;
  if (auto failed = co_await read_whole(ctx, call, body)) co_return std::move(*failed);
  if (status < 200 || status >= 300) {
    auto error = gemini::gemini_codec().decode_error(status, body).error;
    // Google's own envelope passes as it is; anything else is put in it.
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    const bool google = !ec && v.is_object() && v.as_object().contains("error");
    std::string shaped = google ? body : gemini::error_body(error);
    co_return upstream_error_attempt(call, status, std::move(error), std::move(shaped));
  }
  if (embed) {
    ctx.usage = embed_usage_estimate(ctx.doc, ctx.route == Route::gemini_batch_embed);
  } else if (ctx.route != Route::gemini_count_tokens) {
    boost::system::error_code ec;
    auto answer = json::parse(body, ec);
    if (!ec && answer.is_object()) {
      if (auto* u = answer.as_object().if_contains("usageMetadata"); u && u->is_object())
        gemini::wire::read_usage(u->get_object(), ctx.usage);
      if (guards_output(ctx)) {
        if (auto blocked = guard_answer(ctx, answer)) {
          co_await respond_error(ctx, *blocked);
          co_return AttemptResult::answered();
        }
        body = json::serialize(answer);
      }
    }
  }
  co_await relay_whole(ctx, status, "application/json", std::move(body), std::move(extra));
  co_return AttemptResult::answered();
}

}  // namespace

std::unique_ptr<StreamRelay> gemini_caller_relay(std::unique_ptr<dialects::ChatStreamDecoder> decoder,
                                                 std::string caller_model) {
  using GeminiCallerRelay = CallerRelay<gemini::GenerateStreamEncoder, gemini::stream_error_event>;
  return std::make_unique<GeminiCallerRelay>(std::move(decoder), std::move(caller_model));
}

std::unique_ptr<StreamRelay> array_framing(StreamRelay& relay, const RequestContext& ctx) {
  if (ctx.route != Route::gemini_stream || gemini::wants_sse(ctx.ex.target())) return nullptr;
  return std::make_unique<ArrayFramed>(relay);
}

std::optional<core::GatewayError> decode_gemini(RequestContext& ctx) {
  auto path = gemini::parse_caller_path(ctx.ex.target());
  if (!path)
    return core::GatewayError::make(core::ErrorKind::not_found, "Unknown Gemini method.", "unknown_route");
  ctx.facts.model = std::move(path->model);
  ctx.facts.stream = ctx.route == Route::gemini_stream;
  ctx.facts.caller_wants_usage = true;  // Gemini streams always carry usageMetadata
  return gemini::read_request(ctx.ex.body(), path->method, ctx.doc);
}

std::optional<core::GatewayError> gemini_canonical(RequestContext& ctx, json::object& out) {
  // What has no equivalent is noted here and named (or refused) when a translated attempt runs.
  return gemini::generate_to_chat(ctx.doc, ctx.route == Route::gemini_stream, out, ctx.translation_dropped);
}

std::string gemini_generate_body(const RequestContext& ctx, const json::object& completion) {
  return json::serialize(gemini::chat_to_generate(completion, ctx.facts.model));
}

std::string gemini_embeddings_body(const RequestContext& ctx, const json::object& list) {
  return json::serialize(gemini::openai_to_embed(list, ctx.route == Route::gemini_batch_embed));
}

net::awaitable<AttemptResult> gemini_attempt(RequestContext& ctx, const json::object* canonical,
                                             const std::optional<core::GatewayError>& translate_error) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  const auto kind = provider.spec.kind;
  if (kind == core::ProviderKind::gemini) co_return co_await gemini_fast_path(ctx);
  auto fail = [](core::GatewayError e) { return AttemptResult::failed(std::move(e)); };
  if (ctx.route == Route::gemini_count_tokens) {
    // Anthropic counts too (the request translated); elsewhere a documented estimate.
    std::optional<int64_t> counted;
    if (kind == core::ProviderKind::anthropic && ctx.doc.is_object()) {
      const json::value* request = &ctx.doc;
      if (auto* inner = ctx.doc.as_object().if_contains("generateContentRequest"); inner && inner->is_object()) request = inner;
      json::object chat;
      std::vector<std::string> dropped;
      if (!gemini::generate_to_chat(*request, false, chat, dropped)) counted = co_await provider_count_tokens(ctx, std::move(chat));
      if (ctx.ex.client_gone()) co_return AttemptResult::client_left();
    }
    const int64_t tokens = counted ? *counted : gemini::count_tokens_estimate(ctx.doc);
    std::string body = fmt::format(R"({{"totalTokens":{}}})", tokens);
    co_await respond_json(ctx, 200, std::move(body));
    co_return AttemptResult::answered();
  }
  if (ctx.route == Route::gemini_embed || ctx.route == Route::gemini_batch_embed) {
    json::object req{{"model", ctx.facts.model}};
    if (auto e = gemini::embed_to_openai(ctx.doc, ctx.route == Route::gemini_batch_embed, req)) co_return fail(std::move(*e));
    co_return co_await translated_attempt(ctx, dialects::openai::Endpoint::embeddings, req, Dialect::gemini);
  }
  if (!canonical) {
    // (named first: a temporary inside a coroutine's full-expression, src/AGENTS.md)
    core::GatewayError e = translate_error ? *translate_error
                                           : core::GatewayError::make(core::ErrorKind::invalid_request,
                                                                      "The request could not be translated.");
    co_return fail(std::move(e));
  }
  json::object chat = *canonical;
  // Dropped and named by default; a model with strict_params refuses instead.
  auto opts = encode_options(ctx, {}, false);
  for (const auto& name : ctx.translation_dropped) {
    if (opts.drop(name)) continue;
    // A strict model still takes the replayed signature away (gemini/inbound.h), and says so.
    if (name == gemini::kThoughtSignature) {
      name_dropped(ctx, name);
      continue;
    }
    co_return fail(strict_refusal(name));
  }
  clamp_max_tokens(ctx, chat);
  if (kind == core::ProviderKind::openai || kind == core::ProviderKind::openai_compatible ||
      kind == core::ProviderKind::azure) {
    if (chat.contains("reasoning_effort") && !reasons(ctx.target->upstream_model)) {
      if (!opts.drop("generationConfig.thinkingConfig")) co_return fail(strict_refusal("generationConfig.thinkingConfig"));
      chat.erase("reasoning_effort");
    }
    if (auto e = strip_for_openai_wire(ctx, chat)) co_return fail(std::move(*e));
  }
  co_return co_await translated_attempt(ctx, dialects::openai::Endpoint::chat_completions, chat, Dialect::gemini);
}

}  // namespace tollgate::gateway
