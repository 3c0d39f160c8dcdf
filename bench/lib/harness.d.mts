// Types for harness.mjs, for the TypeScript smoke test (test/bench/smoke.test.ts).
export interface MetricDef {
  key: string;
  label: string;
  better: "higher" | "lower";
  digits?: number;
}
export interface Scenario {
  title?: string;
  fn: string;
  params: Record<string, number | string>;
  metrics?: MetricDef[];
  workers?: number;
  nodeOnly?: boolean;
  mqtt5?: boolean;
  v311?: string;
  checkpoints?: boolean;
  compute(results: Record<string, unknown>[], mem: Record<string, Record<string, number>>): Record<string, number>;
  check?(results: Record<string, unknown>[]): true | string;
}
export interface RunResult {
  metrics: Record<string, number>;
  cpu: { broker: number | null; gen: number; other: number | null } | null;
  warning: string | null;
  results: Record<string, unknown>[];
  mem: Record<string, Record<string, number>>;
}
export declare const CLK_TCK: number;
export declare function scenarios(quick: boolean): Record<string, Scenario>;
export declare function selftests(quick: boolean): Record<string, { broker: string; fn: string; mqtt5?: boolean; params: Record<string, number> }>;
export declare function runOne(scn: Scenario, brokerName: string, opts: { profile?: string | null; runTimeoutMs: number }): Promise<RunResult>;
export declare function supports(scn: Scenario, brokerName: string): boolean;
export declare function otherLoad(ms: number): Promise<number | null>;
export declare function sum(results: Record<string, unknown>[], key: string): number;
