export const DEFAULT_BACKOFF_INITIAL_MS = 500;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/**
 * The delay before reconnect attempt `attempt` (0 for the first). Full jitter spreads a crowd of clients that lost
 * the same server over the whole window instead of having them all knock again at the same instant.
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
    const initial = options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    const max = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    // 2^attempt overflows to Infinity long after the cap is reached; Math.min keeps the result finite.
    const ceiling = Math.min(max, initial * Math.pow(2, Math.max(0, attempt)));
    return Math.floor(random() * ceiling);
}
