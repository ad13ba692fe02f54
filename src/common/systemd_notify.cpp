// sd_notify messages and the watchdog ticker (see systemd_notify.hpp).
#include "common/systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>

namespace appmsg {

namespace {

void notify(const std::string& state) {
  // 0: nothing to notify (no NOTIFY_SOCKET); < 0: the socket is there but the send failed.
  if (int rc = sd_notify(0, state.c_str()); rc < 0) {
    spdlog::warn("sd_notify({}): {}", state.substr(0, state.find('\n')), std::strerror(-rc));
  }
}

}  // namespace

// Pings WATCHDOG=1 every `period` from the io_context; owned by the notifier and by the pending
// wait, so a cancelled wait that completes after the notifier is gone touches nothing freed.
struct SystemdNotifier::Watchdog : std::enable_shared_from_this<Watchdog> {
  Watchdog(boost::asio::any_io_executor ex, std::chrono::microseconds period)
      : timer(ex), period(period) {}
  boost::asio::steady_timer timer;
  std::chrono::microseconds period;

  void tick() {
    notify("WATCHDOG=1");
    timer.expires_after(period);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->tick();
    });
  }
};

SystemdNotifier::SystemdNotifier(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

SystemdNotifier::~SystemdNotifier() {
  if (watchdog_) watchdog_->timer.cancel();
}

void SystemdNotifier::ready(std::string_view status) {
  notify("READY=1\nSTATUS=" + std::string(status));
  uint64_t usec = 0;
  if (watchdog_ || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  // Half the timeout, as sd_watchdog_enabled(3) advises: one late tick is not a restart.
  watchdog_ = std::make_shared<Watchdog>(ex_, std::chrono::microseconds(usec / 2));
  spdlog::info("systemd watchdog: a ping every {} ms", usec / 2000);
  watchdog_->tick();
}

void SystemdNotifier::reloading() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec = static_cast<uint64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() {
  notify("STOPPING=1");
}

}  // namespace appmsg
