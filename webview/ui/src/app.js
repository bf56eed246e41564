// The page of cloonix-labd web: draws a running lab (GET /api/graph) with cytoscape and an ELK layout, keeps
// it live from the server's event stream (GET /api/live: a "state" every second and after each lab event),
// and acts on it (links, impairments, captures, VMs, the serial console over a websocket in an xterm).
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
let lab = params.get("lab") || "";
let cy = null;
let live = null;      // the EventSource
let last = null;      // the last state
let graphInfo = null; // the last /api/graph answer
let selected = null;  // {type: "vm"|"edge"|"lan"|"nat", id}
let term = null, termSocket = null, fit = null;

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
const query = (extra = {}) => "?" + new URLSearchParams({ token, lab, ...extra });

async function call(method, path, body) {
  const opts = { method, headers: { "X-Cloonix-Token": token } };
  if (body) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify({ lab, ...body });
  }
  const r = await fetch(path + (method === "GET" ? query() : ""), opts);
  if (!r.ok) throw new Error((await r.text()).trim() || r.statusText);
  return r.json();
}

function say(msg, bad) {
  const c = $("#conn");
  c.textContent = msg;
  c.classList.toggle("bad", !!bad);
}

// ---- the graph ----

const style = [
  { selector: "node", style: { "label": "data(label)", "font-size": 11, "text-wrap": "wrap", "text-valign": "center", "text-halign": "center", "color": "#1d2733" } },
  { selector: "node[type='vm']", style: { "shape": "round-rectangle", "width": 78, "height": 42, "background-color": "#ffffff", "border-width": 2, "border-color": "#5b6673" } },
  { selector: "node[type='vm'][router]", style: { "background-color": "#e3edfb" } },
  { selector: "node[type='lan']", style: { "shape": "ellipse", "width": 64, "height": 26, "background-color": "#dfe6ee", "border-width": 1, "border-color": "#8795a6", "font-size": 10 } },
  { selector: "node[type='nat']", style: { "shape": "hexagon", "width": 62, "height": 36, "background-color": "#efe3f7", "border-width": 1, "border-color": "#8e5bb1" } },
  { selector: "node.running", style: { "border-color": "#1e8449" } },
  { selector: "node.booting, node.created, node.stopping", style: { "border-color": "#d4ac0d", "border-style": "dashed" } },
  { selector: "node.stopped, node.crashed, node.unknown", style: { "border-color": "#c0392b", "background-color": "#f2f3f4", "color": "#7b8591" } },
  { selector: "node.capturing", style: { "outline-width": 3, "outline-color": "#e74c3c", "outline-offset": 2 } },
  { selector: "edge", style: { "width": 2, "line-color": "#8795a6", "curve-style": "bezier", "label": "data(label)", "font-size": 9, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 1, "color": "#3b4653" } },
  { selector: "edge[mgmt]", style: { "width": 1, "line-color": "#c9d0d8", "color": "#8795a6" } },
  { selector: "edge.busy", style: { "width": 4, "line-color": "#2e86c1" } },
  { selector: "edge.impaired", style: { "line-color": "#e67e22", "width": 4 } },
  { selector: "edge.oneway-out", style: { "target-arrow-shape": "triangle", "target-arrow-color": "#c0392b", "line-color": "#c0392b" } },
  { selector: "edge.oneway-in", style: { "source-arrow-shape": "triangle", "source-arrow-color": "#c0392b", "line-color": "#c0392b" } },
  { selector: "edge.down", style: { "line-style": "dashed", "line-color": "#c0392b", "width": 2 } },
  { selector: "edge.capturing", style: { "underlay-color": "#e74c3c", "underlay-opacity": 0.25, "underlay-padding": 4 } },
  { selector: ":selected", style: { "overlay-color": "#2e86c1", "overlay-opacity": 0.18 } },
];

function vmLabel(n) { return n.name + "\n" + n.kind; }

async function loadGraph() {
  graphInfo = await call("GET", "/api/graph");
  const g = graphInfo.graph;
  const els = [];
  for (const n of g.nodes) {
    const data = { id: n.id, type: n.type, name: n.name, label: n.type === "vm" ? vmLabel(n) : n.type === "nat" ? n.name + "\nNAT" : n.name };
    if (n.type === "vm" && n.kind !== "linux") data.router = "yes";
    els.push({ group: "nodes", data });
  }
  // The NATs' LANs are the management network: drawn light, so the lab's own links stand out.
  const mgmt = new Set(g.edges.filter((e) => e.from.startsWith("nat:")).map((e) => e.to));
  for (const e of g.edges) {
    const data = { id: e.id, source: e.from, target: e.to, nic: e.nic || "", label: e.nic || "" };
    if (mgmt.has(e.to)) data.mgmt = "yes";
    els.push({ group: "edges", data });
  }
  if (cy) cy.destroy();
  cy = cytoscape({ container: $("#graph"), elements: els, style, boxSelectionEnabled: false });
  cy.on("tap", "node, edge", (ev) => {
    const d = ev.target.data();
    select(ev.target.isEdge() ? { type: "edge", id: d.id } : { type: d.type, id: d.id, name: d.name });
  });
  cy.on("tap", (ev) => { if (ev.target === cy) select(null); });
  await runLayout();
  $("#labinfo").textContent = `${g.nodes.filter((n) => n.type === "vm").length} VMs, accelerator ${graphInfo.info.accel}`;
  $("#labinfo").title = graphInfo.info.accel_reason || "";
  window.cloonix.ready = true;
}

function runLayout() {
  return new Promise((resolve) => {
    const opts = typeof cytoscapeElk !== "undefined"
      ? { name: "elk", fit: true, padding: 30, nodeDimensionsIncludeLabels: true,
          elk: { algorithm: "stress", "stress.desiredEdgeLength": 110 } }
      : { name: "cose", fit: true, padding: 30 };
    const l = cy.layout(opts);
    l.one("layoutstop", () => resolve());
    l.run();
  });
}

// ---- live state ----

function startLive() {
  if (live) live.close();
  live = new EventSource("/api/live" + query());
  live.addEventListener("state", (m) => apply(JSON.parse(m.data)));
  live.addEventListener("event", (m) => addEvent(JSON.parse(m.data)));
  live.onopen = () => say("live");
  live.onerror = () => say("disconnected: is the lab still up? (retrying)", true);
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function apply(st) {
  last = st;
  if (st.error) say(st.error, true); else say("live " + new Date(st.time).toLocaleTimeString());
  const caps = new Set(st.captures || []);
  // VMs
  const vbody = $("#vms tbody");
  for (const v of st.vms || []) {
    let tr = vbody.querySelector(`tr[data-vm="${v.name}"]`);
    if (!tr) {
      tr = el("tr", { "data-vm": v.name, onclick: () => select({ type: "vm", id: "vm:" + v.name, name: v.name }) },
        el("td", {}, v.name), el("td", {}, v.kind), el("td", { class: "state" }), el("td", { class: "accel" }), el("td", { class: "ip" }),
        el("td", {}, el("button", { class: "console", type: "button", onclick: (e) => { e.stopPropagation(); openConsole(v.name); } }, "console")));
      vbody.append(tr);
    }
    const s = tr.querySelector(".state");
    s.textContent = v.state;
    s.className = "state state-" + v.state;
    tr.querySelector(".accel").textContent = v.accel || "";
    tr.querySelector(".accel").title = v.accel_reason || "";
    tr.querySelector(".ip").textContent = v.ip || "";
    if (cy) {
      const n = cy.getElementById("vm:" + v.name);
      n.removeClass("running booting created stopping stopped crashed unknown").addClass(v.state);
    }
  }
  // Links
  const lbody = $("#links tbody");
  for (const l of st.links || []) {
    let tr = lbody.querySelector(`tr[data-link="${l.id}"]`);
    if (!tr) {
      tr = el("tr", { "data-link": l.id, onclick: () => select({ type: "edge", id: l.id }) },
        el("td", {}, l.id), el("td", {}, l.lan), el("td", { class: "state" }), el("td", { class: "rate" }), el("td", { class: "imp" }),
        el("td", {}, el("button", { class: "toggle", type: "button", onclick: (e) => { e.stopPropagation(); toggleLink(l.id); } })));
      lbody.append(tr);
    }
    const state = !l.up ? "down" : !l.carrier ? "no carrier" : "up";
    const s = tr.querySelector(".state");
    s.textContent = state;
    s.className = "state state-" + state.replace(" ", "");
    const r = tr.querySelector(".rate");
    r.textContent = `${fmt(l.rx_fps)} ↑ ${fmt(l.tx_fps)} ↓` + (l.one_way ? (l.one_way === "out" ? "  one way: out only" : "  one way: in only") : "");
    r.classList.toggle("oneway", !!l.one_way);
    tr.querySelector(".imp").textContent = [l.out && "out " + l.out, l.in && "in " + l.in].filter(Boolean).join("; ");
    tr.querySelector(".toggle").textContent = l.up ? "take down" : "bring up";
    if (cy) {
      const e = cy.getElementById(l.id);
      e.toggleClass("down", !l.up || !l.carrier);
      e.toggleClass("impaired", !!(l.out || l.in));
      e.toggleClass("oneway-out", l.one_way === "out");
      e.toggleClass("oneway-in", l.one_way === "in");
      e.toggleClass("busy", l.rx_fps + l.tx_fps > 50);
      e.toggleClass("capturing", caps.has(l.id) || caps.has(l.lan));
      const rate = l.rx_fps + l.tx_fps > 0 && !e.data("mgmt") ? ` ${fmt(l.rx_fps)}↑${fmt(l.tx_fps)}↓` : "";
      e.data("label", e.data("nic") + (!l.up ? " down" : "") + rate);
    }
  }
  if (cy) cy.nodes("[type='lan']").forEach((n) => n.toggleClass("capturing", caps.has(n.data("name"))));
  renderDetails();
}

function addEvent(e) {
  const list = $("#events");
  const subj = e.vm && e.nic ? e.vm + ":" + e.nic : e.vm || e.lan || "";
  list.prepend(el("li", {}, `${new Date(e.time).toLocaleTimeString()} ${e.kind} ${subj} ${e.what}${e.detail ? " (" + e.detail + ")" : ""}`));
  while (list.children.length > 200) list.lastChild.remove();
}

// ---- actions ----

function linkOf(id) { return (last?.links || []).find((l) => l.id === id); }

async function act(fn) {
  try { await fn(); } catch (err) { showError(err.message); }
}

function showError(msg) {
  const d = $("#details");
  d.querySelector(".err")?.remove();
  d.append(el("p", { class: "err" }, msg));
}

function toggleLink(id) {
  const l = linkOf(id);
  if (!l) return;
  act(() => call("POST", "/api/link", { vm: l.vm, nic: l.nic, up: !l.up }));
}

function captureURL(targets, dur) {
  const p = new URLSearchParams({ token, lab });
  for (const t of targets) p.append("target", t);
  if (dur) p.set("for", dur);
  return "/api/capture?" + p;
}

function captureRow(targets) {
  const dur = el("select", {}, el("option", { value: "10s" }, "10 s"), el("option", { value: "60s" }, "60 s"), el("option", { value: "" }, "until I stop it"));
  const a = el("a", { href: captureURL(targets, "10s"), download: "", class: "capture" }, "capture pcapng");
  dur.addEventListener("change", () => { a.href = captureURL(targets, dur.value); });
  return el("div", { class: "row" }, a, dur);
}

function select(s) {
  selected = s;
  document.querySelectorAll("tr.sel").forEach((t) => t.classList.remove("sel"));
  if (s?.type === "vm") $(`tr[data-vm="${s.name}"]`)?.classList.add("sel");
  if (s?.type === "edge") $(`tr[data-link="${s.id}"]`)?.classList.add("sel");
  renderDetails(true);
}

function renderDetails(force) {
  const d = $("#details");
  if (!selected) { if (force) d.replaceChildren(el("p", { class: "hint" }, "Click a VM, a link or a LAN.")); return; }
  // Keep what the user is typing: refresh only the live lines.
  const key = selected.type + ":" + selected.id;
  if (!force && d.dataset.key === key) { fillLive(d); return; }
  d.dataset.key = key;
  d.replaceChildren();
  if (selected.type === "vm") {
    const name = selected.name;
    const ssh = graphInfo?.ssh?.[name] || "";
    d.append(el("h3", {}, name), el("div", { class: "row live-vm" }),
      el("div", { class: "row" }, el("code", { class: "ssh" }, ssh),
        el("button", { type: "button", onclick: () => copy(ssh) }, "copy ssh command")),
      el("div", { class: "row" },
        el("button", { type: "button", class: "console", onclick: () => openConsole(name) }, "console"),
        el("button", { type: "button", class: "stop", onclick: () => act(() => call("POST", "/api/vm", { vm: name, action: "stop" })) }, "stop"),
        el("button", { type: "button", class: "start", onclick: () => act(() => call("POST", "/api/vm", { vm: name, action: "start" })) }, "start")));
  } else if (selected.type === "edge" && selected.id.startsWith("nat-port:")) {
    d.append(el("h3", {}, selected.id), el("p", { class: "hint" }, "the NAT's port on its LAN: DHCP, DNS and the way in for ssh"));
  } else if (selected.type === "edge") {
    const l = linkOf(selected.id);
    if (!l) { d.append(el("p", { class: "hint" }, selected.id)); return; }
    const words = el("input", { type: "text", placeholder: "delay=50ms jitter=5ms loss=1%", class: "words" });
    const dir = el("select", { class: "dir" }, el("option", { value: "out" }, "out (what the VM sends)"), el("option", { value: "in" }, "in"), el("option", { value: "both" }, "both"));
    d.append(el("h3", {}, `${l.id} — ${l.lan}`), el("div", { class: "row live-link" }),
      el("div", { class: "row" }, el("button", { type: "button", class: "toggle", onclick: () => toggleLink(l.id) }, "take down / bring up")),
      el("div", { class: "row" }, words, dir,
        el("button", { type: "button", class: "set", onclick: () => act(() => call("POST", "/api/impair", { vm: l.vm, nic: l.nic, dir: dir.value, set: words.value.trim().split(/\s+/).filter(Boolean) })) }, "impair"),
        el("button", { type: "button", class: "clear", onclick: () => act(() => call("POST", "/api/impair", { vm: l.vm, nic: l.nic, dir: dir.value, clear: true })) }, "clear")),
      captureRow([l.id]));
  } else if (selected.type === "lan") {
    d.append(el("h3", {}, "LAN " + selected.name), captureRow([selected.name]));
  } else if (selected.type === "nat") {
    const n = graphInfo.graph.nodes.find((x) => x.id === selected.id);
    d.append(el("h3", {}, "NAT " + selected.name), el("p", {}, `subnet ${n?.subnet}, gateway ${n?.gateway}: DHCP, DNS and the way in for ssh`));
  }
  fillLive(d);
}

function fillLive(d) {
  if (selected.type === "vm") {
    const v = (last?.vms || []).find((x) => x.name === selected.name);
    const r = d.querySelector(".live-vm");
    if (v && r) r.textContent = `${v.kind}, ${v.state}, ${v.accel || "?"}${v.accel_reason ? " (" + v.accel_reason + ")" : ""}, ${v.memory_mib} MiB, ${v.cpus} CPU${v.ip ? ", " + v.ip : ""}`;
  } else if (selected.type === "edge") {
    const l = linkOf(selected.id);
    const r = d.querySelector(".live-link");
    if (l && r) r.textContent = `${l.up ? "up" : "down"}${l.carrier ? "" : ", no carrier"}, MAC ${l.mac}, out ${fmt(l.rx_fps)} frames/s, in ${fmt(l.tx_fps)} frames/s${l.one_way ? ", one way only (" + l.one_way + ")" : ""}${l.out ? ", out: " + l.out : ""}${l.in ? ", in: " + l.in : ""}, drops ${l.drops + l.drops_link_down}`;
  }
}

async function copy(text) {
  try { await navigator.clipboard.writeText(text); say("copied: " + text); }
  catch { const r = document.createRange(); r.selectNodeContents($("#details .ssh")); getSelection().removeAllRanges(); getSelection().addRange(r); say("selected: press Ctrl-C to copy"); }
}

// ---- the console ----

function openConsole(vm) {
  closeConsole();
  $("#consolebox").hidden = false;
  $("#consoletitle").textContent = `console of ${vm} (serial; one client at a time: close it to free it for cloonix-labd console)`;
  term = new Terminal({ convertEol: false, fontSize: 13, scrollback: 5000, cursorBlink: true });
  fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($("#terminal"));
  refit();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  termSocket = new WebSocket(`${proto}//${location.host}/api/console` + query({ vm }));
  termSocket.binaryType = "arraybuffer";
  const enc = new TextEncoder();
  termSocket.onopen = () => { term.focus(); termSocket.send(enc.encode("\r")); };
  termSocket.onmessage = (m) => term.write(new Uint8Array(m.data));
  termSocket.onclose = () => term?.write("\r\n[console closed]\r\n");
  term.onData((d) => { if (termSocket?.readyState === WebSocket.OPEN) termSocket.send(enc.encode(d)); });
  window.cloonix.console = vm;
}

function closeConsole() {
  termSocket?.close();
  term?.dispose();
  termSocket = term = fit = null;
  $("#consolebox").hidden = true;
  window.cloonix.console = "";
  refit();
}

// refit sizes the drawing and the terminal to their boxes (the console's box takes room from the drawing).
function refit() {
  requestAnimationFrame(() => {
    if (cy) { cy.resize(); cy.fit(undefined, 30); }
    fit?.fit();
  });
}

// termText is what the console's terminal shows, for people reading the page through a test.
function termText() {
  if (!term) return "";
  const b = term.buffer.active, lines = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? "");
  return lines.join("\n");
}

// ---- start ----

window.cloonix = { ready: false, console: "", termText, get state() { return last; }, get cy() { return cy; } };
$("#consoleclose").addEventListener("click", closeConsole);
window.addEventListener("resize", refit);

async function start() {
  try {
    const { labs } = await call("GET", "/api/labs");
    const sel = $("#lab");
    sel.replaceChildren(...labs.map((n) => el("option", { value: n }, n)));
    if (!lab || !labs.includes(lab)) lab = labs[0] || "";
    sel.value = lab;
    sel.onchange = () => { lab = sel.value; history.replaceState(null, "", query()); show(); };
    if (!lab) { say("no lab is up: start one with cloonix-labd up LABFILE", true); return; }
    await show();
  } catch (err) { say(err.message, true); }
}

async function show() {
  closeConsole();
  select(null);
  $("#vms tbody").replaceChildren();
  $("#links tbody").replaceChildren();
  $("#events").replaceChildren();
  window.cloonix.ready = false;
  await loadGraph();
  startLive();
}

start();
