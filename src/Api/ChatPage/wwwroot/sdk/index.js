export { TetherClient, DEFAULT_HEARTBEAT_MS, DEFAULT_HOLD_MS, DEFAULT_MAX_LIFETIME_MS, DEFAULT_REFUSED_AFTER, DEFAULT_REQUEST_TIMEOUT_MS } from "./client.js";
export { backoffDelay, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS } from "./backoff.js";
export { TetherError } from "./errors.js";
