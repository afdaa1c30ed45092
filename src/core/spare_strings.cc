#include "core/spare_strings.h"

#include <utility>

namespace tollgate::core {
namespace {

// Enough for every piece in progress on a worker at once: one stream's body, reader, event and
// output, and a second stream's when the first one's write waits.
constexpr int kSpares = 8;
struct Spares {
  std::string kept[kSpares];
  int count = 0;
};
thread_local Spares spares;

}  // namespace

std::string take_spare(std::size_t room) {
  auto& s = spares;
  for (int i = s.count - 1; i >= 0; --i) {
    if (s.kept[i].capacity() < room) continue;
    std::string out = std::move(s.kept[i]);
    if (i != --s.count) s.kept[i] = std::move(s.kept[s.count]);
    return out;
  }
  return {};
}

void give_spare(std::string& str) {
  // A short string lives in the object itself: nothing to keep or free.
  if (str.capacity() <= std::string().capacity()) {
    str.clear();
    return;
  }
  auto& s = spares;
  if (s.count == kSpares || str.capacity() > kMaxSpare) {
    std::string().swap(str);
    return;
  }
  str.clear();
  s.kept[s.count++] = std::move(str);  // leaves `str` in its own (short) buffer
}

void drop_spares() {
  auto& s = spares;
  for (int i = 0; i < s.count; ++i) std::string().swap(s.kept[i]);
  s.count = 0;
}

}  // namespace tollgate::core
