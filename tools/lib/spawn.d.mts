import type { ChildProcess } from "node:child_process";
export const REPO_ROOT: string;
/** Limits for fuzzing and soaking: small enough that every bound is reached in a short run. */
export const RELIABILITY_LIMITS: Record<string, number>;
export interface StartedBroker {
  port: number;
  pid: number;
  child: ChildProcess;
  tail(n?: number): string;
  internalErrors(): number;
  alive(): boolean;
  stop(): Promise<void>;
}
export function startBroker(o?: { limits?: Record<string, number | boolean>; script?: string; args?: string[]; configLines?: string[]; env?: Record<string, string> }): Promise<StartedBroker>;
