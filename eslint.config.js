// Lint: ESLint with typescript-eslint's type-aware recommended rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated resolver types (npm run codegen) are checked for staleness, not linted.
  { ignores: ['node_modules/', '.data/', 'coverage/', 'subgraphs/*/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Fire-and-forget is deliberate where marked with `void`.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // Handlers are async to fit the interfaces they implement, with or without an await.
      '@typescript-eslint/require-await': 'off',
      // kafkajs hands its batch helpers (heartbeat, resolveOffset …) as plain closures.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Tests read JSON they just produced; typing every parse would add noise, not safety.
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
