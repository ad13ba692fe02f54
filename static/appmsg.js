/**
 * appmsg browser SDK: a client for appmsgsrv push gateways, with no dependencies and no build
 * step. Load it with `<script src="/app/static/appmsg.js"></script>` (it defines
 * `window.AppMsg`) or `import { Client, AppApi } from '/app/static/appmsg.mjs'`.
 *
 * - {@link Client}: one subscription to one key ("42@user"). It finds the key's comet with the
 *   public API's `/1/server/get` (fetch with CORS, JSONP when that fails), connects over
 *   WebSocket, keeps the heartbeat, and reconnects with exponential back-off and jitter, asking
 *   `/1/server/get` again each time, so a key that moved to another comet follows the ring. On
 *   every reconnect it resumes from the last mid it saw (`mid=`): the comet first replays the
 *   stored messages after it, then the live ones, so nothing is lost or repeated. Mids are kept
 *   per key in `localStorage` (or the `storage` you pass), so a reloaded page resumes too.
 * - {@link AppApi}: the `/app` calls a browser user needs: log in (`appweb/login`), send to a
 *   user or a group (`appweb/push`), list contacts, organisations and groups.
 * - {@link connectUser}: both together: log in, then subscribe to the user's own key
 *   `<uid>@user`, which receives every message for the user (and the user's own, sent from any
 *   device) with a stored copy, so that what came while the page was closed arrives after it
 *   opens again, once.
 *
 * Events of a Client (`client.on(name, fn)`):
 * - `open` {server, resumedFrom}: subscribed (the comet acknowledged the subscribe);
 * - `message` {key, mid, msg, gid}: a message, each mid once and in rising order;
 * - `close` {code, reason, willReconnect}: the connection ended;
 * - `reconnect` {attempt, delay}: the next connection starts in `delay` ms;
 * - `error` {error}: something failed (the client keeps trying unless stopped).
 */
(function (global) {
  'use strict';

  /** An error answered by the server: `ret` is its code, `errMsg` its text. */
  class AppMsgError extends Error {
    constructor(ret, message) {
      super(message || 'ret ' + ret);
      this.name = 'AppMsgError';
      this.ret = ret;
    }
  }

  class Emitter {
    constructor() {
      this._handlers = {};
    }
    /** Adds a handler of an event; returns this. */
    on(type, fn) {
      (this._handlers[type] = this._handlers[type] || []).push(fn);
      return this;
    }
    /** Removes a handler added with on(); returns this. */
    off(type, fn) {
      this._handlers[type] = (this._handlers[type] || []).filter((h) => h !== fn);
      return this;
    }
    _emit(type, event) {
      for (const fn of (this._handlers[type] || []).slice()) {
        try {
          fn(event);
        } catch (e) {
          setTimeout(() => {
            throw e;
          });
        }
      }
    }
  }

  // ---- HTTP: fetch with CORS, JSONP as the fallback ----

  let jsonpSeq = 0;
  const jsonpCallbacks = {};

  /** GET `url` as JSONP (`cb=`), resolved with the answer's object. */
  function jsonp(url, timeoutMs) {
    return new Promise((resolve, reject) => {
      const name = 'c' + Date.now().toString(36) + (jsonpSeq++).toString(36);
      const script = document.createElement('script');
      const done = () => {
        clearTimeout(timer);
        delete jsonpCallbacks[name];
        script.remove();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error('JSONP timed out: ' + url));
      }, timeoutMs);
      jsonpCallbacks[name] = (answer) => {
        done();
        resolve(answer);
      };
      script.onerror = () => {
        done();
        reject(new Error('JSONP failed: ' + url));
      };
      script.src = url + (url.indexOf('?') < 0 ? '?' : '&') + 'cb=AppMsg._jsonp.' + name;
      document.head.appendChild(script);
    });
  }

  async function fetchJson(url, init, timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await fetch(url, Object.assign({ mode: 'cors', signal: abort.signal }, init));
      if (!res.ok && res.status !== 401) throw new Error('HTTP ' + res.status + ' from ' + url);
      return await res.json();
    } finally {
      clearTimeout(timer);
    }
  }

  /** GET a public API route: fetch, and JSONP when fetch is refused (no CORS for this page). */
  async function getPublic(url, timeoutMs) {
    try {
      return await fetchJson(url, {}, timeoutMs);
    } catch (e) {
      if (typeof document === 'undefined' || !(e instanceof TypeError)) throw e;
      return jsonp(url, timeoutMs);
    }
  }

  // ---- where mids are kept ----

  function defaultStorage() {
    try {
      if (global.localStorage) return global.localStorage;
    } catch (e) {
      // storage disabled: keep mids in memory
    }
    const map = new Map();
    return {
      getItem: (k) => (map.has(k) ? map.get(k) : null),
      setItem: (k, v) => map.set(k, String(v)),
      removeItem: (k) => map.delete(k),
    };
  }

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  /**
   * One subscription to one key, kept up until stop().
   *
   * @param {object} options
   * @param {string} options.web      base URL of the public API ("http://host:8090")
   * @param {string} options.key      the key to subscribe to ("42@user")
   * @param {string} [options.token]  login token, for comets with `auth yes`
   * @param {number} [options.heartbeat=60]  the heartbeat asked of the comet, in seconds (30 at
   *   least); "h" is sent every half of it, so a throttled background tab keeps its connection
   * @param {number|null} [options.since=null]  where to start when no mid of this key is kept:
   *   null = live messages only, 0 = every stored message first
   * @param {Storage} [options.storage=localStorage]  where the last mid of each key is kept
   * @param {number} [options.backoff=500]     first reconnect delay cap in ms (doubles per try)
   * @param {number} [options.maxBackoff=30000]  largest reconnect delay cap in ms
   * @param {number} [options.timeout=5000]    one /1/server/get call, in ms
   */
  class Client extends Emitter {
    constructor(options) {
      super();
      if (!options || !options.web || !options.key) throw new Error('web and key are required');
      this.web = options.web.replace(/\/+$/, '');
      this.key = options.key;
      this.token = options.token || '';
      this.heartbeat = clamp(Math.round(options.heartbeat || 60), 30, 3600);
      this.since = options.since === undefined ? null : options.since;
      this.storage = options.storage || defaultStorage();
      this.backoff = options.backoff || 500;
      this.maxBackoff = options.maxBackoff || 30000;
      this.timeout = options.timeout || 5000;
      this.server = null; // "host:port" of the comet while connected
      this._running = false;
      this._generation = 0; // one per connection attempt: late answers of older ones are ignored
      this._last = null; // the last mid delivered by this client (read from storage at start)
      this._ws = null;
      this._attempt = 0;
      this._timers = new Set();
    }

    /** The last mid this client delivered on its key (null before the first). */
    get mid() {
      return this._last;
    }

    _stored() {
      const v = this.storage.getItem('appmsg.mid.' + this.key);
      return v === null || v === '' || isNaN(Number(v)) ? null : Number(v);
    }

    // Keeps `mid` for the next start (another page on the same key may have kept a later one).
    _store(mid) {
      const kept = this._stored();
      if (kept === null || kept < mid) this.storage.setItem('appmsg.mid.' + this.key, String(mid));
    }

    /** Whether the client is subscribed now. */
    get connected() {
      return !!this._subscribed;
    }

    /** Starts the subscription (and keeps it up); returns this. */
    start() {
      if (this._running) return this;
      this._running = true;
      this._last = this._stored();
      this._connect();
      return this;
    }

    /** Ends the subscription for good; no reconnect follows. */
    stop() {
      this._running = false;
      this._generation++;
      this._clearTimers();
      if (this._ws) this._drop(1000, 'stopped');
    }

    // Ends the current connection at once (its handlers detached) and reports the close.
    _drop(code, reason) {
      const ws = this._ws;
      this._ws = null;
      this._detach(ws);
      this._clearTimers();
      try {
        ws.close(code, reason);
      } catch (e) {
        // already closed
      }
      this._closed(code, reason);
    }

    _later(fn, ms) {
      const t = setTimeout(() => {
        this._timers.delete(t);
        fn();
      }, ms);
      this._timers.add(t);
      return t;
    }

    _clearTimers() {
      for (const t of this._timers) clearTimeout(t);
      this._timers.clear();
      clearInterval(this._beat);
      this._beat = null;
    }

    async _connect() {
      if (!this._running) return;
      const generation = ++this._generation;
      let server;
      try {
        const url =
          this.web + '/1/server/get?k=' + encodeURIComponent(this.key) + '&p=1';
        const answer = await getPublic(url, this.timeout);
        if (!answer || answer.ret !== 0 || !answer.data || !answer.data.server) {
          throw new AppMsgError(answer ? answer.ret : -1, 'no comet for ' + this.key);
        }
        server = answer.data.server;
      } catch (error) {
        if (generation !== this._generation) return;
        this._emit('error', { error });
        this._retry();
        return;
      }
      if (generation !== this._generation || !this._running) return;
      this._open(server);
    }

    _open(server) {
      const resume = this._last !== null ? this._last : this.since;
      let url =
        (this.web.startsWith('https:') ? 'wss://' : 'ws://') + server + '/sub?key=' +
        encodeURIComponent(this.key) + '&heartbeat=' + this.heartbeat + '&ver=1';
      if (this.token) url += '&token=' + encodeURIComponent(this.token);
      if (resume !== null) url += '&mid=' + resume;
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (error) {
        this._emit('error', { error });
        this._retry();
        return;
      }
      this._ws = ws;
      this._subscribed = false;
      ws.onmessage = (e) => this._onFrame(ws, server, resume, e.data);
      ws.onerror = () => this._emit('error', { error: new Error('WebSocket error on ' + server) });
      ws.onclose = (e) => {
        if (this._ws !== ws) return;
        this._ws = null;
        this._clearTimers();
        this._closed(e.code, e.reason);
        this._retry();
      };
      // The comet answers a subscribe within seconds; a connection that stays silent is dropped.
      this._watchdog(ws, 10000);
    }

    // Drops `ws` and tries again, without waiting for a closing handshake a dead link never ends.
    _abandon(ws, reason) {
      if (this._ws !== ws) return;
      this._drop(4000, reason);
      this._retry();
    }

    _detach(ws) {
      ws.onmessage = ws.onerror = ws.onclose = null;
    }

    _closed(code, reason) {
      const was = this._subscribed;
      this._subscribed = false;
      this.server = null;
      this._emit('close', { code, reason, subscribed: was, willReconnect: this._running });
    }

    // Closes `ws` unless something arrives within `ms`.
    _watchdog(ws, ms) {
      clearTimeout(this._silence);
      this._timers.delete(this._silence);
      this._silence = this._later(() => this._abandon(ws, 'no answer'), ms);
    }

    _onFrame(ws, server, resumedFrom, data) {
      if (typeof data !== 'string' || this._ws !== ws) return;
      if (data[0] === '+') {
        // "+h": the subscribe's acknowledgement, then the answer to each heartbeat.
        if (!this._subscribed) {
          this._subscribed = true;
          this.server = server;
          this._beat = setInterval(() => {
            if (this._ws === ws && ws.readyState === 1) ws.send('h');
          }, (this.heartbeat * 1000) / 2);
          this._emit('open', { server, resumedFrom });
        } else {
          // A heartbeat answered: the connection held (a comet that closes right after the
          // subscribe, e.g. when it cannot read the store, keeps the back-off growing).
          this._attempt = 0;
        }
        this._watchdog(ws, (this.heartbeat + 15) * 1000);
        return;
      }
      if (data[0] === '-') {
        // "-a": a bad token, "-p": bad parameters; the comet closes the connection next.
        this._emit('error', { error: new AppMsgError(-1, 'refused by the comet: ' + data.trim()) });
        return;
      }
      let m;
      try {
        m = JSON.parse(data);
      } catch (error) {
        this._emit('error', { error });
        return;
      }
      if (typeof m.mid !== 'number') return;
      if (this._last !== null && m.mid <= this._last) return; // seen already
      this._last = m.mid;
      this._store(m.mid);
      this._emit('message', { key: this.key, mid: m.mid, msg: m.msg, gid: m.gid });
    }

    _retry() {
      if (!this._running) return;
      // Exponential back-off with jitter: half the cap plus a random part of the other half.
      const cap = Math.min(this.maxBackoff, this.backoff * Math.pow(2, this._attempt));
      const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
      this._attempt += 1;
      this._emit('reconnect', { attempt: this._attempt, delay });
      this._later(() => this._connect(), delay);
    }
  }

  /**
   * The `/app` API for a browser user.
   *
   * @param {object} [options]
   * @param {string} [options.app='']  base URL of the /app listener ('' = this page's origin)
   * @param {string} [options.deviceID]  this browser's device id (default: one kept in storage)
   * @param {Storage} [options.storage=localStorage]
   */
  class AppApi {
    constructor(options) {
      options = options || {};
      this.app = (options.app || '').replace(/\/+$/, '');
      this.storage = options.storage || defaultStorage();
      this.deviceID = options.deviceID || this._deviceId();
      this.timeout = options.timeout || 10000;
      this.uid = null;
      this.token = null;
      this.member = null;
    }

    _deviceId() {
      let id = this.storage.getItem('appmsg.device');
      if (!id) {
        id = 'web' + Math.random().toString(36).slice(2, 10);
        this.storage.setItem('appmsg.device', id);
      }
      return id;
    }

    _base() {
      return { uid: this.uid || '', deviceID: this.deviceID, deviceType: 'web', token: this.token || '' };
    }

    static _check(answer) {
      const base = answer && answer.baseResponse;
      if (!base) throw new AppMsgError(-1, 'not an /app answer');
      if (base.ret !== 0) throw new AppMsgError(base.ret, base.errMsg);
      return answer;
    }

    async _form(path, fields) {
      const body = new URLSearchParams(fields);
      const answer = await fetchJson(this.app + '/app/client/' + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      }, this.timeout);
      return AppApi._check(answer);
    }

    /** POSTs `fields` plus baseRequest as JSON to /app/client/<path>; the answer, or throws. */
    async call(path, fields) {
      const body = Object.assign({ baseRequest: this._base() }, fields || {});
      const answer = await fetchJson(this.app + '/app/client/' + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }, this.timeout);
      return AppApi._check(answer);
    }

    /** Logs in by user id and password (appweb/login); resolves with {uid, token, member}. */
    async login(uid, password) {
      const a = await this._form('appweb/login', {
        'baseRequest[uid]': uid,
        'baseRequest[deviceType]': 'web',
        password,
      });
      this.uid = a.uid;
      this.token = a.token;
      this.member = a.member;
      return { uid: a.uid, token: a.token, member: a.member };
    }

    /** Ends the login: the token is deleted (device/delToken). */
    async logout() {
      if (!this.token) return;
      await this.call('device/delToken', { delToken: this.token });
      this.token = null;
    }

    /** The user's own key, which gets every message for the user with a stored copy. */
    userKey() {
      return this.uid + '@user';
    }

    /**
     * Sends `content` to `toUserName` ("7@user", "<qunId>@qun", ...) as the logged-in user
     * (appweb/push); resolves with {mid, clientMsgId}.
     */
    async send(toUserName, content, options) {
      options = options || {};
      const clientMsgId = options.clientMsgId || Date.now();
      const fields = {
        'baseRequest[token]': this.token,
        'baseRequest[deviceID]': this.deviceID,
        'msg[fromUserName]': this.userKey(),
        'msg[toUserName]': toUserName,
        'msg[content]': content,
        'msg[msgType]': String(options.msgType || 1),
        'msg[clientMsgId]': String(clientMsgId),
      };
      if (options.expire !== undefined) fields['msg[expire]'] = String(options.expire);
      const a = await this._form('appweb/push', fields);
      return { mid: a.mid, clientMsgId: a.clientMsgId };
    }

    /** The tenant's organisation tree and the user's contacts (device/getOrgInfo). */
    orgInfo() {
      return this.call('device/getOrgInfo');
    }

    /** The groups the user belongs to: [{userName: "<id>@qun", nickName, memberCount}]. */
    async quns() {
      return (await this.call('device/getQunList')).qunList;
    }

    /** The members of a group (device/getQunMembers). */
    async qunMembers(qunName) {
      return (await this.call('device/getQunMembers', { userName: qunName })).memberList;
    }
  }

  /**
   * Logs in and subscribes to the user's key; resolves with {api, client} (the client started).
   *
   * @param {object} options  `app`, `web`, `uid`, `password`, and any Client option
   */
  async function connectUser(options) {
    const api = new AppApi(options);
    await api.login(options.uid, options.password);
    const client = new Client(
      Object.assign({ since: 0 }, options, { key: api.userKey(), token: api.token }),
    );
    return { api, client };
  }

  global.AppMsg = { Client, AppApi, AppMsgError, connectUser, _jsonp: jsonpCallbacks };
})(typeof globalThis !== 'undefined' ? globalThis : window);
