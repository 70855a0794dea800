// The per-stream ordering on its own: baselines from joined/resumed replies, epochs, duplicates.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Sequencer } from "../dist/sequencer.js";

function sequencer() {
  const delivered = [];
  const gaps = [];
  const fills = [];
  const instance = new Sequencer({
    deliver: (e) => delivered.push(`${e.room ?? "user"}:${e.epoch}:${e.seq}`),
    gap: (g) => gaps.push(g),
    fill: async (room, from, before) => (fills.push([room, from, before]), []),
    holdMs: 60_000,
  });
  return { instance, delivered, gaps, fills };
}

const message = (room, seq, epoch = "E") => ({ type: "message", room, from: null, user: null, body: seq, id: `${room}-${epoch}-${seq}`, sentAt: "", seq, epoch });

test("messages that arrive before the join's reply wait for it, and those at or below its seq are dropped", () => {
  const { instance, delivered } = sequencer();
  const key = Sequencer.roomKey("r");
  instance.expectBaseline(key);
  instance.accept(message("r", 5));
  instance.accept(message("r", 7));
  instance.accept(message("r", 6));
  assert.deepEqual(delivered, []);
  instance.joined(key, "E", 5);
  assert.deepEqual(delivered, ["r:E:6", "r:E:7"]);
  assert.deepEqual(instance.positions(), { rooms: { r: { epoch: "E", seq: 7 } } });
  instance.dispose();
});

test("a new epoch on a live message re-bases the stream with one gap", () => {
  const { instance, delivered, gaps } = sequencer();
  instance.accept(message("r", 1, "E1"));
  instance.accept(message("r", 2, "E1"));
  instance.accept(message("r", 4, "E2"));
  instance.resumed(Sequencer.roomKey("r"), false, "E2", 3);
  assert.deepEqual(delivered, ["r:E1:1", "r:E1:2", "r:E2:4"]);
  assert.deepEqual(gaps, [{ room: "r", reason: "new_epoch" }]);
  instance.dispose();
});

test("recovered:false behind the stream's position re-bases it and reports the gap", () => {
  const { instance, delivered, gaps } = sequencer();
  instance.accept(message("r", 3));
  instance.resumed(Sequencer.roomKey("r"), false, "E", 10);
  instance.accept(message("r", 10));
  instance.accept(message("r", 11));
  assert.deepEqual(delivered, ["r:E:3", "r:E:11"]);
  assert.deepEqual(gaps, [{ room: "r", reason: "not_recovered" }]);
  instance.dispose();
});

test("streams are independent: a hole in one does not hold another, nor the user stream", () => {
  const { instance, delivered } = sequencer();
  instance.accept(message("a", 1));
  instance.accept(message("a", 3));
  instance.accept(message("b", 1));
  instance.accept(message(null, 9, "U"));
  assert.deepEqual(delivered, ["a:E:1", "b:E:1", "user:U:9"]);
  assert.deepEqual(instance.positions(), { rooms: { a: { epoch: "E", seq: 1 }, b: { epoch: "E", seq: 1 } }, user: { epoch: "U", seq: 9 } });
  instance.dispose();
});
