/** The `verite` executable: parses the command line and runs the command (see `program.ts`). */
import { useEnvironmentProxy } from '../lib/proxy.ts';
import { buildProgram } from './program.ts';

// Outbound HTTP through the proxy HTTPS_PROXY or HTTP_PROXY names, when one does (lib/proxy.ts).
await useEnvironmentProxy();

await buildProgram().parseAsync(process.argv);
