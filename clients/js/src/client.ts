import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { TetherError } from "./errors.js";
import { Link, refusedStatusOf, type WebSocketConstructor } from "./link.js";
import { Sequencer, type GapEvent } from "./sequencer.js";
import type { Envelope, HistoryReply, JoinedReply, PresenceNotice, ResumedReply, SentReply } from "./wire.js";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface TetherClientOptions {
  /** Rooms to join on the first connection (and resume on every later one). */
  rooms?: string[];
  /** An end-user JWT, sent as `?token=`. */
  token?: string;
  /** The WebSocket class; defaults to `globalThis.WebSocket`. On Node 20 pass `ws`'s `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** How often to send `ping`, below API Gateway's 10-minute idle timeout. Default 5 minutes. */
  heartbeatMs?: number;
  /** When to open the next connection, before API Gateway's 2-hour limit. Default 2 h − 5 min. */
  maxLifetimeMs?: number;
  /** Reconnect backoff (full jitter). Defaults: 500 ms first, 30 s cap. */
  backoff?: BackoffOptions;
  /** How long a message ahead of a hole waits for the missing ones before they are fetched from `history`. Default 1 s. */
  holdMs?: number;
  /** How long `send`, `join`, `history`… wait for their reply, reconnects included. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Closes before open, in a row, after which the client stops and reports `refused` when the implementation does
   * not tell the status (browsers never do). With `ws` a 401/403 stops it at once. Default 8.
   */
  refusedAfter?: number;
  /** Ask for batched delivery (`?batch=1`). Default true. */
  batch?: boolean;
  /** A random source in [0, 1) for the backoff's jitter (tests). */
  random?: () => number;
}

export interface TetherEvents {
  message: (envelope: Envelope) => void;
  presence: (notice: PresenceNotice) => void;
  state: (state: ConnectionState) => void;
  gap: (gap: GapEvent) => void;
  error: (error: TetherError) => void;
}

export interface SendResult {
  id: string;
  seq?: number;
  epoch?: string;
  recipients?: number;
}

export type SendTarget = { user: string } | { connectionId: string };

export const DEFAULT_HEARTBEAT_MS = 5 * 60_000;
export const DEFAULT_MAX_LIFETIME_MS = 2 * 60 * 60_000 - 5 * 60_000;
export const DEFAULT_HOLD_MS = 1_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_REFUSED_AFTER = 8;
/** How long a replaced connection may still finish the requests it carries before it is closed. */
const RETIRE_DRAIN_MS = 2_000;

/**
 * Errors by which the backend says the request was not carried out and may be sent again (503 with `Retry-After: 1`):
 * a request that survives a lost socket is sent again after 1–2 s (jittered, so a crowd does not come back at once),
 * same requestId, until it is answered otherwise or its timeout ends.
 */
const SEND_AGAIN = new Set(["overloaded", "too_late", "cluster_unavailable", "draining"]);
const SEND_AGAIN_AFTER_MS = 1_000;

interface PendingRequest {
  requestId: string;
  command: Record<string, unknown>;
  /** The reply type that answers it (besides `error`). */
  answer: string;
  /** Sent again on the next connection when the current one is lost before the reply. */
  retry: boolean;
  link?: Link;
  /** Set while a request the backend asked to send again waits out its delay. */
  againTimer?: ReturnType<typeof setTimeout>;
  resolve(reply: Record<string, unknown>): void;
  reject(error: TetherError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A Tether connection that survives the network: it reconnects, resumes every room and the user stream from the
 * last message it delivered, rotates its socket before API Gateway's 2-hour cutoff, keeps the socket alive under the
 * idle timeout, and hands each room message to the application exactly once, in seq order.
 */
export class TetherClient extends Emitter<TetherEvents> {
  private readonly options: TetherClientOptions;
  private readonly WebSocketClass: WebSocketConstructor;
  private readonly sequencer: Sequencer;
  private readonly rooms = new Set<string>();
  private readonly requests = new Map<string, PendingRequest>();
  private active?: Link;
  private candidate?: Link;
  private currentState: ConnectionState = "connecting";
  private failedConnects = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private requestCounter = 0;
  private readonly clientTag = Math.random().toString(36).slice(2, 10);

  constructor(
    private readonly url: string,
    options: TetherClientOptions = {},
  ) {
    super();
    this.options = options;
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocketClass === undefined) throw new TypeError("No WebSocket class: pass the ws package's WebSocket as options.WebSocket (Node 20).");
    this.WebSocketClass = WebSocketClass;
    for (const room of options.rooms ?? []) this.rooms.add(room);
    this.sequencer = new Sequencer({
      deliver: (envelope) => this.emit("message", envelope),
      gap: (gap) => this.emit("gap", gap),
      fill: (room, from, before) => this.fill(room, from, before),
      holdMs: options.holdMs ?? DEFAULT_HOLD_MS,
    });
    this.open();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The rooms this client is in (or joining), the default room aside. */
  get joinedRooms(): string[] {
    return [...this.rooms];
  }

  async join(room: string): Promise<JoinedReply> {
    this.rooms.add(room);
    const key = Sequencer.roomKey(room);
    this.sequencer.expectBaseline(key);
    try {
      const reply = (await this.request({ action: "joinroom", room }, "joined", true)) as unknown as JoinedReply;
      this.sequencer.joined(key, reply.epoch, reply.seq);
      return reply;
    } catch (error) {
      this.rooms.delete(room);
      this.sequencer.forget(key);
      throw error;
    }
  }

  async leave(room: string): Promise<void> {
    this.rooms.delete(room);
    try {
      await this.request({ action: "leaveroom", room }, "left", true);
    } finally {
      this.sequencer.forget(Sequencer.roomKey(room));
    }
  }

  /** Sends to a room; resolves on the `sent` reply. Retried on the next connection with the same requestId if need be. */
  async send(room: string, message: unknown, options: { echo?: boolean } = {}): Promise<SendResult> {
    const command: Record<string, unknown> = { action: "sendmessage", room, message };
    if (options.echo === false) command.echo = false;
    return sentOf((await this.request(command, "sent", true)) as unknown as SentReply);
  }

  async sendTo(target: SendTarget, message: unknown): Promise<SendResult> {
    return sentOf((await this.request({ action: "sendto", ...target, message }, "sent", true)) as unknown as SentReply);
  }

  /** A page of a room's history, ascending seq; `before` defaults to the latest + 1, `limit` to 50 (1–100). */
  async history(room: string, options: { limit?: number; before?: number } = {}): Promise<HistoryReply> {
    const command: Record<string, unknown> = { action: "history", room };
    if (options.limit !== undefined) command.limit = options.limit;
    if (options.before !== undefined) command.before = options.before;
    return (await this.request(command, "history", true)) as unknown as HistoryReply;
  }

  close(): void {
    if (this.currentState === "closed") return;
    this.shutdown(new TetherError("closed", "The client was closed."));
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit("state", state);
  }

  private connectUrl(): string {
    const url = new URL(this.url);
    if (this.options.batch !== false) url.searchParams.set("batch", "1");
    if (this.options.token !== undefined) url.searchParams.set("token", this.options.token);
    return url.toString();
  }

  /** Opens a socket: the first one, a reconnect, or the next one of a rotation (while the active one still serves). */
  private open(): void {
    const link = new Link(this.WebSocketClass, this.connectUrl());
    this.candidate = link;
    const socket = link.socket;
    socket.onopen = () => this.onOpen(link);
    socket.onmessage = (event) => this.onFrame(link, event.data);
    socket.onerror = (event) => {
      link.refusedStatus ??= refusedStatusOf(event);
    };
    socket.onclose = () => this.onClose(link);
  }

  private onOpen(link: Link): void {
    if (this.currentState === "closed") {
      link.close(1000, "closed");
      return;
    }
    link.opened = true;
    this.failedConnects = 0;
    const heartbeatMs = this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const beat = () => {
      this.request({ action: "ping" }, "pong", false, link).catch(() => undefined);
      link.timers.push(setTimeout(beat, heartbeatMs));
    };
    link.timers.push(setTimeout(beat, heartbeatMs));
    link.timers.push(setTimeout(() => this.rotate(link), this.options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS));
    void this.handshake(link);
  }

  /**
   * Resumes every stream with a position and joins the rooms without one, on this socket, before it carries the
   * application's requests: then nothing sent before the loss is out of order with what is resumed.
   */
  private async handshake(link: Link): Promise<void> {
    const { rooms: positions, user } = this.sequencer.positions();
    const waits: Promise<unknown>[] = [];
    const resumeRooms = Object.keys(positions);
    if (resumeRooms.length > 0 || user !== undefined) {
      const command: Record<string, unknown> = { action: "resume", rooms: positions };
      if (user !== undefined) command.user = user;
      waits.push(
        this.request(command, "resumed", false, link).then(
          (reply) => this.onResumed(reply as unknown as ResumedReply),
          // A backend without history answers resume with an error: join the rooms again instead.
          (error: TetherError) => (error.code === "closed" ? undefined : Promise.all(resumeRooms.map((room) => this.rejoin(room, link)))),
        ),
      );
    }
    for (const room of this.rooms) {
      if (positions[room] === undefined) waits.push(this.rejoin(room, link));
    }
    await Promise.all(waits);
    if (!link.isOpen || this.currentState === "closed" || this.candidate !== link) return;
    this.promote(link);
  }

  private async rejoin(room: string, link: Link): Promise<void> {
    const key = Sequencer.roomKey(room);
    if (!this.sequencer.hasPosition(key)) this.sequencer.expectBaseline(key);
    try {
      const reply = (await this.request({ action: "joinroom", room }, "joined", false, link)) as unknown as JoinedReply;
      this.sequencer.joined(key, reply.epoch, reply.seq);
    } catch (error) {
      const failure = error as TetherError;
      if (failure.code === "closed") return;
      this.rooms.delete(room);
      this.sequencer.forget(key);
      this.emit("error", new TetherError(failure.code, `Could not join '${room}' again: ${failure.message}`, failure.status));
    }
  }

  private onResumed(reply: ResumedReply): void {
    for (const [room, outcome] of Object.entries(reply.rooms ?? {})) {
      const key = Sequencer.roomKey(room);
      if (outcome.error !== undefined) {
        this.rooms.delete(room);
        this.sequencer.forget(key);
        this.emit("error", new TetherError(outcome.error, `Could not resume '${room}': ${outcome.error}`));
        continue;
      }
      this.sequencer.resumed(key, outcome.recovered === true, outcome.epoch, outcome.seq);
    }
    if (reply.user !== undefined && reply.user.error === undefined) {
      this.sequencer.resumed(Sequencer.userKey, reply.user.recovered === true, reply.user.epoch, reply.user.seq);
    }
  }

  /** The new socket carries everything from now on; the one it replaces finishes its requests, then closes. */
  private promote(link: Link): void {
    const previous = this.active;
    this.active = link;
    this.candidate = undefined;
    link.ready = true;
    this.setState("open");
    if (previous !== undefined && previous !== link) this.retire(previous);
    this.flush();
  }

  private retire(link: Link): void {
    link.retiring = true;
    link.clearTimers();
    if (!this.carriesRequests(link)) {
      link.close(1000, "rotated");
      return;
    }
    link.timers.push(setTimeout(() => link.close(1000, "rotated"), RETIRE_DRAIN_MS));
  }

  /** Make-before-break: a new socket is opened and resumed while this one still delivers. */
  private rotate(link: Link): void {
    if (this.currentState === "closed" || this.active !== link || this.candidate !== undefined) return;
    this.open();
  }

  private onClose(link: Link): void {
    link.clearTimers();
    const wasActive = this.active === link;
    if (wasActive) this.active = undefined;
    if (this.candidate === link) this.candidate = undefined;
    for (const request of this.requests.values()) {
      if (request.link !== link) continue;
      request.link = undefined;
      if (!request.retry) this.settle(request, undefined, new TetherError("closed", "The connection closed before the reply."));
    }
    if (this.currentState === "closed") return;

    if (!link.opened) {
      this.failedConnects += 1;
      const status = link.refusedStatus;
      if (status === 401 || status === 403 || (status === undefined && this.failedConnects >= (this.options.refusedAfter ?? DEFAULT_REFUSED_AFTER))) {
        const error = new TetherError("refused", status === undefined ? `The connection was refused ${this.failedConnects} times in a row.` : `The backend refused the connection (${status}).`, status);
        this.emit("error", error);
        this.shutdown(error);
        return;
      }
    }
    if (this.active !== undefined) {
      // A rotation's new socket failed: the current one still serves; try again after a while.
      if (!link.opened || !link.retiring) this.scheduleOpen();
      if (this.active.ready) this.flush();
      return;
    }
    if (this.candidate !== undefined) return;
    this.setState(this.currentState === "connecting" && !link.opened ? "connecting" : "reconnecting");
    this.scheduleOpen();
  }

  private scheduleOpen(): void {
    if (this.reconnectTimer !== undefined) return;
    const delay = backoffDelay(this.failedConnects, this.options.backoff, this.options.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.currentState !== "closed" && this.candidate === undefined) this.open();
    }, delay);
  }

  private shutdown(reason: TetherError): void {
    this.setState("closed");
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const link of [this.active, this.candidate]) link?.close(1000, "closed");
    this.active = undefined;
    this.candidate = undefined;
    for (const request of [...this.requests.values()]) this.settle(request, undefined, reason);
    this.sequencer.dispose();
  }

  /**
   * Sends a command and waits for its reply, correlated by `requestId`. `retry` requests survive a lost socket and
   * go out again, same requestId, on the next one; others are bound to `link` and fail with it.
   */
  private request(command: Record<string, unknown>, answer: string, retry: boolean, link?: Link): Promise<Record<string, unknown>> {
    if (this.currentState === "closed") return Promise.reject(new TetherError("closed", "The client is closed."));
    const requestId = `${this.clientTag}-${++this.requestCounter}`;
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const request: PendingRequest = {
        requestId,
        command: { ...command, requestId },
        answer,
        retry,
        resolve,
        reject,
        timer: setTimeout(() => this.settle(request, undefined, new TetherError("timeout", `No reply to '${String(command.action)}' within ${timeoutMs} ms.`)), timeoutMs),
      };
      this.requests.set(requestId, request);
      if (link !== undefined) {
        request.link = link;
        if (!link.send(request.command)) this.settle(request, undefined, new TetherError("closed", "The connection is not open."));
      } else {
        this.flush();
      }
    });
  }

  /** Sends every request that is waiting for a socket on the active one, in the order they were made. */
  private flush(): void {
    const link = this.active;
    if (link === undefined || !link.ready || !link.isOpen) return;
    for (const request of this.requests.values()) {
      if (request.link === undefined && request.retry && request.againTimer === undefined) {
        request.link = link;
        link.send(request.command);
      }
    }
  }

  private carriesRequests(link: Link): boolean {
    for (const request of this.requests.values()) if (request.link === link) return true;
    return false;
  }

  private settle(request: PendingRequest, reply: Record<string, unknown> | undefined, error?: TetherError): void {
    if (!this.requests.delete(request.requestId)) return;
    clearTimeout(request.timer);
    clearTimeout(request.againTimer);
    if (error !== undefined) request.reject(error);
    else request.resolve(reply!);
    const link = request.link;
    if (link?.retiring && !this.carriesRequests(link)) link.close(1000, "rotated");
  }

  private onFrame(link: Link, data: unknown): void {
    if (typeof data !== "string") return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    this.dispatch(link, frame);
  }

  private dispatch(link: Link, frame: unknown): void {
    if (frame === null || typeof frame !== "object") return;
    const item = frame as Record<string, unknown>;
    switch (item.type) {
      case "batch":
        if (Array.isArray(item.messages)) for (const inner of item.messages) this.dispatch(link, inner);
        return;
      case "message":
        this.sequencer.accept(item as unknown as Envelope);
        return;
      case "presence":
        this.emit("presence", item as unknown as PresenceNotice);
        return;
      case undefined:
        // API Gateway's own error frame ("Internal server error"): it answers the oldest request on that socket.
        if (typeof item.message === "string") this.answer(link, item, new TetherError("gateway_error", item.message));
        return;
      default:
        this.answer(link, item);
    }
  }

  private answer(link: Link, reply: Record<string, unknown>, gatewayError?: TetherError): void {
    const request = this.correlate(link, reply, gatewayError !== undefined);
    if (request === undefined) return;
    if (gatewayError !== undefined) this.settle(request, undefined, gatewayError);
    else if (reply.type === "error" && request.retry && SEND_AGAIN.has(String(reply.code))) this.sendAgainLater(request);
    else if (reply.type === "error") this.settle(request, undefined, new TetherError(String(reply.code), String(reply.message ?? reply.code)));
    else this.settle(request, reply);
  }

  /** The backend did not carry the request out and asked for it again later: it goes out on the active socket then. */
  private sendAgainLater(request: PendingRequest): void {
    const random = this.options.random ?? Math.random;
    const link = request.link;
    request.link = undefined;
    request.againTimer = setTimeout(() => {
      request.againTimer = undefined;
      this.flush();
    }, SEND_AGAIN_AFTER_MS * (1 + random()));
    if (link?.retiring && !this.carriesRequests(link)) link.close(1000, "rotated");
  }

  /**
   * By `requestId`; a backend that does not echo it (before v1.1) answers in order on one socket, so the oldest
   * request on that socket expecting this reply type is the one.
   */
  private correlate(link: Link, reply: Record<string, unknown>, anyType: boolean): PendingRequest | undefined {
    if (typeof reply.requestId === "string" && !anyType) return this.requests.get(reply.requestId);
    for (const request of this.requests.values()) {
      if (request.link !== link) continue;
      if (anyType || reply.type === "error" || request.answer === reply.type) return request;
    }
    return undefined;
  }

  private async fill(room: string, from: number, before: number): Promise<Envelope[]> {
    try {
      const limit = Math.min(100, Math.max(1, before - from));
      const reply = await this.history(room, { limit, before });
      return reply.messages ?? [];
    } catch {
      return [];
    }
  }
}

function sentOf(reply: SentReply): SendResult {
  const result: SendResult = { id: reply.id };
  if (reply.seq !== undefined) result.seq = reply.seq;
  if (reply.epoch !== undefined) result.epoch = reply.epoch;
  if (reply.recipients !== undefined) result.recipients = reply.recipients;
  return result;
}
