// The /app API's MySQL schema (spec/app-api.md section 5, with the tables and columns the
// original's code used but its install.sql lacked, and the keys of section 7 item 24), applied
// as numbered migrations.
//
// Each migration runs once per database, recorded in `schema_migrations`. They run on one
// connection holding the named lock `appmsgsrv.migrate` (GET_LOCK), so web nodes starting at the
// same time apply them one after another; every statement is also idempotent (IF NOT EXISTS),
// so a migration interrupted half-way is completed by the next run.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/mysql_pool.hpp"

namespace appmsg::web::app {

// The newest migration's number.
int schema_version();

// Applies what is missing. Throws mysql::Error or std::runtime_error.
boost::asio::awaitable<void> migrate(boost::asio::any_io_executor ex, mysql::Options db);

}  // namespace appmsg::web::app
