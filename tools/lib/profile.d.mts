export function profileModule(): { validateProfile(json: unknown, source: string, complete: boolean): { ok: boolean; error: string; profile: unknown } };
export function validateBoard(json: unknown, name: string): { name: string; description: string; limits: Record<string, number | boolean>; features: Record<string, boolean> };
