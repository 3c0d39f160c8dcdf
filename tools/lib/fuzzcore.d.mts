export const SCENARIOS: Record<string, number>;

export interface FuzzOptions {
  host?: string;
  port: number;
  seed: number;
  seconds?: number;
  concurrency?: number;
  /** Broker process, for memory and liveness (0: not watched). */
  pid?: number;
  /** The broker's maximum packet size. */
  maxPacket?: number;
  rate?: number;
  memLimitMB?: number;
  closeWithinMs?: number;
  drainMs?: number;
  weights?: Record<string, number>;
  workload?: Record<string, unknown>;
  log?: (line: string) => void;
  logs?: () => string;
  sampleEveryMs?: number;
}

export interface GoodFigures {
  published: number;
  publishedByQos: number[];
  delivered: number;
  lost: number;
  lostSamples: string[];
  dupQos2: number;
  dupQos1: number;
  dupQos0: number;
  outOfOrder: number;
  kills: number;
  reconnects: number;
  notConfirmed: number;
  foreign: number;
  anomalies: string[];
  unexpectedCloses: number;
  errors: string[];
}

export interface FuzzReport {
  pass: boolean;
  failures: string[];
  seed: number;
  seconds: number;
  inputs: number;
  faults: number;
  bytes: number;
  byKind: Record<string, number>;
  refused: number;
  closedByBroker: number;
  partialClosed: number;
  partialHeld: number;
  good: GoodFigures;
  memory: { baselineMB: number; peakMB: number; endMB: number; samples: Array<[number, number]> };
  alive: boolean;
  internalErrors: number;
}

export function runFuzz(o: FuzzOptions): Promise<FuzzReport>;
export function probeBroker(host: string, port: number, run: string): Promise<string>;

export interface TunedFuzz {
  small: boolean;
  concurrency: number;
  rate: number;
  maxPacket: number;
  weights: Record<string, number>;
  workload: Record<string, unknown>;
}

/** Fuzz settings that fit a board's limits (small boards: slower, smaller, fewer clients). */
export function tuneForBoard(limits: { maxConnections?: number; maxPacketSize?: number; maxInboundQos2?: number }, concurrency?: number, rate?: number): TunedFuzz;
