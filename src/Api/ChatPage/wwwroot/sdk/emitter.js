/** A small typed event emitter: a listener that throws does not stop the others or the client. */
export class Emitter {
    listeners = new Map();
    /** Adds a listener; the returned function removes it. */
    on(event, listener) {
        let set = this.listeners.get(event);
        if (set === undefined) {
            set = new Set();
            this.listeners.set(event, set);
        }
        set.add(listener);
        return () => this.off(event, listener);
    }
    off(event, listener) {
        this.listeners.get(event)?.delete(listener);
    }
    emit(event, ...args) {
        for (const listener of [...(this.listeners.get(event) ?? [])]) {
            try {
                listener(...args);
            }
            catch (error) {
                // An application bug in one listener must not break delivery to the rest.
                queueMicrotask(() => {
                    throw error;
                });
            }
        }
    }
}
