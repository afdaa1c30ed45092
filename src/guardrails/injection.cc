// The built-in prompt-injection rules: known attack phrasings, each with a weight, combined
// per text as 1 - prod(1 - w). One strong signal ("ignore all previous instructions",
// "you are now DAN") reaches the default threshold 0.5 alone; weak signals ("developer mode",
// a markdown image with a query string in a tool result) only count together.
//
// Weights are per source: a tool result or a retrieved document that addresses "the AI" is far
// more suspicious than a user doing so, since the user IS the one instructing the model.
// System and assistant texts are not scored (the application wrote them).
#include <cstdint>

#include "guardrails/detectors.h"

namespace tollgate::guardrails::detail {
namespace {

// `.{0,N}` gaps are bounded (and never cross a sentence end) so the DFA stays small and
// "ignore the typo. Previous instructions were fine" does not link two sentences.
constexpr InjectionRule kRules[] = {
    {"ignore_previous",
     R"((?i)\b(?:ignore|disregard|forget|override|bypass|skip|abandon)\b[^.!?\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|any|your|system|original|initial)\b[^.!?\n]{0,30}\b(?:instructions?|prompts?|rules|directions|directives?|guidelines|guardrails|constraints|programming)\b)",
     0.9, 0.95, InjectionRule::none},
    {"new_instructions",
     R"((?i)\b(?:new|updated|real|actual|true|revised)\s+(?:system\s+)?(?:instructions?|rules|directives?|task)\s*(?:are|is)?\s*[:\-])",
     0.35, 0.6, InjectionRule::none},
    {"jailbreak_persona",
     R"((?i)\byou\s+are\s+(?:now\s+|going\s+to\s+(?:act|be)\s+(?:as\s+)?)?(?:DAN\b|STAN\b|DUDE\b|AIM\b|in\s+(?:developer|god|jailbreak|unrestricted)\s+mode|jailbroken|an?\s+(?:unfiltered|uncensored|unrestricted|evil|amoral|unethical)\b))",
     0.9, 0.95, InjectionRule::none},
    {"do_anything_now", R"((?i)\bdo\s+anything\s+now\b)", 0.8, 0.9, InjectionRule::none},
    {"no_restrictions",
     R"((?i)\b(?:pretend|act\s+as\s+if|imagine|assume|from\s+now\s+on)\b[^.!?\n]{0,50}\b(?:no|without|free\s+of|free\s+from|not\s+bound\s+by)\s+(?:any\s+)?(?:restrictions|rules|limits|limitations|filters|guidelines|content\s+polic(?:y|ies)|ethical|moral|safety))",
     0.7, 0.85, InjectionRule::none},
    {"no_longer_bound",
     R"((?i)\b(?:no\s+longer|not)\s+(?:bound|restricted|limited|constrained)\s+by\s+(?:any\s+|your\s+|the\s+|openai|anthropic|content|safety|ethical))",
     0.7, 0.85, InjectionRule::none},
    {"special_mode", R"((?i)\b(?:enable|activate|enter|switch\s+to)\s+(?:developer|god|jailbreak|sudo|admin|debug)\s+mode\b)",
     0.3, 0.6, InjectionRule::none},
    {"system_prompt_exfiltration",
     R"((?i)\b(?:reveal|show|print|repeat|output|display|leak|dump|disclose|expose|tell\s+me|give\s+me|write\s+out|spell\s+out|translate|summari[sz]e)\b[^.!?\n]{0,25}\b(?:your|the|my)\s+(?:entire\s+|full\s+|exact\s+|complete\s+)?(?:system\s+(?:prompt|message|instructions)|initial\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions)|(?:original|previous|above|secret)\s+(?:prompt|instructions)|instructions\s+(?:above|you\s+were\s+given)|developer\s+(?:message|instructions)))",
     0.8, 0.9, InjectionRule::none},
    {"system_prompt_question",
     R"((?i)\bwhat\s+(?:is|are|were)\s+your\s+(?:system\s+prompt|initial\s+instructions|original\s+instructions|hidden\s+instructions|instructions|rules)\b)",
     0.55, 0.7, InjectionRule::none},
    {"repeat_above",
     R"((?i)\b(?:repeat|print|output|copy)\s+(?:everything|all|the\s+(?:text|words|content))\s+(?:above|before|prior)\b)",
     0.7, 0.85, InjectionRule::none},
    {"role_delimiter",
     R"((?i)(?:<\|im_start\|>|<\|im_end\|>|<\|system\|>|<\|endoftext\|>|\[/?INST\]|<<SYS>>|</?system>|(?m:^\s*#{2,}\s*(?:system|new\s+instructions?)\s*:?\s*$)|(?m:^\s*(?:system|assistant)\s*:\s*\S)))",
     0.45, 0.7, InjectionRule::none},
    {"addressed_to_ai",
     R"((?i)\b(?:attention|note|important|message|instructions?)\s*[:,]?\s*(?:(?:to|for)\s+)?(?:the\s+|any\s+|all\s+)?(?:ai|assistant|model|llm|chatbot|language\s+model|agent)s?\b)",
     0.25, 0.75, InjectionRule::none},
    {"ai_must",
     R"((?i)\b(?:ai|assistant|model|llm|chatbot|agent)s?\b[^.!?\n]{0,20}\b(?:must|should|shall|are\s+instructed\s+to|is\s+instructed\s+to|has\s+to|needs?\s+to)\s+(?:now\s+)?(?:ignore|reply|respond|say|send|include|output|tell|call|execute|run|visit|open)\b)",
     0.15, 0.55, InjectionRule::none},
    {"when_you_read",
     R"((?i)\b(?:when|if|once)\s+(?:you|an?\s+ai|the\s+(?:ai|assistant|model))\s+(?:read|see|process|summari[sz]e|encounter)s?\s+this\b)",
     0.3, 0.7, InjectionRule::none},
    {"exfiltration_link",
     R"((?i)!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,300}[?&][^)\s=]{1,50}=)", 0.2, 0.5,
     InjectionRule::none},
    {"exfiltration_request",
     R"((?i)\b(?:send|forward|post|upload|exfiltrate|email|transmit)\b[^.!?\n]{0,40}\b(?:conversation|chat\s+history|api\s+keys?|passwords?|credentials|tokens?|secrets?|system\s+prompt|user\s+data)\b[^.!?\n]{0,40}\b(?:to|at)\s+(?:https?://|\S+@\S+))",
     0.5, 0.8, InjectionRule::none},
    {"decode_and_follow",
     R"((?i)\b(?:decode|decipher|deobfuscate)\b[^.!?\n]{0,40}\b(?:base64|rot13|hex|binary|morse)\b[^.!?\n]{0,40}\b(?:follow|execute|obey|do\s+what|act\s+on|run)\b)",
     0.6, 0.8, InjectionRule::none},
    // Encoded payloads: decoded and scored again with these same rules (one level deep).
    {"encoded_payload", R"([A-Za-z0-9+/]{32,}={0,2})", 0, 0, InjectionRule::base64_payload},
    {"hidden_tag_characters", R"([\x{E0000}-\x{E007F}]{4,})", 0.6, 0.7,
     InjectionRule::tag_characters},
};

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::span<const InjectionRule> injection_rules() { return kRules; }

std::string decode_base64_text(std::string_view s, size_t max_out) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t printable = 0;
  for (unsigned char c : s) {
    if (c == '=') break;
    int v = b64_value(c);
    if (v < 0) return {};
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      char ch = static_cast<char>((acc >> bits) & 0xFF);
      out.push_back(ch);
      unsigned char u = static_cast<unsigned char>(ch);
      printable += (u >= 0x20 && u < 0x7F) || u == '\n' || u == '\t' || u >= 0x80;
      if (out.size() >= max_out) break;
    }
  }
  // Random base64 (keys, images, hashes) decodes to binary; only text is worth scoring.
  if (out.empty() || printable * 10 < out.size() * 9) return {};
  return out;
}

std::string decode_tag_characters(std::string_view s, size_t max_out) {
  // U+E0000..U+E007F are F3 A0 80 80 .. F3 A0 81 BF in UTF-8; the low 7 bits mirror ASCII.
  std::string out;
  for (size_t i = 0; i + 3 < s.size() && out.size() < max_out;) {
    auto u = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    if (u(0) == 0xF3 && u(1) == 0xA0 && (u(2) == 0x80 || u(2) == 0x81)) {
      int cp = ((u(2) & 0x3F) << 6) | (u(3) & 0x3F);
      if (cp >= 0x20 && cp < 0x7F) out.push_back(static_cast<char>(cp));
      i += 4;
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace tollgate::guardrails::detail
