/** The SQLite store: schema types, opening/migrating, datasets, runs and metrics. */
export * from "./schema";
export { openStore, closeStore, defaultDbPath, chunkRows, BUSY_TIMEOUT_MS, MAX_SQL_VARIABLES } from "./db";
export { migrateToLatest, migrateDownAll, createMigrator, createMigrationProvider, MIGRATIONS } from "./migrate";
export { saveDataset, loadStoredDataset, listDatasets, deleteDataset, computeDatasetFingerprint, type SaveDatasetOptions } from "./datasets";
export {
  saveRun,
  loadRun,
  getRunInfo,
  listRuns,
  deleteRun,
  saveMetrics,
  loadMetrics,
  computeRunId,
  type RunMeta,
  type RunInfo,
  type RunFilter,
} from "./runs";
