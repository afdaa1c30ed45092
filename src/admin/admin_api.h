// The REST Admin API (/admin/v1/...): providers, models and virtual keys in the resource store,
// the usage aggregates and request log, the current snapshot, and its OpenAPI document.
//
// Every call is plain blocking code (SQLite reads and writes, usage queries): the admin
// listener runs it on a thread of its own (admin_routes.cc) so a slow query never holds up the
// proxy traffic that shares the admin listener's worker thread. Calls are serialised there, so
// a write and the reload that follows it are never interleaved with another write.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "core/schema.h"
#include "gateway/state.h"
#include "http/server.h"
#include "store/store.h"

namespace tollgate::admin {

struct AdminRequest {
  std::string method;
  std::string target;         // path and query, as sent
  std::string authorization;  // the Authorization header ("" when absent)
  std::string body;
  std::string if_match;       // the If-Match header: the resource version a write expects
};

struct AdminReply {
  int status = 200;
  http::Headers headers;  // content-type included
  std::string body;
};

class AdminApi {
 public:
  // `store` may be null: the API opens its own connection to config.store on first use.
  // `reload_now` loads the store and publishes the snapshot synchronously (true when the new
  // snapshot is live); when empty, the API does that itself after each write.
  AdminApi(gateway::GatewayState& state, std::shared_ptr<store::ResourceStore> store,
           std::function<bool()> reload_now);

  // Answers one /admin/v1 request. Never throws.
  AdminReply handle(const AdminRequest& request);
  // Between requests: the store's connection closed (issue 18: an idle gateway keeps SQLite
  // unloaded); the next request opens it again.
  void close_idle() noexcept;

  struct Caller {
    std::string actor;  // "config" (tollgate.yaml's admin key) or "admin_key:NAME"
    std::string role;   // admin | viewer | team-admin
    std::string team;   // team-admin: the one team it may manage
  };

 private:
  struct Call;
  std::optional<Caller> authenticate(const AdminRequest& request, bool& any_key);
  AdminReply route(Call& call);
  bool team_admin_may(const Call& call) const;
  boost::json::value current_view(const Call& call);
  AdminReply with_version(const Call& call, AdminReply reply);
  void audit(const Call& call, const AdminReply& reply, boost::json::value before);
  AdminReply audit_log(Call& call);
  AdminReply admin_keys(Call& call);
  // `decorate` adds the kind's returned fields to each answer; `visible` hides documents from
  // a caller (a team-admin sees its own team only).
  AdminReply documents(Call& call, const core::schema::Kind& kind,
                       const std::function<void(boost::json::object&)>& decorate = {},
                       const std::function<bool(const std::string&)>& visible = {});
  AdminReply teams(Call& call);
  store::ResourceStore* resource_store(std::string& why_not);
  bool reload();

  struct KindOps;
  AdminReply resources(Call& call, const KindOps& ops);  // the generic routes of one kind
  AdminReply providers(Call& call);
  AdminReply models(Call& call);
  AdminReply guardrails(Call& call);
  AdminReply mcp_servers(Call& call);  // and GET /admin/v1/mcp_status
  AdminReply guardrails_try(Call& call);  // POST /guardrails/try: reads only, so viewers may
  AdminReply keys(Call& call);
  AdminReply usage(Call& call);
  AdminReply requests(Call& call);
  AdminReply config(Call& call);

  gateway::GatewayState& state_;
  std::shared_ptr<store::ResourceStore> store_;
  std::function<bool()> reload_now_;
};

// The OpenAPI 3 document of the Admin API (openapi.cc).
const std::string& openapi_document();

}  // namespace tollgate::admin
