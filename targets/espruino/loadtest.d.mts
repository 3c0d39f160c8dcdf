import type { RawClient } from "./rawClient.mjs";
export interface Load { clients: number; sessions: number; subscriptions: number; retained: number; inflight: number; queued: number; inbound: number; partial: number; sizes: { T: number; P: number; Tr: number; Pr: number }; open: RawClient[] }
export function fillTables(port: number, limits: Record<string, number | boolean>, features?: Record<string, boolean>): Promise<Load>;
export function estimateFor(profile: unknown, costs: unknown): { total: number; start: number; items: { name: string; total: number }[] };
export function clientsHeld(port: number, out: () => boolean, max?: number): Promise<{ held: number; steps: string[] }>;
