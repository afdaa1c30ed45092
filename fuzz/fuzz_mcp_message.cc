// MCP messages as the gateway reads them: a POSTed JSON-RPC body (parse_message, its _meta,
// its subject), the mirrored header encoding, name minting and mapping back, and an upstream
// SSE stream whose events are parsed as JSON-RPC. The first byte picks the piece size.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/sse.h"
#include "mcp/message.h"
#include "mcp/names.h"

using namespace tollgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 32;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  mcp::Message m;
  std::string error;
  if (!mcp::parse_message(in, m, error)) {
    if (!m.doc.is_object()) abort();
    (void)m.meta_string(mcp::kMetaVersion);
    std::string subject(m.subject());
    std::string minted = mcp::mint("srv", subject);
    if (!mcp::is_llm_name(minted)) abort();  // every minted name is LLM-safe
    std::string_view rest;
    if (!subject.empty() && !mcp::strip_prefix("srv", minted, rest)) abort();
    if (mcp::mint("srv", subject) != minted) abort();  // deterministic
    std::string uri;
    if (!mcp::strip_uri("srv", "srv", mcp::mint_uri("srv", "srv", subject), uri) || uri != subject) abort();
    (void)mcp::error_body(m.id, -32600, subject);
  }
  if (auto d = mcp::decode_header_value(in)) {
    auto round = mcp::decode_header_value(mcp::encode_header_value(*d));
    if (!round || *round != *d) abort();  // encode then decode is the identity
  }
  (void)mcp::glob_match(in.substr(0, in.size() / 2), in.substr(in.size() / 2));

  http::SseReader reader;
  http::SseEvent ev;
  for (size_t i = 0; i < in.size(); i += step) {
    reader.feed(in.substr(i, step));
    while (reader.next(ev)) {
      if (!ev.has_data) continue;
      mcp::Message e;
      (void)mcp::parse_message(ev.data, e, error);
    }
  }
  return 0;
}
