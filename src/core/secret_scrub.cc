#include "core/secret_scrub.h"

#include <algorithm>

namespace tollgate::core {

void SecretScrubber::add(std::string_view secret) {
  if (secret.size() < kMinLength) return;
  auto insert = [&](std::string s) {
    if (std::find(secrets_.begin(), secrets_.end(), s) != secrets_.end()) return;
    secrets_.push_back(std::move(s));
  };
  insert(std::string(secret));
  if (secret.find('/') != std::string_view::npos) {
    std::string escaped;
    for (char c : secret) {
      if (c == '/') escaped += '\\';
      escaped += c;
    }
    insert(std::move(escaped));
  }
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void SecretScrubber::add_credential(std::string_view credential) {
  add(credential);
  std::size_t start = 0;
  while (start <= credential.size()) {
    std::size_t end = credential.find(':', start);
    if (end == std::string_view::npos) end = credential.size();
    if (end - start != credential.size()) add(credential.substr(start, end - start));
    start = end + 1;
  }
}

bool SecretScrubber::scrub(std::string& text) const {
  bool any = false;
  for (const auto& s : secrets_) {
    for (std::size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + kMask.size())) {
      text.replace(at, s.size(), kMask);
      any = true;
    }
  }
  return any;
}

}  // namespace tollgate::core
