// Inputs the fuzz targets of test/fuzz found failing, each kept as a test of the fixed
// behaviour (scripts/fuzz; the crash inputs are in the test names' comments).
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/mysql_pool.hpp"

namespace appmsg {
namespace {

// mysql_dsn_fuzz: a duration past int64 nanoseconds was cast from double to int64 (undefined
// behaviour, a garbage timeout). Go's ParseDuration refuses it; so does parse_dsn now.
TEST(FuzzRegressions, dsn_duration_beyond_int64_nanoseconds_is_an_error) {
  EXPECT_THROW(mysql::parse_dsn("u@tcp(127.0.0.1)/db?timeout=99999999999999999999h"),
               std::invalid_argument);
  EXPECT_THROW(mysql::parse_dsn("u@/db?readTimeout=3000000h"), std::invalid_argument);
  // The largest Go accepts is fine.
  EXPECT_EQ(mysql::parse_dsn("u@/db?readTimeout=2562047h").io_timeout, std::chrono::hours(2562047));
}

}  // namespace
}  // namespace appmsg
