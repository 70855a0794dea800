const OPEN = 1;
/** One WebSocket and what belongs to it: its heartbeat, its lifetime timer, the requests sent on it. */
export class Link {
    static nextId = 1;
    id = Link.nextId++;
    socket;
    opened = false;
    ready = false;
    retiring = false;
    /** The HTTP status of a refused upgrade, when the WebSocket implementation tells it (`ws` does, browsers do not). */
    refusedStatus;
    timers = [];
    constructor(WebSocketClass, url) {
        this.socket = new WebSocketClass(url);
    }
    get isOpen() {
        return this.socket.readyState === OPEN;
    }
    send(frame) {
        if (!this.isOpen)
            return false;
        this.socket.send(JSON.stringify(frame));
        return true;
    }
    close(code, reason) {
        this.clearTimers();
        try {
            this.socket.close(code, reason);
        }
        catch {
            // Closing a socket that never opened throws in some implementations; it is gone either way.
        }
    }
    clearTimers() {
        for (const timer of this.timers)
            clearTimeout(timer);
        this.timers.length = 0;
    }
}
/** `ws` reports a refused upgrade as "Unexpected server response: 401"; browsers report nothing. */
export function refusedStatusOf(event) {
    const candidates = [event, event?.error];
    for (const candidate of candidates) {
        const message = candidate?.message;
        if (typeof message !== "string")
            continue;
        const match = /Unexpected server response: (\d{3})/.exec(message);
        if (match)
            return Number(match[1]);
    }
    return undefined;
}
