# `cmake --install` and the Debian package (cpack -G DEB, see scripts/package): the binaries in
# bin/, production configurations in /etc/appmsgsrv/ (made from conf/*.conf), the systemd units
# (made from docker/systemd/appmsg.service.in), static/ and view/ in share/appmsgsrv/, and
# the README in share/doc/appmsgsrv/. The default prefix is /usr, as for a system daemon.
include(GNUInstallDirs)
# `install` (and cpack) installs what is built, without building every benchmark and test first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

set(APPMSG_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/appmsgsrv)
set(APPMSG_DATADIR ${CMAKE_INSTALL_FULL_DATADIR}/appmsgsrv)
set(APPMSG_DOCDIR ${CMAKE_INSTALL_FULL_DATADIR}/doc/appmsgsrv)
set(APPMSG_UNITDIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
set(APPMSG_GENERATED ${CMAKE_BINARY_DIR}/packaging)

# A production configuration: conf/<role>.conf with pid files under /run/appmsgsrv, the working
# folder /var/lib/appmsgsrv, the servers on their Debian packages' default ports, and web's
# pages from share/appmsgsrv.
function(appmsg_production_config role)
  set(src ${CMAKE_SOURCE_DIR}/conf/${role}.conf)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(READ ${src} text)
  string(REGEX REPLACE "^(#[^\n]*\n)+" "# ${role}.conf of the appmsgsrv package: set the addresses of your hosts \
(README.md, Running in production).\n" text "${text}")
  string(REPLACE "pidfile ./var/" "pidfile /run/appmsgsrv/" text "${text}")
  string(REPLACE "\ndir ./\n" "\ndir /var/lib/appmsgsrv\n" text "${text}")
  string(REPLACE "127.0.0.1:12181" "127.0.0.1:2181" text "${text}")
  string(REPLACE "127.0.0.1:16379" "127.0.0.1:6379" text "${text}")
  string(REPLACE "root:@tcp(127.0.0.1:13306)" "appmsgsrv:change-me@tcp(127.0.0.1:3306)" text "${text}")
  if(role STREQUAL "web")
    string(APPEND text "\n[app]\n# the demo, QR and admin pages, and the files under /app/static/\n"
                       "view.dir ${APPMSG_DATADIR}/view\nstatic.dir ${APPMSG_DATADIR}/static\n")
  endif()
  file(WRITE ${APPMSG_GENERATED}/etc/${role}.conf "${text}")
endfunction()

# A unit: docker/systemd/appmsg.service.in for one daemon.
function(appmsg_unit role)
  set(DAEMON appmsg-${role})
  set(ROLE ${role})
  set(BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
  set(CONFDIR ${APPMSG_CONFDIR})
  set(DOCDIR ${APPMSG_DOCDIR})
  set(DB_ARGS "")
  if(role STREQUAL "web")
    set(DB_ARGS " -dbc ${APPMSG_CONFDIR}/db.conf")
  endif()
  configure_file(${CMAKE_SOURCE_DIR}/docker/systemd/appmsg.service.in
                 ${APPMSG_GENERATED}/systemd/${DAEMON}.service @ONLY)
endfunction()

foreach(role comet message web db)
  appmsg_production_config(${role})
endforeach()
foreach(role comet message web)
  appmsg_unit(${role})
  install(TARGETS appmsg-${role} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${APPMSG_GENERATED}/systemd/appmsg-${role}.service DESTINATION ${APPMSG_UNITDIR})
endforeach()
install(DIRECTORY ${APPMSG_GENERATED}/etc/ DESTINATION ${APPMSG_CONFDIR}
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/static ${CMAKE_SOURCE_DIR}/view DESTINATION ${APPMSG_DATADIR})
install(FILES ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${APPMSG_DOCDIR})

# The Debian package: its dependencies come from the binaries' libraries (dpkg-shlibdeps); the
# configurations are conffiles; postinst makes the appmsgsrv user and enables the units.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME appmsgsrv)
set(CPACK_PACKAGE_VENDOR appmsgsrv)
set(CPACK_PACKAGE_CONTACT "appmsgsrv maintainers <appmsgsrv@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "clustered push gateway for chat applications")
set(CPACK_PACKAGE_DESCRIPTION "appmsgsrv holds long-lived client connections (TCP and WebSocket) \
on comet nodes, keeps offline messages on message nodes (Redis or MySQL) and serves the public, \
admin and /app REST APIs on web nodes; the nodes find each other through ZooKeeper.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "zookeeperd, redis-server, mariadb-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${APPMSG_GENERATED}/debian/conffiles
    ${CMAKE_SOURCE_DIR}/docker/debian/postinst ${CMAKE_SOURCE_DIR}/docker/debian/prerm
    ${CMAKE_SOURCE_DIR}/docker/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# The absolute destinations (/etc/appmsgsrv) go into the package too, not into this machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES TRUE)
set(conffiles "")
foreach(role comet message web db)
  string(APPEND conffiles "${APPMSG_CONFDIR}/${role}.conf\n")
endforeach()
file(WRITE ${APPMSG_GENERATED}/debian/conffiles "${conffiles}")
include(CPack)
