// Each thread's spare string buffers (issue 18: CPU per relayed chunk, memory per open stream).
// A stream's piece of upstream body, its SSE reader's bytes, its events' data and the text it
// writes are taken from here for one piece and given back after it: an idle stream holds no
// buffer of its own, and a piece costs no malloc and free. A buffer given back while the
// thread's spares are full, or larger than kMaxSpare, is freed as before.
#pragma once

#include <cstddef>
#include <string>

namespace tollgate::core {

constexpr std::size_t kMaxSpare = 16 * 1024;

// An empty string with room for at least `room` bytes when a spare that large is kept (else
// an empty string of its own, allocated by its first append).
std::string take_spare(std::size_t room);
// `s` emptied, its buffer kept as a spare; `s` holds no buffer afterwards.
void give_spare(std::string& s);
// Frees the calling thread's spares (a lull after a burst: core::release_malloc_cache).
void drop_spares();

}  // namespace tollgate::core
