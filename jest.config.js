// Native ESM: run with `node --experimental-vm-modules` (see package.json "test").
// ts-jest transpiles each file on its own (tsconfig has isolatedModules); type checking is
// `npm run typecheck`, part of `npm test`.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
};
