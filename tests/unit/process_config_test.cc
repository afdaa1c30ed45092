// tollgate.yaml: every field optional, every typo an error, store paths anchored to the file.
#include "core/process_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_certs.h"

namespace tollgate::core {
namespace {

std::string all_errors(const ProcessConfigResult& r) {
  std::string all;
  for (const ConfigError& e : r.errors) all += e.to_string() + "\n";
  return all;
}

TEST(ProcessConfig, AnEmptyFileGivesTheDefaults) {
  ProcessConfigResult r = parse_process_config("", "/etc/tollgate/tollgate.yaml");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const ProcessConfig& c = r.config;
  EXPECT_EQ(c.proxy_listen, "127.0.0.1:8080");
  EXPECT_EQ(c.admin_listen, "127.0.0.1:8081");
  EXPECT_EQ(c.store.kind, "sqlite");
  EXPECT_EQ(c.store.path, "/etc/tollgate/data/tollgate.db");  // the default is relative too
  EXPECT_EQ(c.limits_backend, "local");
  EXPECT_EQ(c.admin_key, "");
  EXPECT_EQ(c.workers, 0u);
  EXPECT_TRUE(c.demo);
  EXPECT_EQ(c.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.access_log);
}

TEST(ProcessConfig, ReadsEveryField) {
  setenv("TG_TEST_ADMIN_KEY", "admin-secret", 1);
  ProcessConfigResult r = parse_process_config(R"(
listen: { proxy: "0.0.0.0:0", admin: "[::1]:9091" }
store: { kind: file, path: resources.yaml }
limits: { backend: local }
admin: { key: "${TG_TEST_ADMIN_KEY}" }
workers: 4
demo: false
server:
  max_body_bytes: 1048576
  max_header_bytes: 8192
  header_timeout_ms: 1000
  body_timeout_ms: 2000
  keepalive_idle_ms: 3000
  shutdown_grace_ms: 0
log: { level: debug, access_log: false }
)",
                                               "/srv/gw/tollgate.yaml");
  unsetenv("TG_TEST_ADMIN_KEY");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  const ProcessConfig& c = r.config;
  EXPECT_EQ(c.proxy_listen, "0.0.0.0:0");
  EXPECT_EQ(c.admin_listen, "[::1]:9091");
  EXPECT_EQ(c.store.kind, "file");
  EXPECT_EQ(c.store.path, "/srv/gw/resources.yaml");
  EXPECT_EQ(c.admin_key, "admin-secret");
  EXPECT_EQ(c.workers, 4u);
  EXPECT_FALSE(c.demo);
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.max_header_bytes, 8192u);
  EXPECT_EQ(c.header_timeout.count(), 1000);
  EXPECT_EQ(c.body_timeout.count(), 2000);
  EXPECT_EQ(c.keepalive_idle.count(), 3000);
  EXPECT_EQ(c.shutdown_grace.count(), 0);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_FALSE(c.access_log);
}

TEST(ProcessConfig, RelativeStorePathsResolveAgainstTheConfigDirectory) {
  EXPECT_EQ(parse_process_config("store: { path: ./db/x.db }", "conf/tollgate.yaml").config.store.path,
            "conf/db/x.db");
  EXPECT_EQ(parse_process_config("store: { path: ../x.db }", "/a/b/tollgate.yaml").config.store.path,
            "/a/x.db");
  EXPECT_EQ(parse_process_config("store: { path: /abs/x.db }", "/a/b/tollgate.yaml").config.store.path,
            "/abs/x.db");
  EXPECT_EQ(parse_process_config("store: { path: x.db }", "tollgate.yaml").config.store.path, "x.db");
}

TEST(ProcessConfig, UnknownFieldsAreErrorsNamingThem) {
  ProcessConfigResult r = parse_process_config(
      "listen: { proxy: \"127.0.0.1:1\", admn: \"127.0.0.1:2\" }\n"
      "wrkers: 3\n"
      "server: { max_body: 5 }\n",
      "t.yaml");
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  std::map<std::string, ConfigError> by_field;
  for (const ConfigError& e : r.errors) by_field[e.field] = e;
  ASSERT_TRUE(by_field.contains("listen.admn")) << all_errors(r);
  EXPECT_EQ(by_field["listen.admn"].to_string().substr(0, 26), "t.yaml:1:33: listen.admn: ");
  EXPECT_NE(by_field["listen.admn"].message.find("unknown field"), std::string::npos);
  ASSERT_TRUE(by_field.contains("wrkers")) << all_errors(r);
  EXPECT_EQ(by_field["wrkers"].line, 2);
  EXPECT_EQ(by_field["wrkers"].column, 1);
  EXPECT_TRUE(by_field.contains("server.max_body")) << all_errors(r);
}

TEST(ProcessConfig, BadValuesAreErrorsAndEveryOneIsReported) {
  unsetenv("TG_TEST_NO_SUCH_VAR");
  ProcessConfigResult r = parse_process_config(
      "listen: { proxy: \"localhost\", admin: \"::1:8081\" }\n"
      "store: { kind: etcd }\n"
      "limits: { backend: memcached }\n"
      "admin: { key: \"${TG_TEST_NO_SUCH_VAR}\" }\n"
      "workers: -1\n"
      "demo: maybe\n"
      "server: { max_body_bytes: 0, header_timeout_ms: lots }\n"
      "log: { level: loud }\n",
      "t.yaml");
  std::vector<std::string> fields;
  for (const ConfigError& e : r.errors) {
    fields.push_back(e.field);
    EXPECT_GT(e.line, 0) << e.to_string();
  }
  EXPECT_EQ(fields, (std::vector<std::string>{"listen.proxy", "listen.admin", "store.kind",
                                              "limits.backend", "admin.key", "workers", "demo",
                                              "server.max_body_bytes", "server.header_timeout_ms",
                                              "log.level"}))
      << all_errors(r);
  EXPECT_NE(r.errors[4].message.find("TG_TEST_NO_SUCH_VAR"), std::string::npos);
}

TEST(ProcessConfig, AFileStoreNeedsAPath) {
  ProcessConfigResult r = parse_process_config("store: { kind: file }\n", "t.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].field, "store.path");
}

TEST(ProcessConfig, LoadsFromAFileAndReportsAMissingOne) {
  auto dir = std::filesystem::temp_directory_path() / ("tg-pc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tollgate.yaml") << "store: { path: state/tollgate.db }\nworkers: 2\n";
  ProcessConfigResult ok = load_process_config((dir / "tollgate.yaml").string());
  EXPECT_TRUE(ok.errors.empty()) << all_errors(ok);
  EXPECT_EQ(ok.config.store.path, (dir / "state/tollgate.db").string());
  EXPECT_EQ(ok.config.workers, 2u);

  ProcessConfigResult missing = load_process_config((dir / "nope.yaml").string());
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].source, (dir / "nope.yaml").string());
  EXPECT_NE(missing.errors[0].message.find("cannot read"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// A directory with a good certificate and key, another key, an encrypted key and garbage.
class ProcessConfigTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tg-pc-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    test_certs::TestCert a = test_certs::make_test_cert();
    test_certs::TestCert b = test_certs::make_test_cert();
    test_certs::write_file(dir_ / "certs/gw.crt", a.cert_pem);
    test_certs::write_file(dir_ / "certs/gw.key", a.key_pem);
    test_certs::write_file(dir_ / "certs/other.key", b.key_pem);
    test_certs::write_file(dir_ / "certs/locked.key", a.encrypted_key_pem);
    test_certs::write_file(dir_ / "certs/garbage.pem", "this is not PEM\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProcessConfigResult parse(const std::string& yaml) {
    return parse_process_config(yaml, (dir_ / "tollgate.yaml").string());
  }
  std::string at(const std::string& rel) { return (dir_ / rel).string(); }

  std::filesystem::path dir_;
};

TEST_F(ProcessConfigTls, IsOffUnlessConfigured) {
  ProcessConfigResult r = parse("listen: { proxy: \"127.0.0.1:8443\" }\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.config.proxy_tls.enabled());
  EXPECT_FALSE(r.config.admin_tls.enabled());
  EXPECT_TRUE(parse("tls:\n").errors.empty());
  EXPECT_TRUE(parse("tls: { proxy: ~ }\n").errors.empty());
}

TEST_F(ProcessConfigTls, ReadsEachListenerAndResolvesPathsAgainstTheConfigFile) {
  ProcessConfigResult r = parse(
      "tls:\n"
      "  proxy: { cert_file: certs/gw.crt, key_file: ./certs/gw.key }\n"
      "  admin: { cert_file: \"" + at("certs/gw.crt") + "\", key_file: \"" + at("certs/gw.key") + "\" }\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.config.proxy_tls.enabled());
  EXPECT_EQ(r.config.proxy_tls.cert_file, at("certs/gw.crt"));
  EXPECT_EQ(r.config.proxy_tls.key_file, at("certs/gw.key"));
  EXPECT_EQ(r.config.admin_tls.cert_file, at("certs/gw.crt"));

  r = parse("tls: { admin: { cert_file: certs/gw.crt, key_file: certs/gw.key } }\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.config.proxy_tls.enabled());
  EXPECT_TRUE(r.config.admin_tls.enabled());
}

TEST_F(ProcessConfigTls, FilesThatDoNotLoadAreErrorsNamingTheFieldAndTheFile) {
  struct Case {
    std::string cert, key, field, says;
  };
  std::vector<Case> cases = {
      {"certs/gw.crt", "certs/missing.key", "tls.proxy.key_file", "does not exist"},
      {"certs/missing.crt", "certs/gw.key", "tls.proxy.cert_file", "does not exist"},
      {"certs/gw.crt", "certs/garbage.pem", "tls.proxy.key_file", "cannot load a private key"},
      {"certs/garbage.pem", "certs/gw.key", "tls.proxy.cert_file", "cannot load a certificate chain"},
      {"certs/gw.crt", "certs/locked.key", "tls.proxy.key_file", "unencrypted"},
      {"certs/gw.crt", "certs/other.key", "tls.proxy.key_file", "does not match the certificate"},
      {"certs", "certs/gw.key", "tls.proxy.cert_file", "is a directory"},
  };
  for (const Case& c : cases) {
    ProcessConfigResult r =
        parse("tls:\n  proxy: { cert_file: " + c.cert + ", key_file: " + c.key + " }\n");
    ASSERT_EQ(r.errors.size(), 1u) << c.cert << " " << c.key << "\n" << all_errors(r);
    const ConfigError& e = r.errors[0];
    EXPECT_EQ(e.field, c.field) << e.to_string();
    EXPECT_EQ(e.line, 2) << e.to_string();
    EXPECT_GT(e.column, 0) << e.to_string();
    EXPECT_NE(e.message.find(c.says), std::string::npos) << e.to_string();
    const std::string& named = c.field.ends_with("key_file") ? c.key : c.cert;
    EXPECT_NE(e.message.find(at(named)), std::string::npos) << "the message names the file: " << e.to_string();
    EXPECT_FALSE(r.config.proxy_tls.enabled()) << "a listener whose files fail keeps no TLS settings";
  }
}

TEST_F(ProcessConfigTls, BothFilesAreRequiredAndTyposAreErrors) {
  ProcessConfigResult r = parse(
      "tls:\n"
      "  proxy: { cert_file: certs/gw.crt }\n"
      "  admin: { cert_file: certs/gw.crt, key_file: \"\" }\n"
      "  metrics: { cert_file: certs/gw.crt, key_file: certs/gw.key }\n");
  std::map<std::string, ConfigError> by_field;
  for (const ConfigError& e : r.errors) by_field[e.field] = e;
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
  ASSERT_TRUE(by_field.contains("tls.proxy.key_file")) << all_errors(r);
  EXPECT_NE(by_field["tls.proxy.key_file"].message.find("is required"), std::string::npos);
  ASSERT_TRUE(by_field.contains("tls.admin.key_file")) << all_errors(r);
  EXPECT_NE(by_field["tls.admin.key_file"].message.find("is empty"), std::string::npos);
  ASSERT_TRUE(by_field.contains("tls.metrics")) << all_errors(r);
  EXPECT_NE(by_field["tls.metrics"].message.find("unknown field"), std::string::npos);

  r = parse("tls: { proxy: { cert_file: certs/gw.crt, key_file: certs/gw.key, ca_file: x } }\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].field, "tls.proxy.ca_file");
}

TEST(SplitHostPort, AcceptsHostsIpv4AndBracketedIpv6) {
  std::string host;
  unsigned short port = 1;
  ASSERT_TRUE(split_host_port("127.0.0.1:8080", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(split_host_port("localhost:0", host, port));
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(split_host_port("[::1]:8080", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(split_host_port("[::]:65535", host, port));
  EXPECT_EQ(host, "::");
  EXPECT_EQ(port, 65535);
}

TEST(SplitHostPort, RejectsWhatDoesNotParse) {
  std::string host = "unchanged";
  unsigned short port = 7;
  for (const char* bad : {"", "localhost", ":8080", "host:", "host:65536", "host:80a", "::1:8080",
                          "[::1]", "[::1]8080", "[]:80", "[127.0.0.1]:80", "ho st:80",
                          "host:-1", "host:+80"}) {
    EXPECT_FALSE(split_host_port(bad, host, port)) << bad;
  }
  EXPECT_EQ(host, "unchanged");
  EXPECT_EQ(port, 7);
}

TEST(ProcessConfig, StoredResponses) {
  ProcessConfigResult d = parse_process_config("", "/etc/tollgate/tollgate.yaml");
  EXPECT_TRUE(d.config.responses_store);
  EXPECT_EQ(d.config.responses_retention_days, 30);
  ProcessConfigResult r = parse_process_config("responses: { store: false, retention_days: 7 }\n", "/etc/tollgate/tollgate.yaml");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_FALSE(r.config.responses_store);
  EXPECT_EQ(r.config.responses_retention_days, 7);
  ProcessConfigResult bad = parse_process_config("responses: { retention_days: 0, keep: 1 }\n", "/etc/tollgate/tollgate.yaml");
  EXPECT_EQ(bad.errors.size(), 2u) << all_errors(bad);
}

}  // namespace
}  // namespace tollgate::core
