// The demo page (view/demo.html) on the browser SDK (appmsg.js): log in, list contacts and
// groups, send to a user or a group, and show messages as they arrive. The login is kept in
// localStorage, so a reload reconnects at once and resumes from the last mid: what came while
// the page was closed shows up, once.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const port = document.querySelector('meta[name="appmsg-public-port"]').content;
  const web = location.protocol + '//' + location.hostname + ':' + port;
  const saved = 'appmsg.demo.login';
  let api = null;
  let client = null;

  function setStatus(on, text) {
    $('status').className = 'status ' + (on ? 'on' : 'off');
    $('status').textContent = text;
  }

  // A group message's content is "<sender>|<name>|<nickname>&&<text>" (spec 2.4).
  function parts(msg) {
    let from = msg.fromDisplayName || msg.fromUserName || '';
    let text = msg.content === undefined ? JSON.stringify(msg) : String(msg.content);
    let sender = msg.fromUserName;
    const qun = /^([^|]*)\|([^|]*)\|([^&]*)&&([\s\S]*)$/.exec(text);
    if (qun && String(msg.fromUserName).endsWith('@qun')) {
      sender = qun[1];
      from = (qun[3] || qun[2]) + ' in ' + (msg.fromDisplayName || msg.fromUserName);
      text = qun[4];
    }
    return { from, text, mine: sender === api.userKey() };
  }

  function show(event) {
    const msg = event.msg && typeof event.msg === 'object' ? event.msg : { content: event.msg };
    const p = parts(msg);
    const li = document.createElement('li');
    li.dataset.mid = event.mid;
    li.className = p.mine ? 'mine' : '';
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = p.mine ? 'me → ' + (msg.toDisplayName || msg.toUserName || '') : p.from;
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = new Date(event.mid / 1000).toLocaleTimeString();
    who.appendChild(when);
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = p.text;
    li.append(who, text);
    $('messages').appendChild(li);
    li.scrollIntoView({ block: 'end' });
  }

  function item(list, label, detail, name) {
    const li = document.createElement('li');
    li.textContent = label + ' ';
    const small = document.createElement('small');
    small.textContent = detail;
    li.appendChild(small);
    li.dataset.name = name;
    li.onclick = () => {
      $('to').value = name;
      $('text').focus();
    };
    $(list).appendChild(li);
  }

  async function loadLists() {
    $('contacts').textContent = '';
    $('quns').textContent = '';
    try {
      const org = await api.orgInfo();
      for (const m of org.starMemberList || []) item('contacts', m.nickName || m.uid, m.userName, m.userName);
      const quns = await api.quns();
      for (const q of quns) item('quns', q.nickName, q.memberCount + ' members', q.userName);
    } catch (e) {
      $('send-error').textContent = 'lists: ' + e.message;
    }
  }

  function start(login) {
    api.uid = login.uid;
    api.token = login.token;
    $('login').hidden = true;
    $('chat').hidden = false;
    $('logout').hidden = false;
    $('me').textContent = (login.nickName || login.uid) + ' (' + login.uid + '@user)';
    client = new AppMsg.Client({ web, key: api.userKey(), token: api.token, since: 0 });
    client.on('open', (e) => setStatus(true, 'online via ' + e.server));
    client.on('close', () => setStatus(false, 'reconnecting'));
    client.on('message', show);
    client.on('error', (e) => console.warn('appmsg:', e.error && e.error.message));
    client.start();
    loadLists();
  }

  $('login').onsubmit = async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      const r = await api.login($('uid').value.trim(), $('password').value);
      const login = { uid: r.uid, token: r.token, nickName: r.member && r.member.nickName };
      localStorage.setItem(saved, JSON.stringify(login));
      start(login);
    } catch (err) {
      $('login-error').textContent = 'Login failed: ' + err.message;
    }
  };

  $('compose').onsubmit = async (e) => {
    e.preventDefault();
    $('send-error').textContent = '';
    const text = $('text').value;
    try {
      await api.send($('to').value.trim(), text);
      $('text').value = '';
    } catch (err) {
      $('send-error').textContent = 'Not sent (' + (err.ret === undefined ? '' : err.ret + ' ') + err.message + ')';
    }
  };

  $('logout').onclick = async () => {
    localStorage.removeItem(saved);
    if (client) client.stop();
    try {
      await api.logout();
    } finally {
      location.reload();
    }
  };

  // For the console and the browser tests.
  window.demo = {
    get api() { return api; },
    get client() { return client; },
  };
  api = new AppMsg.AppApi();
  const login = JSON.parse(localStorage.getItem(saved) || 'null');
  if (login) start(login);
})();
