/* Live logs tab: WebSocket stream with reconnect and backoff, minimum-level filter, pause, clear
   (view and server), download, auto-scroll. At most MAX_LINES lines are kept, in memory and in the DOM. */
(function () {
  'use strict';
  const { $, h, clear, api, toast, confirmDialog, withBusy, downloadWithAuth, Auth, t } = GC;

  const MAX_LINES = 2000;
  const LEVELS = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };
  const LEVEL_ALIASES = { TRACE: 'DEBUG', DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', WARNING: 'WARN', ERROR: 'ERROR', CRITICAL: 'ERROR', FATAL: 'ERROR' };
  const LEVEL_RE = /\[(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\]/i;
  const BACKOFF_MAX_MS = 30000;
  // After a reconnect the server replays its recent lines; ones already shown are skipped for this long.
  const REPLAY_WINDOW_MS = 2000;

  let lines = []; // [{text, level}]
  let socket = null;
  let wanted = false;
  let attempt = 0;
  let failedHandshakes = 0;
  let reconnectTimer = 0;
  let paused = false;
  let missed = 0;
  let lastLevel = 'INFO';
  let replaySkip = null;
  let replayUntil = 0;

  function view() {
    return $('#log-view');
  }

  function minLevel() {
    return LEVELS[$('#log-level').value] || 0;
  }

  function levelOf(text) {
    const match = LEVEL_RE.exec(text);
    // Untagged lines (tracebacks, wrapped output) belong to the line before them.
    if (!match) return lastLevel;
    lastLevel = LEVEL_ALIASES[match[1].toUpperCase()] || 'INFO';
    return lastLevel;
  }

  function lineNode(line) {
    return h('div', { class: 'log-line lv-' + line.level.toLowerCase() }, line.text);
  }

  function setStatus(kind, text) {
    const node = $('#log-status');
    clear(node);
    node.appendChild(h('span', { class: 'status-dot ' + kind }));
    node.appendChild(document.createTextNode(text));
    node.dataset.state = kind;
  }

  function updateInfo() {
    let text = t('logs.kept', { n: lines.length, max: MAX_LINES });
    if (paused) text += ' ' + t('logs.pausedWaiting', { n: missed });
    $('#log-info').textContent = text;
  }

  function scrollToEnd() {
    if ($('#log-autoscroll').checked) {
      const node = view();
      node.scrollTop = node.scrollHeight;
    }
  }

  function rebuild() {
    const node = view();
    const min = minLevel();
    const fragment = document.createDocumentFragment();
    for (const line of lines) if (LEVELS[line.level] >= min) fragment.appendChild(lineNode(line));
    clear(node).appendChild(fragment);
    scrollToEnd();
    updateInfo();
  }

  function receive(text) {
    const trimmed = String(text).replace(/\s+$/, '');
    if (!trimmed) return;
    if (replaySkip && Date.now() < replayUntil && replaySkip.has(trimmed)) return;
    const line = { text: trimmed, level: levelOf(trimmed) };
    lines.push(line);
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    if (paused) {
      missed += 1;
      if (missed % 50 === 1) updateInfo();
      return;
    }
    if (LEVELS[line.level] >= minLevel()) {
      const node = view();
      node.appendChild(lineNode(line));
      while (node.childElementCount > MAX_LINES) node.removeChild(node.firstChild);
      scrollToEnd();
    }
    updateInfo();
  }

  function socketUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + location.host + '/auth/logs/stream?token=' + encodeURIComponent(Auth.get());
  }

  function connect() {
    if (!wanted || socket || !Auth.get()) return;
    setStatus('wait', attempt ? t('logs.reconnecting') : t('logs.connecting'));
    let opened = false;
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (_) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener('open', () => {
      opened = true;
      attempt = 0;
      failedHandshakes = 0;
      setStatus('on', t('logs.connected'));
      if (lines.length) {
        replaySkip = new Set(lines.slice(-500).map((l) => l.text));
        replayUntil = Date.now() + REPLAY_WINDOW_MS;
      }
    });
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') receive(event.data);
    });
    ws.addEventListener('close', () => {
      if (socket === ws) socket = null;
      if (!wanted) {
        setStatus('off', t('logs.disconnected'));
        return;
      }
      if (!opened) failedHandshakes += 1;
      scheduleReconnect();
    });
  }

  async function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    if (!wanted) return;
    // Repeated refused handshakes usually mean the session expired; a plain API call finds out and logs out on 401.
    if (failedHandshakes >= 3) {
      failedHandshakes = 0;
      try {
        await api.get('/creds/status?offset=0&limit=1');
      } catch (e) {
        if (e.status === 401) return;
      }
    }
    const delay = Math.min(BACKOFF_MAX_MS, 1000 * Math.pow(2, attempt)) + Math.floor(Math.random() * 400);
    attempt += 1;
    setStatus('off', t('logs.retryIn', { s: Math.round(delay / 1000) }));
    reconnectTimer = setTimeout(connect, delay);
  }

  function disconnect() {
    wanted = false;
    clearTimeout(reconnectTimer);
    if (socket) {
      const ws = socket;
      socket = null;
      try {
        ws.close(1000, 'logout');
      } catch (_) {
        /* already closed */
      }
    }
    setStatus('off', t('logs.disconnected'));
  }

  function setPaused(value) {
    paused = value;
    const button = $('#log-pause');
    button.textContent = paused ? t('logs.resume') : t('logs.pause');
    button.setAttribute('aria-pressed', paused ? 'true' : 'false');
    if (!paused) {
      missed = 0;
      rebuild();
    }
    updateInfo();
  }

  function clearView() {
    lines = [];
    missed = 0;
    clear(view());
    updateInfo();
  }

  GC.panels.logs = {
    mount() {
      $('#log-level').addEventListener('change', rebuild);
      $('#log-pause').addEventListener('click', () => setPaused(!paused));
      $('#log-clear-view').addEventListener('click', clearView);
      $('#log-autoscroll').addEventListener('change', scrollToEnd);
      $('#log-download').addEventListener('click', (event) =>
        withBusy(event.currentTarget, t('common.preparing'), () => downloadWithAuth('/auth/logs/download', 'gcli2api-logs.txt')));
      $('#log-clear-server').addEventListener('click', async (event) => {
        const button = event.currentTarget;
        const ok = await confirmDialog(t('logs.confirmClear'), t('logs.clear'));
        if (!ok) return;
        const data = await withBusy(button, t('logs.clearing'), () => api.post('/auth/logs/clear'));
        if (data) {
          clearView();
          toast(data.message || t('logs.cleared'), 'ok');
        }
      });
      updateInfo();
    },
    show() {
      if (!wanted) {
        wanted = true;
        attempt = 0;
        connect();
      }
    },
    leave() {
      disconnect();
      setPaused(false);
      clearView();
    },
  };
})();
