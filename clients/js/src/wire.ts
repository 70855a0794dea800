/** What the backend sends and accepts (docs/protocol.md; contract §2, §3, §7, §8). */

/** A stream position: the room's (or user's) epoch and the last seq the client has delivered in order. */
export interface Position {
  epoch: string;
  seq: number;
}

/** A room or direct message. `seq`/`epoch` are absent for messages to one connection and on backends without history. */
export interface Envelope {
  type: "message";
  room: string | null;
  from: string | null;
  user: string | null;
  body: unknown;
  id: string;
  sentAt: string;
  seq?: number;
  epoch?: string;
}

export interface PresenceNotice {
  type: "presence";
  event: "join" | "leave";
  room: string;
  connectionId: string;
  user: string | null;
}

export interface JoinedReply {
  type: "joined";
  room: string;
  members: number;
  epoch?: string;
  seq?: number;
  recovered?: boolean;
  replayed?: number;
  requestId?: string;
}

export interface LeftReply {
  type: "left";
  room: string;
  requestId?: string;
}

export interface SentReply {
  type: "sent";
  room: string | null;
  id: string;
  recipients?: number;
  connectionId?: string;
  user?: string;
  seq?: number;
  epoch?: string;
  requestId?: string;
}

/** One entry of a `resumed` reply: the outcome for a room or the user stream, or why the room was refused. */
export interface ResumeOutcome {
  recovered?: boolean;
  replayed?: number;
  epoch?: string;
  seq?: number;
  error?: string;
}

export interface ResumedReply {
  type: "resumed";
  rooms?: Record<string, ResumeOutcome>;
  user?: ResumeOutcome;
  requestId?: string;
}

export interface HistoryReply {
  type: "history";
  room: string;
  epoch: string;
  messages: Envelope[];
  more: boolean;
  requestId?: string;
}

export interface PongReply {
  type: "pong";
  time: string;
  requestId?: string;
}

export interface ErrorReply {
  type: "error";
  code: string;
  message: string;
  requestId?: string;
}

export interface Batch {
  type: "batch";
  messages: unknown[];
}

export type Reply = JoinedReply | LeftReply | SentReply | ResumedReply | HistoryReply | PongReply | ErrorReply;

/** API Gateway's own frames (`{"message":"Internal server error","connectionId":…,"requestId":…}`) carry no `type`. */
export interface GatewayFrame {
  message: string;
  connectionId?: string;
  requestId?: string;
}
