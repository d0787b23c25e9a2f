/** snake_case → camelCase (FuxiCTR's `hidden_units` → `hiddenUnits`); camelCase keys pass unchanged. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** camelCase → snake_case (`nEstimators` → `n_estimators`), the way configs write option names. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
