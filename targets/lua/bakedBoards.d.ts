/**
 * The profiles of boards/*.json, baked into the Lua build: targets/lua/build.mjs validates them
 * with src/config/profile.ts and writes bakedBoards.lua next to this file (generated, not in
 * git), which typescript-to-lua bundles as this module's implementation. Only the keys the
 * broker reads are kept (board, description, limits, features).
 */
export interface BakedBoard {
  name: string;
  /** The profile object, as in the JSON file (validated again by validateProfile at load). */
  profile: unknown;
}

/** Sorted by name. */
export declare const BAKED_BOARDS: BakedBoard[];
