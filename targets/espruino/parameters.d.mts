export const HOT_FUNCTIONS: string[];
export function coldParameters(code: string, named: string, ts: unknown, hot?: string[]): { code: string; functions: number; parameters: number };
