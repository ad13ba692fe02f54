// MySQL connection pool: worker threads with blocking Connector/C connections, a bounded job
// queue, and completions posted back to the pool's Asio executor.
//
// Ownership: Pool owns Impl, which owns the queue and the worker threads; each worker owns its
// Connection (MYSQL* and its prepared statements). A call's state (Call: handler, deadline
// timer, done flag) is shared by the queued Job, the timer's wait operation and the posted
// completion; it never refers back to the pool, so a completion may run after ~Pool.
// Invariants: the handler is invoked exactly once, by whoever first flips Call::done (the
// worker's posted result or the deadline timer), always from the pool's executor; the timer is
// armed before the job becomes visible to workers, and touched afterwards only on the
// executor. Workers never hold the queue mutex while talking to the server.
#include "common/mysql_pool.hpp"

#include <mysql.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/mysql_connection.hpp"

namespace appmsg::mysql {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using detail::Connection;
using detail::Counters;
using std::chrono::milliseconds;

Error::Error(unsigned code, std::string msg) : std::runtime_error(std::move(msg)), code_(code) {}

namespace {

// ---------------------------------------------------------------------------------------------
// Calls, jobs and completion

using Handler = asio::any_completion_handler<void(std::exception_ptr, Result)>;

// One execute() call. Shared by the job, the deadline timer's wait and the posted completion.
struct Call {
  Call(asio::any_io_executor e, std::shared_ptr<Counters> c)
      : ex(std::move(e)), timer(ex), counters(std::move(c)) {}
  const asio::any_io_executor ex;  // the pool's executor: all completion logic runs here
  asio::steady_timer timer;        // the call's deadline
  std::shared_ptr<Counters> counters;
  std::atomic<bool> done{false};  // flipped by whoever completes the call, once
  // A transaction's worker takes the call over when it starts the body (1); the deadline
  // timer may then no longer complete it (it would answer "failed" for a commit to come) and
  // the worker enforces the deadline itself, between statements. 2: the timer got it first.
  std::atomic<int> owner{0};
  Handler handler;
  asio::any_completion_executor handler_work;  // keeps the handler's executor busy meanwhile
};

// Runs on the pool's executor. Completes the call unless it was completed already; returns
// whether it did.
bool finish(const std::shared_ptr<Call>& call, std::exception_ptr error, Result result) {
  if (call->done.exchange(true)) return false;
  call->timer.cancel();
  auto work = std::move(call->handler_work);
  asio::dispatch(work, [h = std::move(call->handler), error, r = std::move(result)]() mutable {
    std::move(h)(error, std::move(r));
  });
  return true;
}

void post_finish(const std::shared_ptr<Call>& call, std::exception_ptr error, Result result) {
  asio::post(call->ex,
             [call, error, r = std::move(result)]() mutable { finish(call, error, std::move(r)); });
}

struct Job {
  std::string sql;
  std::vector<Value> params;
  std::function<void(Transaction&)> body;  // set for a transaction (sql and params unused)
  Clock::time_point due;
  std::shared_ptr<Call> call;
};

std::once_flag library_once;

// A transaction's statements on the worker's connection, each checked against the deadline.
class WorkerTransaction final : public Transaction {
 public:
  WorkerTransaction(Connection& conn, Clock::time_point due) : conn_(conn), due_(due) {}
  Result execute(const std::string& sql, const std::vector<Value>& params) override {
    check_deadline();
    return conn_.run_in_transaction(sql, params);
  }
  void check_deadline() const {
    if (Clock::now() >= due_) throw Error(errc::deadline_exceeded, "mysql: deadline exceeded");
  }

 private:
  Connection& conn_;
  Clock::time_point due_;
};

// Begin, body, commit; rollback on any exception, which is rethrown.
// Begin, body, commit; rollback on any exception, which is rethrown. A deadlock (1213: the
// server rolled the whole transaction back) is run again once while time is left.
void run_transaction_job(Connection& conn, Job& job) {
  for (int attempt = 0;; ++attempt) {
    conn.begin(job.due);
    WorkerTransaction tx(conn, job.due);
    try {
      job.body(tx);
      tx.check_deadline();
    } catch (const Error& e) {
      conn.end(false);
      if (e.code() == ER_LOCK_DEADLOCK && attempt == 0 && Clock::now() < job.due) continue;
      throw;
    } catch (...) {
      conn.end(false);
      throw;
    }
    conn.end(true);
    return;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pool

struct Pool::Impl {
  Impl(asio::any_io_executor e, Options o)
      : ex(std::move(e)), opts(std::move(o)), counters(std::make_shared<Counters>()) {}

  void worker_main(int index) {
    mysql_thread_init();
    {
      Connection conn(opts, *counters, index);
      for (;;) {
        Job job;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return stopping || !queue.empty(); });
          if (stopping) break;  // ~Pool fails whatever is still queued
          job = std::move(queue.front());
          queue.pop_front();
        }
        // The timer has completed (or will at once) a call whose deadline has passed.
        if (job.call->done.load() || Clock::now() >= job.due) continue;
        int unowned = 0;
        if (job.body && !job.call->owner.compare_exchange_strong(unowned, 1)) continue;
        std::exception_ptr error;
        Result result;
        try {
          if (job.body) {
            run_transaction_job(conn, job);
          } else {
            result = conn.run(job.sql, job.params, job.due);
          }
          ++counters->executed;
        } catch (const Error&) {
          ++counters->failed;
          error = std::current_exception();
        } catch (const std::exception& e) {
          ++counters->failed;
          if (job.body) {
            error = std::current_exception();  // the body's own refusal, passed through
          } else {
            spdlog::error("mysql pool worker {}: unexpected exception: {}", index, e.what());
            error = std::make_exception_ptr(Error(0, e.what()));
          }
        }
        post_finish(job.call, error, std::move(result));
      }
    }
    mysql_thread_end();
  }

  void submit(Handler handler, Job job, milliseconds deadline) {
    auto call = std::make_shared<Call>(ex, counters);
    auto handler_ex = asio::get_associated_executor(handler, ex);
    call->handler_work = asio::prefer(handler_ex, asio::execution::outstanding_work.tracked);
    call->handler.swap(handler);  // not operator=: Boost 1.81's move-assignment recurses
    auto due = Clock::now() + deadline;

    // Armed before the job is visible to the workers: afterwards only the executor touches it.
    call->timer.expires_at(due);
    call->timer.async_wait([call](boost::system::error_code ec) {
      int unowned = 0;
      if (ec || call->done.load() || !call->owner.compare_exchange_strong(unowned, 2)) return;
      if (finish(
              call,
              std::make_exception_ptr(Error(errc::deadline_exceeded, "mysql: deadline exceeded")),
              {})) {
        ++call->counters->deadline_exceeded;
      }
    });

    unsigned rejected = 0;
    {
      std::lock_guard lock(mu);
      if (stopping) {
        rejected = errc::pool_stopped;
      } else if (queue.size() >= opts.max_queue) {
        rejected = errc::queue_full;
      } else {
        job.due = due;
        job.call = call;
        queue.push_back(std::move(job));
      }
    }
    if (rejected == errc::queue_full) {
      ++counters->queue_full;
      post_finish(call,
                  std::make_exception_ptr(Error(
                      errc::queue_full,
                      "mysql: queue full (" + std::to_string(opts.max_queue) + " jobs waiting)")),
                  {});
    } else if (rejected != 0) {
      post_finish(call, std::make_exception_ptr(Error(errc::pool_stopped, "mysql: pool stopped")),
                  {});
    } else {
      cv.notify_one();
    }
  }

  const asio::any_io_executor ex;
  const Options opts;
  const std::shared_ptr<Counters> counters;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;  // guarded by mu; at most opts.max_queue
  bool stopping = false;  // guarded by mu
  std::vector<std::thread> workers;
};

Pool::Pool(asio::any_io_executor ex, Options opts) {
  if (opts.connections < 1) throw std::invalid_argument("mysql pool: connections must be >= 1");
  if (opts.max_queue < 1) throw std::invalid_argument("mysql pool: max_queue must be >= 1");
  std::call_once(library_once, [] {
    if (mysql_library_init(0, nullptr, nullptr) != 0) {
      throw std::runtime_error("mysql_library_init failed");
    }
  });
  impl_ = std::make_unique<Impl>(std::move(ex), std::move(opts));
  impl_->workers.reserve(static_cast<size_t>(impl_->opts.connections));
  for (int i = 0; i < impl_->opts.connections; ++i) {
    impl_->workers.emplace_back([impl = impl_.get(), i] { impl->worker_main(i); });
  }
}

Pool::~Pool() {
  std::deque<Job> orphans;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    orphans.swap(impl_->queue);
  }
  impl_->cv.notify_all();
  for (auto& job : orphans) {
    post_finish(job.call, std::make_exception_ptr(Error(errc::pool_stopped, "mysql: pool stopped")),
                {});
  }
  for (auto& t : impl_->workers) t.join();
}

asio::awaitable<Result> Pool::execute(std::string sql, std::vector<Value> params,
                                      milliseconds deadline) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result)>(
      [impl = impl_.get()](auto handler, std::string sql, std::vector<Value> params,
                           milliseconds deadline) {
        impl->submit(Handler(std::move(handler)),
                     Job{std::move(sql), std::move(params), {}, {}, {}}, deadline);
      },
      asio::use_awaitable, std::move(sql), std::move(params), deadline);
}

asio::awaitable<void> Pool::run_transaction(std::function<void(Transaction&)> body,
                                            milliseconds deadline) {
  auto op = asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result)>(
      [impl = impl_.get()](auto handler, std::function<void(Transaction&)> body,
                           milliseconds deadline) {
        impl->submit(Handler(std::move(handler)), Job{{}, {}, std::move(body), {}, {}}, deadline);
      },
      asio::use_awaitable, std::move(body), deadline);
  co_await std::move(op);
}

size_t Pool::queued() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.size();
}

PoolStats Pool::stats() const {
  const Counters& c = *impl_->counters;
  return PoolStats{c.executed.load(),          c.failed.load(),     c.queue_full.load(),
                   c.deadline_exceeded.load(), c.reconnects.load(), c.retries.load()};
}

const Options& Pool::options() const {
  return impl_->opts;
}

}  // namespace appmsg::mysql
