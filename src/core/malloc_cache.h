// The calling thread's malloc cache given back to its arena (issue 18: RSS back near idle after
// load). glibc keeps up to 7 freed chunks of each size up to 1 KiB per thread (the tcache),
// counted as in use; the last ones a burst freed lie scattered over the arena, and each pins
// its page against malloc_trim. Measured a minute after a c64 load (bench/memory.sh): RSS 12-16 %
// over warm idle with the cache, 4 % with glibc.malloc.tcache_count=0 (which would take the
// cache from every request instead).
#pragma once

namespace tollgate::core {

// Takes every chunk the cache holds (a malloc of each of its sizes, as many times as it can
// hold) and frees them on a short-lived thread, whose own cache goes back to the arenas when it
// ends. Then malloc_trim can return the pages. For a moment with no request in progress: it
// costs ~450 mallocs and a thread.
void release_malloc_cache();

}  // namespace tollgate::core
