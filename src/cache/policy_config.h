// Reading and checking `cache_policies` (the kind is core/kinds/cache_policy.cc): from the
// resources file (core/resources.cc) and from the documents a store keeps.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.h"

namespace YAML {
class Node;
}

namespace tollgate::core {
class YamlReader;
}

namespace tollgate::cache {

// One item of `cache_policies`; nullopt when it is not a map (reported).
std::optional<core::CachePolicy> read_cache_policy(core::YamlReader& in, const YAML::Node& n,
                                                   const std::string& at);

// One policy from a stored JSON document; nullopt (errors appended) when it does not read.
std::optional<core::CachePolicy> parse_cache_policy(std::string_view doc, std::string_view source,
                                                    std::vector<core::ConfigError>& errors);

// Names unique, the embedding alias declared for semantic policies, and every `cache: NAME` on
// models and keys pointing at a declared policy. `add(section, index, field, message)`.
using AddFinding = std::function<void(std::string_view section, std::size_t index,
                                      std::string_view field, std::string message)>;
void validate_cache_policies(const core::Resources& r, const AddFinding& add);

}  // namespace tollgate::cache
