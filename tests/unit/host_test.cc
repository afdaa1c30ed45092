// core/host.h: the CPUs `workers: 0` means, and the connection cap from the descriptor limit.
#include "core/host.h"

#include <gtest/gtest.h>

using tollgate::core::connection_cap;
using tollgate::core::cpus_from_cpu_max;
using tollgate::core::usable_cpus;

TEST(HostCpus, CpuMaxQuotaRoundsUp) {
  EXPECT_EQ(cpus_from_cpu_max("100000 100000\n"), 1u);
  EXPECT_EQ(cpus_from_cpu_max("150000 100000\n"), 2u);
  EXPECT_EQ(cpus_from_cpu_max("400000 100000"), 4u);
  EXPECT_EQ(cpus_from_cpu_max("5000 100000\n"), 1u);  // a tenth of a CPU is still one worker
}

TEST(HostCpus, CpuMaxWithoutQuotaOrUnreadable) {
  EXPECT_EQ(cpus_from_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max(""), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("garbage"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("100000 0"), std::nullopt);
}

TEST(HostCpus, AffinityCappedByQuota) {
  EXPECT_EQ(usable_cpus(8, "200000 100000\n"), 2u);  // quota below the mask
  EXPECT_EQ(usable_cpus(2, "800000 100000\n"), 2u);  // mask below the quota
  EXPECT_EQ(usable_cpus(3, "max 100000\n"), 3u);
  EXPECT_EQ(usable_cpus(3, ""), 3u);
  EXPECT_EQ(usable_cpus(0, ""), 1u);
}

TEST(HostCpus, ThisProcessHasAtLeastOne) { EXPECT_GE(usable_cpus(), 1u); }

TEST(HostDescriptors, ConnectionCapKeepsAReserveAndAnUpstreamEach) {
  EXPECT_EQ(connection_cap(1024), (1024u - 64) / 2);
  EXPECT_EQ(connection_cap(128), (128u - 32) / 2);
  EXPECT_EQ(connection_cap(20000), (20000u - 64) / 2);
  EXPECT_GE(connection_cap(4), 1u);
}
