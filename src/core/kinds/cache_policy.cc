// cache_policies: how answers are cached (cache/policy.h), attached to models, teams and keys by name.
#include "core/kinds/kinds.h"

#include <boost/json/serialize.hpp>

#include "cache/policy_config.h"

namespace tollgate::core::schema {

Kind cache_policy_kind() {
  Kind k;
  k.name = "cache_policies";
  k.singular = "cache policy";
  k.component = "CachePolicy";
  k.description = "A response cache policy: exact (the same request) or semantic (a similar one), who shares "
                  "answers, how long they live and where; attached to models, teams and keys by name.";
  k.fields = {
      str("name").req().matches("^[A-Za-z0-9._-]+$").doc("letters, digits, '.', '_' and '-'"),
      one_of("mode", {"exact", "semantic"}).dflt("\"exact\"")
          .doc("exact: the same request; semantic: the nearest stored request above threshold"),
      integer("ttl_s", 1, 10.0 * 365 * 86400).dflt("3600").doc("seconds an answer is kept"),
      one_of("scope", {"key", "team", "global"}).dflt("\"key\"")
          .doc("who shares an answer: the key, its team, or every caller"),
      one_of("backend", {"local", "redis"}).dflt("\"local\"")
          .doc("local: in process (LRU); redis: the Redis of limits.url, shared by replicas"),
      integer("max_bytes", 1024, 1099511627776.0).dflt("67108864").doc("local: the LRU's byte cap"),
      ref("embedding_model", "models").only_if("mode", "semantic")
          .doc("semantic (required): the alias that embeds request texts, called like any request of the key"),
      number("threshold", 0.5, 1).dflt("0.95").only_if("mode", "semantic")
          .doc("semantic: the least cosine similarity that is a hit"),
      integer("max_entries", 1, 1e8).dflt("10000").only_if("mode", "semantic")
          .doc("semantic: the vectors the in-process index holds, all partitions together (the soonest to expire "
               "leave first)"),
      boolean("allow_tools").doc("requests offering tools are cached (default: exact yes, semantic no)"),
      number("max_temperature", 0, 2).doc("only requests at or below this temperature (default: exact any, semantic 0)"),
  };
  k.check_more = [](const boost::json::object& doc, std::vector<ConfigError>& errors) {
    cache::parse_cache_policy(boost::json::serialize(doc), "", errors);
  };
  k.example = R"({"name":"faq","mode":"semantic","embedding_model":"gpt-4o","threshold":0.9,"ttl_s":86400,
                  "scope":"key","backend":"local","max_bytes":1048576,"allow_tools":false,"max_temperature":0})";
  return k;
}

}  // namespace tollgate::core::schema
