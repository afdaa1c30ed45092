// The process: worker threads (one io_context and one SO_REUSEPORT listener each), the admin
// listener, resource reloads (SIGHUP, or the store changing), and graceful shutdown (SIGTERM
// lets answers in progress finish, up to a deadline).
#pragma once

#include <memory>

#include "core/process_config.h"
#include "store/store.h"

namespace tollgate::gateway {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run(core::ProcessConfig config, std::unique_ptr<store::ResourceStore> store);

// The resources the gateway serves: the store's, plus the built-in `demo` provider and model
// and providers picked up from the environment (OPENAI_API_KEY), unless declared already.
core::Resources with_builtins(core::Resources r, const core::ProcessConfig& config);

}  // namespace tollgate::gateway
