/**
 * Opens the embedded warehouse in a folder and stops it again, as a command's first use of it
 * does, with the `initdb` and `postgres` programs given (a test passes an `initdb` of its own).
 * Arguments: the data folder, initdb, postgres.
 */
import { startEmbedded } from '../../warehouse/embedded.ts';

const [dataDir, initdb, postgres] = process.argv.slice(2);
const server = await startEmbedded({ dataDir: dataDir!, binaries: { initdb: initdb!, postgres: postgres! }, settings: { fsync: 'off' } });
await server.stop();
