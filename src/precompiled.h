// The headers most of src/ includes, compiled once per build directory (CMake's
// target_precompile_headers) instead of parsed again by every source: Boost.JSON, the Asio
// coroutine basics, fmt and spdlog are 70,000-115,000 lines each, and parsing them was a third of
// a clean build on 2 cores. Only widely used, stable headers belong here; each source still
// includes what it uses (the fuzz build compiles without this file and catches a missing one).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
