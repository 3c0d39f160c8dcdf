import { Command, InvalidArgumentError } from "commander";
import { serveSimulator } from "./simulator";

/**
 * `midge simulate --board esp32 [--port 1883]`: runs dist/<board>/midge.js, the file that
 * would be flashed, in the Espruino simulator (simulator.ts). Exit status 3 when the bundle
 * runs out of the board's memory budget (or calls quit()), 1 when it cannot start.
 * Wire it into the CLI with `program.addCommand(simulateCommand())`.
 */
export function simulateCommand(): Command {
  return new Command("simulate")
    .description("run an Espruino bundle (dist/<board>/midge.js) in the Espruino simulator, with the board's memory budget")
    .requiredOption("-b, --board <name>", "Espruino board profile: esp32, esp8266 or espruino-wifi")
    .option("-p, --port <port>", "TCP port, 0 = any free port (default: 1883)", parsePort, 1883)
    .option("--host <address>", "address to listen on (default: 0.0.0.0)")
    .option("--storage-dir <dir>", "keep the simulated Storage (storage.json) in this directory (default: a temp dir)")
    .option("-v, --verbose", "log level 4 (debug) in the board's settings")
    .option("--no-wifi", "simulate a board without the Wifi module (Linux build, Ethernet)")
    .option("--no-memory-limit", "do not enforce the board's memory budget")
    .action(async (o: { board: string; port: number; host?: string; storageDir?: string; verbose?: boolean; wifi: boolean; memoryLimit: boolean }) => {
      await serveSimulator({
        board: o.board,
        port: o.port,
        host: o.host,
        storageDir: o.storageDir,
        verbose: o.verbose,
        wifi: o.wifi === false ? false : undefined,
        enforceMemory: o.memoryLimit,
      });
    });
}

function parsePort(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 65535) throw new InvalidArgumentError("expected a port number from 0 to 65535.");
  return Number(text);
}
