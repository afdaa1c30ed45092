// The scrubber every upstream's words pass through: whole credentials, their parts, their
// JSON-escaped forms, and nothing shorter than a secret.
#include "core/secret_scrub.h"

#include <gtest/gtest.h>

using tollgate::core::SecretScrubber;

TEST(SecretScrubber, ReplacesEveryOccurrenceOfEverySecret) {
  SecretScrubber s;
  s.add("sk-live-0123456789abcdef");
  std::string text = R"x({"error":{"message":"Incorrect API key provided: sk-live-0123456789abcdef (sk-live-0123456789abcdef)"}})x";
  EXPECT_TRUE(s.scrub(text));
  EXPECT_EQ(text, R"x({"error":{"message":"Incorrect API key provided: [REDACTED] ([REDACTED])"}})x");
  std::string clean = "nothing here";
  EXPECT_FALSE(s.scrub(clean));
  EXPECT_EQ(clean, "nothing here");
}

TEST(SecretScrubber, CredentialPartsAndJsonEscapedSlashesAreCaught) {
  SecretScrubber s;
  s.add_credential("AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY:FwoGZXIvYXdzEBYaDH");
  std::string text = R"x(key AKIAIOSFODNN7EXAMPLE secret "wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY" token FwoGZXIvYXdzEBYaDH)x";
  s.scrub(text);
  EXPECT_EQ(text, R"x(key [REDACTED] secret "[REDACTED]" token [REDACTED])x");
}

TEST(SecretScrubber, ShortValuesAreNotSecretsAndTheLongestGoesWhole) {
  SecretScrubber s;
  s.add("blue");  // too short to be a credential: left alone
  s.add("abcdefgh");
  s.add("abcdefgh-and-more");
  std::string text = "blue abcdefgh-and-more abcdefgh";
  s.scrub(text);
  EXPECT_EQ(text, "blue [REDACTED] [REDACTED]");
  EXPECT_FALSE(SecretScrubber().scrub(text));
}
