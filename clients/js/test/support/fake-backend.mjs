// A scripted stand-in for API Gateway + Tether, for the client's own behaviour (batches, holes, requestId, refusals)
// where the real backend cannot be made to misbehave on cue. Tests against the real backend are in backend.test.mjs.
import { WebSocketServer } from "ws";

/**
 * `handshake(index)` says how the index-th connection (0-based) answers `joinroom` and `resume`
 * ({ epoch, seq, recovered }); by default E1, seq 0, recovered.
 */
export async function startFake({ refuseWith, handshake = () => ({}) } = {}) {
  let attempts = 0;
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    verifyClient: (_info, done) => {
      attempts++;
      if (refuseWith === undefined) done(true);
      else done(false, refuseWith);
    },
  });
  await new Promise((resolve) => server.once("listening", resolve));
  const connections = [];
  const received = [];
  const waiters = [];
  server.on("connection", (socket, request) => {
    const connection = { socket, url: request.url, frames: [] };
    connections.push(connection);
    const answers = handshake(connections.length - 1);
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      if (answers !== null) answerHandshake(connection, frame, answers);
      connection.frames.push(frame);
      received.push({ connection, frame });
      for (const waiter of [...waiters]) waiter();
    });
    for (const waiter of [...waiters]) waiter();
  });

  /** Resolves with the first frame (after `from` frames) matching `predicate`. */
  const nextFrame = (predicate, from = 0) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no matching frame within 5 s")), 5_000);
      const check = () => {
        const found = received.slice(from).find(({ frame }) => predicate(frame));
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(found);
      };
      waiters.push(check);
      check();
    });

  const nextConnection = (count) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection #${count} within 5 s`)), 5_000);
      const check = () => {
        if (connections.length < count) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(connections[count - 1]);
      };
      waiters.push(check);
      check();
    });

  return {
    url: `ws://127.0.0.1:${server.address().port}/local`,
    connections,
    received,
    attempts: () => attempts,
    nextFrame,
    nextConnection,
    send,
    async close() {
      for (const { socket } of connections) socket.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function answerHandshake(connection, frame, { epoch = "E1", seq = 0, recovered = true }) {
  if (frame.action === "joinroom") send(connection, { type: "joined", room: frame.room, members: 1, epoch, seq, requestId: frame.requestId });
  if (frame.action === "resume") {
    const rooms = Object.fromEntries(Object.keys(frame.rooms).map((room) => [room, { recovered, replayed: 0, epoch, seq }]));
    send(connection, { type: "resumed", rooms, requestId: frame.requestId });
  }
}

function send(connection, frame) {
  connection.socket.send(JSON.stringify(frame));
}

export function envelope(room, seq, body, epoch = "E1") {
  return { type: "message", room, from: "c1", user: null, body, id: `${room}-${epoch}-${seq}`, sentAt: new Date().toISOString(), seq, epoch };
}
