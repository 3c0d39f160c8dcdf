/** Types of targets/lua/build.mjs (the Lua build), for TypeScript callers such as tests. */
export declare const LUA_TSCONFIG: string;
export declare const LUA_OUTPUT: string;
export interface LuaBuildOptions {
  /** Output path, relative to the repository root or absolute (default dist/lua/midge.lua). */
  outFile?: string;
  /** false: keep typescript-to-lua's formatting and comments (default true). */
  compact?: boolean;
}
export interface LuaBuildResult {
  /** Files written, relative to the repository root. */
  files: string[];
  /** Size of the bundle as typescript-to-lua printed it. */
  rawBytes: number;
  /** Size of the file written. */
  bytes: number;
  /** Its gzip -9 size. */
  gzipBytes: number;
}
export declare function compactLua(code: string): string;
export declare function buildLua(options?: LuaBuildOptions): Promise<LuaBuildResult>;
