// Password hashes: PBKDF2-HMAC-SHA256 (OpenSSL) with a 16-byte random salt per password and the
// iteration count stored with it, as "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
// A stored value without that prefix is an original plaintext password (a database the
// original filled): it is compared in constant time and should be replaced by a hash at once
// (needs_rehash). Passwords are never logged nor returned.
#pragma once

#include <string>
#include <string_view>

namespace appmsg::web::app {

std::string hash_password(std::string_view password, int iterations);
// Constant time in the compared bytes. An empty stored value matches nothing.
bool verify_password(std::string_view password, std::string_view stored);
// The stored value is plaintext, or a hash with fewer iterations than `iterations`.
bool needs_rehash(std::string_view stored, int iterations);

}  // namespace appmsg::web::app
