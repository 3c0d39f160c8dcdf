export const ROOT: string;
export const ESPRUINO_ESBUILD: Record<string, unknown>;
export const FORBIDDEN: [string, RegExp][];
export function mangledProps(): string[];
export function espruinoBoards(): string[];
export function loadProfile(board: string): any;
export function bundleFor(profile: any, limits?: Record<string, number | boolean>): Promise<{ code: string; metafile: unknown }>;
export function scanBundle(code: string): string[];
export function buildSimulatorRunner(): Promise<string>;
export interface BuildRow { board: string; file: string; raw: number; gzip: number; budgetBytes: number; sizeOk: boolean; memOk: boolean; forbidden: string[]; estimate: import("./memory.mjs").Estimate }
export function buildEspruino(boards?: string[]): Promise<BuildRow[]>;
