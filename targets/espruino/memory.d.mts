export interface Geometry { first: number; next: number; varBytes: number }
export interface EstimateItem { name: string; count: number; each: number; total: number }
export interface Estimate { jsVars: number; reserve: number; budget: number; start: number; items: EstimateItem[]; total: number; missing?: boolean }
export interface Calibration { bytesPerVar: number; startVars: number; budgetVars: number; jsVars: number }
export function loadCosts(): any;
export function geometry(jsVars: number, wordBytes: number, varBytes?: number): Geometry;
export function stringVars(n: number, geo: Geometry): number;
export function bytesVars(n: number, geo: Geometry): number;
export function sizes(limits: Record<string, number | boolean>): { T: number; P: number; Tr: number; Pr: number };
export function startVars(limits: Record<string, number | boolean>, costs: any): number;
export function worstCase(profile: any, costs: any, bundleBytes?: number, limits?: Record<string, number | boolean>): Estimate;
export function calibration(profile: any, costs: any): Calibration | null;
export function formatEstimate(board: string, est: Estimate): string;
export function bundleHash(code: string): string;
export function bundleShape(code: string, ts: unknown): { functions: number; params: number; values: number };
export function startupVars(board: string, code: string, costs: unknown, ts: unknown): { vars: number; measured: boolean; shape: { functions: number; params: number; values: number }; hash: string };
