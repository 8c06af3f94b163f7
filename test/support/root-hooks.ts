// Mocha root hooks: quiet logs during tests.
process.env.LOG_LEVEL ??= 'silent';
export const mochaHooks = {};
