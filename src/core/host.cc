#include "core/host.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

namespace tollgate::core {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The cpu.max of this process's own cgroup (v2: the "0::<path>" line of /proc/self/cgroup).
std::string own_cpu_max() {
  std::istringstream lines(read_file("/proc/self/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("0::")) continue;
    std::string dir = "/sys/fs/cgroup" + line.substr(3);
    if (auto text = read_file(dir + "/cpu.max"); !text.empty()) return text;
  }
  return read_file("/sys/fs/cgroup/cpu.max");
}

}  // namespace

std::optional<unsigned> cpus_from_cpu_max(std::string_view cpu_max) {
  auto sp = cpu_max.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view q = cpu_max.substr(0, sp), p = cpu_max.substr(sp + 1);
  while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.remove_suffix(1);
  uint64_t quota = 0, period = 0;
  if (std::from_chars(q.data(), q.data() + q.size(), quota).ec != std::errc{} ||
      std::from_chars(p.data(), p.data() + p.size(), period).ec != std::errc{} || quota == 0 || period == 0)
    return std::nullopt;  // "max": no cap
  return static_cast<unsigned>(std::max<uint64_t>(1, (quota + period - 1) / period));
}

unsigned usable_cpus(unsigned affinity, std::string_view cpu_max) {
  unsigned n = std::max(1u, affinity);
  if (auto cap = cpus_from_cpu_max(cpu_max)) n = std::min(n, *cap);
  return n;
}

unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  unsigned affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set))
                                                                  : std::thread::hardware_concurrency();
  return usable_cpus(affinity, own_cpu_max());
}

uint64_t raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    rlimit raised = r;
    raised.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) r = raised;
  }
  return r.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : static_cast<uint64_t>(r.rlim_cur);
}

std::size_t connection_cap(uint64_t nofile) {
  uint64_t reserve = std::min<uint64_t>(64, nofile / 4);
  return static_cast<std::size_t>(std::max<uint64_t>(1, (nofile - reserve) / 2));
}

}  // namespace tollgate::core
