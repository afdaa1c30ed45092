// tollgate serve | validate | keys create | version
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/process_config.h"
#include "core/resources.h"
#include "core/schema.h"
#include "gateway/runtime.h"
#include "store/admin_keys.h"
#include "store/apply.h"
#include "store/store.h"

using namespace tollgate;

namespace {

bool load_config(const std::string& path, core::ProcessConfig& out) {
  if (path.empty()) return true;  // the embedded defaults
  auto r = core::load_process_config(path);
  if (!r.errors.empty()) {
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return false;
  }
  out = std::move(r.config);
  return true;
}

// A whole file; nullopt (and said on stderr) when it cannot be read.
std::optional<std::string> read_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read the file\n", file.c_str());
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A store command: `work` on the store the process config names, its exit status; a failure
// is "cannot <what>: <why>" and 1.
template <class Work>
int with_store(const std::string& config_path, const std::string& what, Work work) {
  core::ProcessConfig config;
  if (!load_config(config_path, config)) return 1;
  try {
    auto store = store::open_store(config.store);
    return work(*store);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot %s: %s\n", what.c_str(), e.what());
    return 1;
  }
}

int cmd_serve(const std::string& config_path, const std::string& resources_path) {
  core::ProcessConfig config;
  if (!load_config(config_path, config)) return 1;
  if (!resources_path.empty()) config.store = core::StoreConfig{"file", resources_path};
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  std::unique_ptr<store::ResourceStore> store;
  try {
    store = store::open_store(config.store);
  } catch (const store::StoreUnavailable& e) {
    spdlog::error("cannot start: {}; tollgate does not start without its resources (start it again once the "
                  "database is reachable)", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("cannot open the store: {}", e.what());
    return 1;
  }

  // A brand-new SQLite store gets a first key, so the first request can be made at once; and
  // with no admin key in tollgate.yaml nor in the store, an admin key, so the Admin UI can be
  // opened at once (its sign-in link is printed once the listener is up).
  std::string signin_secret;
  // Not on a shared store: replicas starting together would each make their own (a cluster
  // sets admin.key in tollgate.yaml and creates its keys through the Admin API or `apply`).
  if (store->writable() && config.store.kind != "postgres") {
    if (config.admin_key.empty() && store::list_admin_keys(*store).empty())
      signin_secret = store::create_admin_key(*store, "first-admin", "admin").secret;
    auto current = store->load();
    if (current.ok() && current.resources.keys.empty()) {
      auto created = store->create_key("default", {});
      std::printf(
          "tollgate: created the first virtual key (shown once; only its hash is stored):\n"
          "  export TOLLGATE_KEY=%s\n",
          created.secret.c_str());
      std::fflush(stdout);
    }
  }
  return gateway::run(std::move(config), std::move(store), std::move(signin_secret));
}

int cmd_validate(const std::string& file) {
  auto read = read_file(file);
  if (!read) return 1;
  const std::string& text = *read;
  // A process config (tollgate.yaml) or a resources file: tell them apart by their top-level
  // keys. Any resources section makes it a resources file; otherwise any process-config key
  // (a tollgate.yaml may set only `tls:` or `usage:`) makes it a process config.
  auto has_key = [&](std::string_view key) {
    std::string line = std::string(key) + ":";
    return text.rfind(line, 0) == 0 || text.find("\n" + line) != std::string::npos;
  };
  bool resources = false;
  for (const auto& kind : core::schema::kinds())
    resources = resources || (kind.in_resources_file && has_key(kind.name));
  bool process = false;
  for (auto key : {"listen", "tls", "store", "limits", "admin", "workers", "demo", "server", "log", "usage",
                   "tracing", "capture", "budget_alerts"})
    process = process || has_key(key);
  process = process && !resources;
  std::vector<core::ConfigError> errors;
  if (process) {
    errors = core::load_process_config(file).errors;
  } else {
    errors = core::parse_resources(text, file).errors;
  }
  if (errors.empty()) {
    std::printf("ok\n");
    return 0;
  }
  for (const auto& e : errors) std::printf("%s\n", e.to_string().c_str());
  std::fprintf(stderr, "%zu error(s)\n", errors.size());
  return 1;
}

int cmd_keys_create(const std::string& config_path, const std::string& name,
                    const std::vector<std::string>& models) {
  return with_store(config_path, "create the key", [&](store::ResourceStore& store) {
    auto created = store.create_key(name, models);
    std::printf("%s\n", created.secret.c_str());
    std::fprintf(stderr,
                 "created key %s (id %s) in %s; the secret above is shown once, only its hash is stored\n",
                 created.key.name.c_str(), created.key.id.c_str(), store.describe().c_str());
    return 0;
  });
}

int cmd_providers_add(const std::string& config_path, const std::string& name, const std::string& kind,
                      const std::string& base_url, const std::string& api_key) {
  auto k = core::provider_kind_from_string(kind);
  if (!k) {
    std::fprintf(stderr, "unknown provider kind '%s'\n", kind.c_str());
    return 1;
  }
  return with_store(config_path, "save the provider", [&](store::ResourceStore& store) {
    core::Provider p;
    p.name = name;
    p.kind = *k;
    p.base_url = base_url;
    p.api_key = api_key;  // "${ENV}" stays a reference, resolved at every load
    store.put_provider(p);
    std::fprintf(stderr, "provider %s saved in %s\n", name.c_str(), store.describe().c_str());
    return 0;
  });
}

int cmd_models_add(const std::string& config_path, const std::string& name,
                   const std::vector<std::string>& targets) {
  core::Model m;
  m.name = name;
  for (const auto& t : targets) {
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == t.size()) {
      std::fprintf(stderr, "a target is PROVIDER=UPSTREAM_MODEL, not '%s'\n", t.c_str());
      return 1;
    }
    m.targets.push_back(core::Target{t.substr(0, eq), t.substr(eq + 1), 1, 0});
  }
  return with_store(config_path, "save the model", [&](store::ResourceStore& store) {
    store.put_model(m);
    std::fprintf(stderr, "model %s saved in %s\n", name.c_str(), store.describe().c_str());
    return 0;
  });
}

// `tollgate apply FILE`: the whole file validated first, then what differs written in one
// transaction (all or nothing); --dry-run makes the same checks and writes nothing.
int cmd_apply(const std::string& config_path, const std::string& file, bool dry_run, bool prune) {
  auto text = read_file(file);
  if (!text) return 1;
  return with_store(config_path, "apply " + file + " (nothing was applied)", [&](store::ResourceStore& opened) {
    auto* store = dynamic_cast<store::SqlStore*>(&opened);
    if (!store) {
      std::fprintf(stderr, "the store %s is read-only: apply writes to a sqlite or postgres store\n", opened.describe().c_str());
      return 1;
    }
    store::ApplyPlan plan = store::plan_apply(*store, *text, file, prune);
    if (!plan.errors.empty()) {
      for (const auto& e : plan.errors) std::printf("%s\n", e.to_string().c_str());
      std::fprintf(stderr, "%zu error(s); nothing was applied\n", plan.errors.size());
      return 1;
    }
    for (const auto& c : plan.changes) std::printf("%s\n", c.to_string().c_str());
    std::fflush(stdout);
    if (plan.changes.empty()) {
      std::fprintf(stderr, "nothing to change in %s\n", store->describe().c_str());
      return 0;
    }
    try {
      store::apply_plan(*store, plan, !dry_run);
    } catch (const store::InvalidResource& e) {
      for (const auto& f : e.errors) std::printf("%s\n", f.to_string().c_str());
      std::fprintf(stderr, "the store would not load after these changes (%zu error(s)); nothing was applied\n",
                   e.errors.size());
      return 1;
    }
    if (dry_run)
      std::fprintf(stderr, "%zu change(s) to %s checked (dry run: nothing written)\n", plan.changes.size(),
                   store->describe().c_str());
    else
      std::fprintf(stderr, "%zu change(s) applied to %s\n", plan.changes.size(), store->describe().c_str());
    return 0;
  });
}

int cmd_export(const std::string& config_path, const std::string& out_file) {
  return with_store(config_path, "export", [&](store::ResourceStore& opened) {
    auto* store = dynamic_cast<store::SqlStore*>(&opened);
    if (!store) {
      std::fprintf(stderr, "the store %s is a resources file already: export reads a sqlite or postgres store\n",
                   opened.describe().c_str());
      return 1;
    }
    std::string text = store::export_resources(*store);
    if (out_file.empty() || out_file == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    std::ofstream out(out_file, std::ios::trunc);
    if (!(out << text)) {
      std::fprintf(stderr, "%s: cannot write the file\n", out_file.c_str());
      return 1;
    }
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tollgate: the AI gateway"};
  app.require_subcommand(1);

  std::string config_path, resources_path;
  auto* serve = app.add_subcommand("serve", "Start the gateway");
  serve->add_option("-c,--config", config_path, "Process config (tollgate.yaml); embedded defaults without it");
  serve->add_option("-r,--resources", resources_path, "Serve this resources file (read-only store)");

  std::string validate_file;
  auto* validate = app.add_subcommand("validate", "Check a resources or process config file offline");
  validate->add_option("file", validate_file, "The file")->required();

  auto* keys = app.add_subcommand("keys", "Manage virtual keys");
  keys->require_subcommand(1);
  auto* create = keys->add_subcommand("create", "Create a key and print its secret once");
  std::string key_name;
  std::vector<std::string> key_models;
  create->add_option("--name", key_name, "Key name")->required();
  create->add_option("--models", key_models, "Allowed model aliases (comma separated)")->delimiter(',');
  create->add_option("-c,--config", config_path, "Process config (tollgate.yaml)");

  auto* providers = app.add_subcommand("providers", "Manage providers in the SQLite store");
  providers->require_subcommand(1);
  auto* padd = providers->add_subcommand("add", "Add or replace a provider");
  std::string p_name, p_kind, p_base_url, p_api_key;
  padd->add_option("--name", p_name, "Provider name")->required();
  padd->add_option("--kind", p_kind, "openai | openai-compatible | azure | anthropic | gemini")->required();
  padd->add_option("--base-url", p_base_url, "Base URL (optional where the kind has a default)");
  padd->add_option("--api-key", p_api_key, "The key, or an ${ENV} reference (quote it)");
  padd->add_option("-c,--config", config_path, "Process config (tollgate.yaml)");

  auto* models = app.add_subcommand("models", "Manage model aliases in the SQLite store");
  models->require_subcommand(1);
  auto* madd = models->add_subcommand("add", "Add or replace a model alias");
  std::string m_name;
  std::vector<std::string> m_targets;
  madd->add_option("--name", m_name, "The alias callers send as model")->required();
  madd->add_option("--target", m_targets, "PROVIDER=UPSTREAM_MODEL (repeatable)")->required();
  madd->add_option("-c,--config", config_path, "Process config (tollgate.yaml)");

  auto* apply = app.add_subcommand("apply", "Push a resources file into the store (validated whole first)");
  std::string apply_file;
  bool dry_run = false, prune = false;
  apply->add_option("file", apply_file, "The resources file")->required();
  apply->add_option("-c,--config", config_path, "Process config (tollgate.yaml)");
  apply->add_flag("--dry-run", dry_run, "Print the changes, write nothing");
  apply->add_flag("--prune", prune, "Also remove what the file no longer has, in the sections it gives (keys: revoked)");

  auto* exp = app.add_subcommand("export", "Write the store out as a resources file");
  std::string export_file;
  exp->add_option("-c,--config", config_path, "Process config (tollgate.yaml)");
  exp->add_option("-o,--output", export_file, "The file to write (stdout without it)");

  app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  // Diagnostics go to stderr; stdout carries the listening line and the access log.
  spdlog::set_default_logger(spdlog::stderr_color_mt("tollgate"));

  if (*serve) return cmd_serve(config_path, resources_path);
  if (*validate) return cmd_validate(validate_file);
  if (*create) return cmd_keys_create(config_path, key_name, key_models);
  if (*padd) return cmd_providers_add(config_path, p_name, p_kind, p_base_url, p_api_key);
  if (*madd) return cmd_models_add(config_path, m_name, m_targets);
  if (*apply) return cmd_apply(config_path, apply_file, dry_run, prune);
  if (*exp) return cmd_export(config_path, export_file);
  std::printf("tollgate %s\n", TOLLGATE_VERSION);
  return 0;
}
