export interface EspruinoProcess {
  output(): string;
  alive(): boolean;
  waitFor(re: RegExp, ms?: number, from?: number): Promise<RegExpExecArray>;
  send(js: string): void;
  eval(js: string, ms?: number): Promise<string>;
  memory(): Promise<number>;
  stop(): Promise<void>;
}
export function findInterpreter(vars: number): string | null;
export function writeStorage(dir: string, files: Record<string, string>): void;
/** A TCP server evaluating one line per connection, appended to .bootcde for reading memory without the REPL. */
export function controlCode(port: number): string;
/** options.controlPort: .bootcde carries controlCode(controlPort); eval() and memory() ask there. */
export function boot(vars: number, dir: string, options?: { controlPort?: number }): EspruinoProcess;
