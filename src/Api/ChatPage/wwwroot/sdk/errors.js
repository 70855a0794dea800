/**
 * A failure the client reports: the backend's error reply (`code` is its snake_case code, e.g. `not_in_room`),
 * `refused` (the backend refused the connection; `status` when it is known), `timeout`, `closed` or `gateway_error`
 * (API Gateway's own "Internal server error" frame).
 */
export class TetherError extends Error {
    code;
    status;
    constructor(code, message, status) {
        super(message);
        this.code = code;
        this.status = status;
        this.name = "TetherError";
    }
}
