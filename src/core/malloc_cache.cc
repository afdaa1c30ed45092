#include "core/malloc_cache.h"

#include <array>
#include <cstdlib>
#include <system_error>
#include <thread>

namespace tollgate::core {

void release_malloc_cache() {
  // glibc's defaults: 64 sizes (chunks of 32 to 1040 bytes, 16 apart), 7 chunks each. A malloc
  // of n bytes takes a chunk of (n + 8) rounded up to 16, at least 32: 24 + 16 * i is size i.
  constexpr int kSizes = 64;
  constexpr int kPerSize = 7;
  std::array<void*, kSizes * kPerSize> taken{};
  std::size_t n = 0;
  for (int i = 0; i < kSizes; ++i)
    for (int k = 0; k < kPerSize; ++k)
      if (void* p = std::malloc(static_cast<std::size_t>(24 + 16 * i))) taken[n++] = p;
  auto free_taken = [&taken, n] {
    for (std::size_t i = 0; i < n; ++i) std::free(taken[i]);
  };
  // Freed here they would fill this thread's cache again; on another thread they fill that
  // thread's, which glibc empties into the arenas when the thread ends. No thread to be had
  // (a resource limit): freed here, no worse than before.
  try {
    std::thread(free_taken).join();
  } catch (const std::system_error&) {
    free_taken();
  }
}

}  // namespace tollgate::core
