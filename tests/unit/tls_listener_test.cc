// TLS termination on a listener: the context loads (or says which file would not), a TLS
// client gets answers on a kept-alive connection with ALPN http/1.1, plain HTTP or an old
// protocol on the TLS port ends only that connection, and the client-gone watch works
// through TLS.
#include "http/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "hello_handler.h"
#include "test_certs.h"

namespace tollgate::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

class TlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tg-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    cert_ = test_certs::make_test_cert();
    test_certs::TestCert other = test_certs::make_test_cert();
    test_certs::write_file(dir_ / "gw.crt", cert_.cert_pem);
    test_certs::write_file(dir_ / "gw.key", cert_.key_pem);
    test_certs::write_file(dir_ / "other.key", other.key_pem);
    test_certs::write_file(dir_ / "locked.key", cert_.encrypted_key_pem);
    test_certs::write_file(dir_ / "garbage.pem", "garbage\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string at(const char* name) { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  test_certs::TestCert cert_;
};

std::string failure_of(const std::string& cert, const std::string& key) {
  try {
    make_tls_context(cert, key);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST_F(TlsFiles, AContextLoadsFromACertificateAndItsKey) {
  EXPECT_NE(make_tls_context(at("gw.crt"), at("gw.key")), nullptr);
}

TEST_F(TlsFiles, AFileThatDoesNotLoadIsAnErrorNamingIt) {
  std::string e = failure_of(at("gw.crt"), at("missing.key"));
  EXPECT_NE(e.find(at("missing.key")), std::string::npos) << e;
  e = failure_of(at("gw.crt"), at("garbage.pem"));
  EXPECT_NE(e.find("cannot load a private key from \"" + at("garbage.pem") + "\""), std::string::npos) << e;
  e = failure_of(at("garbage.pem"), at("gw.key"));
  EXPECT_NE(e.find("cannot load a certificate chain from \"" + at("garbage.pem") + "\""), std::string::npos) << e;
  e = failure_of(at("gw.crt"), at("locked.key"));  // refused, never a passphrase prompt
  EXPECT_NE(e.find(at("locked.key")), std::string::npos) << e;
  e = failure_of(at("gw.crt"), at("other.key"));
  EXPECT_NE(e.find("does not match"), std::string::npos) << e;
}

// A listener on its own thread, answering "hello"; /wait waits up to 5 s unless the client goes.
class TlsListener : public TlsFiles {
 protected:
  void SetUp() override {
    TlsFiles::SetUp();
    ListenerOptions options;
    options.tls = make_tls_context(at("gw.crt"), at("gw.key"));
    options.header_timeout = std::chrono::milliseconds(2000);
    listener_ = start_listener(ioc_, "127.0.0.1", 0, options, [this](Exchange& ex) { return handle(ex); });
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    net::post(ioc_, [this] { listener_->drain(); });
    ioc_.stop();
    thread_.join();
    listener_.reset();
    TlsFiles::TearDown();
  }

  net::awaitable<void> handle(Exchange& ex) { return tollgate::test_support::answer_hello(ex, client_gone_); }

  tcp::endpoint endpoint() const { return {net::ip::make_address("127.0.0.1"), listener_->port()}; }

  // A client that trusts only the test certificate and offers ALPN h2 and http/1.1.
  std::unique_ptr<ssl::stream<tcp::socket>> tls_client(ssl::context& ctx) {
    auto s = std::make_unique<ssl::stream<tcp::socket>>(client_ioc_, ctx);
    static const unsigned char kAlpn[] = "\x02h2\x08http/1.1";
    SSL_set_alpn_protos(s->native_handle(), kAlpn, sizeof kAlpn - 1);
    s->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    s->next_layer().connect(endpoint());
    timeval tv{5, 0};  // a hung server fails the test instead of hanging it
    setsockopt(s->next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }
  ssl::context trusting_context() {
    ssl::context ctx(ssl::context::tls_client);
    ctx.add_certificate_authority(net::buffer(cert_.cert_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
  }

  net::io_context ioc_{1};
  net::io_context client_ioc_;
  std::shared_ptr<Listener> listener_;
  std::thread thread_;
  std::atomic<bool> client_gone_{false};
};

bhttp::response<bhttp::string_body> get(ssl::stream<tcp::socket>& s, const char* target) {
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(s, req);
  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  return res;
}

TEST_F(TlsListener, AnswersOverTlsOnAKeptAliveConnectionWithAlpnHttp11) {
  ssl::context ctx = trusting_context();
  auto s = tls_client(ctx);
  s->handshake(ssl::stream_base::client);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(s->native_handle(), &alpn, &alpn_len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(alpn), alpn_len), "http/1.1");
  EXPECT_GE(SSL_version(s->native_handle()), TLS1_2_VERSION);
  for (int i = 0; i < 2; ++i) {
    auto res = get(*s, "/");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "hello");
    EXPECT_TRUE(res.keep_alive());
  }
  boost::system::error_code ec;
  s->shutdown(ec);  // the server answers close_notify with its own
  EXPECT_TRUE(!ec || ec == net::error::eof) << ec.message();
}

TEST_F(TlsListener, PlainHttpOrAnOldProtocolEndsThatConnectionOnly) {
  tcp::socket plain(client_ioc_);
  plain.connect(endpoint());
  timeval tv{5, 0};
  setsockopt(plain.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  net::write(plain, net::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  // Plain HTTP gets a plain 400 that says to use https, then the connection ends.
  std::string reply;
  boost::system::error_code ec;
  for (;;) {
    char piece[512];
    std::size_t n = plain.read_some(net::buffer(piece), ec);
    if (ec) break;
    reply.append(piece, n);
  }
  EXPECT_EQ(ec, net::error::eof) << ec.message();
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"code\":\"tls_required\""), std::string::npos) << reply;

  // Bytes that are neither TLS nor HTTP: closed without a word.
  tcp::socket junk(client_ioc_);
  junk.connect(endpoint());
  setsockopt(junk.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  net::write(junk, net::buffer(std::string("\x01\x02garbage")));
  char none[64];
  std::size_t n = junk.read_some(net::buffer(none), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  EXPECT_EQ(n, 0u);

  // A client that speaks at most TLS 1.1 (allowed on its side) is refused.
  ssl::context old = trusting_context();
  SSL_CTX_set_security_level(old.native_handle(), 0);
  SSL_CTX_set_cipher_list(old.native_handle(), "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_1_VERSION);
  auto s_old = tls_client(old);
  s_old->handshake(ssl::stream_base::client, ec);
  EXPECT_TRUE(ec) << "a TLS 1.1 handshake succeeded";

  ssl::context ctx = trusting_context();
  auto s = tls_client(ctx);
  s->handshake(ssl::stream_base::client);
  EXPECT_EQ(get(*s, "/").body(), "hello");
}

TEST_F(TlsListener, AClientThatGoesAwayIsSeenThroughTls) {
  ssl::context ctx = trusting_context();
  auto s = tls_client(ctx);
  s->handshake(ssl::stream_base::client);
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/wait", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(*s, req);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto left = std::chrono::steady_clock::now();
  s->next_layer().close();  // no close_notify: the way a killed client goes
  while (!client_gone_ && std::chrono::steady_clock::now() - left < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(client_gone_);
  EXPECT_LT(std::chrono::steady_clock::now() - left, std::chrono::seconds(1));
}

TEST_F(TlsListener, AClientThatNeverHandshakesIsClosedAfterTheHeaderTimeout) {
  tcp::socket idle(client_ioc_);
  idle.connect(endpoint());
  timeval tv{5, 0};
  setsockopt(idle.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = std::chrono::steady_clock::now();
  char reply[16];
  boost::system::error_code ec;
  idle.read_some(net::buffer(reply), ec);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  EXPECT_GE(took, std::chrono::milliseconds(1500));
  EXPECT_LT(took, std::chrono::milliseconds(4000));
}

}  // namespace
}  // namespace tollgate::http
