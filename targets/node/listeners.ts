import { readFileSync } from "node:fs";
import { IncomingMessage, ServerResponse, createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { AddressInfo, Server, Socket, createServer as createNetServer } from "node:net";
import { Duplex } from "node:stream";
import { TLSSocket, TlsOptions, createServer as createTlsServer } from "node:tls";
import { WebSocketServer } from "ws";
import { Limits } from "../../src/limits";
import { Log, LogLevel } from "../../src/platform";
import { ListenerConfig } from "./config";
import { StreamTransport } from "./transport";
import { WebSocketStream } from "./websocketStream";

/** WebSocket subprotocols we speak, in order of preference (MQTT-6.0.0-4; mqttv3.1: SRV-IMPL-20). */
export const WS_SUBPROTOCOLS = ["mqtt", "mqttv3.1"];

/** A listener that is accepting connections. */
export interface OpenListener {
  config: ListenerConfig;
  address: AddressInfo;
  /** URL scheme a client uses: mqtt, mqtts, ws or wss. */
  scheme: string;
  /** Stops accepting; connections already handed to the transport stay open. */
  close(): void;
}

/** A listener that could not be opened, with the listener it was for. */
export class ListenError extends Error {
  readonly listener: ListenerConfig;
  readonly cause: NodeJS.ErrnoException;

  constructor(listener: ListenerConfig, cause: NodeJS.ErrnoException) {
    super(`${listener.host}:${listener.port}: ${cause.message}`);
    this.listener = listener;
    this.cause = cause;
  }
}

/** The scheme of a listener's configuration: mqtt, mqtts, ws or wss. */
export function listenerScheme(l: ListenerConfig): string {
  const tls = l.certfile !== "";
  if (l.protocol === "websockets") return tls ? "wss" : "ws";
  return tls ? "mqtts" : "mqtt";
}

/**
 * Opens one listener and hands each connection it accepts to `transport` (which may serve
 * several listeners: they share the broker's connection table). TLS handshakes and WebSocket
 * upgrades happen here, before the broker sees the connection; both must finish within the
 * board's CONNECT timeout. Rejects with a ListenError if the port cannot be bound or the TLS
 * files cannot be read.
 */
export function openListener(config: ListenerConfig, transport: StreamTransport, limits: Limits, log: Log): Promise<OpenListener> {
  let server: Server;
  try {
    server = createListenerServer(config, transport, limits, log);
  } catch (e) {
    return Promise.reject(new ListenError(config, e as NodeJS.ErrnoException));
  }
  server.on("error", (err) => {
    // Errors after listen() succeeded (EMFILE on accept, ...): keep serving.
    if (server.listening) log.log(LogLevel.ERROR, `Error: listener on port ${config.port}: ${err.message}`);
  });
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(new ListenError(config, err));
    server.once("error", onError);
    server.listen(config.port, config.host, () => {
      server.removeListener("error", onError);
      resolve({
        config: config,
        address: server.address() as AddressInfo,
        scheme: listenerScheme(config),
        close(): void {
          if (server.listening) server.close();
        },
      });
    });
  });
}

function createListenerServer(config: ListenerConfig, transport: StreamTransport, limits: Limits, log: Log): Server {
  const tls = config.certfile === "" ? null : tlsOptions(config, limits);
  if (config.protocol === "websockets") return webSocketServer(config, tls, transport, limits, log);
  if (tls === null) {
    // noDelay: Node sets TCP_NODELAY on the accepted handle itself, before the socket exists.
    return createNetServer({ noDelay: true }, (socket) => {
      if (socket.remoteAddress === undefined) {
        socket.destroy();
        return;
      }
      transport.adopt(socket, peerName(socket), "");
    });
  }
  const server = createTlsServer(tls, (socket: TLSSocket) => {
    if (socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    const peer = peerName(socket);
    const identity = config.useIdentityAsUsername ? certificateIdentity(socket) : "";
    if (config.useIdentityAsUsername && identity === "") {
      log.log(LogLevel.NOTICE, `Connection from ${peer} refused: client certificate without a Common Name (use_identity_as_username).`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    transport.adopt(socket, peer, identity);
  });
  logTlsErrors(server, log);
  return server;
}

/** node:tls options for a TLS listener: certificate, key, client certificates if required. */
function tlsOptions(config: ListenerConfig, limits: Limits): TlsOptions {
  return {
    cert: readFileSync(config.certfile),
    key: readFileSync(config.keyfile),
    ca: config.cafile === "" ? undefined : readFileSync(config.cafile),
    // require_certificate: ask for a certificate and refuse the handshake without a valid one.
    requestCert: config.requireCertificate,
    rejectUnauthorized: config.requireCertificate,
    handshakeTimeout: preConnectTimeout(limits),
  };
}

/**
 * How long a TLS handshake or a WebSocket upgrade may take: the board's CONNECT timeout (the
 * broker's clock only starts once they are done), at least one second.
 */
function preConnectTimeout(limits: Limits): number {
  return Math.max(1000, limits.connectTimeoutMs);
}

/**
 * Logs failed handshakes: a client certificate refused by require_certificate (Node then
 * destroys the socket and reports only "socket hang up", so the verification error is read from
 * the socket), plain MQTT on a TLS port, a client that gave up.
 */
function logTlsErrors(server: Server, log: Log): void {
  // By the time a handshake fails the sockets are destroyed and have forgotten their address:
  // note it when the TCP connection arrives. (The TLSSocket's _parent is the TCP socket.)
  const peers = new WeakMap<Socket, string>();
  server.on("connection", (raw: Socket) => {
    if (raw.remoteAddress !== undefined) peers.set(raw, peerName(raw));
  });
  server.on("tlsClientError", (err: Error, socket: TLSSocket) => {
    const raw = (socket as unknown as { _parent?: Socket })._parent;
    const peer = (raw === undefined ? undefined : peers.get(raw)) ?? "unknown peer";
    const refused = socket.authorizationError;
    const why = refused ? `client certificate refused (${refused})` : err.message;
    log.log(LogLevel.NOTICE, `TLS handshake with ${peer} failed: ${why}.`);
  });
}

/**
 * MQTT over WebSocket (and over secure WebSocket when `tls` is set): an HTTP(S) server whose
 * upgrade requests, on any path (/mqtt is customary), become WebSocket connections with the
 * subprotocol mqtt (or mqttv3.1). A client that offers subprotocols but neither of those is
 * refused with 400; one that offers none is accepted. Plain HTTP requests get 426.
 */
function webSocketServer(config: ListenerConfig, tls: TlsOptions | null, transport: StreamTransport, limits: Limits, log: Log): Server {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // ws buffers a whole message before handing it over: bound it like a packet.
    maxPayload: limits.maxPacketSize,
    handleProtocols: (offered: Set<string>) => selectSubprotocol(offered),
  });
  const onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket", Connection: "close" });
    res.end("This is an MQTT over WebSocket endpoint: connect with a WebSocket client, subprotocol mqtt.\n");
  };
  // Slow or idle HTTP clients must not hold a socket for long before the broker sees them.
  const timeouts = { headersTimeout: preConnectTimeout(limits), requestTimeout: preConnectTimeout(limits) };
  const server = tls === null ? createHttpServer(timeouts, onRequest) : createHttpsServer({ ...tls, ...timeouts }, onRequest);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const raw = req.socket;
    if (raw.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    const peer = peerName(raw);
    const offered = parseSubprotocols(req.headers["sec-websocket-protocol"]);
    if (offered.size > 0 && selectSubprotocol(offered) === false) {
      log.log(LogLevel.NOTICE, `WebSocket connection from ${peer} refused: subprotocols offered (${[...offered].join(", ")}) do not include mqtt.`);
      refuseUpgrade(socket, 400, "Bad Request");
      return;
    }
    let identity = "";
    if (config.useIdentityAsUsername) {
      identity = certificateIdentity(raw as TLSSocket);
      if (identity === "") {
        log.log(LogLevel.NOTICE, `Connection from ${peer} refused: client certificate without a Common Name (use_identity_as_username).`);
        refuseUpgrade(socket, 403, "Forbidden");
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = new WebSocketStream(ws, () => {
        log.log(LogLevel.NOTICE, `Closing WebSocket connection from ${peer}: text frame received, MQTT needs binary frames.`);
      });
      (raw as Socket).setNoDelay(true);
      transport.adopt(stream, peer, identity);
    });
  });
  if (tls !== null) logTlsErrors(server, log);
  return server;
}

/** The subprotocol to answer with: mqtt, else mqttv3.1, else false (none we speak). */
export function selectSubprotocol(offered: Set<string>): string | false {
  for (const p of WS_SUBPROTOCOLS) if (offered.has(p)) return p;
  return false;
}

function parseSubprotocols(header: string | undefined): Set<string> {
  const set = new Set<string>();
  if (header === undefined) return set;
  for (const p of header.split(",")) {
    const name = p.trim();
    if (name !== "") set.add(name);
  }
  return set;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  const timer = setTimeout(() => socket.destroy(), 1000);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/** The Common Name of a verified client certificate, or "". */
export function certificateIdentity(socket: TLSSocket): string {
  if (typeof socket.getPeerCertificate !== "function" || !socket.authorized) return "";
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || cert.subject === undefined || cert.subject === null) return "";
  const cn: unknown = (cert.subject as unknown as Record<string, unknown>).CN;
  if (typeof cn === "string") return cn;
  if (Array.isArray(cn) && typeof cn[0] === "string") return cn[0];
  return "";
}

function peerName(socket: Socket): string {
  return socket.remoteAddress + ":" + socket.remotePort;
}
