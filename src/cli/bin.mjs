#!/usr/bin/env node
// The `corral-cli` bin: runs the TypeScript sources through tsx (a dependency), so a fresh
// clone needs no build step (`npx corral-cli --help`).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
