// The process: worker threads (one io_context and one SO_REUSEPORT listener each), the admin
// listener, resource reloads (SIGHUP, or the store changing), and graceful shutdown (SIGTERM
// lets answers in progress finish, up to a deadline).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/process_config.h"
#include "core/snapshot.h"
#include "store/store.h"

namespace tollgate::gateway {

// Runs until SIGTERM/SIGINT; returns the process exit code. With `signin_secret` (an admin key
// made on first start), prints the Admin UI's one-time sign-in link once the listener is up.
int run(core::ProcessConfig config, std::unique_ptr<store::ResourceStore> store, std::string signin_secret = {});

// The resources the gateway serves: the store's, plus the built-in `demo` provider and model
// and providers picked up from the environment (OPENAI_API_KEY), unless declared already.
core::Resources with_builtins(core::Resources r, const core::ProcessConfig& config);

// The snapshot the gateway serves from validated resources: built-ins added, prices from the
// catalog under the configured overrides, guardrail policies compiled. Throws
// std::invalid_argument for what validation cannot see. The one way to build a snapshot:
// reloads and the Admin API both use it.
std::shared_ptr<const core::Snapshot> build_snapshot(core::Resources r, const core::ProcessConfig& config,
                                                     uint64_t version);

// Held from reading the store to publishing the snapshot, by the main loop's reloads and the
// Admin API's: a reload that read the store earlier can never publish after one that read it
// later (a rotated-away key served again until the next change).
std::mutex& reload_mutex();

}  // namespace tollgate::gateway
