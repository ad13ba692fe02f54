// The materialised path of an org (spec/app-api.md 3.11 #34): two characters per level from
// the alphabet 0-9a-z, a child's location being its parent's plus its own code. A new child
// takes the code one past its siblings' greatest; past "zz" (the original overflowed) the
// first code no sibling uses; a malformed sibling location (the original crashed on one
// shorter than 2 characters) is ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace appmsg::web::app {

// The location of a new child under `parent` given the locations of its siblings; nullopt
// when all 1296 codes are taken.
std::optional<std::string> next_location(const std::string& parent,
                                         const std::vector<std::string>& siblings);

// A location's own code (its last level) when it is a well-formed child of `parent`.
std::optional<std::string> code_under(const std::string& parent, const std::string& location);

}  // namespace appmsg::web::app
