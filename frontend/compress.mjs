// Writes X.br (brotli, quality 11) and X.gz (gzip, level 9) beside each text file of app/static/dist/,
// so that the server sends them without compressing anything itself (app/assets.py picks by
// Accept-Encoding and uses them while they are at least as new as X). Node's own zlib: no dependency.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const DIST = new URL('../app/static/dist/', import.meta.url).pathname;
const TEXT = /\.(js|mjs|css|svg|json|map|ttf|eot)$/i;
const MIN_BYTES = 1024;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (TEXT.test(name)) yield path;
  }
}

for (const path of files(DIST)) {
  const body = readFileSync(path);
  if (body.length < MIN_BYTES) continue;
  const br = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      [constants.BROTLI_PARAM_MODE]: /\.(ttf|eot)$/i.test(path) ? constants.BROTLI_MODE_FONT : constants.BROTLI_MODE_TEXT,
    },
  });
  const gz = gzipSync(body, { level: 9 });
  if (br.length < body.length) writeFileSync(`${path}.br`, br);
  if (gz.length < body.length) writeFileSync(`${path}.gz`, gz);
  console.log(`${path.slice(DIST.length)}: ${body.length} B, br ${br.length} B, gzip ${gz.length} B`);
}
