/**
 * The app root: the folder holding host.json and package.json, i.e. the repository locally and the unpacked
 * deployment package in Azure. Files the package carries (the tab's build, the catalog) are found from here,
 * never from the process's working directory, which in Azure is the Functions host's, not the app's.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Walks up from `from` (this module's folder: dist/src/functions when compiled, src/functions under ts-jest) to
 * the first folder with a host.json; without one, the folder three levels up from dist/src/functions.
 */
export function appRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'host.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from, '..', '..', '..'); // dist/src/functions → the root
    dir = up;
  }
}
