// @ts-check
// Lint for bugs, not style (Prettier owns the layout): ESLint's and typescript-eslint's recommended
// type-aware rules, the promise rules as errors, and a few more that catch real mistakes.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its error; one passed where a callback is expected is never awaited.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `return promise` inside try/catch/finally skips the catch and runs the finally too early
      // (e.g. closes the database before the query ends).
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // A new state or event type must be handled wherever its union is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ['error', 'smart'],
      'no-self-compare': 'error',
      'no-unreachable-loop': 'error',
      'array-callback-return': 'error',
      // `_name` marks a value left out on purpose (`const { secret: _secret, ...rest } = row`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Style, not bugs: an async method that implements a Promise-returning port needs no await, and
      // a forgotten await is what no-floating-promises catches.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // TypeScript sources and tests: type information from the project that `npm run typecheck` uses.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    // The bench and config files are plain JavaScript outside any tsconfig: typed through a default
    // project, so the promise rules still work, but every untyped value is `any` and the no-unsafe-*
    // rules would flag all of them.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', '*.cjs', 'bench/*.mjs', 'bench/scenarios/*.mjs'],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 40,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true }],
    },
  },
  {
    // Payrail.js and its frames (browser/v3): plain browser scripts outside any tsconfig, linted
    // without type information. The library's parts share one scope once joined (see
    // src/services/gateway/adapters/browser-library.ts), so names one part uses from another are not
    // undefined or unused there.
    files: ['browser/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.browser, sourceType: 'script', parserOptions: { projectService: false, project: false } },
  },
  {
    files: ['browser/v3/lib/*.js'],
    rules: { 'no-undef': 'off', '@typescript-eslint/no-unused-vars': 'off' },
  },
);
