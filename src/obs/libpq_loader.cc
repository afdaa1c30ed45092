// libpq, loaded when PostgreSQL is first used rather than at start. Linked in, libpq and what
// it needs (GSSAPI/Kerberos, LDAP, GnuTLS, p11-kit, nettle...) cost ~3 MB of resident memory
// in every gateway, most of which never talks to PostgreSQL (issue 18: idle RSS). The PG
// stores keep calling the libpq API as declared in <libpq-fe.h>; the functions they use are
// defined here and forward to the library opened with dlopen on first call. The binary is
// linked with --as-needed, so libpq.so is no longer loaded at start.
#include <dlfcn.h>
#include <libpq-fe.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace {

#define TOLLGATE_PQ_FUNCTIONS(X)                                                              \
  X(PQconnectdb) X(PQfinish) X(PQstatus) X(PQerrorMessage) X(PQdb) X(PQhost) X(PQport)        \
  X(PQsetNoticeProcessor) X(PQexecParams) X(PQresultStatus) X(PQresultErrorMessage)           \
  X(PQntuples) X(PQgetvalue) X(PQgetlength) X(PQgetisnull) X(PQcmdTuples) X(PQclear)            \
  X(PQexec) X(PQresultErrorField) X(PQconsumeInput) X(PQnotifies) X(PQfreemem)                \
  X(PQconninfoParse) X(PQconninfoFree)

struct Libpq {
#define TOLLGATE_PQ_POINTER(name) decltype(&::name) name = nullptr;
  TOLLGATE_PQ_FUNCTIONS(TOLLGATE_PQ_POINTER)
#undef TOLLGATE_PQ_POINTER
  std::string error;  // why it could not be loaded; empty when loaded
};

const Libpq& libpq() {
  static Libpq lib;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      lib.error = std::string("cannot load libpq (libpq.so.5): ") + (e ? e : "unknown error");
      return;
    }
#define TOLLGATE_PQ_RESOLVE(name)                                                      \
  lib.name = reinterpret_cast<decltype(&::name)>(dlsym(h, #name));                     \
  if (!lib.name && lib.error.empty()) lib.error = "libpq.so.5 lacks " #name;
    TOLLGATE_PQ_FUNCTIONS(TOLLGATE_PQ_RESOLVE)
#undef TOLLGATE_PQ_RESOLVE
  });
  return lib;
}

// The library, or an exception saying why it is not there (the stores report it as a
// connection failure: PostgreSQL configured on a host without libpq5).
const Libpq& loaded() {
  const Libpq& lib = libpq();
  if (!lib.error.empty()) throw std::runtime_error(lib.error);
  return lib;
}

}  // namespace

// Only PQconnectdb and PQconninfoParse can be the first call; every other function takes what
// one of them returned. A function missing here links libpq in again (the unit test
// LibpqNotLoadedAtStart says so).
extern "C" {
PGconn* PQconnectdb(const char* conninfo) { return loaded().PQconnectdb(conninfo); }
void PQfinish(PGconn* conn) { if (conn) loaded().PQfinish(conn); }
ConnStatusType PQstatus(const PGconn* conn) { return conn ? loaded().PQstatus(conn) : CONNECTION_BAD; }
char* PQerrorMessage(const PGconn* conn) { return loaded().PQerrorMessage(conn); }
char* PQdb(const PGconn* conn) { return loaded().PQdb(conn); }
char* PQhost(const PGconn* conn) { return loaded().PQhost(conn); }
char* PQport(const PGconn* conn) { return loaded().PQport(conn); }
PQnoticeProcessor PQsetNoticeProcessor(PGconn* conn, PQnoticeProcessor proc, void* arg) {
  return loaded().PQsetNoticeProcessor(conn, proc, arg);
}
PGresult* PQexecParams(PGconn* conn, const char* command, int n, const Oid* types, const char* const* values,
                       const int* lengths, const int* formats, int result_format) {
  return loaded().PQexecParams(conn, command, n, types, values, lengths, formats, result_format);
}
ExecStatusType PQresultStatus(const PGresult* res) { return loaded().PQresultStatus(res); }
char* PQresultErrorMessage(const PGresult* res) { return loaded().PQresultErrorMessage(res); }
int PQntuples(const PGresult* res) { return loaded().PQntuples(res); }
char* PQgetvalue(const PGresult* res, int row, int column) { return loaded().PQgetvalue(res, row, column); }
int PQgetlength(const PGresult* res, int row, int column) { return loaded().PQgetlength(res, row, column); }
int PQgetisnull(const PGresult* res, int row, int column) { return loaded().PQgetisnull(res, row, column); }
char* PQcmdTuples(PGresult* res) { return loaded().PQcmdTuples(res); }
void PQclear(PGresult* res) { if (res) loaded().PQclear(res); }
PGresult* PQexec(PGconn* conn, const char* query) { return loaded().PQexec(conn, query); }
char* PQresultErrorField(const PGresult* res, int field) { return loaded().PQresultErrorField(res, field); }
int PQconsumeInput(PGconn* conn) { return loaded().PQconsumeInput(conn); }
PGnotify* PQnotifies(PGconn* conn) { return loaded().PQnotifies(conn); }
void PQfreemem(void* p) { if (p) loaded().PQfreemem(p); }
PQconninfoOption* PQconninfoParse(const char* conninfo, char** errmsg) {
  return loaded().PQconninfoParse(conninfo, errmsg);
}
void PQconninfoFree(PQconninfoOption* options) { if (options) loaded().PQconninfoFree(options); }
}
