#include "core/env_interpolate.h"

#include <cstdlib>

namespace tollgate::core {
namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace

Interpolated interpolate_env(std::string_view text) { return interpolate_env(text, process_env); }

Interpolated interpolate_env(std::string_view text, const EnvLookup& lookup) {
  Interpolated out;
  out.value.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      out.value.push_back(c);
      ++i;
      continue;
    }
    // "$${" is the escape for a literal "${".
    if (text.substr(i, 3) == "$${") {
      out.value.append("${");
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out.value.push_back(c);
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = "unterminated \"${\" (write \"$${\" for a literal \"${\")";
      return out;
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    bool valid = !name.empty() && is_name_start(name[0]);
    for (char n : name) valid = valid && is_name_char(n);
    if (!valid) {
      // Not quoted: what sits here by mistake is often the secret itself ("${sk-...}").
      out.error = "a \"${...}\" reference does not name an environment variable "
                  "(expected ${NAME} or ${NAME:-default}: letters, digits and _, not starting with a digit)";
      return out;
    }
    std::optional<std::string> value = lookup(std::string(name));
    if (fallback && (!value || value->empty())) {
      out.value.append(*fallback);
    } else if (value) {
      out.value.append(*value);
    } else {
      out.error = "environment variable " + std::string(name) + " is not set";
      return out;
    }
    i = close + 1;
  }
  return out;
}

bool has_env_reference(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '$') continue;
    if (text[i + 1] == '$' && i + 2 < text.size() && text[i + 2] == '{') {
      i += 2;  // escaped
      continue;
    }
    if (text[i + 1] == '{') return true;
  }
  return false;
}

std::string escape_references(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) out += '$';
    out += text[i];
  }
  return out;
}

}  // namespace tollgate::core
