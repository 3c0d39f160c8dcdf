export const ROOT: string;
export const ESPRUINO_ESBUILD: Record<string, unknown>;
export const FORBIDDEN: [string, RegExp][];
export function mangledProps(): string[];
export function espruinoBoards(): string[];
export function loadProfile(board: string): any;
export function bundleFor(profile: any, limits?: Record<string, number | boolean>, features?: Record<string, boolean>, options?: { names?: boolean }): Promise<{ code: string; metafile: unknown }>;
export function featureNames(): string[];
export function featuresOf(profile: any): Record<string, boolean>;
export function featureDefines(features: Record<string, boolean>): Record<string, string>;
export function featuresOffLabel(features: Record<string, boolean>): string;
export function scanBundle(code: string): string[];
export const ESPRUINO_GLOBALS: string[];
export function topLevelNames(code: string): string[];
export function topLevelProblems(code: string): string[];
export function buildSimulatorRunner(): Promise<string>;
export interface BuildRow { board: string; file: string; raw: number; gzip: number; budgetBytes: number; sizeOk: boolean; memOk: boolean; forbidden: string[]; estimate: import("./memory.mjs").Estimate; features: Record<string, boolean>; startup: { vars: number; measured: boolean } }
export function buildEspruino(boards?: string[]): Promise<BuildRow[]>;
