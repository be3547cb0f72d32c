/**
 * The package root, where package.json, build/, prebuilds/ and src/dashboard/ are found:
 * this file lives in src/shared/ (tests) or dist/shared/ (built).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
