// Phase 7 for Responses API callers off the fast path: the request is translated into the
// canonical form (dialects/openai/responses.h) with the items of the responses it continues,
// sent like any translated request (translated_attempt), and the answer comes back as
// Responses events or a response object. Also GET / DELETE /v1/responses/{id}.
//
// Every answer the caller asked to store (store not false, storing on) is kept, on the fast
// path too: there the bytes go through untouched and the finished response (the JSON body, or
// the data of response.completed) is read and kept under the upstream's own id once the caller
// has it. So a chain that starts on any provider continues on any other: a gateway id is always
// translated; an upstream id goes through untouched to an OpenAI-speaking target (which holds
// it; when that target is another account and answers previous_response_not_found, the turn is
// translated from the store there) and is read from the store by any other.
#include <algorithm>
#include <chrono>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "cache/entry.h"
#include "dialects/openai/responses.h"
#include "gateway/dispatch.h"
#include "gateway/params.h"
#include "gateway/phases.h"
#include "gateway/stored_responses.h"

namespace tollgate::gateway {
namespace net = boost::asio;
namespace json = boost::json;
namespace responses = dialects::openai::responses;
using core::ErrorKind;
using core::GatewayError;

class ResponsesAnswer {
 public:
  explicit ResponsesAnswer(RequestContext& c)
      : ctx(c),
        store(c.gateway.responses.get()),
        id(responses::new_id(responses::kIdPrefix)),
        created_at(std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count()) {}

  const store::SecretBox* seal() const { return store ? &store->seal() : nullptr; }

  RequestContext& ctx;
  ResponseStore* store;
  responses::Turn turn;
  std::string id;
  int64_t created_at;
};

namespace {

std::string_view previous_id(const RequestContext& ctx) {
  if (!ctx.doc.is_object()) return {};
  auto* p = ctx.doc.as_object().if_contains("previous_response_id");
  return p && p->is_string() ? std::string_view(p->get_string()) : std::string_view{};
}

bool asks_to_store(const RequestContext& ctx) {
  if (!ctx.gateway.responses || !ctx.key || !ctx.doc.is_object()) return false;
  auto* s = ctx.doc.as_object().if_contains("store");
  return !(s && s->is_bool() && !s->get_bool());
}

// A finished response (its own id: the gateway's, or the upstream's on the fast path) kept
// under the caller's key with this request's input and the response it continues.
void keep_response(RequestContext& ctx, const json::object& response) {
  auto* id = response.if_contains("id");
  auto* status = response.if_contains("status");
  if (!id || !id->is_string() || id->get_string().empty() || !status || !status->is_string()) return;
  if (status->get_string() != "completed" && status->get_string() != "incomplete") return;
  try {
    ctx.gateway.responses->put(id->get_string(), ctx.key->id, response,
                               responses::input_items(ctx.doc.as_object()), previous_id(ctx));
  } catch (const std::exception&) {
    ctx.gateway.metrics.upstream_failure("stored-responses", "write failed");
  }
}

// A Responses stream as the caller gets it (after the output guardrails); its
// response.completed (or .incomplete) is kept once every byte is out.
class KeptStream final : public StreamRelay {
 public:
  KeptStream(std::unique_ptr<StreamRelay> inner, RequestContext& ctx) : inner_(std::move(inner)), ctx_(ctx) {}

  void on_event(const http::SseEvent& ev, std::string& out) override {
    const std::size_t from = out.size();
    inner_->on_event(ev, out);
    look(out, from);
  }
  void on_end(std::string& out) override {
    const std::size_t from = out.size();
    inner_->on_end(out);
    look(out, from);
  }
  void on_sent() override {
    inner_->on_sent();
    boost::system::error_code ec;
    auto v = final_.empty() ? json::value() : json::parse(final_, ec);
    if (ec || !v.is_object()) return;
    if (auto* r = v.as_object().if_contains("response"); r && r->is_object()) keep_response(ctx_, r->as_object());
  }
  core::Usage usage() const override { return inner_->usage(); }
  std::optional<GatewayError> provider_error() const override { return inner_->provider_error(); }
  std::string error_event(const GatewayError& e) const override { return inner_->error_event(e); }

 private:
  // Only the last events carry the finished response; the rest is never parsed here.
  void look(const std::string& out, std::size_t from) {
    if (out.find("\"response.completed\"", from) == std::string::npos &&
        out.find("\"response.incomplete\"", from) == std::string::npos)
      return;
    http::SseReader reader;
    reader.feed(std::string_view(out).substr(from));
    http::SseEvent ev;
    while (reader.next(ev))
      if (ev.event == "response.completed" || ev.event == "response.incomplete" ||
          ev.data.find("\"type\":\"response.completed\"") != std::string::npos)
        final_ = std::move(ev.data);
  }

  std::unique_ptr<StreamRelay> inner_;
  RequestContext& ctx_;
  std::string final_;
};

// `relay` through the output guardrails, and kept when the caller asked to store.
std::unique_ptr<StreamRelay> responses_stream(std::unique_ptr<StreamRelay> relay, RequestContext& ctx) {
  relay = guarded(std::move(relay), ctx);
  if (!asks_to_store(ctx)) return relay;
  return std::make_unique<KeptStream>(std::move(relay), ctx);
}

AttemptResult failed(GatewayError e) { return AttemptResult::failed(std::move(e)); }

// Canonical chunks (decoded from the provider's stream, or an OpenAI-speaking provider's own)
// -> Responses events; the answer is stored when the stream ends.
class ResponsesRelay final : public StreamRelay {
 public:
  ResponsesRelay(ResponsesAnswer& a, std::unique_ptr<dialects::ChatStreamDecoder> d)
      : answer_(a), decoder_(std::move(d)),
        encoder_(a.turn, a.id, a.created_at, a.ctx.facts.model, a.seal()) {}

  void on_event(const http::SseEvent& ev, std::string& out) override {
    if (error_) return;
    if (decoder_) {
      chunks_.clear();
      decoder_->on_event(ev, chunks_);
      feed(out);
      if (decoder_->error()) {
        error_ = decoder_->error()->error;
        encoder_.fail(*error_, out);
      }
      return;
    }
    if (!ev.has_data || ev.data == "[DONE]") return;
    chunks_.assign(1, ev.data);
    feed(out);
  }
  void on_end(std::string& out) override {
    if (error_) return;
    if (decoder_) {
      chunks_.clear();
      decoder_->finish(chunks_);
      feed(out);
      if (decoder_->error()) {
        error_ = decoder_->error()->error;
        encoder_.fail(*error_, out);
        return;
      }
    }
    encoder_.finish(usage(), out);
  }
  core::Usage usage() const override { return decoder_ ? decoder_->usage() : usage_; }
  std::optional<GatewayError> provider_error() const override { return error_; }
  std::string error_event(const GatewayError& e) const override {
    std::string out;
    encoder_.fail(e, out);
    return out;
  }

 private:
  void feed(std::string& out) {
    for (const auto& c : chunks_) {
      boost::system::error_code ec;
      auto v = json::parse(c, ec);
      if (ec || !v.is_object()) continue;
      const auto& chunk = v.as_object();
      if (auto* u = chunk.if_contains("usage"); u && u->is_object()) dialects::openai::read_usage(*u, usage_);
      encoder_.on_chunk(chunk, out);
    }
  }

  ResponsesAnswer& answer_;
  std::unique_ptr<dialects::ChatStreamDecoder> decoder_;
  mutable responses::StreamEncoder encoder_;  // error_event() writes its last events
  std::vector<std::string> chunks_;
  core::Usage usage_;
  std::optional<GatewayError> error_;
};

bool is_reference(const json::value& item) {
  auto* o = item.if_object();
  auto* type = o ? o->if_contains("type") : nullptr;
  return type && type->is_string() && type->get_string() == "item_reference";
}

// item_reference items naming an output item of a response the gateway served (its id says
// which, responses.h) become that item. Others stay, and the translation drops and names them:
// an upstream's own items can be referred to only on that upstream.
void resolve_references(ResponseStore& store, std::string_view key_id, json::array& items) {
  std::vector<std::pair<std::string, std::optional<ResponseStore::Stored>>> seen;
  for (auto& item : items) {
    if (!is_reference(item)) continue;
    auto* id = item.as_object().if_contains("id");
    if (!id || !id->is_string()) continue;
    std::string response = responses::response_of_item(id->get_string());
    if (response.empty()) continue;
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == response; });
    if (it == seen.end()) {
      std::optional<ResponseStore::Stored> got;
      try {
        got = store.get(response, key_id);
      } catch (const std::exception&) {
      }
      it = seen.insert(seen.end(), {response, std::move(got)});
    }
    auto* output = it->second ? it->second->response.if_contains("output") : nullptr;
    if (!output || !output->is_array()) continue;
    for (const auto& out : output->get_array())
      if (auto* o = out.if_object(); o && o->contains("id") && o->at("id") == *id) {
        item = out;
        break;
      }
  }
}

GatewayError not_found(std::string_view id) {
  return GatewayError::make(ErrorKind::not_found, fmt::format("Response with id '{}' not found.", id),
                            "response_not_found");
}

}  // namespace

bool responses_needs_translation(const RequestContext& ctx) {
  return responses::is_gateway_id(previous_id(ctx));
}

std::unique_ptr<StreamRelay> responses_relay(ResponsesAnswer& answer,
                                             std::unique_ptr<dialects::ChatStreamDecoder> decoder) {
  return responses_stream(std::make_unique<ResponsesRelay>(answer, std::move(decoder)), answer.ctx);
}

std::unique_ptr<StreamRelay> responses_fast_relay(RequestContext& ctx) {
  return responses_stream(responses_passthrough(), ctx);
}

bool keeps_responses(const RequestContext& ctx) { return asks_to_store(ctx); }

bool responses_chain_stored(RequestContext& ctx) {
  auto prev = previous_id(ctx);
  if (prev.empty() || !ctx.gateway.responses || !ctx.key) return false;
  try {
    return ctx.gateway.responses->get(prev, ctx.key->id).has_value();
  } catch (const std::exception&) {
    return false;
  }
}

void keep_response_body(RequestContext& ctx, std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (!ec && v.is_object()) keep_response(ctx, v.as_object());
}

net::awaitable<void> respond_response(RequestContext& ctx, ResponsesAnswer& answer, const json::object& completion_in) {
  json::value guarded_answer;  // a copy only when output guardrails may rewrite the answer
  if (guards_output(ctx)) {
    guarded_answer = completion_in;
    if (auto blocked = guard_answer(ctx, guarded_answer)) {
      co_await respond_error(ctx, *blocked);
      co_return;
    }
  }
  const json::object& completion = guarded_answer.is_object() ? guarded_answer.as_object() : completion_in;
  json::object response = responses::to_response(completion, answer.turn, answer.id, answer.created_at,
                                                 ctx.facts.model, ctx.usage, answer.seal());
  if (asks_to_store(ctx)) keep_response(ctx, response);
  if (ctx.cache.tap) {
    ctx.cache.tap->on_completion(completion);
    store_in_cache(ctx);
  }
  co_await relay_whole(ctx, 200, "application/json", json::serialize(response), {});
}

bool responses_canonical(const RequestContext& ctx, json::object& chat) {
  if (!previous_id(ctx).empty() || !ctx.doc.is_object()) return false;
  responses::Turn turn;
  const store::SecretBox* seal = ctx.gateway.responses ? &ctx.gateway.responses->seal() : nullptr;
  if (responses::to_chat(ctx.doc.as_object(), {}, seal, turn)) return false;
  chat = std::move(turn.chat);
  return true;
}

net::awaitable<void> respond_response_from(RequestContext& ctx, const json::object& completion) {
  ResponsesAnswer answer(ctx);
  if (auto e = responses::to_chat(ctx.doc.as_object(), {}, answer.seal(), answer.turn)) {
    co_await respond_error(ctx, *e);
    co_return;
  }
  if (ctx.facts.stream) {
    auto source = text_source(cache::completion_to_sse(completion));
    auto relay = guarded(responses_relay(answer, nullptr), ctx);
    co_await relay_stream(ctx, *source, *relay, {});
  } else {
    co_await respond_response(ctx, answer, completion);
  }
}

net::awaitable<AttemptResult> responses_attempt(RequestContext& ctx) {
  ResponsesAnswer answer(ctx);
  json::array history;
  if (auto prev = previous_id(ctx); !prev.empty()) {
    bool found = false;
    try {
      found = answer.store && ctx.key && answer.store->history(prev, ctx.key->id, history);
    } catch (const std::exception&) {
    }
    if (!found)
      co_return failed(GatewayError::make(ErrorKind::invalid_request,
                                          fmt::format("Previous response with id '{}' not found.", prev),
                                          "previous_response_not_found", "previous_response_id"));
  }
  // Items the caller refers to by id (item_reference) are read from the store.
  const json::object* request = &ctx.doc.as_object();
  json::object resolved;
  if (answer.store && ctx.key) {
    resolve_references(*answer.store, ctx.key->id, history);
    auto* input = request->if_contains("input");
    if (input && input->is_array() && std::any_of(input->get_array().begin(), input->get_array().end(), is_reference)) {
      resolved = *request;
      resolve_references(*answer.store, ctx.key->id, resolved["input"].as_array());
      request = &resolved;
    }
  }
  if (auto e = responses::to_chat(*request, history, answer.seal(), answer.turn)) co_return failed(std::move(*e));
  // What has no equivalent here is dropped and named (x-tollgate-dropped, the access log), or
  // refused for a strict model, as for every translation (params.h).
  for (const auto& name : answer.turn.dropped) {
    if (name == responses::kUnverifiedReasoning) {  // named, never refused (responses.h)
      name_dropped(ctx, name);
      continue;
    }
    if (!encode_options(ctx, {}, false).drop(name))
      co_return failed(GatewayError::make(ErrorKind::invalid_request,
                                          fmt::format("{}: not supported by the target provider", name),
                                          "unsupported_parameter", name));
  }
  clamp_max_tokens(ctx, answer.turn.chat);
  co_return co_await translated_attempt(ctx, dialects::openai::Endpoint::chat_completions, answer.turn.chat,
                                        Dialect::openai, &answer);
}

net::awaitable<void> stored_response(RequestContext& ctx) {
  // /v1/responses/{id} or /v1/responses/{id}/input_items
  std::string_view path = ctx.ex.target().substr(0, ctx.ex.target().find('?'));
  path.remove_prefix(std::string_view("/v1/responses/").size());
  bool items = false;
  if (auto slash = path.find('/'); slash != std::string_view::npos) {
    items = path.substr(slash) == "/input_items";
    if (!items || ctx.ex.method() != "GET") {
      co_await respond_error(ctx, GatewayError::make(ErrorKind::not_found, "Unknown route.", "unknown_route"));
      co_return;
    }
    path = path.substr(0, slash);
  }
  const std::string id(path);
  ResponseStore* store = ctx.gateway.responses.get();
  if (!store || !ctx.key) {
    auto e = not_found(id);
    co_await respond_error(ctx, e);
    co_return;
  }
  std::optional<ResponseStore::Stored> found;
  bool removed = false;
  bool store_failed = false;
  try {
    if (ctx.ex.method() == "DELETE") removed = store->remove(id, ctx.key->id);
    else found = store->get(id, ctx.key->id);
  } catch (const std::exception&) {
    store_failed = true;
  }
  if (store_failed) {
    auto e = GatewayError::make(ErrorKind::internal, "The response store failed.", "store_error");
    co_await respond_error(ctx, e);
    co_return;
  }
  if (ctx.ex.method() == "DELETE") {
    if (!removed) {
      auto e = not_found(id);
    co_await respond_error(ctx, e);
      co_return;
    }
    json::object deleted{{"id", id}, {"object", "response"}, {"deleted", true}};
    co_await respond_json(ctx, 200, json::serialize(deleted));
    co_return;
  }
  if (!found) {
    auto e = not_found(id);
    co_await respond_error(ctx, e);
    co_return;
  }
  if (!items) {
    co_await respond_json(ctx, 200, json::serialize(found->response));
    co_return;
  }
  // Newest first, as OpenAI lists them.
  json::array data(found->input_items.rbegin(), found->input_items.rend());
  auto id_of = [](const json::value& v) -> json::value {
    if (auto* o = v.if_object(); o && o->contains("id")) return o->at("id");
    return nullptr;
  };
  json::object list{{"object", "list"},
                    {"first_id", data.empty() ? json::value(nullptr) : id_of(data.front())},
                    {"last_id", data.empty() ? json::value(nullptr) : id_of(data.back())},
                    {"has_more", false}};
  list["data"] = std::move(data);
  co_await respond_json(ctx, 200, json::serialize(list));
}

}  // namespace tollgate::gateway
