// `${NAME}` references in configuration strings, resolved from the environment, so secrets
// stay out of files and rows. Shared by the process config, the resources and the stores.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::core {

struct Interpolated {
  std::string value;
  std::string error;  // empty on success; otherwise names the variable or the bad reference
  bool ok() const { return error.empty(); }
};

// Looks a variable up; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Replaces `${NAME}` with the variable's value and `${NAME:-default}` with the value, or with
// `default` when the variable is unset or empty (as the shell does). `$${` is a literal `${`;
// any other `$` is kept as is. A variable that is not set and has no default is an error
// naming it. NAME is [A-Za-z_][A-Za-z0-9_]*.
Interpolated interpolate_env(std::string_view text);
Interpolated interpolate_env(std::string_view text, const EnvLookup& lookup);

// `text` with every `${` written `$${`: interpolate_env() gives it back as it is (a secret, or a
// reference to keep as written, read by code that resolves references).
std::string escape_references(std::string_view text);

// True when `text` holds a reference that interpolate_env() would replace.
bool has_env_reference(std::string_view text);

}  // namespace tollgate::core
