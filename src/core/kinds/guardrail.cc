// guardrails: policies over prompts and answers, attached to keys and models by name.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Kind guardrail_kind() {
  Kind k;
  k.name = "guardrails";
  k.singular = "guardrail";
  k.component = "Guardrail";
  k.description = "A policy over prompts and answers (PII, prompt injection, keywords, moderation), "
                  "attached to keys and models by name.";
  k.fields = {
      str("name").req(),
      one_of("kind", {"pii", "prompt-injection", "keywords", "moderation"}).req(),
      one_of("mode", {"block", "redact", "monitor"}).dflt("\"block\"").doc("moderation: block or monitor"),
      list("entities", str("entity")).only_if("kind", "pii").doc("pii: email, phone, credit_card, ssn, iban, ip, secret (all when absent)"),
      boolean("reversible").only_if("kind", "pii").doc("pii + redact: numbered placeholders restored in the answer"),
      list("keywords", str("keyword")).only_if("kind", "keywords").doc("keywords: literals, case-insensitive, whole words"),
      list("patterns", str("pattern")).only_if("kind", "keywords").doc("keywords: RE2 patterns"),
      number("threshold", 0.01, 1).doc("prompt-injection: score that acts (default 0.5); moderation: a "
                                       "category counts from this score (the endpoint's flags decide when absent)"),
      ref("provider", "providers").only_if("kind", "moderation").doc("moderation: an openai or openai-compatible provider serving /moderations"),
      str("model").only_if("kind", "moderation").doc("moderation: the moderation model (the endpoint's default when absent)"),
      list("categories", str("category")).only_if("kind", "moderation").doc("moderation: only these categories count (all when absent)"),
      integer("timeout_ms", 1, 600'000).dflt("3000").only_if("kind", "moderation").doc("moderation: bound on the endpoint call"),
      boolean("fail_open").dflt("false").only_if("kind", "moderation").doc("moderation: admit when the endpoint fails (false: 503)"),
  };
  // A moderation policy asks a provider and cannot redact; the other kinds have no provider.
  k.check_more = [](const boost::json::object& doc, std::vector<ConfigError>& errors) {
    auto text = [&](const char* f) {
      const boost::json::value* v = doc.if_contains(f);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    bool moderation = text("kind") == "moderation";
    if (moderation && text("mode") == "redact")
      errors.push_back({"", 0, 0, "mode", "must be block or monitor for a moderation policy"});
    for (const char* f : {"provider", "model", "categories", "timeout_ms", "fail_open"})
      if (!moderation && doc.contains(f)) errors.push_back({"", 0, 0, f, "applies to kind: moderation only"});
    if (moderation && !doc.contains("provider"))
      errors.push_back({"", 0, 0, "provider",
                        "is required for a moderation policy (an openai or openai-compatible provider)"});
  };
  k.example = R"({"name":"no-pii","kind":"pii","mode":"redact","entities":["email","phone"],"reversible":true})";
  return k;
}

}  // namespace tollgate::core::schema
