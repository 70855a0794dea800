// The client against the real backend: the embedded default (src/Api, its silo and its local API Gateway) as a
// child process on loopback. Each test publishes numbered messages through /api while the connection is cut, and
// asserts that every one reaches the client exactly once, in order.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { TetherClient } from "../dist/index.js";
import { startBackend } from "./support/backend.mjs";
import { gatedWebSocket } from "./support/gated-websocket.mjs";

const fast = { WebSocket, backoff: { initialMs: 50, maxMs: 500 } };
let roomCounter = 0;
const uniqueRoom = (name) => `${name}-${process.pid}-${++roomCounter}`;

function until(condition, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = async () => {
      if (await condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client in `room`, open, with the numbers of the room's messages as they are delivered. */
async function joinedClient(backend, room, options = {}) {
  const client = new TetherClient(backend.wsUrl, { ...fast, rooms: [room], ...options });
  const numbers = [];
  const arrivals = new Map();
  const states = [];
  const timeline = [];
  client.on("message", (m) => {
    if (m.room !== room) return;
    numbers.push(m.body.n);
    arrivals.set(m.body.n, performance.now());
  });
  client.on("state", (s) => {
    states.push(s);
    timeline.push([s, performance.now()]);
  });
  await until(() => client.state === "open", "the client to open");
  await until(async () => (await backend.members(room)).length === 1, "the member");
  return { client, numbers, states, arrivals, timeline };
}

/** Publishes from..last to `room`, `gapMs` apart, calling `during(n)` after message n. */
async function publish(backend, room, last, gapMs, during = async () => {}, from = 1) {
  for (let n = from; n <= last; n++) {
    await backend.publish(room, { n });
    await during(n);
    await delay(gapMs);
  }
}

/** Waits for `count` messages (or the time out), then asserts 1..count exactly once in order: a failure shows the diff. */
async function assertAllArrive(numbers, count) {
  await until(() => numbers.length >= count, `${count} messages`).catch(() => undefined);
  // Anything doubled would arrive right behind the last one.
  await delay(300);
  assertExactlyOnceInOrder(numbers, count);
}

function assertExactlyOnceInOrder(numbers, count) {
  assert.deepEqual(numbers, Array.from({ length: count }, (_, i) => i + 1));
}

function memberIds(backend, room) {
  return backend.members(room);
}

describe("against the embedded backend (default limits)", () => {
  let backend;
  before(async () => {
    backend = await startBackend();
  });
  after(async () => backend?.stop());

  test("reconnects after the server closes the socket and misses nothing", async (t) => {
    const room = uniqueRoom("deleted");
    const gate = gatedWebSocket();
    const { client, numbers, states, arrivals } = await joinedClient(backend, room, { WebSocket: gate.WebSocket });
    t.after(() => client.close());
    const [first] = await memberIds(backend, room);
    await publish(backend, room, 10, 20);
    // 11–20 are published while the client is certainly away: its next socket is held until they are out.
    gate.hold();
    await backend.admin("DELETE", `/api/connections/${encodeURIComponent(first)}`);
    await until(() => client.state === "reconnecting", "the client to notice");
    await publish(backend, room, 20, 0, async () => {}, 11);
    const released = performance.now();
    gate.release();
    await until(async () => (await memberIds(backend, room)).length === 1, "the client back in its room");
    await publish(backend, room, 30, 20, async () => {}, 21);
    await assertAllArrive(numbers, 30);
    t.diagnostic(`figure: socket allowed again → the 10 missed messages replayed: ${Math.round(arrivals.get(20) - released)} ms`);
    assert.deepEqual(states, ["open", "reconnecting", "open"]);
    const [second] = await memberIds(backend, room);
    assert.notEqual(second, first);
  });

  test("rotates before maxLifetimeMs without losing or doubling a message", async (t) => {
    const room = uniqueRoom("rotated");
    const { client, numbers, states } = await joinedClient(backend, room, { maxLifetimeMs: 1_000 });
    t.after(() => client.close());
    const seen = new Set(await memberIds(backend, room));
    const started = performance.now();
    await publish(backend, room, 60, 50, async () => {
      for (const id of await memberIds(backend, room)) seen.add(id);
    });
    await assertAllArrive(numbers, 60);
    assert.ok(seen.size >= 3, `at least two rotations (connections seen: ${seen.size})`);
    t.diagnostic(`figure: ${seen.size - 1} rotations (maxLifetimeMs 1000) while 60 messages were published over ${Math.round(performance.now() - started)} ms, none lost or doubled`);
    assert.deepEqual(states, ["open"], "a rotation is not a reconnect");
  });

  test("a send whose socket is lost right after it went out is retried with its requestId and delivered once", async (t) => {
    const room = uniqueRoom("retried");
    const gate = gatedWebSocket();
    const sender = await joinedClient(backend, room, { WebSocket: gate.WebSocket });
    t.after(() => sender.client.close());
    const observer = new TetherClient(backend.wsUrl, { ...fast, rooms: [room] });
    t.after(() => observer.close());
    const seen = [];
    observer.on("message", (m) => m.room === room && seen.push(m.body.n));
    await until(async () => (await memberIds(backend, room)).length === 2, "both in the room");
    const results = [];
    for (let n = 1; n <= 5; n++) {
      await until(() => sender.client.state === "open", "the sender open");
      const sending = sender.client.send(room, { n });
      gate.dropNewest();
      results.push(await sending);
    }
    await until(() => seen.length >= 5, "5 messages at the observer").catch(() => undefined);
    await delay(300);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.deepEqual(results.map((r) => r.seq), [1, 2, 3, 4, 5]);
    assert.equal(sender.states.filter((s) => s === "reconnecting").length, 5);
  });

  test("send resolves on its sent reply", async (t) => {
    const room = uniqueRoom("send");
    const { client, numbers } = await joinedClient(backend, room);
    t.after(() => client.close());
    const sent = await client.send(room, { n: 1 });
    assert.equal(typeof sent.id, "string");
    await until(() => numbers.length === 1, "the echo");
  });
});

describe("against the embedded backend with a 3-second MaxLifetime", () => {
  let backend;
  before(async () => {
    backend = await startBackend({ LocalGateway__MaxLifetime: "00:00:03" });
  });
  after(async () => backend?.stop());

  test("reconnects after each cut at the gateway's MaxLifetime and misses nothing", async (t) => {
    const room = uniqueRoom("lifetime");
    const { client, numbers, states, timeline } = await joinedClient(backend, room);
    t.after(() => client.close());
    await publish(backend, room, 70, 100);
    await assertAllArrive(numbers, 70);
    const outages = timeline.flatMap(([state, at], i) => (state === "reconnecting" && timeline[i + 1]?.[0] === "open" ? [Math.round(timeline[i + 1][1] - at)] : []));
    t.diagnostic(`figure: cut at MaxLifetime → open and resumed again: ${outages.join(", ")} ms`);
    assert.ok(states.filter((s) => s === "reconnecting").length >= 2, `two cuts at least (states: ${states})`);
  });

  test("rotation ahead of the cutoff means the gateway never cuts: no reconnect, nothing lost or doubled", async (t) => {
    const room = uniqueRoom("ahead");
    const { client, numbers, states } = await joinedClient(backend, room, { maxLifetimeMs: 2_000 });
    t.after(() => client.close());
    const seen = new Set(await memberIds(backend, room));
    await publish(backend, room, 70, 100, async () => {
      for (const id of await memberIds(backend, room)) seen.add(id);
    });
    await assertAllArrive(numbers, 70);
    assert.deepEqual(states, ["open"], "never cut");
    assert.ok(seen.size >= 3, `at least two rotations (connections seen: ${seen.size})`);
  });
});

describe("against the embedded backend with a 2-second IdleTimeout", () => {
  let backend;
  before(async () => {
    backend = await startBackend({ LocalGateway__IdleTimeout: "00:00:02" });
  });
  after(async () => backend?.stop());

  test("the heartbeat keeps a quiet connection open past the idle timeout", async (t) => {
    const room = uniqueRoom("heartbeat");
    const quietRoom = uniqueRoom("no-heartbeat");
    const { client, numbers, states } = await joinedClient(backend, room, { heartbeatMs: 500 });
    t.after(() => client.close());
    // The control: the same wait without a heartbeat does get cut, so the idle timeout is really in force.
    const control = await joinedClient(backend, quietRoom, { heartbeatMs: 60_000 });
    t.after(() => control.client.close());
    const [id] = await memberIds(backend, room);
    await until(() => control.states.includes("reconnecting"), "the control to be cut", 10_000);
    await delay(3_000);
    assert.deepEqual(await memberIds(backend, room), [id], "still the same connection");
    assert.deepEqual(states, ["open"]);
    await publish(backend, room, 5, 20);
    await assertAllArrive(numbers, 5);
  });
});

describe("against the embedded backend with end-user tokens", () => {
  const key = Buffer.alloc(32, 7);
  const issuer = "https://issuer.test";
  const audience = "tether";
  let backend;
  before(async () => {
    backend = await startBackend({
      Jwt__Issuers__0: issuer,
      Jwt__Audiences__0: audience,
      Jwt__SymmetricKeys__0: key.toString("base64"),
    });
  });
  after(async () => backend?.stop());

  function token(user) {
    const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ sub: user, iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 600 })}`;
    return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
  }

  test("a refused $connect (401) ends in the closed state without retrying", async (t) => {
    const client = new TetherClient(backend.wsUrl, fast);
    t.after(() => client.close());
    const errors = [];
    const states = [];
    client.on("error", (e) => errors.push(e));
    client.on("state", (s) => states.push(s));
    await until(() => client.state === "closed", "closed", 10_000);
    await delay(500);
    assert.deepEqual(states, ["closed"]);
    assert.deepEqual(errors.map((e) => [e.code, e.status]), [["refused", 401]]);
  });

  test("the user stream is resumed after a reconnect and misses nothing", async (t) => {
    const user = `user-${process.pid}-${++roomCounter}`;
    const room = uniqueRoom("user-marker");
    const gate = gatedWebSocket();
    const client = new TetherClient(backend.wsUrl, { ...fast, WebSocket: gate.WebSocket, token: token(user), rooms: [room] });
    t.after(() => client.close());
    const numbers = [];
    const states = [];
    client.on("message", (m) => {
      if (m.room === null) numbers.push(m.body.n);
    });
    client.on("state", (s) => states.push(s));
    await until(() => client.state === "open", "the client to open");
    const [first] = await memberIds(backend, room);
    // A second connection of the same user (another device) keeps the user reachable while the first is away.
    const device = new TetherClient(backend.wsUrl, { ...fast, token: token(user) });
    t.after(() => device.close());
    await until(() => device.state === "open", "the second device to open");
    const toUser = (n) => backend.admin("POST", `/api/users/${encodeURIComponent(user)}/messages`, { message: { n } });
    for (let n = 1; n <= 10; n++) await toUser(n);
    await until(() => numbers.length >= 10, "the first 10");
    gate.hold();
    await backend.admin("DELETE", `/api/connections/${encodeURIComponent(first)}`);
    await until(() => client.state === "reconnecting", "the client to notice");
    for (let n = 11; n <= 20; n++) await toUser(n);
    gate.release();
    await until(async () => (await memberIds(backend, room)).length === 1, "the client back");
    for (let n = 21; n <= 30; n++) {
      await delay(20);
      await toUser(n);
    }
    await assertAllArrive(numbers, 30);
    assert.ok(states.includes("reconnecting"), `states: ${states}`);
  });
});
