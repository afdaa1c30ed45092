// Gemini's own wire shapes (generativelanguage v1beta) and the small, pure translations of them
// that both directions need: the Schema subset, finish reasons, usageMetadata, the error
// envelope, resource paths. The request/response translation lives in translate_*.cc.
//
// Shapes this folder speaks (only the fields Tollgate reads or writes):
//   GenerateContentRequest  {contents:[Content], systemInstruction: Content, tools:[{functionDeclarations:
//                            [{name, description, parameters: Schema}]}], toolConfig:{functionCallingConfig:
//                            {mode: AUTO|ANY|NONE, allowedFunctionNames}}, generationConfig:{...}}
//   Content                 {role: "user"|"model", parts:[Part]}
//   Part                    {text, thought?, thoughtSignature?} | {inlineData:{mimeType, data}}
//                           | {fileData:{mimeType, fileUri}} | {functionCall:{name, args}}
//                           | {functionResponse:{name, response: object}}
//   GenerateContentResponse {candidates:[{index, content, finishReason}], promptFeedback:{blockReason},
//                            usageMetadata:{promptTokenCount, candidatesTokenCount, thoughtsTokenCount,
//                            cachedContentTokenCount, toolUsePromptTokenCount, totalTokenCount},
//                            modelVersion, responseId}
//   Error                   {error:{code, message, status, details:[{"@type", reason, ...}]}}
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/usage.h"

namespace tollgate::dialects::gemini::wire {

// "/v1beta/models/gemini-2.0-flash:generateContent". `model` may already carry a resource
// collection ("models/x", "tunedModels/x"); a bare name is taken as "models/<name>".
std::string method_path(std::string_view model, std::string_view method);
// "models/<name>" (the `model` field of embed requests).
std::string model_resource(std::string_view model);

// JSON Schema (as OpenAI tools and response_format carry it) -> Gemini's Schema, a subset of
// OpenAPI 3.0 that rejects unknown keys. Kept: type (upper-cased; ["T","null"] becomes T +
// nullable), format (only the formats Gemini honours: enum/date-time for strings,
// float/double/int32/int64 for numbers), title, description, nullable, enum (string values
// only), properties, required (only names that are in properties), items, anyOf, minItems,
// maxItems, minLength, maxLength, minProperties, maxProperties, minimum, maximum, pattern,
// example, propertyOrdering.
// Rewritten: $ref to #/$defs or #/definitions is inlined (a cycle is cut after 8 levels);
// allOf is merged into its parent; oneOf becomes anyOf; const becomes a one-value enum;
// an anyOf branch {type:null} becomes nullable.
// Stripped (at every depth, never under `properties`' names): additionalProperties, $schema,
// $id, $ref, $defs, definitions, $comment, $anchor, default, examples, not, if/then/else,
// patternProperties, propertyNames, unevaluatedProperties, dependentRequired,
// dependentSchemas, dependencies, exclusiveMinimum, exclusiveMaximum, multipleOf, uniqueItems,
// contains, prefixItems, contentEncoding, contentMediaType, readOnly, writeOnly, deprecated,
// strict, and anything else Gemini's Schema does not define.
boost::json::object to_gemini_schema(const boost::json::value& json_schema);

// Gemini finishReason -> OpenAI finish_reason. STOP is "tool_calls" when the candidate called
// a function (Gemini has no separate reason for that).
std::string_view finish_reason(std::string_view gemini, bool has_tool_calls);

// usageMetadata -> canonical usage. input = prompt + toolUsePrompt tokens; output = candidates
// + thoughts tokens (as OpenAI counts reasoning tokens in completion_tokens).
void read_usage(const boost::json::object& usage_metadata, core::Usage& out);
// canonical usage -> OpenAI's usage object (with prompt/completion token details).
boost::json::object openai_usage(const core::Usage& u);

// Floats as OpenAI's `encoding_format: "base64"` carries them: float32 little-endian, base64.
std::string to_base64_floats(std::span<const float> values);

// Ids of tool calls Gemini does not number: "call_<responseId>_<n>" restricted to
// [A-Za-z0-9_-] (Anthropic's id alphabet), so the ids of different answers do not collide.
std::string tool_call_id(std::string_view response_id, size_t n);

}  // namespace tollgate::dialects::gemini::wire
