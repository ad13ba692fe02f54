// The offline store on MySQL shards (spec/message.md section 2.3): table private_msg with
// UNIQUE (skey, mid) and INDEX (ttl), created when missing. Same semantics as the Redis
// backend: a save of an existing (key, mid) replaces it (a retried save is harmless), each key
// keeps at most `store` messages (the oldest go), reads use LIMIT and skip expired rows, and a
// cleanup job deletes expired rows in batches of 1000 every `[mysql] clean` on every shard.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "common/ketama.hpp"
#include "common/lifeline.hpp"
#include "common/mysql_pool.hpp"
#include "message/message_config.hpp"
#include "message/message_store.hpp"

namespace appmsg::message {

class MysqlStore : public MessageStore {
 public:
  static constexpr const char* kCreateTable =
      "CREATE TABLE IF NOT EXISTS private_msg ("
      " id bigint unsigned NOT NULL AUTO_INCREMENT,"
      " skey varchar(255) NOT NULL,"
      " mid bigint unsigned NOT NULL,"
      " ttl bigint NOT NULL,"
      " msg blob NOT NULL,"
      " ctime timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,"
      " mtime timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,"
      " PRIMARY KEY (id),"
      " UNIQUE KEY ux_private_msg_1 (skey, mid),"
      " KEY ix_private_msg_1 (ttl)"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

  MysqlStore(boost::asio::any_io_executor ex, const MessageConfig& cfg);
  void start() override;
  void stop() override;
  boost::asio::awaitable<std::vector<std::optional<std::string>>> save(
      std::vector<StoredMessage> items) override;
  boost::asio::awaitable<GetResult> get(std::string key, int64_t after_mid, int limit) override;
  boost::asio::awaitable<void> remove(std::string key) override;
  std::string shard_of(const std::string& key) const override;

  // Creates the table on every shard (throws on failure).
  boost::asio::awaitable<void> prepare();
  // Deletes expired rows on every shard, in batches; returns how many.
  boost::asio::awaitable<uint64_t> clean_once();

 private:
  mysql::Pool& pool_for(const std::string& key);
  boost::asio::awaitable<void> clean_loop();

  boost::asio::any_io_executor ex_;
  MessageConfig cfg_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<mysql::Pool>> pools_;
  std::unique_ptr<StorageRing> ring_;
  boost::asio::steady_timer clean_timer_;
  bool stopped_ = false;
  Lifeline lifeline_;  // last member: the loops stop when the store is gone
};

}  // namespace appmsg::message
