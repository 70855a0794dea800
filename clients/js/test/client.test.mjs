// The client's own behaviour against a scripted socket server (support/fake-backend.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { TetherClient, backoffDelay } from "../dist/index.js";
import { envelope, startFake } from "./support/fake-backend.mjs";

const fast = { WebSocket, backoff: { initialMs: 20, maxMs: 100 }, holdMs: 100 };

function collect(client) {
  const messages = [];
  const gaps = [];
  const states = [];
  client.on("message", (e) => messages.push(e));
  client.on("gap", (g) => gaps.push(g));
  client.on("state", (s) => states.push(s));
  return { messages, gaps, states };
}

function until(condition, what, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

test("full jitter stays within the capped exponential window", () => {
  assert.equal(backoffDelay(0, { initialMs: 100, maxMs: 1000 }, () => 0.999), 99);
  assert.equal(backoffDelay(3, { initialMs: 100, maxMs: 1000 }, () => 0.999), 799);
  assert.equal(backoffDelay(10, { initialMs: 100, maxMs: 1000 }, () => 0.999), 999);
  assert.equal(backoffDelay(2000, { initialMs: 100, maxMs: 1000 }, () => 0.5), 500);
  assert.equal(backoffDelay(5, { initialMs: 100, maxMs: 1000 }, () => 0), 0);
});

test("connects with batch=1, joins its rooms, unpacks batches and drops duplicates by (stream, seq)", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"] });
  t.after(() => (client.close(), fake.close()));
  const { messages } = collect(client);
  const connection = await fake.nextConnection(1);
  assert.match(connection.url, /[?&]batch=1(&|$)/);
  await fake.nextFrame((f) => f.action === "joinroom" && f.room === "r");
  await until(() => client.state === "open", "open");

  fake.send(connection, { type: "batch", messages: [envelope("r", 1, "a"), envelope("r", 2, "b")] });
  fake.send(connection, envelope("r", 2, "b"));
  fake.send(connection, { type: "batch", messages: [envelope("r", 1, "a"), envelope("r", 3, "c")] });
  await until(() => messages.length >= 3, "three messages");
  fake.send(connection, envelope("r", 4, "d"));
  await until(() => messages.length >= 4, "four messages");
  assert.deepEqual(messages.map((m) => m.body), ["a", "b", "c", "d"]);
});

test("messages without seq are delivered at once, a repeated id once", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, fast);
  t.after(() => (client.close(), fake.close()));
  const { messages } = collect(client);
  const connection = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  const plain = { type: "message", room: "lobby", from: "x", user: null, body: "hi", id: "m1", sentAt: "2026-12-03T00:00:00.000Z" };
  fake.send(connection, plain);
  fake.send(connection, plain);
  fake.send(connection, { ...plain, id: "m2", body: "again" });
  await until(() => messages.length >= 2, "two messages");
  assert.deepEqual(messages.map((m) => m.body), ["hi", "again"]);
});

test("a message ahead of a hole is held and the hole filled from history", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"] });
  t.after(() => (client.close(), fake.close()));
  const { messages, gaps } = collect(client);
  const connection = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");

  fake.send(connection, envelope("r", 1, "one"));
  fake.send(connection, envelope("r", 4, "four"));
  await until(() => messages.length === 1, "the first message");
  const { frame } = await fake.nextFrame((f) => f.action === "history");
  assert.equal(frame.room, "r");
  assert.equal(frame.before, 4);
  assert.equal(frame.limit, 2);
  assert.deepEqual(messages.map((m) => m.body), ["one"], "held while the hole is open");
  fake.send(connection, { type: "history", room: "r", epoch: "E1", messages: [envelope("r", 2, "two"), envelope("r", 3, "three")], more: false, requestId: frame.requestId });
  await until(() => messages.length === 4, "four messages");
  assert.deepEqual(messages.map((m) => m.body), ["one", "two", "three", "four"]);
  assert.deepEqual(gaps, []);
});

test("a hole history cannot fill is reported as a gap and delivery goes on", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"] });
  t.after(() => (client.close(), fake.close()));
  const { messages, gaps } = collect(client);
  const connection = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  fake.send(connection, envelope("r", 1, "one"));
  fake.send(connection, envelope("r", 3, "three"));
  const { frame } = await fake.nextFrame((f) => f.action === "history");
  fake.send(connection, { type: "history", room: "r", epoch: "E1", messages: [], more: false, requestId: frame.requestId });
  await until(() => messages.length === 2, "two messages");
  assert.deepEqual(messages.map((m) => m.body), ["one", "three"]);
  assert.deepEqual(gaps, [{ room: "r", reason: "hole" }]);
});

test("send resolves on its own sent reply by requestId, replies in any order", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, fast);
  t.after(() => (client.close(), fake.close()));
  const connection = await fake.nextConnection(1);
  const first = client.send("r", "a");
  const second = client.send("r", "b");
  const a = (await fake.nextFrame((f) => f.action === "sendmessage" && f.message === "a")).frame;
  const b = (await fake.nextFrame((f) => f.action === "sendmessage" && f.message === "b")).frame;
  assert.notEqual(a.requestId, b.requestId);
  fake.send(connection, { type: "sent", room: "r", id: "id-b", seq: 2, epoch: "E1", requestId: b.requestId });
  fake.send(connection, { type: "sent", room: "r", id: "id-a", seq: 1, epoch: "E1", requestId: a.requestId });
  assert.deepEqual(await first, { id: "id-a", seq: 1, epoch: "E1" });
  assert.deepEqual(await second, { id: "id-b", seq: 2, epoch: "E1" });
  fake.send(connection, { type: "error", code: "not_in_room", message: "Join room 'x' first.", requestId: "unrelated" });
  const refused = client.send("x", "c");
  const c = (await fake.nextFrame((f) => f.message === "c")).frame;
  fake.send(connection, { type: "error", code: "not_in_room", message: "Join room 'x' first.", requestId: c.requestId });
  await assert.rejects(refused, (e) => e.code === "not_in_room");
});

test("a send lost with its socket goes out again on the next one with the same requestId", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"] });
  t.after(() => (client.close(), fake.close()));
  const first = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  const sending = client.send("r", "once");
  const before = (await fake.nextFrame((f) => f.action === "sendmessage")).frame;
  first.socket.terminate();
  const second = await fake.nextConnection(2);
  const at = fake.received.length;
  const again = (await fake.nextFrame((f) => f.action === "sendmessage", at)).frame;
  assert.equal(again.requestId, before.requestId);
  fake.send(second, { type: "sent", room: "r", id: "m", seq: 1, epoch: "E1", requestId: again.requestId });
  assert.equal((await sending).id, "m");
});

test("a send the backend refused as overloaded goes out again after Retry-After with the same requestId", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"], random: () => 0 });
  t.after(() => (client.close(), fake.close()));
  const connection = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  const sending = client.send("r", "busy");
  const first = (await fake.nextFrame((f) => f.action === "sendmessage")).frame;
  const at = fake.received.length;
  const refusedAt = Date.now();
  fake.send(connection, { type: "error", code: "overloaded", message: "Delivery is backed up.", requestId: first.requestId });
  const again = (await fake.nextFrame((f) => f.action === "sendmessage", at)).frame;
  // Retry-After: 1 (the jitter adds up to as much again; none here).
  assert.ok(Date.now() - refusedAt >= 990, `sent again after ${Date.now() - refusedAt} ms`);
  assert.equal(again.requestId, first.requestId);
  fake.send(connection, { type: "sent", room: "r", id: "m", seq: 1, epoch: "E1", requestId: again.requestId });
  assert.equal((await sending).id, "m");
});

test("a send refused as overloaded until its timeout rejects with timeout; other errors reject at once", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"], random: () => 0, requestTimeoutMs: 1_500 });
  t.after(() => (client.close(), fake.close()));
  const connection = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  const refuse = (frame) => fake.send(connection, { type: "error", code: "overloaded", message: "Delivery is backed up.", requestId: frame.requestId });
  const sending = client.send("r", "never");
  refuse((await fake.nextFrame((f) => f.message === "never")).frame);
  const at = fake.received.length;
  refuse((await fake.nextFrame((f) => f.message === "never", at)).frame);
  await assert.rejects(sending, (e) => e.code === "timeout");
  assert.equal(fake.received.filter(({ frame }) => frame.message === "never").length, 2);

  const forbidden = client.send("r", "no");
  const no = (await fake.nextFrame((f) => f.message === "no")).frame;
  fake.send(connection, { type: "error", code: "room_forbidden", message: "Not allowed.", requestId: no.requestId });
  await assert.rejects(forbidden, (e) => e.code === "room_forbidden");
});

test("after a reconnect every room and the user stream are resumed from the last seq delivered", async (t) => {
  const fake = await startFake({ handshake: (i) => (i === 0 ? {} : { recovered: true }) });
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"] });
  t.after(() => (client.close(), fake.close()));
  const { messages, states } = collect(client);
  const first = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  fake.send(first, envelope("r", 1, "r1"));
  fake.send(first, envelope("r", 2, "r2"));
  fake.send(first, { ...envelope(null, 7, "u7", "U1"), id: "u7" });
  await until(() => messages.length === 3, "three messages");
  first.socket.terminate();
  const second = await fake.nextConnection(2);
  const { frame } = await fake.nextFrame((f) => f.action === "resume");
  assert.deepEqual(frame.rooms, { r: { epoch: "E1", seq: 2 } });
  assert.deepEqual(frame.user, { epoch: "U1", seq: 7 });
  // The replay of what was missed, one already delivered on the old socket among it.
  fake.send(second, envelope("r", 2, "r2"));
  fake.send(second, envelope("r", 3, "r3"));
  await until(() => messages.length === 4, "the replay");
  assert.deepEqual(messages.map((m) => m.body), ["r1", "r2", "u7", "r3"]);
  assert.deepEqual(states, ["open", "reconnecting", "open"]);
});

test("recovered:false surfaces as a gap and the stream restarts where the backend says", async (t) => {
  const fake = await startFake({ handshake: (i) => (i === 0 ? {} : { recovered: false, epoch: "E2", seq: 10 }) });
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"] });
  t.after(() => (client.close(), fake.close()));
  const { messages, gaps } = collect(client);
  const first = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  fake.send(first, envelope("r", 1, "old"));
  await until(() => messages.length === 1, "one message");
  first.socket.terminate();
  const second = await fake.nextConnection(2);
  await until(() => gaps.length === 1, "a gap");
  assert.deepEqual(gaps, [{ room: "r", reason: "not_recovered" }]);
  fake.send(second, envelope("r", 11, "new", "E2"));
  await until(() => messages.length === 2, "the next message");
  assert.deepEqual(messages.map((m) => m.body), ["old", "new"]);
});

test("a refused $connect (401) ends in the closed state with a refused error, without retrying", async (t) => {
  const fake = await startFake({ refuseWith: 401 });
  const client = new TetherClient(fake.url, fast);
  t.after(() => (client.close(), fake.close()));
  const errors = [];
  client.on("error", (e) => errors.push(e));
  await until(() => client.state === "closed", "closed");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "refused");
  assert.equal(errors[0].status, 401);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(fake.attempts(), 1, "no second attempt");
  await assert.rejects(client.send("r", "x"), (e) => e.code === "closed");
});

/** Reports errors as browsers do: an event without the HTTP status of a refused upgrade. */
class BrowserLikeWebSocket extends WebSocket {
  get onerror() {
    return super.onerror;
  }
  set onerror(listener) {
    super.onerror = listener === null ? null : () => listener({ type: "error" });
  }
}

test("without a status (browsers), closes before open in a row count toward refused", async (t) => {
  const fake = await startFake({ refuseWith: 401 });
  const client = new TetherClient(fake.url, { ...fast, WebSocket: BrowserLikeWebSocket, refusedAfter: 3 });
  t.after(() => (client.close(), fake.close()));
  const errors = [];
  client.on("error", (e) => errors.push(e));
  await until(() => client.state === "closed", "closed");
  assert.equal(fake.attempts(), 3);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "refused");
  assert.equal(errors[0].status, undefined);
});

test("a refusal that is not 401/403 (a failing backend) is retried", async (t) => {
  const fake = await startFake({ refuseWith: 502 });
  const client = new TetherClient(fake.url, { ...fast, refusedAfter: 3 });
  t.after(() => (client.close(), fake.close()));
  await until(() => fake.attempts() >= 5, "five attempts");
  assert.equal(client.state, "connecting");
});

test("heartbeat: ping every heartbeatMs on the open socket", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, heartbeatMs: 50 });
  t.after(() => (client.close(), fake.close()));
  const connection = await fake.nextConnection(1);
  await fake.nextFrame((f) => f.action === "ping");
  const at = fake.received.length;
  const { frame } = await fake.nextFrame((f) => f.action === "ping", at);
  fake.send(connection, { type: "pong", time: new Date().toISOString(), requestId: frame.requestId });
  assert.equal(client.state, "open");
});

test("rotation opens the next socket, resumes there, then closes the old one", async (t) => {
  const fake = await startFake();
  const client = new TetherClient(fake.url, { ...fast, rooms: ["r"], maxLifetimeMs: 150 });
  t.after(() => (client.close(), fake.close()));
  const { messages, states } = collect(client);
  const first = await fake.nextConnection(1);
  await until(() => client.state === "open", "open");
  fake.send(first, envelope("r", 1, "1"));
  await until(() => messages.length === 1, "one message");
  const second = await fake.nextConnection(2);
  const { frame } = await fake.nextFrame((f) => f.action === "resume");
  assert.deepEqual(frame.rooms, { r: { epoch: "E1", seq: 1 } });
  // Both sockets deliver the same messages around the switch.
  fake.send(first, envelope("r", 2, "2"));
  fake.send(second, envelope("r", 2, "2"));
  fake.send(second, envelope("r", 3, "3"));
  await until(() => first.socket.readyState === WebSocket.CLOSED, "the old socket closed");
  await until(() => messages.length === 3, "three messages");
  assert.deepEqual(messages.map((m) => m.body), ["1", "2", "3"]);
  assert.deepEqual(states, ["open"]);
});
