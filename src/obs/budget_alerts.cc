#include "obs/budget_alerts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/snapshot.h"  // parse_endpoint
#include "http/client.h"
#include "http/post_and_wait.h"

namespace tollgate::obs {
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

struct BudgetAlerts::Pending {
  core::UpstreamEndpoint endpoint;
  std::string url, secret, body;
  int attempt = 0;  // attempts made
  Clock::time_point due;
};

// The io_context the thread runs the client on; it outlives the thread, as the client's
// per-thread connection pool must not outlive its context (obs/otlp.cc does the same).
struct BudgetAlerts::Target {
  net::io_context ioc{1};
};

std::string budget_alert_signature(const std::string& secret, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &n);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

BudgetAlerts::BudgetAlerts(BudgetAlertsOptions options)
    : options_(options), target_(std::make_unique<Target>()) {
  thread_ = std::thread([this] { run(); });
}

BudgetAlerts::~BudgetAlerts() { stop(); }

bool BudgetAlerts::submit(const std::string& url, const std::string& secret, std::string body) {
  Pending p;
  if (!core::parse_endpoint(url, p.endpoint)) {
    spdlog::warn("budget alert: webhook {} is not an http(s) URL; not sent", url);
    return false;
  }
  p.url = url;
  p.secret = secret;
  p.body = std::move(body);
  p.due = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) {
      ++stats_.dropped;
      return false;
    }
    insert(std::move(p));
    ++stats_.submitted;
  }
  wake_.notify_one();
  return true;
}

BudgetAlertsStats BudgetAlerts::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void BudgetAlerts::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool BudgetAlerts::post(const Pending& p) {
  http::OutgoingRequest req;
  req.method = "POST";
  req.target = p.endpoint.path_prefix.empty() ? "/" : p.endpoint.path_prefix;
  req.headers.emplace_back("content-type", "application/json");
  req.headers.emplace_back("user-agent", "tollgate-budget-alerts");
  req.headers.emplace_back("x-tollgate-event", "budget.threshold");
  if (!p.secret.empty()) req.headers.emplace_back("x-tollgate-signature", budget_alert_signature(p.secret, p.body));
  req.body = p.body;
  core::Timeouts timeouts;
  timeouts.connect = timeouts.read = timeouts.idle = options_.timeout;

  std::string why = http::post_and_wait(target_->ioc, p.endpoint, timeouts, true, req);
  if (why.empty()) return true;
  spdlog::warn("budget alert to {} failed (attempt {} of {}): {}", p.url, p.attempt + 1, options_.max_attempts, why);
  return false;
}

void BudgetAlerts::run() {
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (stopping_) {
          stats_.failed += queue_.size();
          queue_.clear();
          return;
        }
        if (!queue_.empty() && queue_.front().due <= Clock::now()) break;
        if (queue_.empty()) wake_.wait(lock);
        else wake_.wait_until(lock, queue_.front().due);
      }
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    bool ok = post(p);
    std::lock_guard lock(mutex_);
    if (ok) {
      ++stats_.delivered;
      continue;
    }
    if (++p.attempt >= options_.max_attempts) {
      ++stats_.failed;
      spdlog::error("budget alert to {} given up after {} attempts", p.url, p.attempt);
      continue;
    }
    ++stats_.retried;
    auto backoff = std::min(options_.backoff_max, options_.backoff_min * (int64_t{1} << std::min(p.attempt - 1, 20)));
    p.due = Clock::now() + backoff;
    insert(std::move(p));
  }
}

void BudgetAlerts::insert(Pending p) {  // keeps the queue by due time; the caller holds mutex_
  auto at = std::upper_bound(queue_.begin(), queue_.end(), p.due,
                             [](Clock::time_point due, const Pending& q) { return due < q.due; });
  queue_.insert(at, std::move(p));
}

}  // namespace tollgate::obs
