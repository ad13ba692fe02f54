// Logging set-up: spdlog to stdout with one pattern for every daemon; level from config or flag.
#pragma once

#include <string_view>

namespace appmsg {

// Sets the default logger (stdout, colour-free, "[time] [level] [name] text") and its level.
// Unknown level names fall back to info with a warning. Call once at start-up.
void init_logging(std::string_view process_name, std::string_view level);

// Changes the level at run time (SIGHUP reload). Returns false for an unknown level name.
bool set_log_level(std::string_view level);

}  // namespace appmsg
