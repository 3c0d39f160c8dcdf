/** A TCP port free on 127.0.0.1 right now (for processes that cannot listen on port 0). */
export function freePort(): Promise<number>;
