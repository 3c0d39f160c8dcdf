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
export function boot(vars: number, dir: string): EspruinoProcess;
