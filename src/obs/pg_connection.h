// One libpq connection used under its own mutex, with text parameters; reconnects lazily after
// a failure. Shared by the PostgreSQL stores (usage records, stored responses).
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "obs/usage_sql.h"

namespace tollgate::obs {

namespace sql = usage_sql;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// One connection, used under its own mutex; reconnects lazily after a failure.
// libpq waits forever for an unreachable host unless told otherwise; the writer thread must
// not, or stop() would hang at shutdown.
inline std::string with_connect_timeout(std::string conninfo) {
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  if (conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://"))
    return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=5";
  return conninfo + " connect_timeout=5";
}

class PgConnection {
 public:
  // `what` names the store in errors ("usage store (postgres)").
  PgConnection(std::string conninfo, std::string what = "usage store (postgres)")
      : conninfo_(with_connect_timeout(std::move(conninfo))), what_(std::move(what)) {}
  ~PgConnection() { close(); }

  std::mutex& mutex() { return mutex_; }

  // Runs one statement with text parameters. Throws std::runtime_error on failure.
  Result exec(const std::string& statement, const std::vector<sql::Param>& params) {
    PGconn* c = connect();
    std::vector<std::string> storage;
    storage.reserve(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto& p = params[i];
      if (std::holds_alternative<std::monostate>(p)) continue;
      if (auto* v = std::get_if<int64_t>(&p)) storage.push_back(std::to_string(*v));
      else if (auto* d = std::get_if<double>(&p)) storage.push_back(fmt::format("{}", *d));  // shortest round trip
      else if (auto* b = std::get_if<bool>(&p)) storage.push_back(*b ? "t" : "f");
      else storage.push_back(std::get<std::string>(p));
      values[i] = storage.back().c_str();
    }
    std::string numbered = sql::number_placeholders(statement);
    Result r(PQexecParams(c, numbered.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
    auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string msg = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(c);
      if (PQstatus(c) != CONNECTION_OK) close();  // broken: connect afresh next time
      throw std::runtime_error(what_ + ": " + trim(msg));
    }
    return r;
  }

  void exec_plain(const std::string& statement) { exec(statement, {}); }

  std::string describe() {
    std::lock_guard lock(mutex_);
    PGconn* c = conn_;
    if (!c) return "postgres";
    return fmt::format("postgres:{}:{}/{}", PQhost(c) ? PQhost(c) : "", PQport(c) ? PQport(c) : "",
                       PQdb(c) ? PQdb(c) : "");
  }

 private:
  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  PGconn* connect() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
    close();
    conn_ = PQconnectdb(conninfo_.c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = conn_ ? trim(PQerrorMessage(conn_)) : "out of memory";
      close();
      throw std::runtime_error(what_ + ": cannot connect: " + msg);
    }
    // NOTICEs ("relation already exists, skipping") would go to stderr: not ours to print.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    return conn_;
  }

  void close() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
  }

  std::string conninfo_;
  std::string what_;
  std::mutex mutex_;
  PGconn* conn_ = nullptr;
};

}  // namespace tollgate::obs
