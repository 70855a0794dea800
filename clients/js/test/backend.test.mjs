// The client against the real backend: the embedded default (src/Api, its silo and its local API Gateway) as a
// child process on loopback. Each test publishes numbered messages through /api while the connection is cut, and
// asserts that every one reaches the client exactly once, in order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { TetherClient } from "../dist/index.js";
import { startBackend } from "./support/backend.mjs";

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
  const states = [];
  client.on("message", (m) => {
    if (m.room === room) numbers.push(m.body.n);
  });
  client.on("state", (s) => states.push(s));
  await until(() => client.state === "open", "the client to open");
  await until(async () => (await backend.members(room)).length === 1, "the member");
  return { client, numbers, states };
}

/** Publishes 1..count to `room`, `gapMs` apart, calling `during(n)` after message n. */
async function publish(backend, room, count, gapMs, during = async () => {}) {
  for (let n = 1; n <= count; n++) {
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
    const { client, numbers, states } = await joinedClient(backend, room);
    t.after(() => client.close());
    const [first] = await memberIds(backend, room);
    // 11–20 are published back to back right after the close, while the client is certainly not back yet.
    await publish(backend, room, 10, 20);
    await backend.admin("DELETE", `/api/connections/${encodeURIComponent(first)}`);
    for (let n = 11; n <= 20; n++) await backend.publish(room, { n });
    for (let n = 21; n <= 30; n++) {
      await delay(20);
      await backend.publish(room, { n });
    }
    await assertAllArrive(numbers, 30);
    assert.ok(states.includes("reconnecting"), `states: ${states}`);
    const [second] = await memberIds(backend, room);
    assert.notEqual(second, first);
  });

  test("rotates before maxLifetimeMs without losing or doubling a message", async (t) => {
    const room = uniqueRoom("rotated");
    const { client, numbers, states } = await joinedClient(backend, room, { maxLifetimeMs: 1_000 });
    t.after(() => client.close());
    const seen = new Set(await memberIds(backend, room));
    await publish(backend, room, 60, 50, async () => {
      for (const id of await memberIds(backend, room)) seen.add(id);
    });
    await assertAllArrive(numbers, 60);
    assert.ok(seen.size >= 3, `at least two rotations (connections seen: ${seen.size})`);
    assert.deepEqual(states, ["open"], "a rotation is not a reconnect");
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
    const { client, numbers, states } = await joinedClient(backend, room);
    t.after(() => client.close());
    await publish(backend, room, 70, 100);
    await assertAllArrive(numbers, 70);
    assert.ok(states.filter((s) => s === "reconnecting").length >= 2, `two cuts at least (states: ${states})`);
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
