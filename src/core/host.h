// What the process may use of the machine it runs on: CPUs (its affinity mask, capped by a
// cgroup v2 quota) and file descriptors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::core {

// The CPUs a cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>") allows, rounded up;
// nullopt when it sets no cap or cannot be read.
std::optional<unsigned> cpus_from_cpu_max(std::string_view cpu_max);

// The CPUs of `affinity` (a count) capped by the quota in `cpu_max` (its text; empty: none).
// At least 1.
unsigned usable_cpus(unsigned affinity, std::string_view cpu_max);

// The same for this process: sched_getaffinity's count and the cpu.max of its own cgroup.
unsigned usable_cpus();

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force after.
uint64_t raise_descriptor_limit();

// Caller connections a process with `nofile` descriptors can hold: a reserve for its own files
// (stores, logs, listeners, event fds) is kept, and each caller may need an upstream connection.
std::size_t connection_cap(uint64_t nofile);

}  // namespace tollgate::core
