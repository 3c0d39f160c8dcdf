/**
 * The part of LuaSocket 3.x (Debian's lua-socket) the Lua target uses. typescript-to-lua keeps
 * `require("socket")` as is (noResolvePaths in targets/lua/tsconfig.json).
 *
 * Module functions are called with a dot (`this: void`); socket methods with a colon (an
 * explicit `this` of the socket type), whatever noImplicitSelf says for the project.
 * Multiple results come back as LuaMultiReturn tuples (destructure them).
 */
declare module "socket" {
  /** A TCP socket: a listening server or a connected client. */
  export interface TcpSocket {
    /** 0 = never block (the whole target is non-blocking). */
    settimeout(this: TcpSocket, seconds: number, mode?: "b" | "t"): void;
    setoption(this: TcpSocket, option: "reuseaddr" | "tcp-nodelay" | "keepalive", value: boolean): LuaMultiReturn<[1 | undefined, string | undefined]>;
    /** ip, port (port as a number). */
    getsockname(this: TcpSocket): LuaMultiReturn<[string | undefined, number | undefined, string | undefined]>;
    getpeername(this: TcpSocket): LuaMultiReturn<[string | undefined, number | undefined, string | undefined]>;
    /** A new client, or undefined and "timeout" (nothing pending) or another error. */
    accept(this: TcpSocket): LuaMultiReturn<[TcpSocket | undefined, string | undefined]>;
    /**
     * Up to n bytes: all n, or undefined, an error ("timeout" when the rest is not there yet,
     * "closed") and what did arrive (possibly "").
     */
    receive(this: TcpSocket, n: number): LuaMultiReturn<[string | undefined, string | undefined, string | undefined]>;
    /**
     * Sends data[i..j] (1-based, inclusive); returns the index of the last byte sent, or
     * undefined, an error ("timeout" when the kernel buffer is full, "closed") and that index.
     */
    send(this: TcpSocket, data: string, i?: number, j?: number): LuaMultiReturn<[number | undefined, string | undefined, number | undefined]>;
    /** True when LuaSocket's own input buffer holds bytes (select() cannot see those). */
    dirty(this: TcpSocket): boolean;
    /** The OS file descriptor (select() cannot watch descriptors from FD_SETSIZE up). */
    getfd(this: TcpSocket): number;
    shutdown(this: TcpSocket, mode: "send" | "receive" | "both"): void;
    close(this: TcpSocket): void;
  }

  /** A listening TCP server (IPv4 or IPv6 after address resolution), or undefined and an error. */
  export function bind(this: void, host: string, port: number, backlog?: number): LuaMultiReturn<[TcpSocket | undefined, string | undefined]>;
  /**
   * Waits until a socket of recvt is readable or one of sendt writable, at most timeout
   * seconds. Returns the ready sockets (each list is also indexed by the sockets) and an
   * error ("timeout" when nothing is ready).
   */
  export function select(this: void, recvt: TcpSocket[], sendt: TcpSocket[], timeout: number): LuaMultiReturn<[TcpSocket[], TcpSocket[], string | undefined]>;
  /** Wall-clock seconds with sub-millisecond resolution. */
  export function gettime(this: void): number;
  export function sleep(this: void, seconds: number): void;
  export const _VERSION: string;
}
