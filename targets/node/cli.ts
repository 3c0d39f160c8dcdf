import { Command, InvalidArgumentError } from "commander";
import { version } from "../../package.json";
import { Broker, brokerStats } from "../../src/broker/broker";
import { Log, LogLevel } from "../../src/platform";
import { CliOptions, Config, loadConfig } from "./config";
import { createLogger } from "./logger";
import { ListenError } from "./listeners";
import { RunningServer, startServer } from "./server";
import { installFeatures, loadSecurity, startPersistence, startSys } from "./features";
import { logTextCommand } from "./logText";
import { passwdCommand } from "./passwdCommand";
import { simulateCommand } from "./simulate/command";
import { SqliteStore } from "./persistence/sqliteStore";
import { startBridges } from "./bridge/netLink";
import { keepYoungGenerationSmall } from "./heap";

export const VERSION: string = version;

/**
 * The `midge` command. The default action runs the broker; later subcommands (`midge simulate
 * --board esp32`, `midge passwd`) are added with program.addCommand() next to it.
 */
export function buildProgram(): Command {
  return new Command("midge")
    .description("Midge, a small MQTT 3.1.1 broker")
    .version(VERSION, "-V, --version")
    // Options after a subcommand belong to it (`midge passwd -c FILE USER`), not to the broker.
    .enablePositionalOptions()
    .option("-p, --port <port>", "TCP port to listen on, 0 = any free port (default: 1883)", parsePort)
    .option("--host <address>", "address to listen on (default: 0.0.0.0)")
    .option("-c, --config <file>", "configuration file in mosquitto.conf syntax")
    .option("-b, --board <name|file>", "board profile: a name from boards/ or a JSON file (default: host)")
    .option("-v, --verbose", "log everything, debug messages included")
    .action((options: CliOptions) => runBroker(options))
    .addCommand(passwdCommand())
    .addCommand(simulateCommand())
    .addCommand(logTextCommand());
}

/** Entry point of dist/node/midge.js; bin/midge.js calls it with process.argv. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}

function parsePort(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 65535) {
    throw new InvalidArgumentError("expected a port number from 0 to 65535.");
  }
  return Number(text);
}

/** Start-up failures: plain "Error: ..." on stderr whatever the log settings, exit code 1. */
function fatal(message: string): void {
  process.stderr.write(`Error: ${message}\n`);
  process.exitCode = 1;
}

async function runBroker(options: CliOptions): Promise<void> {
  const loaded = loadConfig(options, process.cwd());
  if (!loaded.ok) return fatal(loaded.error);
  const config = loaded.config;
  // Before any broker exists: the core reads the board's features from then on.
  installFeatures(config.board.features);
  keepYoungGenerationSmall();
  const log = createLogger(config.log);

  log.log(LogLevel.NOTICE, `midge version ${VERSION} starting`);
  log.log(LogLevel.NOTICE, config.configFile === "" ? "Using default config." : `Config loaded from ${config.configFile}.`);
  for (const warning of config.warnings) log.log(LogLevel.WARNING, "Warning: " + warning);
  logLimits(log, config);

  // Signal handlers go in before the listen line is printed: whoever reads that line may
  // signal at once.
  let server: RunningServer | null = null;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal while connections are still flushing: leave at once.
      process.exit(1);
    }
    stopping = true;
    log.log(LogLevel.NOTICE, `midge version ${VERSION} terminating`);
    if (server === null) process.exit(0);
    const s = brokerStats(server.broker);
    log.log(
      LogLevel.DEBUG,
      `${signal}: ${s.connections} connections, ${s.sessions} sessions, ${s.subscriptions} subscriptions, ` +
        `${s.retained} retained, ${s.messagesReceived} messages received, ${s.messagesSent} sent`,
    );
    server.stop().then(() => {
      stopSys();
      if (store !== null) (store as SqliteStore).close();
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  const security = loadSecurity(config.security);
  if (!security.ok) return fatal(security.error);
  let store: SqliteStore | null = null;
  let stopSys = (): void => {};
  const prepare = (broker: Broker): void => {
    store = startPersistence(broker, config.persistence, log);
    stopSys = startSys(broker, config.sysInterval, VERSION);
    startBridges(broker, config.bridges, log);
  };
  try {
    server = await startServer(config.limits, config.listeners, log, security.policy, prepare);
  } catch (e) {
    if (!(e instanceof ListenError)) throw e;
    return fatal(`cannot listen on ${e.listener.host}:${e.listener.port}: ${listenError(e.cause)}`);
  }
  for (const l of server.listeners) {
    // mosquitto's wording: "ipv4"/"ipv6" for MQTT listeners (TLS or not), "websockets" for the others.
    const kind = l.config.protocol === "websockets" ? "websockets" : l.address.family === "IPv6" ? "ipv6" : "ipv4";
    const tls = l.config.certfile === "" ? "" : ` (TLS${l.config.requireCertificate ? ", client certificates required" : ""})`;
    log.log(LogLevel.NOTICE, `Opening ${kind} listen socket on port ${l.address.port}.${tls}`);
  }
  log.log(LogLevel.NOTICE, `midge version ${VERSION} running`);
}

function logLimits(log: Log, config: Config): void {
  const l = config.limits;
  log.log(
    LogLevel.INFO,
    `Board ${config.board.name}: ${l.maxConnections} connections, ${l.maxSessions} sessions, ` +
      `${l.maxSubscriptions} subscriptions, ${l.maxRetained} retained, packets up to ${l.maxPacketSize} bytes`,
  );
}

function listenError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "EADDRINUSE": return "address already in use";
    case "EACCES": return "permission denied (ports below 1024 need privileges)";
    case "EADDRNOTAVAIL": return "address not available on this machine";
    case "ENOTFOUND": return "unknown host name";
  }
  return e.message;
}
