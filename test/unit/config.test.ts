// Unit tests for src/core/config.ts: defaults, parsing, and a ConfigError naming each bad variable.
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, SETTINGS } from '../../src/core/config.js';

/** Asserts loadConfig(env) throws a ConfigError whose message names every variable in `names`. */
function rejects(env: NodeJS.ProcessEnv, ...names: string[]): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    for (const name of names) assert.ok(error.message.includes(name), `message names ${name}: ${error.message}`);
    return error;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has documented defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.deepEqual({ ...config }, {
      host: '127.0.0.1',
      port: 8080,
      databasePoolSize: 10,
      dataDir: './data',
      maxBodyBytes: 64 * 1024 * 1024,
      bundleMaxEntries: 25000,
      maxJsonDepth: 64,
      corsOrigins: '*',
      logLevel: 'info',
      shutdownTimeoutMs: 10000,
      defaultPageSize: 20,
      maxPageSize: 1000,
      tenantCacheTtlMs: 30000,
      validateResources: true,
      reindexWorker: true,
      reindexPollMs: 1000,
      reindexStartDelayMs: 2000,
      reindexBatchSize: 500,
      ginPendingListLimitKb: 256,
      analyzeAfterRows: 1000,
      auth: 'auto',
      bindingChecks: 'on',
      bindingUnknownSystems: 'ignore',
      expandMaxCodes: 100000,
      accessTokenTtlSeconds: 3600,
      refreshTokenTtlSeconds: 30 * 86400,
      signingKeyRotationDays: 30,
      jkuAllowlist: [],
      loginMaxFailures: 5,
      loginLockoutSeconds: 900,
      oidcScopeClaim: 'scope',
      oidcFhirUserClaim: 'fhirUser',
      auditSealIntervalMs: 60000,
      auditExpandIntervalMs: 1000,
      auditExpandMaxLagMs: 30000,
      audit: 'on',
      auditRetentionMonths: 72,
      deliveryWorker: true,
      processes: 1,
      deliveryConcurrency: 8,
      relayPollMs: 2000,
      relayStaleMs: 60000,
      deliveryLeaseMs: 60000,
      deliveryTimeoutMs: 10000,
      deliveryMaxAttempts: 10,
      deliveryBackoffMs: 1000,
      deliveryBackoffMaxMs: 600000,
      breakerFailureThreshold: 5,
      breakerResetMs: 30000,
      outboundAllow: [],
    });
    assert.equal(config.databaseUrl, undefined, 'embedded mode unless DATABASE_URL is set');
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.publicBaseUrl, undefined);
    assert.ok(Object.isFrozen(config));
  });

  it('HEARTH_PROCESSES: 1 to 64 API processes; more than one only with DATABASE_URL', () => {
    assert.equal(loadConfig({ HEARTH_PROCESSES: '4', DATABASE_URL: 'postgresql://u@db/h' }).processes, 4);
    rejects({ HEARTH_PROCESSES: '0' }, 'HEARTH_PROCESSES');
    rejects({ HEARTH_PROCESSES: '65', DATABASE_URL: 'postgresql://u@db/h' }, 'HEARTH_PROCESSES');
    rejects({ HEARTH_PROCESSES: '2' }, 'HEARTH_PROCESSES', 'DATABASE_URL');
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ HEARTH_PORT: '' }).port, 8080);
    assert.equal(loadConfig({ LOG_LEVEL: '' }).logLevel, 'info');
  });

  it('reads every variable', () => {
    const config = loadConfig({
      HEARTH_HOST: '0.0.0.0',
      HEARTH_PORT: ' 9090 ',
      HEARTH_PUBLIC_BASE_URL: 'https://fhir.example.org/base',
      DATABASE_URL: 'postgresql://u@db:5432/hearth',
      DATABASE_POOL_SIZE: '25',
      HEARTH_DATA_DIR: '/var/lib/hearth',
      REDIS_URL: 'rediss://cache:6380',
      HEARTH_MAX_BODY_BYTES: '2048',
      HEARTH_MAX_JSON_DEPTH: '8',
      HEARTH_CORS_ORIGINS: 'https://a.example',
      LOG_LEVEL: 'debug',
      HEARTH_SHUTDOWN_TIMEOUT_MS: '0',
      HEARTH_DEFAULT_PAGE_SIZE: '50',
      HEARTH_MAX_PAGE_SIZE: '50',
      HEARTH_TENANT_CACHE_TTL_MS: '0',
      HEARTH_VALIDATE_RESOURCES: 'false',
    });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 9090);
    assert.equal(config.publicBaseUrl, 'https://fhir.example.org/base');
    assert.equal(config.databaseUrl, 'postgresql://u@db:5432/hearth');
    assert.equal(config.databasePoolSize, 25);
    assert.equal(config.dataDir, '/var/lib/hearth');
    assert.equal(config.redisUrl, 'rediss://cache:6380');
    assert.equal(config.maxBodyBytes, 2048);
    assert.equal(config.maxJsonDepth, 8);
    assert.deepEqual(config.corsOrigins, ['https://a.example']);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.shutdownTimeoutMs, 0);
    assert.equal(config.defaultPageSize, 50);
    assert.equal(config.maxPageSize, 50);
    assert.equal(config.tenantCacheTtlMs, 0);
    assert.equal(config.validateResources, false);
  });

  it('every setting is read from a distinct variable', () => {
    const envs = SETTINGS.map((s) => s.env);
    assert.equal(new Set(envs).size, envs.length);
  });

  describe('HEARTH_PORT', () => {
    it('accepts 0 (any free port) and 65535', () => {
      assert.equal(loadConfig({ HEARTH_PORT: '0' }).port, 0);
      assert.equal(loadConfig({ HEARTH_PORT: '65535' }).port, 65535);
    });
    for (const bad of ['abc', '70000', '65536', '-1', '80.5', '1e3', '0x50']) {
      it(`refuses HEARTH_PORT=${bad}`, () => {
        const error = rejects({ HEARTH_PORT: bad }, 'HEARTH_PORT', JSON.stringify(bad));
        assert.match(error.message, /^Invalid configuration:/);
      });
    }

    describe('PORT, as container platforms set it', () => {
      it('is the port when HEARTH_PORT is unset or empty', () => {
        assert.equal(loadConfig({ PORT: '3000' }).port, 3000);
        assert.equal(loadConfig({ PORT: '3000', HEARTH_PORT: '' }).port, 3000);
      });

      it('loses to HEARTH_PORT when both are set', () => {
        assert.equal(loadConfig({ PORT: '3000', HEARTH_PORT: '9090' }).port, 9090);
        assert.equal(loadConfig({ PORT: 'abc', HEARTH_PORT: '9090' }).port, 9090, 'an unused PORT is not validated');
      });

      it('is validated and named when it is the one read', () => {
        rejects({ PORT: '70000' }, 'PORT="70000"');
      });

      it('leaves the default when neither is set', () => {
        assert.equal(loadConfig({ PORT: '' }).port, 8080);
      });
    });
  });

  it('refuses DATABASE_URL that is not postgres:// or postgresql://', () => {
    rejects({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', '"mysql://x"');
    rejects({ DATABASE_URL: 'localhost:5432' }, 'DATABASE_URL');
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://x' }).databaseUrl, 'postgres://x');
  });

  it('refuses LOG_LEVEL=loud and lists nothing else as bad', () => {
    const error = rejects({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', '"loud"');
    assert.ok(!error.message.includes('HEARTH_PORT'));
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      assert.equal(loadConfig({ LOG_LEVEL: level }).logLevel, level);
    }
  });

  describe('HEARTH_CORS_ORIGINS', () => {
    it('parses a comma-separated list, trimming blanks and dropping empty items', () => {
      assert.deepEqual(loadConfig({ HEARTH_CORS_ORIGINS: ' https://a.example , http://b.example:8080,,' }).corsOrigins, [
        'https://a.example',
        'http://b.example:8080',
      ]);
    });
    it('"*" (with blanks) means any origin', () => {
      assert.equal(loadConfig({ HEARTH_CORS_ORIGINS: ' * ' }).corsOrigins, '*');
    });
    it('refuses an item that is not an http(s) origin', () => {
      rejects({ HEARTH_CORS_ORIGINS: 'https://a.example,ftp://b.example' }, 'HEARTH_CORS_ORIGINS');
      rejects({ HEARTH_CORS_ORIGINS: 'a.example' }, 'HEARTH_CORS_ORIGINS');
    });
  });

  it('refuses other bad values, naming each variable', () => {
    rejects({ HEARTH_PUBLIC_BASE_URL: 'https://fhir.example.org/' }, 'HEARTH_PUBLIC_BASE_URL');
    rejects({ HEARTH_PUBLIC_BASE_URL: 'fhir.example.org' }, 'HEARTH_PUBLIC_BASE_URL');
    rejects({ REDIS_URL: 'http://cache' }, 'REDIS_URL');
    rejects({ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE');
    rejects({ HEARTH_MAX_BODY_BYTES: '1023' }, 'HEARTH_MAX_BODY_BYTES');
    rejects({ HEARTH_MAX_JSON_DEPTH: '7' }, 'HEARTH_MAX_JSON_DEPTH');
    rejects({ HEARTH_SHUTDOWN_TIMEOUT_MS: 'soon' }, 'HEARTH_SHUTDOWN_TIMEOUT_MS');
    rejects({ HEARTH_VALIDATE_RESOURCES: 'maybe' }, 'HEARTH_VALIDATE_RESOURCES');
    rejects({ HEARTH_TENANT_CACHE_TTL_MS: '3600001' }, 'HEARTH_TENANT_CACHE_TTL_MS');
  });

  it('HEARTH_VALIDATE_RESOURCES accepts true/false/1/0', () => {
    assert.equal(loadConfig({ HEARTH_VALIDATE_RESOURCES: '1' }).validateResources, true);
    assert.equal(loadConfig({ HEARTH_VALIDATE_RESOURCES: '0' }).validateResources, false);
    assert.equal(loadConfig({ HEARTH_VALIDATE_RESOURCES: 'true' }).validateResources, true);
  });

  it('reports every bad variable at once, one per line', () => {
    const error = rejects({ HEARTH_PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }, 'HEARTH_PORT', 'LOG_LEVEL', 'DATABASE_URL');
    assert.equal(error.message.split('\n').length, 4, error.message);
  });

  it('refuses a default page size above the maximum, naming both variables', () => {
    rejects({ HEARTH_DEFAULT_PAGE_SIZE: '50', HEARTH_MAX_PAGE_SIZE: '10' }, 'HEARTH_DEFAULT_PAGE_SIZE', 'HEARTH_MAX_PAGE_SIZE');
    rejects({ HEARTH_MAX_PAGE_SIZE: '10' }, 'HEARTH_DEFAULT_PAGE_SIZE'); // default 20 > 10
    assert.equal(loadConfig({ HEARTH_DEFAULT_PAGE_SIZE: '10', HEARTH_MAX_PAGE_SIZE: '10' }).defaultPageSize, 10);
  });

  it('applies overrides over the environment (and still checks page sizes)', () => {
    const config = loadConfig({ HEARTH_PORT: '9000' }, { port: 0, maxBodyBytes: 4096 });
    assert.equal(config.port, 0);
    assert.equal(config.maxBodyBytes, 4096);
    assert.throws(() => loadConfig({}, { defaultPageSize: 500, maxPageSize: 100 }), ConfigError);
  });
});
