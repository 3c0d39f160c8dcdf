/**
 * The parts of the Espruino runtime the target uses, as they really are (measured on the
 * Espruino 2v29 Linux build; see /work/shared/notes/portability.md): socket 'data' delivers
 * binary Strings, socket.write takes Strings only, sockets have end() but no destroy().
 * Only types here: the target reaches the runtime through `global`, so esbuild never sees a
 * bare require() (it would bundle it, or add a shim that needs Proxy).
 */

export interface EspruinoSocket {
  write(data: string): void;
  end(): void;
  on(event: "data", handler: (this: EspruinoSocket, data: string) => void): void;
  on(event: "close" | "end" | "drain", handler: (this: EspruinoSocket) => void): void;
  on(event: "error", handler: (this: EspruinoSocket, details: { code: number; message: string }) => void): void;
  /** Connection slot, kept on the socket so one set of handlers serves every socket. */
  c?: number;
}

export interface EspruinoServer {
  listen(port: number): EspruinoServer;
  close(): void;
}

export interface EspruinoNet {
  createServer(onConnection: (socket: EspruinoSocket) => void): EspruinoServer;
}

export interface EspruinoStorage {
  /** Writes data at offset of file name; the first write (offset 0) creates it with `size` bytes. */
  write(name: string, data: string, offset?: number, size?: number): boolean;
  readJSON(name: string, noExceptions: boolean): unknown;
  /** A view of the file in flash (no copy), or undefined when it does not exist. */
  readArrayBuffer(name: string): ArrayBuffer | undefined;
  erase(name: string): void;
}

export interface EspruinoWifi {
  connect(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void;
  /** ESP8266/ESP32: the address at once; Espruino WiFi: undefined (it takes a callback). */
  getIP(): { ip: string } | undefined;
}

export interface EspruinoE {
  on(event: "init" | "kill", handler: () => void): void;
  /** A binary String of the bytes (undefined when out of memory). */
  toString(data: Uint8Array): string;
  toUint8Array(data: string): Uint8Array;
}

export interface EspruinoGlobal {
  require(name: "net"): EspruinoNet;
  require(name: "Storage"): EspruinoStorage;
  require(name: "Wifi"): EspruinoWifi;
}

/** Settings kept in Storage as midge.json; every field is optional. */
export interface Settings {
  /** TCP port (default 1883). */
  port?: number;
  /** Joined at start when the board has the Wifi module. */
  wifi?: { ssid: string; password?: string };
  /** Overrides of the board's limits (same names as boards/*.json "limits"). */
  limits?: { [name: string]: number | boolean };
  /** Keep retained messages and persistent sessions in Storage (default: the board's). */
  persist?: boolean;
  /** Least time between two snapshot writes, in ms (default: the board's). */
  saveIntervalMs?: number;
  /** Largest snapshot written, in bytes (default: the board's). */
  saveMaxBytes?: number;
  /** 0 errors .. 4 debug (default 2: errors, warnings, notices). */
  logLevel?: number;
}
