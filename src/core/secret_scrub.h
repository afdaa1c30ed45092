// Provider credentials an upstream may say back. Real providers quote the key they were sent
// in 401 bodies ("Incorrect API key provided: sk-..."), HTML error pages dump request headers,
// and proxies in front of them echo everything: whatever an upstream says goes through here
// before a caller, a log or a capture file sees it (gateway/dispatch.cc, gateway/relay.cc,
// gateway/record.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::core {

class SecretScrubber {
 public:
  static constexpr std::string_view kMask = "[REDACTED]";
  static constexpr std::size_t kMinLength = 8;  // shorter values are not secrets worth a scan

  // A secret, and the forms it takes inside JSON ("/" escaped as "\/"). Ignored when shorter
  // than kMinLength.
  void add(std::string_view secret);
  // Every part of a credential made of ':'-separated parts (Bedrock's
  // "ACCESS_KEY_ID:SECRET:TOKEN"), and the whole.
  void add_credential(std::string_view credential);

  // Replaces every occurrence of every secret with kMask; true when something was replaced.
  bool scrub(std::string& text) const;
  bool empty() const { return secrets_.empty(); }

 private:
  std::vector<std::string> secrets_;  // longest first, so a secret containing another goes whole
};

}  // namespace tollgate::core
