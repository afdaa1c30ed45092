// models: the aliases callers send as "model", each routed to upstream targets.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Kind model_kind() {
  constexpr double kMaxU32 = 4294967295.0;
  Kind k;
  k.name = "models";
  k.singular = "model";
  k.component = "Model";
  k.description = "An alias callers send as \"model\", routed to one or more upstream targets.";
  k.fields = {
      str("name").req().matches("^[A-Za-z0-9/.:_*-]+$")
          .doc("letters, digits, '/', '.', ':', '_', '-' and '*' ('*' makes it a pattern: claude-*, gpt-5*, *)"),
      one_of("strategy", {"weighted", "least-latency", "least-busy", "lowest-cost", "fallback", "priority"})
          .dflt("\"weighted\""),
      list("targets", object("target", {ref("provider", "providers").req(),
                                        str("model").req().doc("the upstream model name"),
                                        integer("weight", 0, kMaxU32).dflt("1"),
                                        integer("priority", 0, kMaxU32).dflt("0")
                                            .doc("lower is tried first; a tier is used when the one above is down"),
                                        pricing_field("pricing")})
                          .named("Target"))
          .req()
          .doc("at least one"),
      list("fallbacks", ref("model", "models")).doc("other aliases tried when every target here failed"),
      object("retry", {integer("max_attempts", 1, 20).dflt("3").doc("attempts in all, across targets"),
                       integer("backoff_ms", 0, 60'000).dflt("100").doc("doubled per retry, with jitter"),
                       integer("max_backoff_ms", 0, 600'000).dflt("2000"),
                       list("on", one_of("class", {"connect", "timeout", "429", "5xx"}))
                           .doc("failure classes worth another attempt (all four by default)")}),
      object("circuit", {integer("failures", 1, 1000).dflt("3").doc("consecutive failures that open it"),
                         integer("cooldown_ms", 1, 86'400'000).dflt("30000")}),
      object("health_check",
             {integer("interval_ms", 100, 86'400'000).doc("how often each target is probed; absent: no active checks"),
              integer("timeout_ms", 1, 600'000).dflt("5000"),
              one_of("probe", {"models", "request"}).dflt("\"models\"")
                  .doc("models: GET the provider's model list; request: a 1-token chat"),
              integer("failures", 1, 1000).dflt("2").doc("consecutive failed probes that open the circuit"),
              integer("successes", 1, 1000).dflt("1").doc("consecutive good probes that close it")})
          .doc("active health checks of the targets, off the request path"),
      one_of("when_all_unavailable", {"send", "fail"}).dflt("\"send\"")
          .doc("every target cooling or open: send to the one recovering first, or fail at once"),
      integer("timeout_ms", 0, 86'400'000).dflt("0").doc("overall deadline across attempts; 0: none"),
      object("affinity", {one_of("by", {"header", "key", "user"}), str("header").doc("for by: header")})
          .doc("which request attribute pins a caller to a target"),
      pricing_field("pricing"),
      limits_field("limits").doc("for the model, all keys together"),
      list("guardrails", ref("guardrail", "guardrails")).doc("policies for every key calling this alias"),
      ref("cache", "cache_policies").doc("a cache policy's name (cache_policies): answers of this alias may be cached"),
      one_of("prompt_caching", {"off", "auto"}).dflt("\"off\"")
          .doc("auto: Anthropic and Bedrock Claude targets get prompt-cache breakpoints after the system prompt "
               "and the tools when the caller set no cache_control"),
      boolean("strict_params").dflt("false")
          .doc("a parameter a target cannot honour is a 400 naming it, instead of being dropped and named in "
               "x-tollgate-dropped"),
      integer("max_output_tokens", 1, 1099511627776)
          .doc("the targets' output limit where the catalog does not know it: a larger max_tokens is clamped"),
      integer("context_window", 1, 1099511627776),
  };
  k.check_more = [](const boost::json::object& doc, std::vector<ConfigError>& errors) {
    const boost::json::value* a = doc.if_contains("affinity");
    if (!a || !a->is_object()) return;
    const boost::json::value* header = a->as_object().if_contains("header");
    if (a->as_object().contains("by") && a->as_object().at("by") == "header" &&
        !(header && header->is_string() && !header->as_string().empty()))
      errors.push_back({"", 0, 0, "affinity.header", "is required with by: header"});
  };
  k.returned = {boolean("builtin").doc("added by the gateway (demo), not stored")};
  k.example = R"({"name":"gpt-4o","strategy":"priority",
                  "targets":[{"provider":"openai-main","model":"gpt-4o","weight":2,"priority":0,
                              "pricing":{"input":2.5,"output":10}}],
                  "fallbacks":["demo"],"retry":{"max_attempts":2,"backoff_ms":50,"max_backoff_ms":500,"on":["5xx"]},
                  "circuit":{"failures":5,"cooldown_ms":10000},
                  "health_check":{"interval_ms":10000,"timeout_ms":2000,"probe":"models","failures":2,"successes":1},
                  "when_all_unavailable":"send","timeout_ms":30000,
                  "affinity":{"by":"header","header":"x-session"},"pricing":{"input":3},
                  "limits":{"rpm":600,"tpm":100000},"guardrails":["no-pii"],"strict_params":false,
                  "max_output_tokens":16384,"context_window":128000,"prompt_caching":"auto"})";
  return k;
}

}  // namespace tollgate::core::schema
