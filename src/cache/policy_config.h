// Reading and checking `cache_policies` (one file, called from core/resources.cc, until the
// kinds are described by schemas).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

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

// Names unique, the embedding alias declared for semantic policies, and every `cache: NAME` on
// models and keys pointing at a declared policy. `add(section, index, field, message)`.
using AddFinding = std::function<void(std::string_view section, std::size_t index,
                                      std::string_view field, std::string message)>;
void validate_cache_policies(const core::Resources& r, const AddFinding& add);

}  // namespace tollgate::cache
