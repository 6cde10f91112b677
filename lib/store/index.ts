/** The store (SQLite or PostgreSQL): schema types, opening/migrating, datasets, runs and metrics. */
export * from "./schema";
export {
  openStore,
  closeStore,
  defaultDbPath,
  defaultStoreTarget,
  isPostgresUrl,
  redactStoreTarget,
  chunkRows,
  BUSY_TIMEOUT_MS,
  MAX_SQL_VARIABLES,
  PG_CONNECT_TIMEOUT_MS,
} from "./db";
export { sessionStore, closeSessionStores } from "./session";
export { storeDialect, type StoreDialect } from "./dialect";
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
export { lockStore, storeLockFile, StoreBusyError, type StoreLock, type StoreLockInfo } from "./lock";
