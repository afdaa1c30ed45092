// Aggregate names: a server's tools and prompts appear as `prefix__name`, its resources as
// `tollgate-mcp://server/<uri>`. Minted names always fit LLM function-name rules
// (^[A-Za-z0-9_-]{1,64}$): a longer or invalid one is shortened deterministically with a hash
// suffix, and mapped back by minting the upstream's names again.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::mcp {

// 1-64 characters of [A-Za-z0-9_-].
bool is_llm_name(std::string_view s);

// The aggregate name of `name` on a server with `prefix` ("" : none).
std::string mint(std::string_view prefix, std::string_view name);

// The part after `prefix__` when `minted` has that prefix (for an empty prefix: all of it);
// the caller still checks it against the upstream's names when it was shortened.
bool strip_prefix(std::string_view prefix, std::string_view minted, std::string_view& rest);

// Whether `minted` ends like a shortened name (its hash suffix): only then is the upstream's
// list consulted to map it back.
bool looks_shortened(std::string_view minted);

// Resources: `tollgate-mcp://<server>/<uri>` for a prefixed server, the URI itself otherwise.
std::string mint_uri(std::string_view prefix, std::string_view server, std::string_view uri);
bool strip_uri(std::string_view prefix, std::string_view server, std::string_view minted, std::string& uri);

// Shell-style glob: `*` any run, `?` one character.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace tollgate::mcp
