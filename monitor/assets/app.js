// synclayer monitor dashboard. Every text from the server is inserted with
// textContent, never as HTML.
"use strict";
(function () {
  const writes = document.body.dataset.writes === "true";
  const meta = document.querySelector('meta[name="csrf-token"]');
  let token = meta.content;
  const ttl = Number(meta.dataset.ttl) || 0; // seconds the token lives
  const MAX_ROWS = 200;
  const rows = new Map(); // eventId \u0000 connector -> { tr, d }
  let selected = null;    // key of the delivery shown in the detail panel

  const $ = (id) => document.getElementById(id);
  const feed = $("feed").tBodies[0];
  const conns = $("connectors").tBodies[0];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const BAD = new Set(["failed", "dead"]);
  const GOOD = new Set(["synced", "duplicate", "stale"]);
  function tone(state) {
    if (BAD.has(state)) return "bad";
    if (GOOD.has(state)) return "good";
    if (state === "pending") return "warn";
    return "busy";
  }
  const LABEL = { in_progress: "in progress", dead: "dead letter", half_open: "half-open" };
  const label = (s) => LABEL[s] || s;

  function fmtDuration(ms) {
    if (!ms) return "";
    if (ms < 1) return "<1 ms";
    if (ms < 1000) return Math.round(ms) + " ms";
    return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  }
  function fmtTime(iso) {
    const t = new Date(iso);
    return isNaN(t) ? "" : t.toLocaleTimeString();
  }
  function fmtRate(perMin) { return (perMin < 10 ? perMin.toFixed(1) : Math.round(perMin)) + " /min"; }
  function fmtPct(x) { return (x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0) + " %"; }

  function toast(text, bad) {
    const t = $("toast");
    t.textContent = text;
    t.className = bad ? "bad" : "";
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  // renewToken fetches a fresh token (and renews the session cookie)
  // before the old one expires: at half its lifetime.
  let renewTimer = null;
  async function renewToken() {
    clearTimeout(renewTimer);
    try {
      const res = await fetch("api/token", { credentials: "same-origin" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const body = await res.json();
      token = body.token;
      renewTimer = setTimeout(renewToken, (body.ttlSeconds || ttl) * 500);
      return true;
    } catch (e) {
      renewTimer = setTimeout(renewToken, 10000);
      return false;
    }
  }
  if (writes && ttl > 0) renewTimer = setTimeout(renewToken, ttl * 500);

  async function post(url, retried) {
    try {
      const res = await fetch(url, { method: "POST", headers: { "X-Synclayer-CSRF": token }, credentials: "same-origin" });
      const body = await res.json().catch(() => ({}));
      if (res.status === 403 && !retried && /token|session/.test(body.error || "") && await renewToken()) return post(url, true);
      if (!res.ok) { toast(body.error || ("HTTP " + res.status), true); return res.status === 409 ? body : null; }
      if (body.error) toast(body.error, true);
      return body;
    } catch (e) {
      toast("request failed: " + e, true);
      return null;
    }
  }

  // ---- connectors and totals

  function renderStatus(st) {
    const t = st.totals;
    $("t-synced").textContent = String(t.synced);
    $("t-throughput").textContent = st.windowSeconds > 0 ? fmtRate(t.throughputPerMin) : "–";
    $("t-errors").textContent = st.windowSeconds > 0 ? fmtPct(t.errorRate) : "–";
    $("t-errors").className = "value " + (t.errorRate > 0 ? "bad" : "good");
    // waitingCapped: the log held more dead, failed and pending entries
    // than the monitor read to count what waits, so those counts are at
    // least what they say. (A cap on the synced entries it read does not
    // set it: see Status.WaitingCapped.)
    const count = (n) => (n < 0 ? "?" : (st.waitingCapped ? "≥ " : "") + String(n));
    const capNote = st.waitingCapped ? "The delivery log held more than the 10,000 dead, failed and pending entries the monitor read to count what waits: these counts are lower bounds." : "";
    $("t-dead").title = capNote;
    $("t-pending").title = capNote;
    $("t-dead").textContent = count(t.deadLetters);
    $("t-dead").className = "value " + (t.deadLetters > 0 ? "bad" : "good");
    $("t-superseded").textContent = t.superseded > 0 ? count(t.superseded) + " superseded" : "";
    $("t-pending").textContent = count(t.queued);
    $("t-pending").className = "value " + (t.queued > 0 ? "warn" : "");
    $("t-inflight").textContent = String(t.inFlight);

    const out = [];
    for (const c of st.connectors) {
      const tr = el("tr");
      tr.dataset.connector = c.name;
      tr.dataset.state = c.state;
      tr.appendChild(el("td", "name", c.name));
      const state = el("td");
      state.appendChild(el("span", "badge " + (c.state === "running" ? "good" : c.state === "paused" ? "warn" : "bad"), label(c.state)));
      tr.appendChild(state);
      const br = el("td");
      br.appendChild(el("span", "badge " + (c.breaker === "closed" ? "plain" : "bad"), label(c.breaker)));
      tr.appendChild(br);
      tr.appendChild(el("td", "num", st.windowSeconds > 0 ? fmtRate(c.throughputPerMin) : "–"));
      tr.appendChild(el("td", "num" + (c.errorRate > 0 ? " bad" : ""), st.windowSeconds > 0 ? fmtPct(c.errorRate) : "–"));
      tr.appendChild(el("td", "num", c.synced));
      tr.appendChild(el("td", "num", c.duplicate + c.stale));
      tr.appendChild(el("td", "num", c.failed));
      tr.appendChild(el("td", "num", c.dead));
      tr.appendChild(el("td", "num dead-letters" + (c.deadLetters > 0 ? " bad" : ""), count(c.deadLetters)));
      tr.appendChild(el("td", "num dim", count(c.superseded)));
      tr.appendChild(el("td", "num" + (c.queued > 0 ? " warn" : ""), count(c.queued)));
      tr.appendChild(el("td", "num", c.inFlight));
      const act = el("td", "actions");
      if (writes) {
        const paused = c.paused;
        const b = el("button", "small", paused ? "Resume" : "Pause");
        b.type = "button";
        b.addEventListener("click", async () => {
          b.disabled = true;
          const r = await post("api/connectors/" + encodeURIComponent(c.name) + (paused ? "/resume" : "/pause"));
          if (r) toast((paused ? "Resumed " : "Paused ") + c.name);
        });
        act.appendChild(b);
        if (c.deadLetters > 0) {
          const rb = el("button", "small bulk-replay", "Replay…");
          rb.type = "button";
          rb.title = "Replay the dead letters of " + c.name;
          rb.addEventListener("click", () => openBulk(c.name));
          act.appendChild(rb);
        }
      }
      tr.appendChild(act);
      out.push(tr);
    }
    conns.replaceChildren(...out);
    renderBacklogs(st.backlogs || []);
  }

  function fmtAge(sec) {
    if (sec < 60) return Math.round(sec) + " s";
    if (sec < 3600) return Math.round(sec / 60) + " min";
    return (sec / 3600).toFixed(1) + " h";
  }

  function renderBacklogs(list) {
    $("backlogs-section").hidden = list.length === 0;
    const out = [];
    for (const q of list) {
      const tr = el("tr");
      tr.dataset.backlog = q.name;
      tr.appendChild(el("td", "name", q.name));
      tr.appendChild(el("td", "num" + (q.count < 0 ? " bad" : ""), q.count < 0 ? "?" : q.count));
      tr.appendChild(el("td", "num", q.error ? q.error : (q.count > 0 ? fmtAge(q.ageSeconds) : "–")));
      out.push(tr);
    }
    $("backlogs").tBodies[0].replaceChildren(...out);
  }

  // ---- freshness: what every partner holds (the freshness ledger), and a
  // search by key across the connectors.

  let freshConns = []; // connector names of the last freshness read
  const FRESH_EVERY = 10000;

  async function loadFreshness() {
    try {
      const res = await fetch("api/freshness", { credentials: "same-origin" });
      if (res.status === 501) { $("freshness-section").hidden = true; return; } // the ledger is off
      if (res.ok) renderFreshness(await res.json());
    } catch (e) { /* tried again at the next refresh */ }
    setTimeout(loadFreshness, FRESH_EVERY);
  }

  function renderFreshness(f) {
    $("freshness-section").hidden = false;
    freshConns = f.connectors.map((c) => c.connector);
    const out = [];
    for (const c of f.connectors) {
      const tr = el("tr");
      tr.dataset.connector = c.connector;
      tr.appendChild(el("td", "name", c.connector));
      if (c.error) {
        const td = el("td", "bad", c.error);
        td.colSpan = 6;
        tr.appendChild(td);
        out.push(tr);
        continue;
      }
      tr.appendChild(el("td", "num", c.keys));
      tr.appendChild(el("td", "num behind" + (c.behind > 0 ? " bad" : ""), c.behind));
      tr.appendChild(el("td", "num" + (c.behind > 0 ? " bad" : ""), c.behind > 0 ? fmtAge(c.oldestBehindSeconds) : "–"));
      tr.appendChild(el("td", "num", c.unverified));
      const ou = el("td", "mono", c.oldestUnverified ? c.oldestUnverified + " (" + fmtAge(c.oldestUnverifiedSeconds) + ")" : "–");
      tr.appendChild(ou);
      tr.appendChild(resyncCell(c.resync));
      out.push(tr);
    }
    $("freshness").tBodies[0].replaceChildren(...out);
  }

  // resyncCell shows the connector's newest resync (a ResyncProgress): a
  // progress bar of events read over the total when the caller gave one,
  // the counts, and whether it finished or stopped early.
  function resyncCell(p) {
    const td = el("td", "resync");
    if (!p) { td.textContent = "–"; return td; }
    if (p.total > 0) {
      const bar = el("progress");
      bar.max = p.total;
      bar.value = Math.min(p.events || 0, p.total);
      td.appendChild(bar);
      td.appendChild(el("span", "dim", " " + (p.events || 0) + " / " + p.total));
    } else {
      td.appendChild(el("span", "dim", (p.events || 0) + " read"));
    }
    const state = p.done ? (p.error ? "stopped: " + p.error : "done") : "running";
    td.appendChild(el("span", "dim", " · " + (p.pushed || 0) + " pushed, " + (p.skipped || 0) + " skipped, " + (p.failed || 0) + " failed · " + state));
    return td;
  }

  async function findKey(key) {
    $("holding-key").textContent = key;
    const rows = await Promise.all(freshConns.map(async (name) => {
      const tr = el("tr");
      tr.dataset.connector = name;
      tr.appendChild(el("td", "name", name));
      let res, h;
      try {
        res = await fetch("api/freshness/" + encodeURIComponent(name) + "?key=" + encodeURIComponent(key), { credentials: "same-origin" });
        h = await res.json();
      } catch (e) { res = null; h = { error: String(e) }; }
      if (!res || !res.ok) {
        const notHeld = res && res.status === 404;
        tr.dataset.state = notHeld ? "absent" : "error";
        const st = el("td");
        st.appendChild(el("span", "badge " + (notHeld ? "plain" : "bad"), notHeld ? "not held" : "error"));
        tr.appendChild(st);
        const msg = el("td", "dim", notHeld ? "" : (h.error || ("HTTP " + res.status)));
        msg.colSpan = 6;
        tr.appendChild(msg);
        return tr;
      }
      tr.dataset.state = h.behind ? "behind" : "held";
      const st = el("td");
      st.appendChild(el("span", "badge " + (h.behind ? "bad" : "good"), h.behind ? "behind" : "up to date"));
      tr.appendChild(st);
      tr.appendChild(el("td", "num", h.version || "–"));
      tr.appendChild(el("td", "num" + (h.wanted ? " bad" : ""), h.wanted || "–"));
      tr.appendChild(el("td", "time", h.pushedAt ? new Date(h.pushedAt).toLocaleString() : "–"));
      tr.appendChild(el("td", "mono dim", h.eventId || ""));
      tr.appendChild(el("td", "time", h.verifiedAt ? new Date(h.verifiedAt).toLocaleString() : "never"));
      tr.appendChild(el("td", h.drift && h.drift !== "in-sync" ? "bad" : null, h.drift || "–"));
      return tr;
    }));
    if ($("freshness-key").value !== key) return; // a newer search runs
    $("holdings").tBodies[0].replaceChildren(...rows);
    $("holding").hidden = false;
  }

  $("freshness-search").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("freshness-key").value; // keys are exact: no trimming
    if (!key.trim()) { $("holding").hidden = true; return; }
    findKey(key);
  });

  // ---- bulk replay: all dead letters of one connector since a time, after
  // a confirmation that shows how many will be replayed.

  let bulk = null; // { connector, query, count }
  function bulkQuery() {
    let q = "connector=" + encodeURIComponent(bulk.connector) + "&limit=1000";
    const sec = $("bulk-since").value;
    if (sec) q += "&since=" + encodeURIComponent(new Date(bulk.opened - Number(sec) * 1000).toISOString());
    return q;
  }
  async function countBulk() {
    const confirm = $("bulk-confirm");
    confirm.disabled = true;
    $("bulk-count").textContent = "Counting…";
    const q = bulkQuery();
    try {
      const res = await fetch("api/replay?" + q, { credentials: "same-origin" });
      const body = await res.json();
      if (!bulk || bulkQuery() !== q) return;
      if (!res.ok) { $("bulk-count").textContent = body.error || ("HTTP " + res.status); return; }
      bulk.query = q;
      bulk.count = body.count;
      let text = body.count === 1 ? "1 dead letter will be replayed" : body.count + " dead letters will be replayed";
      if (body.more) text += " (the newest 1000; more match)";
      if (body.superseded > 0) text += "; " + body.superseded + " superseded left alone";
      $("bulk-count").textContent = text + ".";
      $("bulk-count").dataset.count = String(body.count);
      confirm.textContent = "Replay " + body.count;
      confirm.disabled = body.count === 0;
    } catch (e) { $("bulk-count").textContent = "Could not count: " + e; }
  }
  function openBulk(connector) {
    bulk = { connector, opened: Date.now(), query: "", count: 0 };
    $("bulk-connector").textContent = connector;
    $("bulk").hidden = false;
    countBulk();
  }
  function closeBulk() { bulk = null; $("bulk").hidden = true; }
  $("bulk-since").addEventListener("change", countBulk);
  $("bulk-cancel").addEventListener("click", closeBulk);
  $("bulk-confirm").addEventListener("click", async () => {
    if (!bulk || !bulk.query) return;
    const b = bulk;
    $("bulk-confirm").disabled = true;
    const r = await post("api/replay?" + b.query + "&expect=" + b.count);
    if (r && r.results) {
      const failed = r.results.filter((x) => x.status === "failed").length;
      toast("Replayed " + r.results.length + " of " + b.connector + (failed ? ", " + failed + " failed again" : ": synced"), failed > 0);
      closeBulk();
    } else if (r && typeof r.count === "number") {
      countBulk(); // the count changed since it was shown: show the new one
    } else {
      $("bulk-confirm").disabled = false;
    }
  });

  // ---- delivery feed

  const keyOf = (d) => d.eventId + "\u0000" + d.connector;

  function replayButton(d) {
    const b = el("button", "replay small", "Replay");
    b.type = "button";
    b.addEventListener("click", async (ev) => {
      ev.stopPropagation();
      b.disabled = true;
      const q = "api/replay?event=" + encodeURIComponent(d.eventId) + "&connector=" + encodeURIComponent(d.connector);
      const r = await post(q);
      b.disabled = false;
      if (r && r.results) {
        const res = r.results[0];
        toast(res ? ("Replayed " + d.connector + ": " + res.status) : "Nothing to replay", res && res.status === "failed");
      }
    });
    return b;
  }

  function fillRow(tr, d) {
    const t = tone(d.state);
    tr.className = "row " + t;
    tr.dataset.state = d.state;
    const cells = [
      el("td", "time", fmtTime(d.updated)),
      (() => { const td = el("td"); td.appendChild(el("span", "badge " + t, label(d.state))); return td; })(),
      el("td", "name", d.connector),
      el("td", null, d.eventType),
      el("td", "mono", d.key || ""),
      el("td", "mono dim", d.eventId),
      el("td", "num", d.attempts || ""),
      el("td", "num", fmtDuration(d.durationMs)),
    ];
    const act = el("td", "actions");
    if (writes && BAD.has(d.state)) act.appendChild(replayButton(d));
    cells.push(act);
    tr.replaceChildren(...cells);
    if (d.error) tr.title = "Click to see the error";
    else tr.removeAttribute("title");
  }

  function upsert(d, atTop) {
    const k = keyOf(d);
    let r = rows.get(k);
    if (!r) {
      const tr = el("tr");
      tr.dataset.event = d.eventId;
      tr.dataset.connector = d.connector;
      tr.tabIndex = 0;
      r = { tr, d };
      tr.addEventListener("click", () => showDetail(k));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") showDetail(k); });
      rows.set(k, r);
    }
    r.d = d;
    fillRow(r.tr, d);
    if (atTop) feed.insertBefore(r.tr, feed.firstChild);
    else feed.appendChild(r.tr);
    while (feed.rows.length > MAX_ROWS) {
      const last = feed.rows[feed.rows.length - 1];
      rows.delete(last.dataset.event + "\u0000" + last.dataset.connector);
      last.remove();
    }
    applyFilter(r.tr);
    $("empty").hidden = feed.rows.length > 0;
    if (selected === k) showDetail(k);
  }

  function applyFilter(tr) {
    tr.hidden = $("only-failures").checked && !BAD.has(tr.dataset.state);
  }

  function showDetail(k) {
    const r = rows.get(k);
    if (!r) return;
    selected = k;
    const d = r.d;
    const dl = $("detail-fields");
    const fields = [
      ["State", label(d.state)], ["Connector", d.connector], ["Event type", d.eventType], ["Event id", d.eventId],
      ["Key", d.key], ["Attempts", d.attempts], ["First attempt", d.firstAttempt && new Date(d.firstAttempt).toLocaleString()],
      ["Last attempt", d.lastAttempt && new Date(d.lastAttempt).toLocaleString()], ["Duration", fmtDuration(d.durationMs)],
      ["Superseded", d.superseded ? "yes: a later delivery synced this key (judged by time; a versioned record may still be newer here, and a replay is refused if stale)" : ""],
      ["Partner id", d.partnerId], ["Payload hash", d.payloadHash],
    ];
    const out = [];
    for (const [name, v] of fields) {
      if (v === undefined || v === null || v === "") continue;
      out.push(el("dt", null, name), el("dd", name === "Payload hash" || name === "Event id" ? "mono" : null, v));
    }
    dl.replaceChildren(...out);
    const pre = $("detail-error");
    pre.textContent = d.error || "none";
    pre.className = d.error ? "bad" : "dim";
    const rb = $("detail-replay");
    rb.hidden = !(writes && BAD.has(d.state));
    rb.onclick = () => { const b = r.tr.querySelector("button.replay"); if (b) b.click(); };
    for (const x of feed.querySelectorAll("tr.selected")) x.classList.remove("selected");
    r.tr.classList.add("selected");
    $("detail").hidden = false;
    loadOutcome(d.eventId);
  }

  // loadOutcome lists the event's state on every connector in the panel.
  async function loadOutcome(eventId) {
    const list = $("detail-outcome");
    try {
      const res = await fetch("api/events/" + encodeURIComponent(eventId), { credentials: "same-origin" });
      if (!res.ok) { list.replaceChildren(); return; }
      const body = await res.json();
      if (!selected || rows.get(selected).d.eventId !== eventId) return;
      const items = [];
      for (const d of body.deliveries || []) {
        const li = el("li");
        li.appendChild(el("span", "name", d.connector));
        li.appendChild(el("span", "badge " + tone(d.state), label(d.state)));
        items.push(li);
      }
      list.replaceChildren(...items);
    } catch (e) { list.replaceChildren(); }
  }

  async function loadRecent() {
    try {
      const res = await fetch("api/deliveries?limit=" + MAX_ROWS, { credentials: "same-origin" });
      if (!res.ok) return;
      const body = await res.json();
      const list = body.deliveries || [];
      for (let i = list.length - 1; i >= 0; i--) upsert(list[i], true);
    } catch (e) { /* the stream keeps the page live */ }
  }

  function connect() {
    const es = new EventSource("api/stream");
    const live = $("live");
    let lost = false;
    es.addEventListener("open", () => {
      live.textContent = "live";
      live.className = "live on";
      if (lost) loadRecent(); // catch up on what happened while disconnected
      lost = false;
    });
    es.addEventListener("error", () => { lost = true; live.textContent = "reconnecting…"; live.className = "live off"; });
    es.addEventListener("status", (e) => renderStatus(JSON.parse(e.data)));
    es.addEventListener("delivery", (e) => upsert(JSON.parse(e.data), true));
  }

  $("only-failures").addEventListener("change", () => { for (const tr of feed.rows) applyFilter(tr); });
  $("detail-close").addEventListener("click", () => {
    $("detail").hidden = true;
    selected = null;
    for (const x of feed.querySelectorAll("tr.selected")) x.classList.remove("selected");
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (!$("bulk").hidden) closeBulk(); else $("detail-close").click();
  });

  loadRecent().then(connect);
  loadFreshness();
})();
