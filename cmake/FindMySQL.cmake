# Finds the MySQL client library (MariaDB Connector/C on Debian) and defines MySQL::client.
find_path(MySQL_INCLUDE_DIR mysql.h PATH_SUFFIXES mysql mariadb)
find_library(MySQL_LIBRARY NAMES mariadb mysqlclient)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MySQL REQUIRED_VARS MySQL_LIBRARY MySQL_INCLUDE_DIR)
if(MySQL_FOUND AND NOT TARGET MySQL::client)
  add_library(MySQL::client UNKNOWN IMPORTED)
  set_target_properties(MySQL::client PROPERTIES
    IMPORTED_LOCATION "${MySQL_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MySQL_INCLUDE_DIR}")
endif()
mark_as_advanced(MySQL_INCLUDE_DIR MySQL_LIBRARY)
