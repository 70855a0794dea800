// The chat page: a small app on the tether-client SDK (served from ./sdk, the SDK's build output).
// Query parameters: ?url= (WebSocket URL), ?name= (display name), ?room= (a room to open besides lobby).
import { TetherClient } from "./sdk/index.js";

const DEFAULT_ROOM = "lobby";
/** Direct messages (sendto) are shown in a tab of their own, which is not a room: no send, leave or history. */
const DIRECT = "direct messages";
const KEPT_MESSAGES = 500;
const PAGE = 20;

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const rooms = new Map();
let current = null;
let client = null;

const name = params.get("name") || localStorage.getItem("tether-name") || `guest-${Math.random().toString(36).slice(2, 6)}`;
$("name").value = name;
$("name").addEventListener("change", () => localStorage.setItem("tether-name", $("name").value.trim()));

function room(nameOfRoom) {
  let state = rooms.get(nameOfRoom);
  if (state === undefined) {
    state = { name: nameOfRoom, direct: nameOfRoom === DIRECT, messages: [], ids: new Set(), members: null, unread: 0, more: nameOfRoom !== DIRECT };
    rooms.set(nameOfRoom, state);
  }
  return state;
}

/** Adds messages (live or from history) once each, kept in seq order when the room has seqs. */
function add(state, envelopes, { live }) {
  let added = 0;
  for (const envelope of envelopes) {
    if (state.ids.has(envelope.id)) continue;
    state.ids.add(envelope.id);
    state.messages.push({ kind: "message", envelope });
    added++;
  }
  if (!live) state.messages.sort(bySeq);
  while (state.messages.length > KEPT_MESSAGES) state.messages.shift();
  if (added > 0 && live && state !== current) state.unread += added;
  render();
}

function bySeq(a, b) {
  const sa = a.envelope?.seq;
  const sb = b.envelope?.seq;
  return typeof sa === "number" && typeof sb === "number" ? sa - sb : 0;
}

function notice(state, text, kind = "notice") {
  state.messages.push({ kind, text });
  render();
}

function oldestSeq(state) {
  for (const item of state.messages) if (typeof item.envelope?.seq === "number") return item.envelope.seq;
  return undefined;
}

async function loadEarlier(state) {
  const before = oldestSeq(state);
  try {
    const page = await client.history(state.name, before === undefined ? { limit: PAGE } : { limit: PAGE, before });
    state.more = page.more;
    add(state, page.messages, { live: false });
  } catch (error) {
    notice(state, `Could not load earlier messages: ${error.message}`);
  }
}

async function join(nameOfRoom, select) {
  const state = room(nameOfRoom);
  if (select) show(state);
  try {
    const reply = await client.join(nameOfRoom);
    state.members = reply.members;
  } catch (error) {
    notice(state, `Could not join: ${error.message}`);
    rooms.delete(nameOfRoom);
    if (current === state) show(rooms.get(DEFAULT_ROOM) ?? null);
  }
  render();
}

async function leave(state) {
  try {
    await client.leave(state.name);
  } catch (error) {
    notice(state, `Could not leave: ${error.message}`);
    return;
  }
  rooms.delete(state.name);
  show(rooms.get(DEFAULT_ROOM) ?? rooms.values().next().value ?? null);
}

function show(state) {
  current = state;
  if (state !== null) state.unread = 0;
  render();
}

function who(envelope) {
  const body = envelope.body;
  if (body !== null && typeof body === "object" && typeof body.name === "string") return body.name;
  if (envelope.user) return envelope.user;
  return envelope.from ? envelope.from.slice(0, 6) : "api";
}

function textOf(body) {
  if (typeof body === "string") return body;
  if (body !== null && typeof body === "object" && typeof body.text === "string") return body.text;
  return JSON.stringify(body);
}

function render() {
  const list = $("rooms");
  list.replaceChildren(
    ...[...rooms.values()].map((state) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = state.name;
      button.dataset.room = state.name;
      if (state === current) button.className = "current";
      if (state.unread > 0) {
        const badge = document.createElement("span");
        badge.className = "unread";
        badge.textContent = String(state.unread);
        button.append(badge);
      }
      button.addEventListener("click", () => show(state));
      item.append(button);
      return item;
    }),
  );

  $("room").hidden = current === null;
  if (current === null) return;
  $("room-title").textContent = current.name;
  $("members").textContent = current.members === null ? "" : `${current.members} member${current.members === 1 ? "" : "s"}`;
  $("leave").hidden = current.name === DEFAULT_ROOM || current.direct;
  $("send").hidden = current.direct;
  $("load-earlier").hidden = current.direct;
  $("load-earlier").disabled = !current.more;
  const messages = $("messages");
  const atBottom = messages.scrollTop + messages.clientHeight >= messages.scrollHeight - 4;
  messages.replaceChildren(
    ...current.messages.map((item) => {
      const line = document.createElement("li");
      if (item.kind !== "message") {
        line.className = item.kind;
        line.textContent = item.text;
        return line;
      }
      const { envelope } = item;
      line.className = "message";
      line.dataset.id = envelope.id;
      if (typeof envelope.seq === "number") line.dataset.seq = String(envelope.seq);
      const author = document.createElement("span");
      author.className = "who";
      author.textContent = who(envelope);
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = textOf(envelope.body);
      const when = document.createElement("time");
      when.className = "when";
      when.dateTime = envelope.sentAt;
      when.textContent = new Date(envelope.sentAt).toLocaleTimeString();
      line.append(author, text, when);
      return line;
    }),
  );
  if (atBottom) messages.scrollTop = messages.scrollHeight;
}

function connect(url) {
  client = new TetherClient(url);
  window.tetherChat = { client, rooms };
  client.on("state", (state) => {
    $("state").textContent = state;
    $("state").className = `state ${state}`;
  });
  client.on("message", (envelope) => {
    if (envelope.room === null) add(room(DIRECT), [envelope], { live: true });
    else if (rooms.has(envelope.room)) add(room(envelope.room), [envelope], { live: true });
  });
  client.on("presence", (presence) => {
    const state = rooms.get(presence.room);
    if (state === undefined) return;
    if (state.members !== null) state.members += presence.event === "join" ? 1 : -1;
    notice(state, `${presence.user ?? presence.connectionId.slice(0, 6)} ${presence.event === "join" ? "joined" : "left"}`);
  });
  client.on("gap", (gap) => {
    const state = gap.room === undefined ? undefined : rooms.get(gap.room);
    if (state === undefined) return;
    // The backend could not replay what was missed: show the latest page from history instead.
    notice(state, "Some messages were missed while disconnected; reloading recent ones.", "gap");
    client.history(state.name, { limit: PAGE }).then((page) => add(state, page.messages, { live: false }), () => undefined);
  });
  client.on("error", (error) => {
    if (current !== null) notice(current, error.code === "refused" ? `The server refused the connection (${error.status ?? "no status"}).` : error.message);
  });
  show(room(DEFAULT_ROOM));
  void join(DEFAULT_ROOM, false);
  const requested = params.get("room");
  if (requested && requested !== DEFAULT_ROOM) void join(requested, true);
}

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const nameOfRoom = $("room-name").value.trim();
  if (nameOfRoom === "" || client === null) return;
  $("room-name").value = "";
  if (rooms.has(nameOfRoom)) show(rooms.get(nameOfRoom));
  else void join(nameOfRoom, true);
});

$("send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (text.trim() === "" || current === null || client === null) return;
  $("text").value = "";
  const target = current;
  try {
    await client.send(target.name, { name: $("name").value.trim() || name, text });
  } catch (error) {
    notice(target, `Not sent (${error.code}): ${text}`);
  }
});

$("leave").addEventListener("click", () => current !== null && leave(current));
$("load-earlier").addEventListener("click", () => current !== null && loadEarlier(current));

$("connect").addEventListener("submit", (event) => {
  event.preventDefault();
  $("connect").hidden = true;
  connect($("url").value);
});

const configured = params.get("url") ?? (await fetch("/chat/config.json").then((r) => r.json()).then((c) => c.url, () => null));
if (configured) connect(configured);
else $("connect").hidden = false;
