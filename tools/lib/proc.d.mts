/** Pid of the process listening on `port`, or 0 when it cannot be found (not Linux, no access). */
export function pidOfListeningPort(port: number): number;
/** Resident set size of a process in bytes, or 0 if it is gone. */
export function rssBytes(pid: number): number;
export function processAlive(pid: number): boolean;
export const MB: number;
/** Bytes as megabytes with one decimal. */
export function mb(bytes: number): number;
