// Phase 7 for Anthropic callers (POST /v1/messages, /v1/messages/count_tokens). To an
// `anthropic` provider the bytes go through with only the model spliced (the fast path); to
// any other provider the request is translated into the canonical form and the answer back.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "cache/entry.h"
#include "dialects/anthropic/codec.h"
#include "dialects/anthropic/fast_path.h"
#include "dialects/anthropic/inbound.h"
#include "dialects/anthropic/prompt_caching.h"
#include "dialects/openai/fast_path.h"
#include "gateway/caller_relay.h"
#include "gateway/dispatch.h"
#include "gateway/params.h"
#include "gateway/phases.h"
#include "gateway/relay.h"

namespace tollgate::gateway {
namespace net = boost::asio;
namespace json = boost::json;
namespace anthropic = dialects::anthropic;

namespace {

constexpr std::string_view kDefaultAnthropicVersion = "2023-06-01";


// Anthropic provider, Anthropic caller: every byte forwarded; usage read from message_start
// and message_delta.
class AnthropicPassthrough final : public StreamRelay {
 public:
  void on_event(const http::SseEvent& ev, std::string& out) override {
    tap_.on_event(ev);
    out.append(ev.raw);
  }
  void on_end(std::string&) override {}
  core::Usage usage() const override { return tap_.usage(); }
  std::string error_event(const core::GatewayError& e) const override {
    return anthropic::stream_error_event(e);
  }

 private:
  anthropic::StreamTap tap_;
};

// The caller's body for an Anthropic provider: only the model spliced, every other byte kept,
// unless max_tokens is above the target's output limit; then it is clamped (and a thinking
// budget with it, which must stay below max_tokens).
std::string fast_path_body(RequestContext& ctx) {
  const std::string& upstream = ctx.target->upstream_model;
  const int64_t limit = ctx.route == Route::messages ? max_output_tokens(ctx) : 0;
  const auto* doc = ctx.doc.if_object();
  const auto* mt = doc ? doc->if_contains("max_tokens") : nullptr;
  const bool clamp = limit > 0 && mt && anthropic::json_int(mt) > limit && !ctx.body_override;
  // Breakpoints for the caller (prompt_caching: auto) cost a copy; they pay for themselves.
  json::object copy;
  const bool marked = ctx.route == Route::messages && doc && places_cache_breakpoints(ctx) &&
                      anthropic::add_cache_breakpoints(copy = *doc);
  if (!clamp && !marked) return anthropic::splice_request(ctx.request_body(), ctx.doc, upstream);
  if (!marked) copy = *doc;
  copy["model"] = upstream;
  if (!clamp) return json::serialize(copy);
  copy["max_tokens"] = limit;
  if (auto* t = copy.if_contains("thinking"); t && t->is_object()) {
    auto& th = t->as_object();
    if (anthropic::json_int(th.if_contains("budget_tokens")) >= limit)
      th["budget_tokens"] = std::max<int64_t>(1024, limit - 1);
  }
  return json::serialize(copy);
}

// Anthropic caller, Anthropic provider.
net::awaitable<AttemptResult> anthropic_fast_path(RequestContext& ctx) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  const bool count = ctx.route == Route::count_tokens;
  const std::string& prefix = provider.endpoint.path_prefix;
  std::string_view base = prefix.ends_with("/v1") ? "" : "/v1";

  http::OutgoingRequest req;
  req.target = fmt::format("{}{}/messages{}", prefix, base, count ? "/count_tokens" : "");
  req.headers.emplace_back("content-type", "application/json");
  if (!provider.spec.api_key.empty()) req.headers.emplace_back("x-api-key", provider.spec.api_key);
  // The caller's version and beta flags (Claude Code sends betas) win over the provider's.
  std::string version(ctx.ex.header("anthropic-version"));
  if (version.empty()) version = provider.spec.api_version.empty() ? std::string(kDefaultAnthropicVersion) : provider.spec.api_version;
  req.headers.emplace_back("anthropic-version", version);
  if (auto beta = ctx.ex.header("anthropic-beta"); !beta.empty()) req.headers.emplace_back("anthropic-beta", std::string(beta));
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
  for (const auto& [k, v] : provider.spec.headers) req.headers.emplace_back(k, v);
  req.body = fast_path_body(ctx);

  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  if (auto failed = co_await send_upstream(ctx, call, req)) co_return std::move(*failed);

  const int status = call.status();
  auto extra = passthrough_headers(call);
  if (status >= 200 && status < 300 && !count && ctx.facts.stream && call.media_type() == "text/event-stream") {
    UpstreamSource source(call);
    auto relay = guarded(std::make_unique<AnthropicPassthrough>(), ctx);
    co_return co_await relay_stream(ctx, source, *relay, std::move(extra));
  }
  std::string body;
  if (auto failed = co_await read_whole(ctx, call, body)) co_return std::move(*failed);
  if (status < 200 || status >= 300) {
    auto error = anthropic::anthropic_codec().decode_error(status, body).error;
    std::string shaped = anthropic::upstream_error_body(status, body, call.media_type());
    co_return upstream_error_attempt(call, status, std::move(error), std::move(shaped));
  }
  if (!count) anthropic::read_usage_from_body(body, ctx.usage);
  if (!count && guards_output(ctx)) {
    if (auto blocked = guard_answer_body(ctx, body)) {
      co_await respond_error(ctx, *blocked);
      co_return AttemptResult::answered();
    }
  }
  co_await relay_whole(ctx, status, "application/json", std::move(body), std::move(extra));
  co_return AttemptResult::answered();
}

}  // namespace

// Gemini: models/{m}:countTokens with the translated request as its generateContentRequest.
// Anthropic: /v1/messages/count_tokens with the translated request's countable fields.
net::awaitable<std::optional<int64_t>> provider_count_tokens(RequestContext& ctx, json::object chat) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  const auto kind = provider.spec.kind;
  const dialects::ProviderCodec* codec = dialects::codec_for(kind);
  if (!codec || (kind != core::ProviderKind::gemini && kind != core::ProviderKind::anthropic)) co_return std::nullopt;
  for (const char* k : {"max_completion_tokens", "max_tokens", "stream", "stream_options"}) chat.erase(k);
  if (kind == core::ProviderKind::anthropic) chat["max_tokens"] = 1;  // the encoder wants one
  dialects::EncodedRequest enc;
  const dialects::EncodeOptions opts{ctx.target->upstream_model, false, true};
  if (codec->encode_chat(chat, opts, provider, enc)) co_return std::nullopt;
  boost::system::error_code ec;
  json::value body = json::parse(enc.body, ec);
  if (ec || !body.is_object()) co_return std::nullopt;
  std::string_view field;
  if (kind == core::ProviderKind::gemini) {
    // "/v1beta/{models/m}:generateContent": the resource is what lies between.
    constexpr std::string_view kVersion = "/v1beta/";
    const auto at = enc.path.rfind(":generateContent");
    if (at == std::string::npos || !enc.path.starts_with(kVersion)) co_return std::nullopt;
    body.as_object()["model"] = enc.path.substr(kVersion.size(), at - kVersion.size());
    enc.path.replace(at, std::string::npos, ":countTokens");
    body = json::object{{"generateContentRequest", std::move(body)}};
    field = "totalTokens";
  } else {
    json::object countable;
    for (const char* k : {"model", "messages", "system", "tools", "tool_choice", "thinking"})
      if (auto* v = body.as_object().if_contains(k)) countable[k] = std::move(*v);
    body = std::move(countable);
    enc.path += "/count_tokens";
    field = "input_tokens";
  }

  http::OutgoingRequest req;
  req.target = provider.endpoint.path_prefix + enc.path;
  req.headers = std::move(enc.headers);
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
  req.body = json::serialize(body);
  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  auto send_failed = co_await send_upstream(ctx, call, req);
  if (send_failed) co_return std::nullopt;
  std::string answer;
  auto read_failed = co_await read_whole(ctx, call, answer);
  if (read_failed || call.status() != 200) co_return std::nullopt;
  json::value counted = json::parse(answer, ec);
  const json::value* total = !ec && counted.is_object() ? counted.as_object().if_contains(field) : nullptr;
  if (!total || !total->is_int64()) co_return std::nullopt;
  co_return total->get_int64();
}

namespace {

// count_tokens on a Gemini target: Gemini counts. nullopt when it cannot: the caller then gets
// the estimate.
net::awaitable<std::optional<int64_t>> gemini_count_tokens(RequestContext& ctx) {
  if (!ctx.doc.is_object()) co_return std::nullopt;
  json::value doc = ctx.doc;
  doc.as_object()["max_tokens"] = 1;  // count_tokens bodies have none; the translation wants one
  json::object chat;
  std::string model;
  bool stream = false;
  if (anthropic::messages_to_chat(doc, chat, model, stream)) co_return std::nullopt;
  co_return co_await provider_count_tokens(ctx, std::move(chat));
}

}  // namespace

// Reasoning effort reaches OpenAI-wire targets only where the model has reasoning; others
// (gpt-4o, most compatible servers) reject the parameter.
bool reasons(std::string_view model) {
  return (model.size() > 1 && model[0] == 'o' && model[1] >= '1' && model[1] <= '9') ||
         model.starts_with("gpt-5");
}

std::unique_ptr<StreamRelay> anthropic_caller_relay(std::unique_ptr<dialects::ChatStreamDecoder> decoder,
                                                    std::string caller_model, int64_t prompt_estimate) {
  using AnthropicCallerRelay = CallerRelay<anthropic::MessagesStreamEncoder, anthropic::stream_error_event>;
  return std::make_unique<AnthropicCallerRelay>(std::move(decoder), std::move(caller_model), prompt_estimate);
}

net::awaitable<void> respond_completion(RequestContext& ctx, const json::object& completion_in, Dialect caller) {
  json::value guarded_answer;  // a copy only when output guardrails may rewrite the answer
  if (guards_output(ctx)) {
    guarded_answer = completion_in;
    if (auto blocked = guard_answer(ctx, guarded_answer)) {
      co_await respond_error(ctx, *blocked);
      co_return;
    }
  }
  const json::object& completion = guarded_answer.is_object() ? guarded_answer.as_object() : completion_in;
  if (ctx.cache.tap) {
    ctx.cache.tap->on_completion(completion);
    store_in_cache(ctx);
  }
  std::string body;
  if (caller == Dialect::anthropic)
    body = json::serialize(anthropic::chat_to_message(completion, ctx.facts.model));
  else if (caller == Dialect::gemini)
    body = gemini_generate_body(ctx, completion);
  else
    body = json::serialize(completion);
  co_await respond_json(ctx, 200, std::move(body));
}

bool places_cache_breakpoints(const RequestContext& ctx) {
  if (!ctx.model || ctx.model->spec.prompt_caching != "auto" || !ctx.target) return false;
  const auto kind = ctx.target->provider->spec.kind;
  return kind == core::ProviderKind::anthropic ||
         (kind == core::ProviderKind::bedrock && anthropic::is_bedrock_claude(ctx.target->upstream_model));
}

std::optional<core::GatewayError> anthropic_canonical(RequestContext& ctx, json::object& chat) {
  std::string model;
  bool stream = false;
  // What the canonical form cannot carry is dropped and named, or refused for a strict model.
  auto opts = encode_options(ctx, {}, stream);
  opts.dropped = &ctx.translation_dropped;
  auto err = anthropic::messages_to_chat(ctx.doc, chat, model, stream, opts);
  if (err) return err;
  // Translated streams report input tokens last; Anthropic clients read them first.
  if (stream) ctx.prompt_estimate = anthropic::count_tokens_estimate(ctx.doc);
  return std::nullopt;
}

net::awaitable<AttemptResult> anthropic_attempt(RequestContext& ctx, const json::object* canonical) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  if (provider.spec.kind == core::ProviderKind::anthropic) co_return co_await anthropic_fast_path(ctx);
  if (ctx.route == Route::count_tokens) {
    // Anthropic (the fast path) and Gemini count; elsewhere a documented estimate.
    std::optional<int64_t> counted;
    if (provider.spec.kind == core::ProviderKind::gemini) counted = co_await gemini_count_tokens(ctx);
    if (ctx.ex.client_gone()) co_return AttemptResult::client_left();
    const int64_t tokens = counted ? *counted : anthropic::count_tokens_estimate(ctx.doc);
    std::string body = fmt::format(R"({{"input_tokens":{}}})", tokens);
    co_await respond_json(ctx, 200, std::move(body));
    co_return AttemptResult::answered();
  }
  json::object chat = *canonical;
  const auto drops = encode_options(ctx, {}, false);
  for (const auto& name : ctx.translation_dropped) drops.drop(name);
  clamp_max_tokens(ctx, chat);
  const auto kind = provider.spec.kind;
  auto fail = [](core::GatewayError e) { return AttemptResult::failed(std::move(e)); };
  if (kind == core::ProviderKind::openai || kind == core::ProviderKind::openai_compatible ||
      kind == core::ProviderKind::azure) {
    if (chat.contains("reasoning_effort") && !reasons(ctx.target->upstream_model)) {
      if (!drops.drop("thinking"))
        co_return fail(core::GatewayError::make(
            core::ErrorKind::invalid_request,
            fmt::format("thinking: model {} has no extended thinking", ctx.target->upstream_model),
            "unsupported_parameter", "thinking"));
      chat.erase("reasoning_effort");
    }
    if (auto e = strip_for_openai_wire(ctx, chat)) co_return fail(std::move(*e));
  }
  co_return co_await translated_attempt(ctx, dialects::openai::Endpoint::chat_completions, chat, Dialect::anthropic);
}

}  // namespace tollgate::gateway
