// systemd's service notifications (sd_notify, libsystemd): READY=1 once a daemon serves,
// RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 when it stops, and WATCHDOG=1
// pings from the daemon's own io_context at half of the unit's WatchdogSec, so that an event
// loop that no longer runs gets the daemon restarted. Without NOTIFY_SOCKET (not started by
// systemd with Type=notify) every call does nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string_view>

namespace appmsg {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(boost::asio::any_io_executor ex);
  ~SystemdNotifier();  // stops the watchdog pings
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // READY=1 with a STATUS line; the first call also starts the watchdog pings (WATCHDOG_USEC).
  void ready(std::string_view status);
  void reloading();  // RELOADING=1 with MONOTONIC_USEC; call ready() when the reload is done
  void stopping();   // STOPPING=1

 private:
  struct Watchdog;
  boost::asio::any_io_executor ex_;
  std::shared_ptr<Watchdog> watchdog_;
};

}  // namespace appmsg
