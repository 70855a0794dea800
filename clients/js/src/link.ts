/** The part of a WebSocket the client uses: the browser's, Node ≥ 22's global one and the `ws` package's all have it. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket class: `globalThis.WebSocket`, or `ws`'s `WebSocket` on Node 20. */
export type WebSocketConstructor = new (url: string) => object;

const OPEN = 1;

/** One WebSocket and what belongs to it: its heartbeat, its lifetime timer, the requests sent on it. */
export class Link {
  private static nextId = 1;
  readonly id = Link.nextId++;
  readonly socket: SocketLike;
  opened = false;
  ready = false;
  retiring = false;
  /** The HTTP status of a refused upgrade, when the WebSocket implementation tells it (`ws` does, browsers do not). */
  refusedStatus?: number;
  readonly timers: ReturnType<typeof setTimeout>[] = [];

  constructor(WebSocketClass: WebSocketConstructor, url: string) {
    this.socket = new WebSocketClass(url) as SocketLike;
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  send(frame: object): boolean {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close(code: number, reason: string): void {
    this.clearTimers();
    try {
      this.socket.close(code, reason);
    } catch {
      // Closing a socket that never opened throws in some implementations; it is gone either way.
    }
  }

  clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
  }
}

/** `ws` reports a refused upgrade as "Unexpected server response: 401"; browsers report nothing. */
export function refusedStatusOf(event: unknown): number | undefined {
  const candidates = [event, (event as { error?: unknown } | null)?.error];
  for (const candidate of candidates) {
    const message = (candidate as { message?: unknown } | null)?.message;
    if (typeof message !== "string") continue;
    const match = /Unexpected server response: (\d{3})/.exec(message);
    if (match) return Number(match[1]);
  }
  return undefined;
}
