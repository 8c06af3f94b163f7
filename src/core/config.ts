// Configuration from the environment, validated once at start-up (ajv). A bad value stops
// start-up with a message naming the variable. Every setting is listed in docs/configuration.md.
import { Ajv } from 'ajv';

export interface Config {
  host: string;
  port: number;
  /** Public base URL (e.g. https://fhir.example.org); derived from the request when unset. */
  publicBaseUrl?: string;
  databaseUrl?: string;
  databasePoolSize: number;
  dataDir: string;
  redisUrl?: string;
  maxBodyBytes: number;
  /** Most entries in a posted batch or transaction bundle. */
  bundleMaxEntries: number;
  maxJsonDepth: number;
  corsOrigins: string[] | '*';
  logLevel: string;
  shutdownTimeoutMs: number;
  defaultPageSize: number;
  maxPageSize: number;
  tenantCacheTtlMs: number;
  validateResources: boolean;
  /**
   * Check Coding/CodeableConcept elements against their required bindings on write (issue 12,
   * docs/terminology.md): 'on' (default) or 'off'.
   */
  bindingChecks: 'on' | 'off';
  /** A code from a code system not loaded here: let it through a required binding ('ignore', default) or refuse it ('fail'). */
  bindingUnknownSystems: 'ignore' | 'fail';
  /** Most codes a ValueSet expansion may hold ($expand, $validate-code, :in); more answer 422 too-costly. */
  expandMaxCodes: number;
  /** Run queued $reindex jobs in this process. */
  reindexWorker: boolean;
  reindexPollMs: number;
  reindexStartDelayMs: number;
  reindexBatchSize: number;
  /** gin_pending_list_limit (kB) of writing transactions: bounds what each search index probe reads. */
  ginPendingListLimitKb: number;
  /** Rows written to a table before the server analyzes it again (plus 10% of its size); 0: off. */
  analyzeAfterRows: number;
  /**
   * Bearer tokens: 'required' always; 'off' never (every caller is the anonymous administrator;
   * refused unless listening on loopback with the embedded database); 'auto' (default): required
   * unless listening on loopback with the embedded database. docs/security.md.
   */
  auth: 'auto' | 'required' | 'off';
  /** Lifetime of access tokens, seconds. */
  accessTokenTtlSeconds: number;
  /** Lifetime of refresh tokens (offline_access), seconds. */
  refreshTokenTtlSeconds: number;
  /** Days a signing key signs before a new one replaces it (the old one stays in the JWKS until its tokens expire). */
  signingKeyRotationDays: number;
  /** JWKS URLs (`jku`, client `jwks_uri`) Hearth may fetch client keys from; nothing else is fetched. */
  jkuAllowlist: string[];
  /** Failed logins (per account, and per client at the token endpoint) before a lockout. */
  loginMaxFailures: number;
  /** How long a lockout lasts, seconds. */
  loginLockoutSeconds: number;
  /** An external OpenID Connect issuer whose access tokens are accepted too. */
  oidcIssuer?: string;
  /** The `aud` those tokens must carry (default: the tenant's FHIR base URL). */
  oidcAudience?: string;
  /** The claim holding their scopes (space-separated string or array). */
  oidcScopeClaim: string;
  /** The claim holding their fhirUser reference. */
  oidcFhirUserClaim: string;
  /** How often this process seals each tenant's audit trail, ms; 0: not in this process. */
  auditSealIntervalMs: number;
  /** How often this process expands the audit journal it recorded into the trail, ms; 0: only on demand (ADR 0016). */
  auditExpandIntervalMs: number;
  /** How long the audit journal's entries may wait while the server is busy, ms (ADR 0016). */
  auditExpandMaxLagMs: number;
  /** Record every interaction in the audit trail (issue 11); 'off' only for benchmarks and trials. */
  audit: 'on' | 'off';
  /** AuditEvent.source.observer; default the public base URL, else urn:hearth:<host name>. */
  auditObserver?: string;
  /** Months the audit trail is kept before archived months may be dropped (default six years). */
  auditRetentionMonths: number;
  /** Run the outbox relay and delivery workers in this process (issue 13; `hearth worker` runs them alone). */
  deliveryWorker: boolean;
  /** API processes sharing the port (node:cluster, src/cluster.ts); PostgreSQL mode only when > 1. */
  processes: number;
  /** Deliveries one process runs at once. */
  deliveryConcurrency: number;
  /** How often the relay looks for outbox rows without a NOTIFY, ms (safety net). */
  relayPollMs: number;
  /** A handed-over delivery not started this long after it was due is presumed lost (queue data lost) and handed again, ms. */
  relayStaleMs: number;
  /** How long a delivery holds its resource's lease; a worker that dies frees it after this, ms. */
  deliveryLeaseMs: number;
  /** Timeout of one outbound request, ms. */
  deliveryTimeoutMs: number;
  /** Delivery attempts before a dead letter. */
  deliveryMaxAttempts: number;
  /** First retry delay, ms (doubled per attempt, with full jitter). */
  deliveryBackoffMs: number;
  /** Longest retry delay, ms (also caps a partner's Retry-After). */
  deliveryBackoffMaxMs: number;
  /** Consecutive failures of a destination before its circuit opens. */
  breakerFailureThreshold: number;
  /** How long an open circuit stays open before one probe is let through, ms. */
  breakerResetMs: number;
  /**
   * Hosts and CIDR ranges Subscription endpoints may reach although they are internal (loopback,
   * private, link-local); nothing by default (docs/sync.md, SSRF).
   */
  outboundAllow: string[];
  /** Bearer token Prometheus sends to GET /metrics when authentication is on (an admin token works too). */
  metricsToken?: string;
  /** Port of a `hearth worker` process's GET /metrics (on HEARTH_HOST); unset: none. */
  workerMetricsPort?: number;
}

interface Setting {
  env: string;
  key: keyof Config;
  schema: Record<string, unknown>;
  default?: unknown;
  parse?: (raw: string) => unknown;
  /** A conventional variable read when `env` is unset (`env` wins when both are set). */
  fallback?: string;
}

const integer = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const toInt = (raw: string) => (/^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw);
const toBool = (raw: string) => (raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw);

export const SETTINGS: readonly Setting[] = [
  { env: 'HEARTH_HOST', key: 'host', schema: { type: 'string', minLength: 1 }, default: '127.0.0.1' },
  // Container platforms (Cloud Run, Heroku, Render...) assign the port in PORT.
  { env: 'HEARTH_PORT', key: 'port', schema: integer(0, 65535), default: 8080, parse: toInt, fallback: 'PORT' },
  {
    env: 'HEARTH_PUBLIC_BASE_URL',
    key: 'publicBaseUrl',
    schema: { type: 'string', pattern: '^https?://[^\\s?#]+[^/\\s?#]$' },
  },
  { env: 'DATABASE_URL', key: 'databaseUrl', schema: { type: 'string', pattern: '^postgres(ql)?://' } },
  { env: 'DATABASE_POOL_SIZE', key: 'databasePoolSize', schema: integer(1, 500), default: 10, parse: toInt },
  { env: 'HEARTH_DATA_DIR', key: 'dataDir', schema: { type: 'string', minLength: 1 }, default: './data' },
  { env: 'REDIS_URL', key: 'redisUrl', schema: { type: 'string', pattern: '^rediss?://' } },
  {
    env: 'HEARTH_MAX_BODY_BYTES',
    key: 'maxBodyBytes',
    schema: integer(1024, 2 ** 31),
    default: 64 * 1024 * 1024,
    parse: toInt,
  },
  { env: 'HEARTH_BUNDLE_MAX_ENTRIES', key: 'bundleMaxEntries', schema: integer(1, 1000000), default: 25000, parse: toInt },
  { env: 'HEARTH_MAX_JSON_DEPTH', key: 'maxJsonDepth', schema: integer(8, 1000), default: 64, parse: toInt },
  {
    env: 'HEARTH_CORS_ORIGINS',
    key: 'corsOrigins',
    schema: { anyOf: [{ const: '*' }, { type: 'array', items: { type: 'string', pattern: '^https?://' } }] },
    default: '*',
    parse: (raw) => (raw.trim() === '*' ? '*' : raw.split(',').map((s) => s.trim()).filter(Boolean)),
  },
  {
    env: 'LOG_LEVEL',
    key: 'logLevel',
    schema: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
  },
  {
    env: 'HEARTH_SHUTDOWN_TIMEOUT_MS',
    key: 'shutdownTimeoutMs',
    schema: integer(0, 600000),
    default: 10000,
    parse: toInt,
  },
  { env: 'HEARTH_DEFAULT_PAGE_SIZE', key: 'defaultPageSize', schema: integer(1, 1000), default: 20, parse: toInt },
  { env: 'HEARTH_MAX_PAGE_SIZE', key: 'maxPageSize', schema: integer(1, 10000), default: 1000, parse: toInt },
  {
    env: 'HEARTH_TENANT_CACHE_TTL_MS',
    key: 'tenantCacheTtlMs',
    schema: integer(0, 3600000),
    default: 30000,
    parse: toInt,
  },
  {
    env: 'HEARTH_VALIDATE_RESOURCES',
    key: 'validateResources',
    schema: { type: 'boolean' },
    default: true,
    parse: toBool,
  },
  { env: 'HEARTH_BINDING_CHECKS', key: 'bindingChecks', schema: { enum: ['on', 'off'] }, default: 'on' },
  { env: 'HEARTH_BINDING_UNKNOWN_SYSTEMS', key: 'bindingUnknownSystems', schema: { enum: ['ignore', 'fail'] }, default: 'ignore' },
  { env: 'HEARTH_EXPAND_MAX_CODES', key: 'expandMaxCodes', schema: integer(1, 10000000), default: 100000, parse: toInt },
  { env: 'HEARTH_REINDEX_WORKER', key: 'reindexWorker', schema: { type: 'boolean' }, default: true, parse: toBool },
  { env: 'HEARTH_REINDEX_POLL_MS', key: 'reindexPollMs', schema: integer(10, 3600000), default: 1000, parse: toInt },
  { env: 'HEARTH_REINDEX_START_DELAY_MS', key: 'reindexStartDelayMs', schema: integer(0, 3600000), default: 2000, parse: toInt },
  { env: 'HEARTH_REINDEX_BATCH_SIZE', key: 'reindexBatchSize', schema: integer(1, 10000), default: 500, parse: toInt },
  { env: 'HEARTH_GIN_PENDING_LIST_LIMIT_KB', key: 'ginPendingListLimitKb', schema: integer(64, 2097151), default: 256, parse: toInt },
  { env: 'HEARTH_ANALYZE_AFTER_ROWS', key: 'analyzeAfterRows', schema: integer(0, 100000000), default: 1000, parse: toInt },
  { env: 'HEARTH_AUTH', key: 'auth', schema: { enum: ['auto', 'required', 'off'] }, default: 'auto' },
  { env: 'HEARTH_ACCESS_TOKEN_TTL_SECONDS', key: 'accessTokenTtlSeconds', schema: integer(30, 86400), default: 3600, parse: toInt },
  { env: 'HEARTH_REFRESH_TOKEN_TTL_SECONDS', key: 'refreshTokenTtlSeconds', schema: integer(60, 31536000), default: 30 * 86400, parse: toInt },
  { env: 'HEARTH_SIGNING_KEY_ROTATION_DAYS', key: 'signingKeyRotationDays', schema: integer(1, 3650), default: 30, parse: toInt },
  {
    env: 'HEARTH_JKU_ALLOWLIST',
    key: 'jkuAllowlist',
    schema: { type: 'array', items: { type: 'string', pattern: '^https?://' } },
    default: [],
    parse: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean),
  },
  { env: 'HEARTH_LOGIN_MAX_FAILURES', key: 'loginMaxFailures', schema: integer(1, 1000), default: 5, parse: toInt },
  { env: 'HEARTH_LOGIN_LOCKOUT_SECONDS', key: 'loginLockoutSeconds', schema: integer(1, 86400), default: 900, parse: toInt },
  { env: 'HEARTH_OIDC_ISSUER', key: 'oidcIssuer', schema: { type: 'string', pattern: '^https?://' } },
  { env: 'HEARTH_OIDC_AUDIENCE', key: 'oidcAudience', schema: { type: 'string', minLength: 1 } },
  { env: 'HEARTH_OIDC_SCOPE_CLAIM', key: 'oidcScopeClaim', schema: { type: 'string', minLength: 1 }, default: 'scope' },
  { env: 'HEARTH_OIDC_FHIRUSER_CLAIM', key: 'oidcFhirUserClaim', schema: { type: 'string', minLength: 1 }, default: 'fhirUser' },
  { env: 'HEARTH_AUDIT_SEAL_INTERVAL_MS', key: 'auditSealIntervalMs', schema: integer(0, 86400000), default: 60000, parse: toInt },
  { env: 'HEARTH_AUDIT_EXPAND_INTERVAL_MS', key: 'auditExpandIntervalMs', schema: integer(0, 3600000), default: 1000, parse: toInt },
  { env: 'HEARTH_AUDIT_EXPAND_MAX_LAG_MS', key: 'auditExpandMaxLagMs', schema: integer(0, 3600000), default: 30000, parse: toInt },
  { env: 'HEARTH_AUDIT', key: 'audit', schema: { enum: ['on', 'off'] }, default: 'on' },
  { env: 'HEARTH_AUDIT_RETENTION_MONTHS', key: 'auditRetentionMonths', schema: integer(1, 1200), default: 72, parse: toInt },
  { env: 'HEARTH_AUDIT_OBSERVER', key: 'auditObserver', schema: { type: 'string', minLength: 1, maxLength: 1024 } },
  { env: 'HEARTH_PROCESSES', key: 'processes', schema: integer(1, 64), default: 1, parse: toInt },
  { env: 'HEARTH_DELIVERY_WORKER', key: 'deliveryWorker', schema: { type: 'boolean' }, default: true, parse: toBool },
  { env: 'HEARTH_DELIVERY_CONCURRENCY', key: 'deliveryConcurrency', schema: integer(1, 1000), default: 8, parse: toInt },
  { env: 'HEARTH_RELAY_POLL_MS', key: 'relayPollMs', schema: integer(10, 3600000), default: 2000, parse: toInt },
  { env: 'HEARTH_RELAY_STALE_MS', key: 'relayStaleMs', schema: integer(100, 86400000), default: 60000, parse: toInt },
  { env: 'HEARTH_DELIVERY_LEASE_MS', key: 'deliveryLeaseMs', schema: integer(100, 3600000), default: 60000, parse: toInt },
  { env: 'HEARTH_DELIVERY_TIMEOUT_MS', key: 'deliveryTimeoutMs', schema: integer(100, 600000), default: 10000, parse: toInt },
  { env: 'HEARTH_DELIVERY_MAX_ATTEMPTS', key: 'deliveryMaxAttempts', schema: integer(1, 1000), default: 10, parse: toInt },
  { env: 'HEARTH_DELIVERY_BACKOFF_MS', key: 'deliveryBackoffMs', schema: integer(1, 3600000), default: 1000, parse: toInt },
  { env: 'HEARTH_DELIVERY_BACKOFF_MAX_MS', key: 'deliveryBackoffMaxMs', schema: integer(1, 86400000), default: 600000, parse: toInt },
  { env: 'HEARTH_BREAKER_FAILURE_THRESHOLD', key: 'breakerFailureThreshold', schema: integer(1, 1000), default: 5, parse: toInt },
  { env: 'HEARTH_BREAKER_RESET_MS', key: 'breakerResetMs', schema: integer(10, 3600000), default: 30000, parse: toInt },
  {
    env: 'HEARTH_OUTBOUND_ALLOW',
    key: 'outboundAllow',
    schema: { type: 'array', items: { type: 'string', minLength: 1 } },
    default: [],
    parse: (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean),
  },
  { env: 'HEARTH_METRICS_TOKEN', key: 'metricsToken', schema: { type: 'string', minLength: 16 } },
  { env: 'HEARTH_WORKER_METRICS_PORT', key: 'workerMetricsPort', schema: integer(0, 65535), parse: toInt },
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates every setting; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const ajv = new Ajv({ allErrors: true });
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  const isSet = (name: string | undefined) => name !== undefined && env[name] !== undefined && env[name] !== '';
  for (const setting of SETTINGS) {
    const name = isSet(setting.env) ? setting.env : setting.fallback;
    const raw = name === undefined ? undefined : env[name];
    if (raw === undefined || raw === '') {
      if (setting.default !== undefined) values[setting.key] = setting.default;
      continue;
    }
    const value = setting.parse ? setting.parse(raw) : raw;
    if (!ajv.validate(setting.schema, value)) {
      const why = (ajv.errors ?? []).map((e) => e.message).join(', ');
      problems.push(`${name}=${JSON.stringify(raw)} is invalid: ${why}`);
      continue;
    }
    values[setting.key] = value;
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  const config = { ...values, ...overrides } as Config;
  if (config.defaultPageSize > config.maxPageSize) {
    throw new ConfigError('Invalid configuration: HEARTH_DEFAULT_PAGE_SIZE exceeds HEARTH_MAX_PAGE_SIZE');
  }
  if (config.processes > 1 && !config.databaseUrl) {
    throw new ConfigError('Invalid configuration: HEARTH_PROCESSES > 1 needs DATABASE_URL (the embedded database serves one process)');
  }
  return Object.freeze(config);
}
