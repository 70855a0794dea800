// A WebSocket class whose new sockets can be held back: a test closes the gate, cuts the connection, does what must
// happen while the client is certainly away, and opens the gate again. No timing involved.
import WebSocket from "ws";

export function gatedWebSocket() {
  let open = true;
  const held = [];
  const sockets = [];

  class GatedWebSocket {
    onopen = null;
    onmessage = null;
    onclose = null;
    onerror = null;
    #real;
    #abandoned = false;

    constructor(url) {
      const start = () => {
        if (this.#abandoned) return;
        const real = new WebSocket(url);
        this.#real = real;
        sockets.push(real);
        real.onopen = (event) => this.onopen?.(event);
        real.onmessage = (event) => this.onmessage?.(event);
        real.onerror = (event) => this.onerror?.(event);
        real.onclose = (event) => this.onclose?.(event);
      };
      if (open) start();
      else held.push(start);
    }

    get readyState() {
      return this.#real?.readyState ?? (this.#abandoned ? WebSocket.CLOSED : WebSocket.CONNECTING);
    }

    send(data) {
      this.#real.send(data);
    }

    close(code, reason) {
      if (this.#real !== undefined) return this.#real.close(code, reason);
      this.#abandoned = true;
      queueMicrotask(() => this.onclose?.({ code: 1006, reason: "" }));
    }
  }

  return {
    WebSocket: GatedWebSocket,
    hold() {
      open = false;
    },
    /** Drops the newest socket at once, as a network loss would (no close handshake). */
    dropNewest() {
      sockets.at(-1).terminate();
    },
    release() {
      open = true;
      for (const start of held.splice(0)) start();
    },
  };
}
