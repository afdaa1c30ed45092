// Active health checks: the targets of models that set `health_check` are probed on a timer,
// off the request path, and the probes alone open a target's circuit (after `failures` failed
// probes in a row) and close it (after `successes` good ones), with no caller traffic. Probes
// are counted apart (TargetStats::probes_ok/failed) and never billed or recorded as usage.
#pragma once

#include <memory>

#include "core/snapshot.h"

namespace boost::asio {
class io_context;
}

namespace tollgate::routing {

// Runs the checks on `ioc` (one worker's) until it stops; reads the current snapshot from
// `snapshots` each tick, so reloads add and drop checks.
void start_health_checks(boost::asio::io_context& ioc, core::SnapshotHolder& snapshots);

}  // namespace tollgate::routing
