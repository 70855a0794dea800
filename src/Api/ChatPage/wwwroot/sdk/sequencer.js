const USER_STREAM = "user";
const RECENT_IDS = 2_000;
/**
 * Turns what arrives (possibly twice, possibly out of order, from one or two sockets) into each stream's messages
 * exactly once and in seq order. A stream is a room or the user's stream; messages without seq (to one connection,
 * or from a backend without history) are passed on at once, with duplicates dropped by message id.
 */
export class Sequencer {
    hooks;
    streams = new Map();
    recentIds = new Set();
    constructor(hooks) {
        this.hooks = hooks;
    }
    static roomKey(room) {
        return "room:" + room;
    }
    static userKey = USER_STREAM;
    accept(envelope) {
        if (typeof envelope.seq !== "number" || typeof envelope.epoch !== "string") {
            if (this.seen(envelope.id))
                return;
            this.hooks.deliver(envelope);
            return;
        }
        const key = envelope.room === null ? USER_STREAM : Sequencer.roomKey(envelope.room);
        const stream = this.stream(key);
        if (stream.awaitingBaseline) {
            stream.pending.set(envelope.seq, envelope);
            return;
        }
        if (stream.epoch === undefined) {
            // First message of a stream whose position nobody told us (the default room): it is the baseline.
            stream.epoch = envelope.epoch;
            stream.seq = envelope.seq - 1;
        }
        else if (stream.epoch !== envelope.epoch) {
            this.rebase(key, stream, envelope.epoch, envelope.seq - 1, "new_epoch");
        }
        if (envelope.seq <= stream.seq || stream.pending.has(envelope.seq))
            return;
        stream.pending.set(envelope.seq, envelope);
        this.drain(key, stream);
    }
    /** Positions to resume from: the last seq delivered in order per stream (never past a hole). */
    positions() {
        const rooms = {};
        let user;
        for (const [key, stream] of this.streams) {
            if (stream.epoch === undefined || stream.awaitingBaseline)
                continue;
            const position = { epoch: stream.epoch, seq: stream.seq };
            if (key === USER_STREAM)
                user = position;
            else
                rooms[key.slice("room:".length)] = position;
        }
        return user === undefined ? { rooms } : { rooms, user };
    }
    hasPosition(key) {
        const stream = this.streams.get(key);
        return stream !== undefined && stream.epoch !== undefined && !stream.awaitingBaseline;
    }
    /** A plain join is on its way: hold the room's messages until its reply says where the join took effect. */
    expectBaseline(key) {
        const stream = this.stream(key);
        if (stream.epoch === undefined)
            stream.awaitingBaseline = true;
    }
    /** A `joined` reply without `since`: the stream starts after `seq` unless we already follow it in that epoch. */
    joined(key, epoch, seq) {
        const stream = this.stream(key);
        const wasWaiting = stream.awaitingBaseline;
        stream.awaitingBaseline = false;
        if (epoch !== undefined && seq !== undefined) {
            if (stream.epoch === undefined) {
                stream.epoch = epoch;
                stream.seq = seq;
            }
            else if (stream.epoch !== epoch) {
                this.rebase(key, stream, epoch, seq, "new_epoch");
            }
        }
        else if (wasWaiting && stream.pending.size > 0 && stream.epoch === undefined) {
            const first = Math.min(...stream.pending.keys());
            stream.epoch = stream.pending.get(first).epoch;
            stream.seq = first - 1;
        }
        this.drain(key, stream);
    }
    /** A `resumed` (or `joined` with `since`) outcome for one stream. */
    resumed(key, recovered, epoch, seq) {
        const stream = this.stream(key);
        stream.awaitingBaseline = false;
        if (recovered || epoch === undefined || seq === undefined) {
            this.drain(key, stream);
            return;
        }
        // Live messages of the new epoch may already have re-based the stream past the reply's seq: keep that.
        if (stream.epoch !== epoch || stream.seq < seq)
            this.rebase(key, stream, epoch, seq, "not_recovered");
        else
            this.drain(key, stream);
    }
    forget(key) {
        const stream = this.streams.get(key);
        if (stream?.timer !== undefined)
            clearTimeout(stream.timer);
        this.streams.delete(key);
    }
    dispose() {
        for (const key of [...this.streams.keys()])
            this.forget(key);
    }
    stream(key) {
        let stream = this.streams.get(key);
        if (stream === undefined) {
            stream = { seq: 0, pending: new Map(), awaitingBaseline: false, filling: false };
            this.streams.set(key, stream);
        }
        return stream;
    }
    rebase(key, stream, epoch, seq, reason) {
        const fromOtherEpoch = stream.epoch !== epoch;
        stream.epoch = epoch;
        stream.seq = seq;
        for (const [pendingSeq, envelope] of stream.pending) {
            if (pendingSeq <= seq || (fromOtherEpoch && envelope.epoch !== epoch))
                stream.pending.delete(pendingSeq);
        }
        this.hooks.gap(gapOf(key, reason));
        this.drain(key, stream);
    }
    drain(key, stream) {
        for (const pendingSeq of [...stream.pending.keys()]) {
            if (pendingSeq <= stream.seq)
                stream.pending.delete(pendingSeq);
        }
        let next = stream.pending.get(stream.seq + 1);
        while (next !== undefined) {
            stream.pending.delete(stream.seq + 1);
            stream.seq += 1;
            this.hooks.deliver(next);
            next = stream.pending.get(stream.seq + 1);
        }
        if (stream.pending.size === 0) {
            if (stream.timer !== undefined)
                clearTimeout(stream.timer);
            stream.timer = undefined;
        }
        else if (stream.timer === undefined && !stream.filling) {
            // A message is ahead of a hole: the missing ones are usually just behind it (another socket, a replay).
            stream.timer = setTimeout(() => void this.fillHole(key), this.hooks.holdMs);
        }
    }
    async fillHole(key) {
        const stream = this.streams.get(key);
        if (stream === undefined)
            return;
        stream.timer = undefined;
        if (stream.pending.size === 0)
            return;
        const epoch = stream.epoch;
        const firstAhead = Math.min(...stream.pending.keys());
        if (key !== USER_STREAM) {
            stream.filling = true;
            let found = [];
            try {
                found = await this.hooks.fill(key.slice("room:".length), stream.seq + 1, firstAhead);
            }
            finally {
                stream.filling = false;
            }
            if (this.streams.get(key) !== stream || stream.epoch !== epoch)
                return;
            for (const envelope of found) {
                if (envelope.epoch === epoch && typeof envelope.seq === "number" && envelope.seq > stream.seq)
                    stream.pending.set(envelope.seq, envelope);
            }
            this.drain(key, stream);
            if (stream.pending.size === 0)
                return;
        }
        // History no longer holds the missing messages (or there is none for the user stream): say so and go on.
        const ahead = Math.min(...stream.pending.keys());
        if (ahead > stream.seq + 1) {
            if (stream.timer !== undefined)
                clearTimeout(stream.timer);
            stream.timer = undefined;
            stream.seq = ahead - 1;
            this.hooks.gap(gapOf(key, "hole"));
        }
        this.drain(key, stream);
    }
    seen(id) {
        if (this.recentIds.has(id))
            return true;
        this.recentIds.add(id);
        if (this.recentIds.size > RECENT_IDS)
            this.recentIds.delete(this.recentIds.values().next().value);
        return false;
    }
}
function gapOf(key, reason) {
    return key === USER_STREAM ? { user: true, reason } : { room: key.slice("room:".length), reason };
}
